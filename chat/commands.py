"""The one command table: parsing, dispatch, ``/help``, ``/start`` and the Telegram menu read it.

Why: a bot that lists its commands in several places (handlers, help text, menu) lets them
drift apart. Each command is declared here once: its names, usage, example, help text, who may
run it, the parser of its arguments and whether the conversation answers it at once
(``answer``) or a command worker does. Adding a command is one row in :data:`COMMANDS` plus,
for a worker command, one ``@handles("name")`` function in ``actors/command_handlers.py``;
an import-time check there and tests make sure every row has exactly one handler, and that
every row has a valid Telegram menu entry and appears in ``docs/commands.md``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from chat.alert_grammar import ALERT_FORMS, MAX_ALERT_WORDS, alert_args, alerts_args
from chat.arguments import (
    CommandArgs,
    Word,
    actor_args,
    alert_id_args,
    breaker_args,
    cache_args,
    loglevel_args,
    mute_args,
    no_args,
    optional_word,
    symbol_args,
    symbol_interval_args,
    symbols_args,
)
from chat.digest_args import digest_args
from chat.forms import ArgumentForm
from chat.html import code, escape
from chat.settings_card import settings_args

__all__ = [
    "COMMANDS",
    "ArgParser",
    "CommandSpec",
    "InlineAnswer",
    "command_help",
    "help_text",
    "lookup",
    "menu_commands",
    "names_and_aliases",
    "welcome_text",
    "worker_commands",
]

_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
ArgParser = Callable[["CommandSpec", tuple[str, ...]], CommandArgs]
"""The words after the command (already counted) → typed arguments, or a ``UsageError``."""
InlineAnswer = Callable[[CommandArgs, bool], str]
"""(arguments, is the user an admin) → the reply's HTML, computed without a worker."""
_TIMEFRAMES = "15m, 1h, 4h, 1d (also 1m 3m 5m 30m 2h 6h 8h 12h 3d 1w 1M)"


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandSpec:
    """One row of the command table."""

    name: str
    """Telegram command name without the slash: lower-case a-z, 0-9, _ (1-32 chars)."""
    summary: str
    """Menu text (1-256 chars) and the help line's description."""
    args: str = ""
    """Argument usage, e.g. "SYM [interval]"; empty when the command takes none."""
    example: str
    """A complete example the user can copy, e.g. "/analysis btc 4h"."""
    aliases: tuple[str, ...] = ()
    """Short names that work the same (not shown in the menu)."""
    admin: bool = False
    """Only admins may run it, and only they see it in help and menu."""
    min_args: int = 0
    """Fewest arguments accepted."""
    max_args: int | None = 0
    """Most arguments accepted; None means any number."""
    comma_separated: bool = False
    """The arguments are a list in which commas separate items too ("btc,eth sol")."""
    parse_args: ArgParser = no_args
    """Turns the words into the handler's typed arguments (``chat.arguments``)."""
    answer: InlineAnswer | None = None
    """Set for cheap commands the conversation answers itself; None: a command worker runs
    the ``@handles`` function of this name (``actors/command_handlers.py``)."""
    chat_action: str | None = None
    """Shown while a worker prepares the answer, e.g. "upload_photo" for a chart."""
    forms: tuple[ArgumentForm, ...] = ()
    """Each shape the arguments may take, with an example (``/help NAME`` and
    docs/commands.md show them; each example must parse); empty: just ``example``."""

    def __post_init__(self) -> None:
        for name in (self.name, *self.aliases):
            if not _COMMAND_NAME.fullmatch(name):
                raise ValueError(f"command name {name!r} breaks Telegram's a-z0-9_ rule")
        if not 1 <= len(self.summary) <= 256:
            raise ValueError(f"/{self.name}: the summary must be 1-256 characters")
        if self.max_args is not None and self.max_args < self.min_args:
            raise ValueError(f"/{self.name}: max_args < min_args")

    @property
    def inline(self) -> bool:
        """Answered by the conversation at once, without a command worker."""
        return self.answer is not None

    @property
    def usage(self) -> str:
        """The command with its argument pattern, e.g. "/alert SYM above|below PRICE"."""
        return f"/{self.name} {self.args}".rstrip()


def _welcome(args: CommandArgs, is_admin: bool) -> str:
    return welcome_text(is_admin)


def _help(args: CommandArgs, is_admin: bool) -> str:
    topic = lookup(args.word.lstrip("/")) if isinstance(args, Word) and args.word else None
    if topic is not None and (not topic.admin or is_admin):
        return command_help(topic)
    return help_text(is_admin)


