"""A command's words → its typed arguments: the argument parsers the command table names.

Why: every command's arguments are checked once, where the text is read (the transport), so a
handler receives ``SymbolInterval("btc", "4h")`` rather than words to re-read, and a typo gets
its usage reply before any worker is bothered. Each parser takes the command's table row (for
the usage in its error) and the words after the command, already counted against the row's
min/max; it returns a frozen arguments object or raises :class:`UsageError`, whose HTML
repeats the usage and an example. Symbols stay text here: resolving them needs the exchange's
symbol list (``market.symbols``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from chat.callbacks import MAX_ALERT_ID
from chat.digest_args import DigestAt
from chat.html import code, escape
from chat.settings_request import SettingsRequest
from core.errors import BotError
from market.intervals import INTERVAL_MS, InvalidInterval, check_interval
from users.settings import duration_seconds

if TYPE_CHECKING:
    from chat.commands import CommandSpec

__all__ = [
    "ActorName",
    "BreakerRequest",
    "CacheRequest",
    "DEFAULT_INTERVAL",
    "LOG_LEVEL_NAMES",
    "LogLevelRequest",
    "MAX_PRICE",
    "AlertId",
    "AlertKind",
    "AlertRequest",
    "MUTE_DEFAULT_S",
    "MUTE_MAX_S",
    "MuteFor",
    "CommandArgs",
    "Direction",
    "NoArgs",
    "Symbol",
    "SymbolInterval",
    "Symbols",
    "UsageError",
    "Word",
    "actor_args",
    "alert_id_args",
    "breaker_args",
    "cache_args",
    "loglevel_args",
    "mute_args",
    "no_args",
    "optional_word",
    "parse_alert_id",
    "parse_direction",
    "parse_interval",
    "parse_price",
    "shown",
    "symbol_args",
    "symbol_interval_args",
    "symbols_args",
]

DEFAULT_INTERVAL = "1h"
MAX_PRICE = 1e12
"""Above any real price: a larger one is a typo (an extra "k")."""

Direction = Literal["above", "below"]
AlertKind = Literal["price", "percent", "rsi"]

_DIRECTIONS: dict[str, Direction] = {
    "above": "above", "over": "above", ">": "above", ">=": "above",
    "below": "below", "under": "below", "<": "below", "<=": "below",
}
# Words only, no single letters: "w" is also a coin (WUSDT), and "/chart 4h w" must find it.
_INTERVAL_WORDS = {"hourly": "1h", "daily": "1d", "weekly": "1w"}
# ASCII digits only: Python's float() would also take "٣" and other Unicode digits.
_THOUSANDS = re.compile(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?")
_DECIMAL_COMMA = re.compile(r"[0-9]+,[0-9]+")
_PLAIN_NUMBER = re.compile(r"([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_MULTIPLIERS = {"k": 1e3, "m": 1e6, "b": 1e9}
_SHOWN_MAX = 24
_ACTOR_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_LOGGER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_LOGGER_NAME_MAX = 100
LOG_LEVEL_NAMES = ("DEBUG", "INFO", "WARNING", "ERROR")
"""What /loglevel accepts (the same four as the ``log_level`` setting)."""


def shown(text: str) -> str:
    """User input quoted back in a message, cut short so a pasted essay stays out."""
    return text if len(text) <= _SHOWN_MAX else text[:_SHOWN_MAX - 1] + "…"


class UsageError(BotError):
    """A command's arguments are missing or wrong; ``html`` explains and shows an example."""

    def __init__(self, problem: str, spec: CommandSpec | None = None) -> None:
        self.problem = problem
        """Plain-text description of what is wrong."""
        self.spec = spec
        """The command it concerns, if known (adds usage and example to ``html``)."""
        super().__init__(problem)

    @property
    def html(self) -> str:
        """The reply for the user (HTML, everything escaped)."""
        lines = [f"⚠️ {escape(self.problem)}"]
        if self.spec is not None:
            lines.append(f"Usage: {code(self.spec.usage)}")
            lines.append(f"Example: {code(self.spec.example)}")
        return "\n".join(lines)


# -- one word → one value ------------------------------------------------------------------------

def parse_price(text: str, *, spec: CommandSpec | None = None) -> float:
    """A positive price: "65000", "65,000", "65k", "1.5m", "$0.00002" (decimal comma "0,5" too)."""
    cleaned = text.strip().lower().strip("$").replace("_", "")
    multiplier = 1.0
    if cleaned[-1:] in _MULTIPLIERS:
        multiplier = _MULTIPLIERS[cleaned[-1]]
        cleaned = cleaned[:-1]
    if _THOUSANDS.fullmatch(cleaned):
        cleaned = cleaned.replace(",", "")
    elif _DECIMAL_COMMA.fullmatch(cleaned):
        cleaned = cleaned.replace(",", ".")
    if cleaned.startswith("-") and _PLAIN_NUMBER.fullmatch(cleaned[1:]):
        raise UsageError("The price must be above 0.", spec)
    if not _PLAIN_NUMBER.fullmatch(cleaned):
        raise UsageError(
            f"“{shown(text)}” is not a price; write it like 65000, 65,000, 65k or 0.00002.",
            spec,
        )
    value = float(cleaned) * multiplier
    if not math.isfinite(value) or value > MAX_PRICE:
        raise UsageError(f"“{shown(text)}” is too large to be a price.", spec)
    if value <= 0:
        raise UsageError("The price must be above 0.", spec)
    return value


