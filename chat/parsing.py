"""What the user typed → a command from the table with checked arguments, or a helpful answer.

Why: users type ``/Price@MyBot BTC``, ``/alert btc > 65,000`` or ``/prcie eth``; the bot should
understand the first two and point the third to ``/price``, never answer with a stack trace or
silence. :func:`parse` only checks the argument count; the validators turn one argument into a
value and raise :class:`UsageError`, whose HTML repeats the usage and an example. Symbols stay
text here: resolving them needs the exchange's symbol list (``market.symbols``).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Literal

from chat.callbacks import MAX_ALERT_ID
from chat.commands import COMMANDS, CommandSpec, lookup
from chat.html import code, escape
from core.errors import BotError
from market.intervals import INTERVAL_MS, InvalidInterval, check_interval

__all__ = [
    "DEFAULT_INTERVAL",
    "MAX_PRICE",
    "PLAIN_TEXT_REPLY",
    "AlertRequest",
    "Direction",
    "NotACommand",
    "ParseResult",
    "ParsedCommand",
    "UnknownCommand",
    "UsageError",
    "alert_request",
    "parse",
    "parse_alert_id",
    "parse_direction",
    "parse_interval",
    "parse_price",
    "symbol_and_interval",
]

DEFAULT_INTERVAL = "1h"
MAX_PRICE = 1e12
"""Above any real price: a larger one is a typo (an extra "k")."""
PLAIN_TEXT_REPLY = (
    f"I answer commands, e.g. {code('/price btc')} or {code('/analysis eth 4h')}. "
    "Send /help to see them all."
)
"""The answer to plain text (HTML)."""

Direction = Literal["above", "below"]

_TYPED_NAME = re.compile(r"[A-Za-z0-9_]{1,32}")
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


def _shown(text: str) -> str:
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


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    """A known command with the right number of arguments (not yet validated one by one)."""

    spec: CommandSpec
    """The table row."""
    args: tuple[str, ...]
    """Arguments as typed, split on whitespace (and commas for symbol lists)."""
    raw: str
    """The whole message text."""

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True, slots=True)
class NotACommand:
    """Plain text, or a command addressed to another bot in a group."""

    text: str
    """The message text."""
    addressed_elsewhere: bool = False
    """True for ``/cmd@OtherBot``: stay silent rather than point to /help."""


@dataclass(frozen=True, slots=True)
class UnknownCommand:
    """A slash command that is not in the table, with the nearest one if any is close."""

    name: str
    """The command as typed, lower-case, without slash or @bot."""
    suggestion: str | None
    """e.g. "/price" for "/prcie"."""
    raw: str
    """The whole message text."""

    @classmethod
    def of(cls, name: str, raw: str) -> UnknownCommand:
        """Build one, suggesting only commands anyone may run (admin ones stay hidden)."""
        public = {n: spec.name for spec in COMMANDS if not spec.admin
                  for n in (spec.name, *spec.aliases)}
        close = difflib.get_close_matches(name.lower(), list(public), n=1, cutoff=0.6)
        return cls(name.lower(), f"/{public[close[0]]}" if close else None, raw)

    @property
    def html(self) -> str:
        """The reply for the user (HTML)."""
        guess = f" Did you mean {escape(self.suggestion)}?" if self.suggestion else ""
        return f"I don't know /{escape(_shown(self.name))}.{guess} Send /help to see all commands."


ParseResult = ParsedCommand | NotACommand | UnknownCommand


def parse(text: str, bot_username: str | None = None) -> ParseResult:
    """Classify a message; raises :class:`UsageError` when a known command has too few or too
    many arguments. ``bot_username`` (with or without "@") tells ``/cmd@ThisBot`` from
    ``/cmd@OtherBot``."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return NotACommand(text)
    head, *args = stripped.split()
    name, _, target = head[1:].partition("@")
    if not _TYPED_NAME.fullmatch(name):
        return NotACommand(text)  # "/" alone, a path like /usr/bin, ...
    if target and bot_username and target.lower() != bot_username.lstrip("@").lower():
        return NotACommand(text, addressed_elsewhere=True)
    spec = lookup(name)
    if spec is None:
        return UnknownCommand.of(name, text)
    if spec.comma_separated:  # "btc, eth,sol" means three
        args = [part for arg in args for part in arg.split(",") if part]
    _check_count(spec, len(args))
    return ParsedCommand(spec, tuple(args), text)


