"""Command workers: a small pool of actors that do the slow part of chat commands.

Each owns a ``CommandService`` and may block while it waits for the market, a chart or the
database (always with timeouts), which is exactly why this work is not done by the
conversation actor. A handler bug crashes only the worker: the supervisor restarts it and
redelivers the request once; the conversation apologises if it never hears back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from actors.chat_commands import CommandService
from actors.inline_answers import answer_inline
from messages.chat import CommandDone, RunCommand
from messages.inline import RunInline
from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from core.stats import INLINE, ActorStats

__all__ = ["CommandWorker", "CommandWorkerStats", "command_worker_names"]


def command_worker_names(count: int) -> tuple[str, ...]:
    return tuple(f"command_worker_{n}" for n in range(count))


@dataclass(frozen=True, slots=True)
class CommandWorkerStats(ActorStats):
    """One command worker's figures."""

    outcomes: tuple[tuple[str, int], ...] = field(default=(), metadata=INLINE)
    """Commands handled per outcome (ok, usage, unavailable, ...), each figure named after
    its outcome; an outcome not seen yet is left out."""


class CommandWorker(SupervisedActor):
    """Runs one RunCommand (or RunInline) at a time and reports CommandDone (InlineDone) to
    the conversation."""

    def __init__(
        self,
        ctx: ChildContext,
        *,
        service_factory: Callable[[str], CommandService],
        conversation: str = "conversation",
    ) -> None:
        super().__init__(ctx)
        self._service_factory = service_factory
        self._conversation = ctx.directory[conversation]
        self._service: CommandService | None = None
        self._outcomes: dict[str, int] = {}

    def setup(self) -> None:
        self._service = self._service_factory(self.ctx.name)

    def handle(self, message: Any) -> Any:
        match message:
            case RunCommand():
                return self._on_run(message)
            case RunInline():
                return self._on_inline(message)
        return super().handle(message)

    def stats(self) -> CommandWorkerStats:
        return CommandWorkerStats(outcomes=tuple(self._outcomes.items()))

    def _on_run(self, run: RunCommand) -> None:
        assert self._service is not None
        replies, outcome = self._service.execute(run)
        self._outcomes[outcome] = self._outcomes.get(outcome, 0) + 1
        self._conversation.tell(CommandDone(request_id=run.request_id, replies=replies,
                                            command=run.command, outcome=outcome,
                                            worker=self.ctx.name,
                                            user_id=run.request.user_id))

    def _on_inline(self, run: RunInline) -> None:
        """An inline query's results (``actors.inline_answers``), back to the conversation."""
        assert self._service is not None
        self._conversation.tell(answer_inline(self._service.market, run, self.ctx.name))