def parse_direction(text: str, *, spec: CommandSpec | None = None) -> Direction:
    """"above" or "below" (also "over", "under", ">", "<", ">=", "<=")."""
    direction = _DIRECTIONS.get(text.strip().lower())
    if direction is None:
        raise UsageError(f"Say above or below (or > and <), not “{shown(text)}”.", spec)
    return direction


def parse_interval(text: str, *, spec: CommandSpec | None = None) -> str:
    """A Binance interval ("4h"; "1H" and "daily" are understood too)."""
    cleaned = text.strip()
    cleaned = _INTERVAL_WORDS.get(cleaned.lower(), cleaned)
    try:
        return check_interval(cleaned)
    except InvalidInterval as exc:
        allowed = " ".join(INTERVAL_MS)
        raise UsageError(f"“{shown(text)}” is not an interval; use one of {allowed}.",
                         spec) from exc


def parse_alert_id(text: str, *, spec: CommandSpec | None = None) -> int:
    """An alert id as /alerts shows it ("3" or "#3")."""
    cleaned = text.strip().removeprefix("#")
    if not cleaned.isascii() or not cleaned.isdigit() or not 1 <= int(cleaned) <= MAX_ALERT_ID:
        raise UsageError(f"“{shown(text)}” is not an alert id; /alerts lists yours.", spec)
    return int(cleaned)


def _is_interval(text: str) -> bool:
    try:
        parse_interval(text)
    except UsageError:
        return False
    return True


# -- the typed arguments of each command ---------------------------------------------------------

@dataclass(frozen=True, slots=True)
class NoArgs:
    """A command that takes no arguments."""


@dataclass(frozen=True, slots=True)
class Word:
    """At most one free word: /start's deep-link payload, /help's topic."""

    word: str | None
    """The word as typed, or None."""


@dataclass(frozen=True, slots=True)
class Symbols:
    """/price: one or more coins as typed."""

    symbols: tuple[str, ...]
    """Coin texts, resolved against the exchange by the handler."""


@dataclass(frozen=True, slots=True)
class Symbol:
    """/watch, /unwatch: one coin as typed."""

    symbol: str
    """Coin text, resolved against the exchange by the handler."""


@dataclass(frozen=True, slots=True)
class SymbolInterval:
    """/analysis, /chart: a coin and a checked interval."""

    symbol: str
    """Coin text as typed."""
    interval: str | None
    """A Binance interval; None: none typed, the user's default applies (settings)."""


@dataclass(frozen=True, slots=True)
class AlertRequest:
    """The checked arguments of /alert (its grammar: ``chat.alert_grammar``)."""

    symbol_text: str
    """The coin as typed (resolved against the exchange later)."""
    direction: Direction
    """Fire when the price (rsi: the RSI) goes above or below the level."""
    price: float
    """The price level (> 0); rsi: the RSI level (0-100); percent: the move's size in %."""
    kind: AlertKind = "price"
    """price, percent (a move from the price when set) or rsi (RSI(14) crossing a level)."""
    interval: str | None = None
    """rsi: the interval given; None: the user's default interval (or not rsi)."""
    recurring: bool = False
    """"every": re-arm after the condition clears instead of firing once."""
    expires_in_s: float | None = None
    """"for 7d": seconds from now until it ends unfired; None: never."""


@dataclass(frozen=True, slots=True)
class AlertId:
    """/delalert: which alert."""

    alert_id: int
    """As /alerts shows it."""


@dataclass(frozen=True, slots=True)
class ActorName:
    """/restart: which actor, as a well-formed name (whether it exists is the tree's say)."""

    name: str
    """Lower-case actor name, e.g. fetch_worker_0."""


@dataclass(frozen=True, slots=True)
class CacheRequest:
    """/cache: show the layers, or clear one coin or everything."""

    clear: bool
    """False: show each layer's figures."""
    symbol: str | None = None
    """With ``clear``: the coin as typed (resolved by the handler), or None for everything."""


@dataclass(frozen=True, slots=True)
class BreakerRequest:
    """/breaker: show the breakers, or close the exchange's."""

    reset: bool
    """True for /breaker reset."""