COMMANDS: tuple[CommandSpec, ...] = (
    # /start takes an optional argument only because deep links send "/start PAYLOAD".
    CommandSpec(
        name="start", summary="Welcome and a quick tour", example="/start", max_args=1,
        parse_args=optional_word, answer=_welcome,
    ),
    CommandSpec(
        name="help", summary="All commands with examples", args="[command]",
        example="/help alert", max_args=1, parse_args=optional_word, answer=_help,
    ),
    CommandSpec(
        name="price", aliases=("p",), summary="Price and 24h change of one or more coins",
        args="SYM [SYM...]", example="/price btc eth sol", min_args=1, max_args=10,
        comma_separated=True, parse_args=symbols_args,
    ),
    CommandSpec(
        name="analysis", aliases=("a",),
        summary="Trend, RSI, MACD, EMAs and Bollinger bands for one coin",
        args="SYM [interval]", example="/analysis btc 4h", min_args=1, max_args=2,
        parse_args=symbol_interval_args,
    ),
    CommandSpec(
        name="chart", aliases=("c",), summary="Candlestick chart of one coin",
        args="SYM [interval]", example="/chart eth 1d", min_args=1, max_args=2,
        parse_args=symbol_interval_args, chat_action="upload_photo",
    ),
    CommandSpec(
        name="alert", summary="Alert me when a price crosses a level or moves N%, or RSI "
        "crosses a level; once or every time",
        args="SYM CONDITION [every] [for DURATION]",
        example="/alert btc above 70k", min_args=1, max_args=MAX_ALERT_WORDS,
        parse_args=alert_args, forms=ALERT_FORMS,
    ),
    CommandSpec(
        name="alerts", summary="List my alerts; one alert's details", args="[ID]",
        example="/alerts", max_args=1, parse_args=alerts_args, forms=(
            ArgumentForm("/alerts", "/alerts", "your live alerts, with a delete button each."),
            ArgumentForm("/alerts ID", "/alerts 3", "one alert's details: when it was set, "
                         "expires and last fired, in your time and UTC."),
        ),
    ),
    CommandSpec(
        name="delalert", summary="Delete one of my alerts", args="ID", example="/delalert 3",
        min_args=1, max_args=1, parse_args=alert_id_args,
    ),
    CommandSpec(
        name="watch", summary="Add a coin to my watchlist", args="SYM", example="/watch sol",
        min_args=1, max_args=1, parse_args=symbol_args,
    ),
    CommandSpec(
        name="unwatch", summary="Remove a coin from my watchlist", args="SYM",
        example="/unwatch sol", min_args=1, max_args=1, parse_args=symbol_args,
    ),
    CommandSpec(name="watchlist", summary="Prices of my watched coins", example="/watchlist"),
    CommandSpec(
        name="digest", summary="A daily summary of my coins and alerts at a time I choose",
        args="[HH:MM|off]", example="/digest 08:30", max_args=2, parse_args=digest_args,
    ),
    CommandSpec(name="top", summary="24h top gainers and losers among USDT pairs", example="/top"),
    CommandSpec(name="export", summary="Send me all my data as a JSON file", example="/export",
                chat_action="upload_document"),
    CommandSpec(name="forget", summary="Delete all my data (asks first)", example="/forget"),
    CommandSpec(
        name="settings",
        summary="My settings: default interval, time zone, quiet hours, card style, cool-down",
        args="[KEY [VALUE]]", example="/settings timezone Europe/Berlin", max_args=4,
        parse_args=settings_args,
    ),
    CommandSpec(
        name="actors", summary="Supervision tree with each actor's state", example="/actors",
        admin=True,
    ),
    CommandSpec(
        name="health", summary="Overall health: ok, or what is degraded", example="/health",
        admin=True,
    ),
    CommandSpec(name="stats", summary="Usage and runtime statistics", example="/stats", admin=True),
    CommandSpec(
        name="restart", summary="Restart one actor through its supervisor, as a crash would",
        args="ACTOR", example="/restart fetch_worker_0", min_args=1, max_args=1,
        parse_args=actor_args, admin=True,
    ),
    CommandSpec(
        name="cache", summary="Cache layers: size, entries, hit rate; clear one coin or all",
        args="[clear [SYM]]", example="/cache clear btc", max_args=2, parse_args=cache_args,
        admin=True,
    ),
    CommandSpec(
        name="breaker", summary="Exchange circuit breaker: state, failures; reset it",
        args="[reset]", example="/breaker reset", max_args=1, parse_args=breaker_args,
        admin=True,
    ),
    CommandSpec(
        name="loglevel", summary="Change the log level at run time (root or one logger)",
        args="LEVEL [LOGGER]", example="/loglevel DEBUG actors.fetcher", min_args=1,
        max_args=2, parse_args=loglevel_args, admin=True,
    ),
    CommandSpec(
        name="mute", summary="Silence pushed admin alerts for a while (default 1h)",
        args="[30m|2h|1d|off]", example="/mute 2h", admin=True, max_args=1,
        parse_args=mute_args,
    ),
)


