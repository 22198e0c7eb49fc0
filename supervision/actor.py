"""The base class of every supervised actor: turns each way of dying into a report.

pykka alone loses a lot when an actor dies (see docs/supervision.md): queued tells vanish,
``on_failure`` is skipped when ``on_start`` fails, and a ``BaseException`` stops every actor in
the process. :class:`SupervisedActor` closes those holes:

=============================  ==============================================================
how it dies                    what the base class does
=============================  ==============================================================
exception in a told message    ``on_failure``: detach the address, drain the inbox (tells kept,
                               asks failed fast), release resources, tell the supervisor
                               ``ChildFailed`` with the in-flight message
exception in an asked message  pykka returns it to the asker and the actor keeps running;
                               counted in ``errors_returned``
exception in ``setup``         same report as a told failure, phase "start"
BaseException from a library   re-raised as :class:`EscapedBaseException` (a normal failure)
hang or silent thread death    found by the supervisor's heartbeat sweep, not here
=============================  ==============================================================

Subclasses implement ``handle`` (one ``match`` on the message type), and optionally ``setup``
(open resources, actor thread), ``release`` (close them; called after both a stop and a
failure), ``stats`` and ``breakers`` for introspection. What this needs from pykka beyond its
public API (a drainable inbox, whether the message being handled was asked) comes from
:mod:`supervision.pykka_adapter`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pykka

from core.errors import PermanentFault
from core.logs import bind_request_id, log_event
from supervision.errors import EscapedBaseException
from supervision.messages import (
    ChildFailed,
    Describe,
    InjectCrash,
    Ping,
    Redelivery,
    SystemMessage,
)
from supervision.pykka_adapter import DrainableActor, drain_inbox
from supervision.snapshot import ActorReport
from core.stats import NO_STATS, ActorStats

if TYPE_CHECKING:
    from resilience.breaker import BreakerSnapshot
    from supervision.context import ChildContext

__all__ = ["InjectedCrash", "SupervisedActor"]

logger = logging.getLogger(__name__)

# Everything that is a BaseException but not an Exception and that library code is known to
# leak. Listed by name (never ``except BaseException``) so a deliberate interpreter exit in
# the main thread still works.
_ESCAPING = (SystemExit, KeyboardInterrupt, GeneratorExit, asyncio.CancelledError)


_REQUEST_ID_CARRIERS: dict[type, bool] = {}


def _carries_request_id(message: object) -> bool:
    """Whether this message type has a request_id (cached: a missing-attribute getattr is slow)."""
    kind = type(message)
    known = _REQUEST_ID_CARRIERS.get(kind)
    if known is None:
        known = _REQUEST_ID_CARRIERS[kind] = hasattr(message, "request_id")
    return known


class InjectedCrash(RuntimeError):
    """The failure an :class:`~supervision.messages.InjectCrash` message causes."""


class SupervisedActor(DrainableActor):
    """A pykka actor that reports every failure to its supervisor and loses no message."""

    def __init__(self, ctx: ChildContext) -> None:
        super().__init__()
        self.ctx = ctx
        self._failed_message: object | None = None
        self._armed_crash: InjectCrash | None = None

    # -- hooks for subclasses ----------------------------------------------------------------

    def setup(self) -> None:
        """Open resources; runs in the actor's thread before the first message."""

    def handle(self, message: Any) -> Any:
        """Handle one message; the default logs it as unexpected."""
        log_event(
            logger,
            "actor.unexpected_message",
            logging.WARNING,
            actor=self.ctx.name,
            message_type=type(message).__name__,
        )
        return None

    def release(self) -> None:
        """Close resources; runs after an orderly stop and after a failure alike."""

    def stats(self) -> ActorStats:
        """The actor's own figures for introspection: a frozen :class:`ActorStats` subclass
        defined next to the actor (see ``core.stats``); the default has none."""
        return NO_STATS

    def breakers(self) -> tuple[BreakerSnapshot, ...]:
        """Snapshots of the circuit breakers this actor owns."""
        return ()

    # -- pykka hooks -------------------------------------------------------------------------

    def on_start(self) -> None:
        try:
            self.setup()
        except Exception as exc:
            self._fail("start", exc, inflight=None)
            raise

    def on_receive(self, message: Any) -> Any:
        ctx = self.ctx
        kind = type(message)
        if kind is Ping:
            return ctx.handled
        if kind is Describe:
            return self.describe()
        if kind is InjectCrash or (self._armed_crash is not None
                                   and not isinstance(message, SystemMessage)):
            return self._inject_crash(message)
        payload = message.message if kind is Redelivery else message
        # Left set after success too: it only matters while a handler runs (hang detection).
        ctx.inflight = message
        carries = _REQUEST_ID_CARRIERS.get(type(payload))  # inlined: this is the hottest path
        if carries is None:
            carries = _carries_request_id(payload)
        request_id = payload.request_id if carries else None
        try:
            if request_id is None:
                result = self.handle(payload)
            else:
                with bind_request_id(request_id):
                    result = self.handle(payload)
        except Exception as exc:
            self._failed_message = message
            ctx.inflight = None
            if self.answering_ask:  # else the actor dies: on_failure reports it
                ctx.errors_returned += 1
            ctx.last_error = repr(exc)
            raise
        except _ESCAPING as exc:
            self._failed_message = message
            ctx.inflight = None
            raise EscapedBaseException(f"{type(exc).__name__} escaped a handler: {exc!r}") from exc
        ctx.handled += 1
        return result

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        inflight = self._failed_message
        if isinstance(inflight, SystemMessage) and not isinstance(inflight, Redelivery):
            inflight = None
        self._fail("message", exception_value, inflight=inflight)

    def on_stop(self) -> None:
        self.release()

    # -- internals ---------------------------------------------------------------------------

    def _inject_crash(self, message: Any) -> None:
        """Arm a crash for the next ordinary message, or crash now (the message is kept)."""
        if isinstance(message, InjectCrash) and message.armed:
            self._armed_crash = message
            return
        crash = message if isinstance(message, InjectCrash) else self._armed_crash
        assert crash is not None
        self._armed_crash = None
        self._failed_message = message
        if self.answering_ask:  # the asker gets the crash and this instance keeps running
            self.ctx.errors_returned += 1
        raise InjectedCrash(crash.reason)

    def _fail(self, phase: str, error: BaseException | None, inflight: object | None) -> None:
        """Keep every message, close resources, then tell the supervisor.

        Resources close before the report goes out so the replacement never overlaps with
        this instance (a supervisor's children are all stopped before it is restarted).
        """
        ctx = self.ctx
        ctx.address.detach(ctx.generation)
        drained = tuple(
            message
            for message in drain_inbox(self.actor_ref, ctx.name, "actor crashed; retry shortly")
            if type(message) is Redelivery or not isinstance(message, SystemMessage)
        )
        report = ChildFailed(
            name=ctx.name,
            generation=ctx.generation,
            phase=phase,
            error=repr(error),
            inflight=inflight,
            drained=drained,
            failed_at=time.monotonic(),
            permanent=str(error) if isinstance(error, PermanentFault) else None,
        )
        self._release_quietly()
        if ctx.supervisor is None:
            if ctx.on_escalate is not None:
                ctx.on_escalate(report)
            return
        try:
            ctx.supervisor.tell(report)
        except pykka.ActorDeadError:
            # The supervisor is going down too; its successor restarts us and gets these.
            retry: tuple[object, ...] = ()
            if inflight is not None:
                retry = (inflight if type(inflight) is Redelivery else Redelivery(inflight, 1),)
            ctx.address.requeue_front(retry + drained)
            log_event(
                logger,
                "actor.failure_unreported",
                logging.ERROR,
                actor=ctx.name,
                error=report.error,
                kept_messages=len(drained) + (inflight is not None),
            )

    def _release_quietly(self) -> None:
        try:
            self.release()
        except Exception:
            logger.exception("release() of %s failed", self.ctx.name)

    def describe(self) -> ActorReport:
        """Introspection report; supervisors add their children."""
        return ActorReport(
            stats=self.stats(),
            breakers=self.breakers(),
            children=(),
        )
