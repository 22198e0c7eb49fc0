"""slo: owns the SLO windows (``ops.slo``) and is told every command's outcome.

Why an actor of its own: the conversation must never wait, so it only tells an outcome
(``CommandOutcome``, from its command listener); the figures are read through ``stats()`` by
whoever takes a snapshot (/health, /stats, ``GET /healthz``, ``/metrics``, the pushed alerts).
Its state is figures only: a restart starts the windows afresh, and loses nothing a user needs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chat.commands import lookup
from messages.chat import CommandDone
from messages.ops import AdminSeen, CommandOutcome
from ops.slo import SloStats, SloWindows
from supervision.actor import SupervisedActor
from supervision.address import Directory
from supervision.context import ChildContext
from supervision.spec import ChildSpec, Priority

__all__ = ["SloTracker", "ops_listener", "slo_spec"]

CommandListener = Callable[[CommandDone, float], None]


class SloTracker(SupervisedActor):
    """Feeds command outcomes into :class:`~ops.slo.SloWindows` on its clock."""

    def __init__(self, ctx: ChildContext, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(ctx)
        self._clock = clock
        self._windows = SloWindows()

    def handle(self, message: Any) -> Any:
        match message:
            case CommandOutcome():
                return self._on_command_outcome(message)
        return super().handle(message)

    def stats(self) -> SloStats:
        return self._windows.stats(self._clock())

    def _on_command_outcome(self, message: CommandOutcome) -> None:
        self._windows.record(message.command, message.outcome, message.latency_ms,
                             at=self._clock())


def ops_listener(directory: Directory, admin_ids: tuple[int, ...], *, slo: str = "slo",
                 alerts: str = "ops_alerts") -> CommandListener:
    """The conversation's listener for operations: every command's outcome to ``slo``, and
    every admin answered in their private chat to ``ops_alerts`` (who may then be alerted
    there).

    Fire-and-forget tells: the conversation never waits on either."""
    tracker, alerter = directory[slo], directory[alerts]
    admins = frozenset(admin_ids)

    def listen(done: CommandDone, latency_ms: float) -> None:
        # Commands of the table and button presses; not the policy's own answers (plain
        # text, unknown commands, rate-limit warnings), which are not a service we measure.
        if done.command == "button" or lookup(done.command) is not None:
            tracker.tell(CommandOutcome(done.command, done.outcome, latency_ms))
        for answer in done.replies[:1]:
            # In a private chat the chat id is the user's id: an admin wrote to us there.
            if answer.chat_type == "private" and answer.chat_id in admins:
                alerter.tell(AdminSeen(answer.chat_id))
    return listen


def slo_spec() -> ChildSpec:
    """The ``slo`` child (for the root)."""
    return ChildSpec(name="slo", factory=lambda ctx: SloTracker.start(ctx),
                     priority=Priority.MEDIUM)