def _index(commands: tuple[CommandSpec, ...]) -> MappingProxyType[str, CommandSpec]:
    index: dict[str, CommandSpec] = {}
    for spec in commands:
        for name in (spec.name, *spec.aliases):
            if name in index:
                raise ValueError(f"/{name} is defined twice in the command table")
            index[name] = spec
    return MappingProxyType(index)


_BY_NAME = _index(COMMANDS)


def lookup(name: str) -> CommandSpec | None:
    """The command called ``name`` or an alias: "/Price@MyBot", "price" and "p" all work."""
    bare = name.strip().removeprefix("/").partition("@")[0].lower()
    return _BY_NAME.get(bare)


def worker_commands() -> tuple[str, ...]:
    """Names of the commands a command worker answers (each needs one ``@handles`` handler)."""
    return tuple(spec.name for spec in COMMANDS if not spec.inline)


def names_and_aliases() -> tuple[str, ...]:
    """Every name a command answers to (for did-you-mean suggestions)."""
    return tuple(_BY_NAME)


def _visible(is_admin: bool) -> tuple[CommandSpec, ...]:
    return tuple(spec for spec in COMMANDS if is_admin or not spec.admin)


def menu_commands(admin: bool) -> tuple[tuple[str, str], ...]:
    """(command, description) pairs for Telegram's setMyCommands, admin ones only if ``admin``."""
    return tuple((spec.name, spec.summary) for spec in _visible(admin))


def _help_line(spec: CommandSpec) -> str:
    aliases = ", ".join(f"/{alias}" for alias in spec.aliases)
    also = f" (or {escape(aliases)})" if aliases else ""
    return f"{escape(spec.usage)}{also} — {escape(spec.summary)}\n    e.g. {code(spec.example)}"


def help_text(is_admin: bool) -> str:
    """The ``/help`` answer (HTML): every command the user may run, with an example."""
    lines = ["<b>Commands</b>"]
    lines += [_help_line(spec) for spec in COMMANDS if not spec.admin]
    if is_admin:
        lines += ["", "<b>Admin</b>"]
        lines += [_help_line(spec) for spec in COMMANDS if spec.admin]
    lines += [
        "",
        f"Coins: {code('btc')}, {code('BTCUSDT')} and {code('BTC/USDT')} all work.",
        f"Intervals: {escape(_TIMEFRAMES)}; the default is 1h, or yours: "
        f"{code('/settings interval 4h')}.",
        f"Prices: {code('65000')}, {code('65,000')}, {code('65k')} or {code('1.5m')}.",
        f"Alert conditions: {code('above 70k')}, {code('+5%')}, {code('rsi below 30 4h')}; "
        f"{code('/help alert')} shows every form.",
        f"In any chat: type my @username and a coin ({code('btc')}, {code('btc 4h')}) "
        f"to share a price or an analysis (inline mode).",
    ]
    return "\n".join(lines)


def command_help(spec: CommandSpec) -> str:
    """Help for one command (HTML), for ``/help alert``."""
    aliases = ", ".join(f"/{alias}" for alias in spec.aliases)
    lines = [f"<b>{escape(spec.usage)}</b>", escape(spec.summary), f"Example: {code(spec.example)}"]
    if spec.forms:
        lines.append("Every form:")
        lines += [f"{escape(form.usage)} — {escape(form.meaning)}\n    e.g. {code(form.example)}"
                  for form in spec.forms]
    if aliases:
        lines.append(f"Short form: {escape(aliases)}")
    if "interval" in spec.args:
        lines.append(f"Intervals: {escape(_TIMEFRAMES)}; the default is 1h, or yours: "
                     f"{code('/settings interval 4h')}.")
    return "\n".join(lines)


def welcome_text(is_admin: bool) -> str:
    """The ``/start`` answer (HTML): what the bot does and three commands to try."""
    lines = [
        "<b>Hi! I watch the crypto market for you.</b>",
        "Prices, technical analysis, charts, price alerts and a watchlist, from Binance data.",
        "",
        "Try:",
        f"{code('/price btc eth')} — price and 24h change",
        f"{code('/analysis btc 4h')} — trend and indicators, with buttons",
        f"{code('/alert btc above 70k')} — tell me when it gets there",
        "",
        "/help lists every command.",
    ]
    if is_admin:
        lines.append("You are an admin: /actors, /health, /stats and the controls "
                     "(/restart, /cache, /breaker, /loglevel) are yours too.")
    return "\n".join(lines)
