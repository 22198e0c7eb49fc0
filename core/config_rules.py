"""What a setting's value may be: one parser per field type and the rules beyond the type.

Why a module of its own: these are the vocabulary the ``BotConfig`` catalogue in
:mod:`core.config` is written in (``POSITIVE``, ``HTTP_URL``, ``SYMBOL_LIST``...) and the
table-driven parsing behind it; none of it knows any particular setting, so adding a setting
never touches this file and reading the catalogue does not require reading the parsers.
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from core.instance import valid_instance_name

__all__ = [
    "COUNT",
    "DATABASE_URL",
    "FRACTION",
    "GLOBAL_RATE",
    "HTTP_URL",
    "INSTANCE_NAME",
    "Kind",
    "LISTEN_PORT",
    "NON_EMPTY",
    "NON_NEGATIVE",
    "NON_NEGATIVE_INT",
    "OPTIONAL_PATH",
    "OPTIONAL_URL",
    "PERCENT",
    "PORT",
    "REDIS_URL",
    "POSITIVE",
    "Rule",
    "SYMBOL",
    "SYMBOL_LIST",
    "TOKEN",
    "TTL",
    "URL_LIST",
    "USER_IDS",
    "WEBHOOK_SECRET",
    "kind_for",
    "require",
]


@dataclass(frozen=True, slots=True)
class Rule:
    """A constraint beyond the type; ``allowed`` is the text shown in errors and docs."""

    allowed: str
    accepts: Callable[[Any], bool]
    normalize: Callable[[Any], Any] = lambda value: value


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_symbol(value: str) -> bool:
    return value.isascii() and value.isalnum()


COUNT = Rule("an integer >= 1", lambda v: v >= 1)
NON_NEGATIVE_INT = Rule("an integer >= 0", lambda v: v >= 0)
POSITIVE = Rule("a number > 0", lambda v: v > 0)
NON_NEGATIVE = Rule("a number >= 0", lambda v: v >= 0)
# A day at most: longer is a typo (minutes for seconds), and stale data is kept only 6 h.
TTL = Rule("a number of seconds with 0 < x <= 86400", lambda v: 0 < v <= 86400)
GLOBAL_RATE = Rule("an integer from 1 to 1000", lambda v: 1 <= v <= 1000)
FRACTION = Rule("a number with 0 < x <= 1", lambda v: 0 < v <= 1)
PERCENT = Rule("an integer from 1 to 99", lambda v: 1 <= v <= 99)
PORT = Rule("an integer from 0 to 65535 (0 disables)", lambda v: 0 <= v <= 65535)
LISTEN_PORT = Rule("an integer from 1 to 65535", lambda v: 1 <= v <= 65535)
NON_EMPTY = Rule("a non-empty string", lambda v: v.strip() != "")
OPTIONAL_PATH = Rule("a file path, or empty for stdout", lambda v: v is None or v.strip() != "")
HTTP_URL = Rule("a URL starting with http:// or https://", _is_http_url)
OPTIONAL_URL = Rule("empty, or a URL starting with http:// or https://",
                      lambda v: v == "" or _is_http_url(v))
URL_LIST = Rule("one or more URLs starting with http:// or https://",
                  lambda v: len(v) >= 1 and all(map(_is_http_url, v)))
SYMBOL = Rule("a symbol of ASCII letters and digits (upper-cased)", _is_symbol, str.upper)
SYMBOL_LIST = Rule("symbols of ASCII letters and digits (upper-cased)",
                     lambda v: all(map(_is_symbol, v)), lambda v: tuple(map(str.upper, v)))
USER_IDS = Rule("Telegram user ids (integers >= 1)", lambda v: all(i >= 1 for i in v))
# Catches a pasted chat id or a truncated token early; the value itself is never shown.
# Telegram's rule for setWebhook's secret_token (it comes back as X-Telegram-Bot-Api-Secret-Token).
WEBHOOK_SECRET = Rule("unset, or 1-256 characters of A-Z a-z 0-9 _ -",
                        lambda v: v is None or re.fullmatch(r"[A-Za-z0-9_-]{1,256}", v) is not None)
INSTANCE_NAME = Rule("unset, or 1-64 characters of A-Z a-z 0-9 _ . -",
                       lambda v: v is None or valid_instance_name(v))
DATABASE_URL = Rule(
    "unset (the SQLite file db_path), or a postgresql:// (postgres://) URL",
    lambda v: v is None or urlsplit(v).scheme in ("postgresql", "postgres"))
REDIS_URL = Rule("unset (everything in-process), or a redis://, rediss:// or unix:// URL",
                 lambda v: v is None or urlsplit(v).scheme in ("redis", "rediss", "unix"))
TOKEN = Rule("unset, or a bot token shaped like 123456:ABC-def_...",
               lambda v: v is None or re.fullmatch(r"\d+:[A-Za-z0-9_-]+", v) is not None)


@dataclass(frozen=True, slots=True)
class Kind:
    """How one field type is parsed from an env string and checked/normalised as a value."""

    expected: str
    from_env: Callable[[str], Any]  # raises ValueError
    check: Callable[[Any], Any]  # returns the normalised value, raises ValueError


_BOOL_WORDS = {"1": True, "true": True, "yes": True, "on": True,
               "0": False, "false": False, "no": False, "off": False}


def require(condition: bool, value: Any) -> Any:
    if not condition:
        raise ValueError(value)
    return value


def _parse_bool(text: str) -> bool:
    if text.lower() not in _BOOL_WORDS:
        raise ValueError(text)
    return _BOOL_WORDS[text.lower()]


def _check_int(value: Any) -> int:
    # bool is an int subclass, but `port = true` in TOML is a mistake, not 1.
    return int(require(isinstance(value, int) and not isinstance(value, bool), value))


def _check_float(value: Any) -> float:
    require(isinstance(value, (int, float)) and not isinstance(value, bool), value)
    return float(require(math.isfinite(value), value))


def _check_optional_str(value: Any) -> str | None:
    # TOML has no null, so "" is how a file (or env var) says "unset".
    return None if value == "" else require(value is None or isinstance(value, str), value)


def _choice_kind(choices: tuple[str, ...]) -> Kind:
    by_folded = {choice.casefold(): choice for choice in choices}

    def check(value: Any) -> str:
        require(isinstance(value, str) and value.casefold() in by_folded, value)
        return by_folded[value.casefold()]

    return Kind(f"one of {', '.join(choices)}", str, check)


def _tuple_kind(item: Kind, noun: str) -> Kind:
    def from_env(text: str) -> tuple[Any, ...]:
        return tuple(item.from_env(part.strip()) for part in text.split(",") if part.strip())

    def check(value: Any) -> tuple[Any, ...]:
        return tuple(map(item.check, require(isinstance(value, (list, tuple)), value)))

    return Kind(f"a list of {noun} (comma-separated in env vars)", from_env, check)


_SIMPLE_KINDS: dict[object, Kind] = {
    bool: Kind("true/false (or 1/0, yes/no, on/off)", _parse_bool,
                lambda v: require(isinstance(v, bool), v)),
    int: Kind("an integer", int, _check_int),
    float: Kind("a number", float, _check_float),
    str: Kind("a string", str, lambda v: require(isinstance(v, str), v)),
    str | None: Kind("a string, or empty for unset", str, _check_optional_str),
}


_PLURAL_NOUNS: dict[object, str] = {int: "integers", str: "strings"}


def kind_for(hint: Any) -> Kind:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return _choice_kind(typing.get_args(hint))
    if origin is tuple:
        item_hint = typing.get_args(hint)[0]
        return _tuple_kind(kind_for(item_hint), _PLURAL_NOUNS[item_hint])
    if origin in (typing.Union, types.UnionType):
        hint = str | None if set(typing.get_args(hint)) == {str, type(None)} else hint
    try:
        return _SIMPLE_KINDS[hint]
    except KeyError:
        raise TypeError(f"BotConfig has no parser for type {hint!r}") from None