def _check_count(spec: CommandSpec, count: int) -> None:
    if count < spec.min_args:
        raise UsageError(f"/{spec.name} needs {spec.args}.", spec)
    if spec.max_args is not None and count > spec.max_args:
        if spec.max_args == 0:
            raise UsageError(f"/{spec.name} takes no arguments.", spec)
        raise UsageError(f"/{spec.name} takes at most {spec.max_args} ({spec.args}).", spec)


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
            f"“{_shown(text)}” is not a price; write it like 65000, 65,000, 65k or 0.00002.",
            spec,
        )
    value = float(cleaned) * multiplier
    if not math.isfinite(value) or value > MAX_PRICE:
        raise UsageError(f"“{_shown(text)}” is too large to be a price.", spec)
    if value <= 0:
        raise UsageError("The price must be above 0.", spec)
    return value


def parse_direction(text: str, *, spec: CommandSpec | None = None) -> Direction:
    """"above" or "below" (also "over", "under", ">", "<", ">=", "<=")."""
    direction = _DIRECTIONS.get(text.strip().lower())
    if direction is None:
        raise UsageError(f"Say above or below (or > and <), not “{_shown(text)}”.", spec)
    return direction


def parse_interval(text: str, *, spec: CommandSpec | None = None) -> str:
    """A Binance interval ("4h"; "1H" and "daily" are understood too)."""
    cleaned = text.strip()
    cleaned = _INTERVAL_WORDS.get(cleaned.lower(), cleaned)
    try:
        return check_interval(cleaned)
    except InvalidInterval as exc:
        allowed = " ".join(INTERVAL_MS)
        raise UsageError(f"“{_shown(text)}” is not an interval; use one of {allowed}.",
                         spec) from exc


def parse_alert_id(text: str, *, spec: CommandSpec | None = None) -> int:
    """An alert id as /alerts shows it ("3" or "#3")."""
    cleaned = text.strip().removeprefix("#")
    if not cleaned.isascii() or not cleaned.isdigit() or not 1 <= int(cleaned) <= MAX_ALERT_ID:
        raise UsageError(f"“{_shown(text)}” is not an alert id; /alerts lists yours.", spec)
    return int(cleaned)


def symbol_and_interval(
    command: ParsedCommand, default_interval: str = DEFAULT_INTERVAL
) -> tuple[str, str]:
    """(symbol text, interval) for /analysis and /chart; "/chart 4h btc" works too."""
    args = command.args
    if len(args) == 1:
        return args[0], default_interval
    symbol, interval = args[0], args[1]
    if not _is_interval(interval) and _is_interval(symbol):
        symbol, interval = interval, symbol
    return symbol, parse_interval(interval, spec=command.spec)


def _is_interval(text: str) -> bool:
    try:
        parse_interval(text)
    except UsageError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class AlertRequest:
    """The checked arguments of /alert."""

    symbol_text: str
    """The coin as typed (resolved against the exchange later)."""
    direction: Direction
    """Fire when the price goes above or below ``price``."""
    price: float
    """The level, > 0."""


def alert_request(command: ParsedCommand) -> AlertRequest:
    """Checked /alert arguments; "SYM above PRICE" and "SYM PRICE above" both work."""
    symbol, first, second = command.args
    if first.strip().lower() not in _DIRECTIONS and second.strip().lower() in _DIRECTIONS:
        first, second = second, first
    direction = parse_direction(first, spec=command.spec)
    return AlertRequest(symbol, direction, parse_price(second, spec=command.spec))
