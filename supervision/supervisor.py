"""The supervisor: an actor that starts, watches and restarts its children.

Lifecycle of one child::

      spec ──start──▶ running ──failure──▶ failed ──intensity ok──▶ restarting ──backoff──▶ running
        │                │                   │                          ▲
        └─lazy─▶ lazy ───┘ first message     └─intensity exceeded──▶ stop all children (reverse
                                                                    order), fail to the parent

How it learns of a death: the child's own report (``ChildFailed``, sent from ``on_failure`` or a
failing ``setup``), or its periodic sweep (``Tick``): a thread that ended without a report, or
a child that has not answered a heartbeat ``Ping`` within its hang timeout.

The supervisor never blocks while restarting: backoff is a timer that tells it
``RestartChildren``; siblings taken down by ``one_for_all``/``rest_for_one`` are stopped with a
non-blocking stop and restarted once they are gone (or abandoned after the shutdown timeout).
Only its own shutdown waits, child by child, in reverse start order, each with a timeout.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pykka

from core.logs import log_event
from resilience.backoff import RestartBackoff, Rng
from supervision.actor import SupervisedActor
from supervision.address import Address
from supervision.context import ChildContext
from core.errors import PermanentFault
from supervision.errors import MaxRestartsExceeded, PermanentChildFault
from supervision.messages import (
    ChildFailed,
    Ping,
    Redelivery,
    RestartChildren,
    StartLazy,
    SystemMessage,
    Tick,
)
from supervision.pykka_adapter import drain_inbox
from supervision.snapshot import ActorReport, ChildReport, ChildState
from supervision.spec import ChildSpec, RestartType, start_order
from core.stats import ActorStats
from supervision.strategies import RestartIntensity, Strategy, affected_children
from supervision.timer import PeriodicTimer

__all__ = ["Supervisor", "SupervisorSettings", "SupervisorStats", "supervisor_spec"]

logger = logging.getLogger(__name__)

_RETRY_STOPPED_CHECK_S = 0.005
_PING = Ping()


@dataclass(frozen=True, slots=True)
class SupervisorStats(ActorStats):
    """A supervisor's figures."""

    recent_restarts: int
    """Restarts of its children inside the restart-intensity window."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SupervisorSettings:
    """How a supervisor treats failures (defaults follow the OTP guide's 5 restarts per 30 s)."""

    strategy: Strategy = Strategy.ONE_FOR_ONE
    max_restarts: int = 5
    period_s: float = 30.0
    backoff_base_s: float = 0.05
    backoff_cap_s: float = 5.0
    backoff_reset_s: float = 30.0
    heartbeat_interval_s: float = 1.0
    hang_timeout_s: float = 10.0
    shutdown_timeout_s: float = 5.0
    max_redeliveries: int = 1


@dataclass(slots=True, eq=False)
class _Child:
    """The supervisor's private, mutable record of one child (supervisor thread only)."""

    spec: ChildSpec
    address: Address
    backoff: RestartBackoff
    state: ChildState = ChildState.STOPPED
    ref: pykka.ActorRef[Any] | None = None
    ctx: ChildContext | None = None
    restarts: int = 0
    last_failure: str | None = None
    stop_future: pykka.Future[Any] | None = None
    stop_requested_at: float = 0.0
    ping_future: pykka.Future[Any] | None = None
    ping_sent_at: float = 0.0
    dead_seen_at: float | None = None


class Supervisor(SupervisedActor):
    """Owns child specs; restarts children by strategy within a restart intensity."""

    def __init__(
        self,
        ctx: ChildContext,
        *,
        specs: Sequence[ChildSpec],
        settings: SupervisorSettings = SupervisorSettings(),
        clock: Callable[[], float] = time.monotonic,
        rng: Rng | None = None,
    ) -> None:
        super().__init__(ctx)
        self.settings = settings
        self._clock = clock
        rng = rng if rng is not None else random.Random()
        self._order = start_order(specs)
        self._children = {
            spec.name: _Child(
                spec=spec,
                address=ctx.directory[spec.name],
                backoff=RestartBackoff(
                    settings.backoff_base_s,
                    settings.backoff_cap_s,
                    settings.backoff_reset_s,
                    clock=clock,
                    rng=rng,
                ),
            )
            for spec in self._order
        }
        # Counted per child, as Akka does: a crash loop is a property of one child, and
        # independent single crashes of the eight workers of a pool are not a reason to give
        # up on the pool (OTP counts per supervisor, which forces pools to size their limit).
        self._intensity = {
            spec.name: RestartIntensity(settings.max_restarts, settings.period_s)
            for spec in self._order
        }
        self._sweep_timer: PeriodicTimer | None = None
        self._timers: set[threading.Timer] = set()
        self._timers_lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------------

    def setup(self) -> None:
        for spec in self._order:
            child = self._children[spec.name]
            child.address.bind(self.actor_ref, lazy=spec.lazy)
            if spec.lazy:
                child.state = ChildState.LAZY
            else:
                self._start(child)
        self._sweep_timer = PeriodicTimer(
            self.actor_ref, Tick(), self.settings.heartbeat_interval_s, self.ctx.name
        ).start()

    def release(self) -> None:
        if self._sweep_timer is not None:
            self._sweep_timer.stop()
        with self._timers_lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
        for spec in reversed(self._order):
            self._shut_down(self._children[spec.name])

    # -- dispatch ------------------------------------------------------------------------------

    def handle(self, message: Any) -> Any:
        match message:
            case ChildFailed():
                self._on_child_failed(message)
            case RestartChildren():
                self._on_restart_children(message)
            case StartLazy():
                self._on_start_lazy(message)
            case Tick():
                self._on_tick()
            case _:
                return super().handle(message)
        return None

    def describe(self) -> ActorReport:
        return ActorReport(
            stats=SupervisorStats(recent_restarts=sum(
                counter.recent(self._clock()) for counter in self._intensity.values())),
            breakers=(),
            children=tuple(self._child_report(self._children[spec.name]) for spec in self._order),
            strategy=self.settings.strategy.value,
        )

    # -- handlers ------------------------------------------------------------------------------

    def _on_child_failed(self, report: ChildFailed) -> None:
        child = self._children.get(report.name)
        if (child is None or child.state is not ChildState.RUNNING
                or report.generation != child.address.generation):
            self._keep_stale_messages(report)
            return
        now = self._clock()
        child.state = ChildState.FAILED
        child.ref = None
        child.last_failure = f"{report.phase}: {report.error}"
        log_event(
            logger,
            "actor.crashed",
            logging.ERROR,
            actor=child.spec.name,
            supervisor=self.ctx.name,
            generation=report.generation,
            phase=report.phase,
            error=report.error,
            inflight=type(report.inflight).__name__ if report.inflight is not None else None,
            queued=len(report.drained),
        )
        child.address.requeue_front(self._redeliverable(child, report.inflight) + report.drained)
        if report.permanent is not None:
            self._give_up(child, report.permanent)
        if child.spec.restart is RestartType.TEMPORARY:
            self._retire(child, "temporary child died")
            return
        if child.spec.restart is RestartType.TRANSIENT and report.phase == "dead":
            # It ended without a failure: a normal exit, which OTP does not restart.
            self._retire(child, "transient child exited normally")
            return
        if self._intensity[child.spec.name].record(now):
            self._escalate(child)
        started = [s.name for s in self._order
                   if self._children[s.name].state in (ChildState.RUNNING, ChildState.FAILED)]
        names = affected_children(self.settings.strategy, started, child.spec.name)
        for name in reversed(names):
            if name != child.spec.name:
                self._stop_for_restart(self._children[name], now)
        names = tuple(n for n in names
                      if self._children[n].state in (ChildState.FAILED, ChildState.RESTARTING))
        child.state = ChildState.RESTARTING
        self._schedule(RestartChildren(names), child.backoff.next_delay(now))

    def _on_restart_children(self, message: RestartChildren) -> None:
        now = self._clock()
        for index, name in enumerate(message.names):
            child = self._children[name]
            if child.state is not ChildState.RESTARTING:
                continue
            if not self._old_instance_gone(child, now):
                self._schedule(RestartChildren(message.names[index:]), _RETRY_STOPPED_CHECK_S)
                return
            child.restarts += 1
            self._start(child)

    def _on_start_lazy(self, message: StartLazy) -> None:
        child = self._children.get(message.name)
        if child is not None and child.state is ChildState.LAZY:
            self._start(child)

    def _on_tick(self) -> None:
        now = self._clock()
        for spec in self._order:
            child = self._children[spec.name]
            if child.state is ChildState.RUNNING and child.ref is not None:
                self._sweep(child, now)

    # -- the sweep -----------------------------------------------------------------------------

    def _sweep(self, child: _Child, now: float) -> None:
        ref = child.ref
        assert ref is not None
        if not ref.is_alive():
            # Its own report may still be on the way: act only if it stays silent a while.
            if child.dead_seen_at is None:
                child.dead_seen_at = now
            elif now - child.dead_seen_at >= self.settings.heartbeat_interval_s:
                self._take_over(child, "dead", "thread ended without a failure report")
            return
        if child.ping_future is not None:
            try:
                child.ping_future.get(timeout=0)
            except pykka.Timeout:
                hang_timeout = child.spec.hang_timeout_s or self.settings.hang_timeout_s
                silent_for = now - child.ping_sent_at
                if silent_for > hang_timeout:
                    self._take_over(child, "hang", f"no heartbeat answer for {silent_for:.1f} s")
                return
            except Exception:  # the ping failed because the child died; handled above next time
                pass
            child.ping_future = None
        child.ping_future = ref.ask(_PING, block=False)
        child.ping_sent_at = now

    def _take_over(self, child: _Child, phase: str, error: str) -> None:
        """Treat a hung or silently dead instance as failed, keeping its queued messages."""
        ref, ctx = child.ref, child.ctx
        assert ref is not None and ctx is not None
        child.address.detach(ctx.generation)
        queued = drain_inbox(ref, child.spec.name, f"actor {phase}")
        if phase == "hang":
            ref.stop(block=False)  # it exits once its blocking call returns
        self._on_child_failed(
            ChildFailed(
                name=child.spec.name,
                generation=ctx.generation,
                phase=phase,
                error=error,
                inflight=ctx.inflight,
                drained=tuple(m for m in queued if not isinstance(m, SystemMessage) or type(m) is Redelivery),
                failed_at=self._clock(),
            )
        )

    # -- helpers -------------------------------------------------------------------------------

    def _start(self, child: _Child) -> None:
        generation = child.address.generation + 1
        ctx = ChildContext(
            name=child.spec.name,
            generation=generation,
            address=child.address,
            directory=self.ctx.directory,
            supervisor=self.actor_ref,
        )
        try:
            ref = child.spec.factory(ctx)
        except Exception as exc:
            # __init__ failed in our thread: same treatment as a failing on_start.
            child.state, child.ctx = ChildState.RUNNING, ctx
            child.address.detach(child.address.generation)
            self.actor_ref.tell(
                ChildFailed(
                    name=child.spec.name,
                    generation=child.address.generation,
                    phase="start",
                    error=repr(exc),
                    inflight=None,
                    drained=(),
                    failed_at=self._clock(),
                    permanent=str(exc) if isinstance(exc, PermanentFault) else None,
                )
            )
            return
        child.ref, child.ctx, child.state = ref, ctx, ChildState.RUNNING
        child.ping_future, child.dead_seen_at = None, None
        child.address.attach(ref, generation)
        log_event(
            logger,
            "actor.restarted" if generation > 1 else "actor.started",
            logging.INFO,
            actor=child.spec.name,
            supervisor=self.ctx.name,
            generation=generation,
            restarts=child.restarts,
        )

    def _redeliverable(self, child: _Child, inflight: object | None) -> tuple[object, ...]:
        if inflight is None:
            return ()
        if type(inflight) is Redelivery:
            if inflight.attempt >= self.settings.max_redeliveries:
                log_event(
                    logger,
                    "actor.dead_letter",
                    logging.ERROR,
                    actor=child.spec.name,
                    message_type=type(inflight.message).__name__,
                    reason=f"crashed the actor {inflight.attempt + 1} times (poison message)",
                    request_id=getattr(inflight.message, "request_id", None),
                )
                return ()
            return (Redelivery(inflight.message, inflight.attempt + 1),)
        if isinstance(inflight, SystemMessage):
            return ()
        return (Redelivery(inflight, 1),)

    def _stop_for_restart(self, sibling: _Child, now: float) -> None:
        if sibling.state is not ChildState.RUNNING or sibling.ref is None or sibling.ctx is None:
            return
        sibling.address.detach(sibling.ctx.generation)
        # A poison-pill stop: it finishes what is already queued, so nothing is lost.
        sibling.stop_future = sibling.ref.stop(block=False)
        sibling.stop_requested_at = now
        sibling.ref = None
        if sibling.spec.restart is RestartType.TEMPORARY:
            self._retire(sibling, "temporary child stopped with a failing sibling")
        else:
            sibling.state = ChildState.RESTARTING

    def _old_instance_gone(self, child: _Child, now: float) -> bool:
        if child.stop_future is None:
            return True
        try:
            child.stop_future.get(timeout=0)
        except pykka.Timeout:
            if now - child.stop_requested_at < self.settings.shutdown_timeout_s:
                return False
            log_event(
                logger, "actor.stop_timeout", logging.WARNING, actor=child.spec.name, supervisor=self.ctx.name
            )
        child.stop_future = None
        return True

    def _retire(self, child: _Child, reason: str) -> None:
        child.state = ChildState.STOPPED
        child.address.close(reason)
        log_event(logger, "actor.retired", logging.INFO, actor=child.spec.name, reason=reason)

    def _escalate(self, child: _Child) -> None:
        log_event(
            logger,
            "supervisor.escalated",
            logging.CRITICAL,
            supervisor=self.ctx.name,
            child=child.spec.name,
            max_restarts=self.settings.max_restarts,
            period_s=self.settings.period_s,
        )
        raise MaxRestartsExceeded(self.ctx.name, self.settings.max_restarts + 1, self.settings.period_s)

    def _give_up(self, child: _Child, reason: str) -> None:
        """A fault no restart can fix: escalate now instead of crash-looping until the
        intensity runs out (a rejected token gave ~36 start attempts and 43 tracebacks)."""
        log_event(logger, "supervisor.permanent_fault", logging.CRITICAL,
                  supervisor=self.ctx.name, child=child.spec.name, reason=reason)
        raise PermanentChildFault(child.spec.name, reason)

    def _keep_stale_messages(self, report: ChildFailed) -> None:
        """A report about an instance we already replaced: its messages still belong to the child."""
        child = self._children.get(report.name)
        if child is not None and (report.drained or report.inflight is not None):
            carry = self._redeliverable(child, report.inflight) + report.drained
            for message in carry:
                child.address.tell(message)

    def _schedule(self, message: object, delay_s: float) -> None:
        if delay_s <= 0:
            self.actor_ref.tell(message)
            return
        timer = threading.Timer(delay_s, self._fire, args=(message,))
        timer.daemon = True
        with self._timers_lock:
            self._timers.add(timer)
        timer.start()

    def _fire(self, message: object) -> None:
        with self._timers_lock:
            self._timers.discard(threading.current_thread())
        try:
            self.actor_ref.tell(message)
        except pykka.ActorDeadError:
            pass

    def _shut_down(self, child: _Child) -> None:
        timeout = self.settings.shutdown_timeout_s
        if child.ref is not None and child.ctx is not None:
            child.address.detach(child.ctx.generation)
            try:
                child.ref.stop(block=True, timeout=timeout)
            except pykka.Timeout:
                log_event(logger, "actor.stop_timeout", logging.WARNING, actor=child.spec.name)
        if child.stop_future is not None:
            try:
                child.stop_future.get(timeout=timeout)
            except pykka.Timeout:
                log_event(logger, "actor.stop_timeout", logging.WARNING, actor=child.spec.name)
        if child.state in (ChildState.RUNNING, ChildState.RESTARTING, ChildState.FAILED):
            log_event(logger, "actor.stopped", logging.INFO, actor=child.spec.name)
        child.ref, child.stop_future = None, None
        child.state = ChildState.STOPPED if child.state is not ChildState.LAZY else ChildState.LAZY

    def _child_report(self, child: _Child) -> ChildReport:
        ctx = child.ctx
        return ChildReport(
            name=child.spec.name,
            address=child.address,
            is_supervisor=child.spec.is_supervisor,
            state=child.state,
            restart_type=child.spec.restart.value,
            priority=child.spec.priority.name,
            restarts=child.restarts,
            last_failure=child.last_failure,
            mailbox_depth=child.address.mailbox_depth(),
            handled=ctx.handled if ctx is not None else 0,
            generation=child.address.generation,
        )


def supervisor_spec(
    name: str,
    children: Sequence[ChildSpec],
    settings: SupervisorSettings = SupervisorSettings(),
    **spec_fields: Any,
) -> ChildSpec:
    """A child spec for a nested supervisor over ``children``."""
    fields: Mapping[str, Any] = {"restart": RestartType.PERMANENT, **spec_fields}
    return ChildSpec(
        name=name,
        factory=lambda ctx: Supervisor.start(ctx, specs=children, settings=settings),
        is_supervisor=True,
        **fields,
    )
