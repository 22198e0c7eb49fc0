"""What the user typed → a command from the table with typed arguments, or a helpful answer.

Why: users type ``/Price@MyBot BTC``, ``/alert btc > 65,000`` or ``/prcie eth``; the bot should
understand the first two and point the third to ``/price``, never answer with a stack trace or
silence. Text is read once, at the edge: the transport calls :func:`read_text` and the
:data:`Reading` travels in ``ChatCommand.parsed``; the conversation and the workers only look
at it. :func:`parse` splits and counts the words (raising :class:`UsageError`), then the row's
argument parser (``chat.arguments``) turns them into typed arguments.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from chat.alert_grammar import alert_args
from chat.arguments import (
    DEFAULT_INTERVAL,
    MAX_PRICE,
    AlertRequest,
    CommandArgs,
    Direction,
    UsageError,
    parse_alert_id,
    parse_direction,
    parse_interval,
    parse_price,
    shown,
    symbol_interval_args,
)
from chat.commands import COMMANDS, CommandSpec, lookup
from chat.html import code, escape

__all__ = [
    "DEFAULT_INTERVAL",
    "MAX_PRICE",
    "PLAIN_TEXT_REPLY",
    "AlertRequest",
    "Direction",
    "InvalidArguments",
    "Invocation",
    "NotACommand",
    "ParseResult",
    "ParsedCommand",
    "Reading",
    "UnknownCommand",
    "UsageError",
    "alert_request",
    "parse",
    "parse_alert_id",
    "parse_direction",
    "parse_interval",
    "parse_price",
    "read_text",
    "symbol_and_interval",
]

PLAIN_TEXT_REPLY = (
    f"I answer commands, e.g. {code('/price btc')} or {code('/analysis eth 4h')}. "
    "Send /help to see them all."
)
"""The answer to plain text (HTML)."""

_TYPED_NAME = re.compile(r"[A-Za-z0-9_]{1,32}")


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
        return f"I don't know /{escape(shown(self.name))}.{guess} Send /help to see all commands."


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


def symbol_and_interval(
    command: ParsedCommand, default_interval: str = DEFAULT_INTERVAL
) -> tuple[str, str]:
    """(symbol text, interval) for /analysis and /chart; "/chart 4h btc" works too."""
    checked = symbol_interval_args(command.spec, command.args, default_interval)
    return checked.symbol, checked.interval or default_interval


def alert_request(command: ParsedCommand) -> AlertRequest:
    """Checked /alert arguments of any form (``chat.alert_grammar``)."""
    return alert_args(command.spec, command.args)


# -- the one reading of a message, at the edge ---------------------------------------------------

@dataclass(frozen=True, slots=True)
class Invocation:
    """A command to run: its table row and its checked, typed arguments."""

    spec: CommandSpec
    """The table row (who may run it, inline or worker, the chat action)."""
    args: CommandArgs
    """What the row's argument parser made of the words (``chat.arguments``)."""

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True, slots=True)
class InvalidArguments:
    """A known command whose arguments are wrong: the usage reply is ready."""

    spec: CommandSpec
    """The table row (admin-only commands are refused before their usage is shown)."""
    html: str
    """The reply: the problem, the usage and an example."""


Reading = Invocation | InvalidArguments | UnknownCommand | NotACommand
"""Everything a text message can be; the transport computes it once (``ChatCommand.parsed``)."""


def read_text(text: str, bot_username: str | None = None) -> Reading:
    """The one reading of ``text``: never raises, whatever was typed."""
    try:
        result = parse(text, bot_username)
        if not isinstance(result, ParsedCommand):
            return result
        return Invocation(result.spec, result.spec.parse_args(result.spec, result.args))
    except UsageError as error:
        assert error.spec is not None  # parse and the argument parsers always name the command
        return InvalidArguments(error.spec, error.html)
