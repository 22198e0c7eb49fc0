"""The admin controls a command worker carries out: restart, cache, breaker, log level.

Why here and not in the handlers: each control talks to a live actor (a crash order, an ask
to the cache or the fetcher) and writes an audit line, and the handlers stay one line each.
Every action logs one ``admin.*`` event with the admin's id and the request id, and answers
with what changed. Runs in a command worker's thread: every ask has a timeout.

``/restart`` goes through the runtime's own :class:`~supervision.messages.InjectCrash`, so
the supervisor restarts the actor exactly as after a bug: the address stays, queued tells
move to the new instance, the restart is counted and backed off like any other. The crash
order queues behind the messages already in the actor's inbox, so requests in flight on a
busy fetch worker are answered first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from chat import cards_controls as texts
from chat.arguments import BreakerRequest, CacheRequest, LogLevelRequest
from chat.keyboards import owner_of, restart_keyboard
from chat.replies import CommandResult, reply
from core.logs import log_event
from market.cache import CacheStats
from market.cache_clear import CacheCleared
from messages.chat import ButtonPressed, ChatCommand
from messages.market import ClearCache, ResetBreaker
from ops.log_levels import UnknownLogger, known_loggers, set_log_level
from resilience.breaker import BreakerSnapshot
from supervision.address import Address, Directory
from supervision.errors import AskTimeout, ChildUnavailable
from supervision.messages import Describe, InjectCrash, Ping
from supervision.snapshot import ActorReport, ActorSnapshot, ChildState

__all__ = ["AdminControls"]

logger = logging.getLogger(__name__)

Request = ChatCommand | ButtonPressed

ASK_TIMEOUT_S = 2.0
RESTART_WAIT_S = 2.0
"""How long /restart waits to see the crash happen before saying "busy"."""
_RESTARTABLE = (ChildState.RUNNING, ChildState.BUSY)


@dataclass(frozen=True, slots=True)
class _Node:
    """One actor as its supervisor records it (enough to decide on a restart)."""

    name: str
    parent: str | None
    """Its supervisor; None for the root."""
    supervisor: bool
    state: ChildState
    restarts: int
    children: tuple[str, ...]


class AdminControls:
    """The controls one command worker runs (it owns one, through its ``CommandService``)."""

    def __init__(self, *, directory: Directory, snapshot: Callable[[], ActorSnapshot],
                 root: str = "root", worker: str | None = None) -> None:
        self._directory = directory
        self._snapshot = snapshot
        self._root = root
        self._worker = worker

    # -- /restart ----------------------------------------------------------------------------

    def restart(self, request: Request, name: str, *, confirmed: bool = False) -> CommandResult:
        """Restart ``name``; a supervisor only once the admin pressed the confirm button."""
        nodes = self._supervised()
        valid = [node.name for node in nodes if node.parent is not None]
        node = next((node for node in nodes if node.name == name), None)
        problem = None
        if name == self._root:
            problem = f"{name} is the root: restarting it is restarting the bot."
        elif node is None:
            problem = f"There is no actor called {name}."
        elif node.state not in _RESTARTABLE:
            problem = f"{name} is {node.state.value}, not running: nothing to restart."
        if problem is not None or node is None or node.parent is None:
            self._audit(request, "refused", actor=name, reason=problem)
            return CommandResult((reply(request, texts.restart_refused_text(name, problem or "",
                                                                            valid)),), "usage")
        parent = node.parent
        if node.supervisor and not confirmed:
            children = list(node.children)
            keyboard = restart_keyboard(name, owner=owner_of(request))
            return CommandResult((reply(request, texts.restart_confirm_text(name, children),
                                        keyboard),), "ok")
        outcome = self._crash(request, name)
        self._audit(request, outcome, actor=name, supervisor=parent,
                    kind="supervisor" if node.supervisor else "worker",
                    restarts_before=node.restarts)
        text = texts.restart_done_text(name, parent, node.restarts, outcome)
        return CommandResult((reply(request, text),), "ok")

    def restart_cancelled(self, request: Request, name: str) -> CommandResult:
        self._audit(request, "cancelled", actor=name)
        return CommandResult((reply(request, texts.restart_cancelled_text(name)),), "ok")

    def _supervised(self) -> list[_Node]:
        """Every actor as its supervisor records it, asking supervisors only.

        Not ``collect_tree``: that also asks every worker for its figures, and a busy one
        (a fetch worker with requests in flight, the very thing one restarts) costs the whole
        ask timeout; a supervisor answers from its own records at once.
        """
        nodes: list[_Node] = []
        children = self._visit(self._directory[self._root], nodes)
        return [_Node(self._root, None, True, ChildState.RUNNING, 0, children), *nodes]

    def _visit(self, address: Address, nodes: list[_Node]) -> tuple[str, ...]:
        """Add the children of the supervisor at ``address`` (and theirs); their names."""
        try:
            report = address.ask(Describe(), timeout=ASK_TIMEOUT_S)
        except ChildUnavailable:
            return ()
        if not isinstance(report, ActorReport):
            return ()
        for child in report.children:
            below = (self._visit(child.address, nodes)
                     if child.is_supervisor and child.state is ChildState.RUNNING else ())
            nodes.append(_Node(child.name, address.name, child.is_supervisor, child.state,
                               child.restarts, below))
        return tuple(child.name for child in report.children)

    def _crash(self, request: Request, name: str) -> str:
        """Order the crash and see it happen: crashed, busy, self (this worker) or asked."""
        address = self._directory[name]
        address.tell(InjectCrash(f"restarted by admin {request.user_id} "
                                 f"(request {request.request_id})"))
        if name == self._worker:
            return "self"  # the order waits behind this very request: never ask ourselves
        try:
            # Queued behind the crash order: the dying instance fails it at once.
            address.ask(Ping(), timeout=RESTART_WAIT_S)
        except AskTimeout:
            return "busy"
        except ChildUnavailable:
            return "crashed"
        return "asked"

    # -- /cache ------------------------------------------------------------------------------

    def cache(self, request: Request, args: CacheRequest, symbol: str | None) -> CommandResult:
        """Show the layers, or clear ``symbol`` (already resolved) or everything."""
        cache = self._directory["cache"]
        if not args.clear:
            return CommandResult((reply(request, texts.cache_text(self._cache_stats())),), "ok")
        try:
            cleared = cache.ask(ClearCache(symbol, request.request_id, request.user_id),
                                timeout=ASK_TIMEOUT_S)
        except ChildUnavailable:
            text = texts.control_unavailable_text("cache", "/cache")
            return CommandResult((reply(request, text),), "unavailable")
        assert isinstance(cleared, CacheCleared)
        stats = self._cache_stats()
        text = texts.cache_cleared_text(cleared, None if stats is None else stats.bytes)
        return CommandResult((reply(request, text),), "ok")

    def _cache_stats(self) -> CacheStats | None:
        try:
            report = self._directory["cache"].ask(Describe(), timeout=ASK_TIMEOUT_S)
        except ChildUnavailable:
            return None
        stats = report.stats if isinstance(report, ActorReport) else None
        return stats if isinstance(stats, CacheStats) else None

    # -- /breaker ----------------------------------------------------------------------------

    def breaker(self, request: Request, args: BreakerRequest) -> CommandResult:
        """Show every breaker in the tree, or close the exchange's (the fetcher owns it)."""
        if not args.reset:
            breakers = [(node.name, breaker) for node in self._snapshot().walk()
                        for breaker in node.breakers]
            return CommandResult((reply(request, texts.breakers_text(breakers)),), "ok")
        try:
            before, after = self._directory["fetcher"].ask(
                ResetBreaker(request.request_id, request.user_id), timeout=ASK_TIMEOUT_S)
        except ChildUnavailable:
            text = texts.control_unavailable_text("fetcher", "/breaker")
            return CommandResult((reply(request, text),), "unavailable")
        assert isinstance(before, BreakerSnapshot) and isinstance(after, BreakerSnapshot)
        return CommandResult((reply(request, texts.breaker_reset_text(before, after)),), "ok")

    # -- /loglevel ---------------------------------------------------------------------------

    def log_level(self, request: Request, args: LogLevelRequest) -> CommandResult:
        try:
            change = set_log_level(args.level, args.logger)
        except UnknownLogger:
            name = args.logger or ""
            text = texts.unknown_logger_text(name, known_loggers(name))
            return CommandResult((reply(request, text),), "usage")
        # At least WARNING, and never below the new level: the audit line outlives the change.
        level = max(logging.WARNING, logging.getLevelName(change.new))
        log_event(logger, "admin.log_level_changed", level, admin_id=request.user_id,
                  request_id=request.request_id, logger_name=change.logger, old_level=change.old,
                  new_level=change.new)
        return CommandResult((reply(request, texts.log_level_text(change)),), "ok")

    # -- helpers -----------------------------------------------------------------------------

    def _audit(self, request: Request, outcome: str, *, actor: str, **fields: object) -> None:
        log_event(logger, "admin.restart", logging.WARNING, exc_info=None,
                  admin_id=request.user_id, request_id=request.request_id, outcome=outcome,
                  actor=actor, **fields)