@dataclass(frozen=True, slots=True)
class LogLevelRequest:
    """/loglevel: the new level and which logger (None: the root)."""

    level: str
    """DEBUG, INFO, WARNING or ERROR."""
    logger: str | None
    """A dotted logger name as typed, or None for the root logger."""


@dataclass(frozen=True, slots=True)
class MuteFor:
    """/mute: how long to silence pushed alerts (0: unmute)."""

    seconds: float
    """Duration in seconds; 0 means /mute off."""


CommandArgs = (NoArgs | Word | Symbols | Symbol | SymbolInterval | AlertRequest | AlertId
               | ActorName | CacheRequest | BreakerRequest | LogLevelRequest | MuteFor | DigestAt
               | SettingsRequest)
"""What an argument parser returns."""


def no_args(spec: CommandSpec, words: tuple[str, ...]) -> NoArgs:
    return NoArgs()


def optional_word(spec: CommandSpec, words: tuple[str, ...]) -> Word:
    return Word(words[0] if words else None)


def symbols_args(spec: CommandSpec, words: tuple[str, ...]) -> Symbols:
    return Symbols(words)


def symbol_args(spec: CommandSpec, words: tuple[str, ...]) -> Symbol:
    return Symbol(words[0])


def symbol_interval_args(spec: CommandSpec, words: tuple[str, ...],
                         default_interval: str | None = None) -> SymbolInterval:
    """A coin and an interval; "/chart 4h btc" works too; no interval: ``default_interval``."""
    if len(words) == 1:
        return SymbolInterval(words[0], default_interval)
    symbol, interval = words[0], words[1]
    if not _is_interval(interval) and _is_interval(symbol):
        symbol, interval = interval, symbol
    return SymbolInterval(symbol, parse_interval(interval, spec=spec))


def alert_id_args(spec: CommandSpec, words: tuple[str, ...]) -> AlertId:
    return AlertId(parse_alert_id(words[0], spec=spec))


def actor_args(spec: CommandSpec, words: tuple[str, ...]) -> ActorName:
    """An actor's name as /actors shows it (case does not matter)."""
    name = words[0].strip().lower()
    if not _ACTOR_NAME.fullmatch(name):
        raise UsageError(f"“{shown(words[0])}” is not an actor name; /actors lists them.", spec)
    return ActorName(name)


def cache_args(spec: CommandSpec, words: tuple[str, ...]) -> CacheRequest:
    """Nothing (show), "clear" (everything) or "clear SYM" (one coin)."""
    if not words:
        return CacheRequest(clear=False)
    if words[0].strip().lower() != "clear":
        raise UsageError(f"Say clear, not “{shown(words[0])}”.", spec)
    return CacheRequest(clear=True, symbol=words[1] if len(words) > 1 else None)


def breaker_args(spec: CommandSpec, words: tuple[str, ...]) -> BreakerRequest:
    """Nothing (show) or "reset"."""
    if words and words[0].strip().lower() != "reset":
        raise UsageError(f"Say reset, not “{shown(words[0])}”.", spec)
    return BreakerRequest(reset=bool(words))


def loglevel_args(spec: CommandSpec, words: tuple[str, ...]) -> LogLevelRequest:
    """A level of :data:`LOG_LEVEL_NAMES` and an optional dotted logger name."""
    level = words[0].strip().upper()
    if level not in LOG_LEVEL_NAMES:
        raise UsageError(f"“{shown(words[0])}” is not a level; use one of "
                         f"{', '.join(LOG_LEVEL_NAMES)}.", spec)
    logger = words[1].strip() if len(words) > 1 else None
    if logger is not None and (len(logger) > _LOGGER_NAME_MAX
                               or not _LOGGER_NAME.fullmatch(logger)):
        raise UsageError(f"“{shown(logger)}” is not a logger name (dotted, like "
                         "actors.fetcher).", spec)
    return LogLevelRequest(level, logger)


MUTE_DEFAULT_S = 3600.0
"""/mute without a duration: one hour."""
MUTE_MAX_S = 7 * 86_400.0
"""The longest mute: a week, so a forgotten mute cannot silence alerts for good."""


def mute_args(spec: CommandSpec, words: tuple[str, ...]) -> MuteFor:
    """ "30m", "2h", "1d" (default 1 h, at most 7 d), or "off" to unmute."""
    if not words:
        return MuteFor(MUTE_DEFAULT_S)
    word = words[0].strip().lower()
    if word in ("off", "0", "unmute", "on"):
        return MuteFor(0.0)
    seconds = duration_seconds(word)
    if seconds is None:
        raise UsageError(f"“{shown(words[0])}” is not a duration: try 30m, 2h or 1d, "
                         "or off.", spec)
    if not 60 <= seconds <= MUTE_MAX_S:
        raise UsageError("A mute lasts from 1 minute to 7 days.", spec)
    return MuteFor(seconds)
