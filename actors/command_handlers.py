"""Every worker command's handler, bound to its row of the command table by ``@handles``.

Adding a command is one row in ``chat/commands.py`` (name, usage, example, help text, access,
argument parser) plus one ``@handles("name")`` function here; commands the conversation
answers itself (``answer=`` in the row, like /start and /help) need none. A handler runs in a
command worker's thread with the worker's :class:`~actors.chat_commands.CommandService` and
gets the run request and the typed arguments its row's parser made (``chat.arguments``); it
returns the replies and an outcome. :func:`check_registry` (run at import) fails fast when a
worker command has no handler, or a handler no worker command.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from chat import cards
from chat.arguments import (
    ActorName,
    AlertId,
    AlertRequest,
    BreakerRequest,
    CacheRequest,
    LogLevelRequest,
    MuteFor,
    NoArgs,
    Symbol,
    Symbols,
    SymbolInterval,
)
from chat.digest_args import DigestAt
from actors.digest_commands import digest_command
from chat.cards_alerting import mute_text, mute_unavailable_text
from chat.commands import lookup, worker_commands
from chat.replies import CommandResult, needs_storage_text, reply
from chat.settings_request import SettingsRequest
from messages.chat import RunCommand
from messages.ops import MuteAlerts
from supervision.errors import ChildUnavailable

if TYPE_CHECKING:
    from actors.chat_commands import CommandService
    from actors.chat_storage import StorageCommands

__all__ = ["HANDLERS", "Handler", "check_registry", "handles"]

A = TypeVar("A")
Handler = Callable[["CommandService", RunCommand, Any], CommandResult]
"""(the worker's service, the request, the typed arguments) → (replies, outcome)."""
_handlers: dict[str, Handler] = {}
HANDLERS: Mapping[str, Handler] = MappingProxyType(_handlers)
"""Command name → its handler (worker commands only)."""


def handles(name: str) -> Callable[[Callable[[CommandService, RunCommand, A], CommandResult]],
                                   Callable[[CommandService, RunCommand, A], CommandResult]]:
    """Register the decorated function as the handler of command ``name``."""
    def register(function: Callable[[CommandService, RunCommand, A], CommandResult]
                 ) -> Callable[[CommandService, RunCommand, A], CommandResult]:
        spec = lookup(name)
        if spec is None or spec.name != name:
            raise ValueError(f"@handles({name!r}): no such command in chat/commands.py")
        if spec.inline:
            raise ValueError(f"@handles({name!r}): the conversation answers /{name} itself")
        if name in _handlers:
            raise ValueError(f"@handles({name!r}): /{name} already has a handler")
        _handlers[name] = function
        return function
    return register


def check_registry(handlers: Mapping[str, object] = HANDLERS) -> None:
    """Every worker command has exactly one handler and every handler a worker command."""
    wanted = set(worker_commands())
    missing, extra = wanted - set(handlers), set(handlers) - wanted
    if missing or extra:
        raise RuntimeError(f"command handlers out of step with chat/commands.py: "
                           f"missing {sorted(missing)}, unknown {sorted(extra)}")


# -- market --------------------------------------------------------------------------------------

@handles("price")
def price(service: CommandService, run: RunCommand, args: Symbols) -> CommandResult:
    quotes = service.market.quotes(args.symbols, request_id=run.request_id)
    text = cards.quotes_text(quotes.tickers, quotes.unknown, stale_age_s=quotes.stale_age_s,
                             reason=quotes.reason, unavailable=quotes.unavailable)
    return CommandResult((reply(run.request, text),), service.quotes_outcome(quotes))


@handles("analysis")
def analysis(service: CommandService, run: RunCommand, args: SymbolInterval) -> CommandResult:
    """No interval typed: the user's default; a detailed card style opens the details."""
    settings = service.user_settings(run.request)
    return service.analysis_reply(run.request, args.symbol, args.interval or settings.interval,
                                  expanded=settings.style == "detailed")


@handles("chart")
def chart(service: CommandService, run: RunCommand, args: SymbolInterval) -> CommandResult:
    interval = args.interval or service.user_settings(run.request).interval
    return service.chart_reply(run.request, args.symbol, interval)


@handles("top")
def top(service: CommandService, run: RunCommand, args: NoArgs) -> CommandResult:
    quotes = service.market.usdt_quotes(request_id=run.request_id)
    if quotes.unavailable is not None:
        text = cards.unavailable_text(quotes.unavailable)
        return CommandResult((reply(run.request, text),), "unavailable")
    text = cards.top_movers(quotes.tickers)
    if quotes.stale_age_s is not None:
        text = f"{cards.stale_line(quotes.stale_age_s, quotes.reason)}\n{text}"
    return CommandResult((reply(run.request, text),), service.quotes_outcome(quotes))


# -- admin ---------------------------------------------------------------------------------------

@handles("actors")
def actors(service: CommandService, run: RunCommand, args: NoArgs) -> CommandResult:
    text = cards.actors_tree(service.snapshot(), service.instance, now=time.time())
    return CommandResult((reply(run.request, text),), "ok")


@handles("health")
def health(service: CommandService, run: RunCommand, args: NoArgs) -> CommandResult:
    text = cards.health_text(service.snapshot(), service.instance, now=time.time())
    return CommandResult((reply(run.request, text),), "ok")


@handles("stats")
def stats(service: CommandService, run: RunCommand, args: NoArgs) -> CommandResult:
    return CommandResult(*service._stats(run, args))  # its text moves to chat/cards_admin.py


# -- admin controls (actors/admin_controls.py) ---------------------------------------------

@handles("restart")
def restart(service: CommandService, run: RunCommand, args: ActorName) -> CommandResult:
    return service.admin.restart(run.request, args.name)


@handles("cache")
def cache(service: CommandService, run: RunCommand, args: CacheRequest) -> CommandResult:
    symbol = (None if args.symbol is None
              else service.market.resolve(args.symbol, request_id=run.request_id))
    return service.admin.cache(run.request, args, symbol)


@handles("breaker")
def breaker(service: CommandService, run: RunCommand, args: BreakerRequest) -> CommandResult:
    return service.admin.breaker(run.request, args)


@handles("loglevel")
def loglevel(service: CommandService, run: RunCommand, args: LogLevelRequest) -> CommandResult:
    return service.admin.log_level(run.request, args)


MUTE_TIMEOUT_S = 5.0
"""ops_alerts may be busy taking a snapshot (about a second) when /mute arrives."""


@handles("mute")
def mute(service: CommandService, run: RunCommand, args: MuteFor) -> CommandResult:
    """Silence (or end silencing) the pushed admin alerts; answers until when."""
    try:
        left = service.address("ops_alerts").ask(MuteAlerts(
            for_s=args.seconds, admin_id=run.request.user_id, request_id=run.request_id),
            timeout=MUTE_TIMEOUT_S)
    except ChildUnavailable:  # also AskTimeout
        return CommandResult((reply(run.request, mute_unavailable_text()),), "unavailable")
    zone_name = service.user_settings(run.request).timezone
    return CommandResult((reply(run.request, mute_text(left, zone_name=zone_name)),), "ok")


# -- alerts and the watchlist (need storage) ------------------------------------------------

def _storage(service: CommandService, run: RunCommand,
             then: Callable[[StorageCommands], CommandResult]) -> CommandResult:
    if service.storage is None:  # a bot run without a database (some tests and benchmarks)
        return CommandResult((reply(run.request, needs_storage_text(run.command)),),
                              "unavailable")
    return then(service.storage)


@handles("alert")
def alert(service: CommandService, run: RunCommand, args: AlertRequest) -> CommandResult:
    return _storage(service, run, lambda storage: storage.add_alert(run.request, args))


@handles("alerts")
def alerts(service: CommandService, run: RunCommand, args: NoArgs | AlertId) -> CommandResult:
    if isinstance(args, AlertId):
        return _storage(service, run,
                        lambda storage: storage.alert_details(run.request, args.alert_id))
    return _storage(service, run, lambda storage: storage.list_alerts(run.request))


@handles("delalert")
def delalert(service: CommandService, run: RunCommand, args: AlertId) -> CommandResult:
    return _storage(service, run, lambda storage: storage.delete_alert(run.request, args.alert_id))


@handles("watch")
def watch(service: CommandService, run: RunCommand, args: Symbol) -> CommandResult:
    return _storage(service, run, lambda storage: storage.watch(run.request, args.symbol))


@handles("unwatch")
def unwatch(service: CommandService, run: RunCommand, args: Symbol) -> CommandResult:
    return _storage(service, run, lambda storage: storage.unwatch(run.request, args.symbol))


@handles("watchlist")
def watchlist(service: CommandService, run: RunCommand, args: NoArgs) -> CommandResult:
    return _storage(service, run, lambda storage: storage.watchlist(run.request))


@handles("digest")
def digest(service: CommandService, run: RunCommand, args: DigestAt) -> CommandResult:
    return _storage(service, run, lambda storage: digest_command(
        writer=service.address("db_writer"), reads=storage.reads, command=run.request,
        args=args))


@handles("settings")
def settings(service: CommandService, run: RunCommand, args: SettingsRequest) -> CommandResult:
    return _storage(service, run, lambda storage: storage.settings(run.request, args))


# -- your data (actors/user_data.py) ----------------------------------------------------------

@handles("export")
def export(service: CommandService, run: RunCommand, args: NoArgs) -> CommandResult:
    return _storage(service, run, lambda storage: storage.user_data.export(run.request))


@handles("forget")
def forget(service: CommandService, run: RunCommand, args: NoArgs) -> CommandResult:
    return _storage(service, run, lambda storage: storage.user_data.forget_preview(run.request))


check_registry()
