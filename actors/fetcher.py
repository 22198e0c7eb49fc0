"""Fetcher: a router actor in front of a pool of HTTP worker actors.

``Fetch`` messages reach the router (``fetcher``). Identical requests already in flight join
that flight instead of going upstream again (single-flight); new ones go to the least busy
worker (``fetch_worker_N``), so a slow request never holds up the others. The router owns the
circuit breaker of the exchange: while it is open every request fails at once with
``CircuitOpenError`` (callers then serve stale data). Every success is also stored in the cache,
which is how background refreshes land.

Workers only do blocking HTTP, each with its own ``BinanceClient`` (its own connection pool) and
one shared, thread-safe weight budget. With ``redis_url`` a worker fetches through the layer
shared between instances (``SharedFetch``): an answer another instance fetched within its TTL
is reused, an identical request in flight elsewhere is waited for. A hung worker is found by
its supervisor's heartbeat; a flight that never completes (its worker died with it) expires
here after ``flight_timeout_s``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pykka

from core.logs import log_event
from market.errors import MarketError
from market.fetch_stats import FetcherStats, FetchWorkerStats, SharedMarketStats, WeightStats
from market.weights import BudgetSnapshot
from messages.market import (
    CachePut,
    Fetch,
    FetchDone,
    FetchSpec,
    RefreshFailed,
    ResetBreaker,
    WorkerFetch,
)
from resilience.breaker import BreakerSnapshot, BreakerTransition, CircuitBreaker
from resilience.errors import CircuitOpenError
from supervision import fail_future
from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from supervision.errors import ChildUnavailable

__all__ = ["FetchWorker", "FetcherRouter", "MarketSource", "RequestObserver", "worker_names"]

logger = logging.getLogger(__name__)


def worker_names(pool_size: int) -> tuple[str, ...]:
    return tuple(f"fetch_worker_{n}" for n in range(pool_size))


SharedFetch = Callable[[FetchSpec, Callable[[], object]], tuple[object, float]]
"""Fetches through the layer shared between instances: ``(spec, call)`` -> (value, age in s)
(``actors.shared_market.SharedMarket.fetch``; only with ``redis_url``)."""

RequestObserver = Callable[[str, str, float], None]
"""Told of every upstream request a worker made: kind, result (ok or the ``MarketError`` class
name), seconds (``ops.metrics.BotMetrics.observe_exchange_request``)."""


class MarketSource(Protocol):
    """What a worker needs from the exchange client (``market.binance.BinanceClient``)."""

    def call(self, spec: FetchSpec) -> object: ...

    def close(self) -> None: ...


@dataclass(slots=True)
class _Flight:
    started_at: float
    waiters: list[pykka.Future[Any] | None] = field(default_factory=list)


class FetcherRouter(SupervisedActor):
    """Single-flight, least-busy dispatch and the exchange's circuit breaker."""

    def __init__(
        self,
        ctx: ChildContext,
        *,
        workers: Sequence[str],
        breaker: Callable[[], CircuitBreaker],
        is_upstream_failure: Callable[[Exception], bool],
        flight_timeout_s: float,
        cache: str = "cache",
        clock: Callable[[], float] = time.monotonic,
        budget: Callable[[], BudgetSnapshot] | None = None,
        shared: Callable[[], SharedMarketStats] | None = None,
    ) -> None:
        super().__init__(ctx)
        self._budget = budget
        self._shared = shared
        self._workers = {name: ctx.directory[name] for name in workers}
        self._busy = dict.fromkeys(workers, 0)
        self._cache = ctx.directory[cache]
        self._make_breaker = breaker
        self._breaker: CircuitBreaker | None = None
        self._is_upstream_failure = is_upstream_failure
        self._flight_timeout_s = flight_timeout_s
        self._clock = clock
        self._flights: dict[FetchSpec, _Flight] = {}
        self._upstream_calls = 0
        self._coalesced = 0
        self._refused_open = 0

    def setup(self) -> None:
        self._breaker = self._make_breaker()
        self._breaker.add_listener(_log_transition)

    def handle(self, message: Any) -> Any:
        match message:
            case Fetch():
                return self._on_fetch(message)
            case FetchDone():
                return self._on_done(message)
            case ResetBreaker():
                return self._on_reset_breaker(message)
        return super().handle(message)

    def stats(self) -> FetcherStats:
        return FetcherStats(
            upstream_calls=self._upstream_calls,
            coalesced=self._coalesced,
            refused_circuit_open=self._refused_open,
            in_flight=len(self._flights),
            busy_workers=sum(1 for n in self._busy.values() if n),
            weight=self._weight_stats(),
            shared=None if self._shared is None else self._shared(),
        )

    def _weight_stats(self) -> WeightStats | None:
        # The budget is the workers' shared, lock-protected one; reading it never blocks.
        if self._budget is None:
            return None
        budget = self._budget()
        return WeightStats(used=round(budget.used, 1), limit=budget.limit,
                           blocked_s=round(budget.blocked_for_s, 1), blocked_reason=None
                           if budget.blocked_reason is None else budget.blocked_reason.value)

    def breakers(self) -> tuple[BreakerSnapshot, ...]:
        return () if self._breaker is None else (self._breaker.snapshot(),)

    def _on_fetch(self, message: Fetch) -> None:
        breaker = self._breaker
        assert breaker is not None
        now = self._clock()
        flight = self._flights.get(message.spec)
        if flight is not None and now - flight.started_at > self._flight_timeout_s:
            self._finish(message.spec, error=ChildUnavailable("fetcher", "upstream call lost"))
            flight = None
        if flight is not None:
            self._coalesced += 1
            flight.waiters.append(message.reply_to)
            return
        if not breaker.try_acquire():
            self._refused_open += 1
            if message.reply_to is not None:
                fail_future(message.reply_to, CircuitOpenError("exchange", breaker.retry_after_s()))
            else:
                self._cache.tell(RefreshFailed(message.spec))
            return
        self._flights[message.spec] = _Flight(now, [message.reply_to])
        worker = min(self._busy, key=self._busy.__getitem__)
        self._busy[worker] += 1
        self._upstream_calls += 1
        self._workers[worker].tell(WorkerFetch(message.spec, message.request_id))

    def _on_done(self, message: FetchDone) -> None:
        breaker = self._breaker
        assert breaker is not None
        if message.worker in self._busy:
            self._busy[message.worker] = max(0, self._busy[message.worker] - 1)
        if message.error is None:
            breaker.record_success()
            self._cache.tell(CachePut(message.spec, message.value, age_s=message.age_s))
        elif self._is_upstream_failure(message.error):
            flight = self._flights.get(message.spec)
            breaker.record_failure(started_at=None if flight is None else flight.started_at)
        else:
            breaker.record_ignored()  # e.g. unknown symbol: the exchange itself is fine
        self._finish(message.spec, value=message.value, error=message.error)

    def _on_reset_breaker(self, message: ResetBreaker) -> tuple[BreakerSnapshot, BreakerSnapshot]:
        """Close the exchange breaker after an operator's fix; flights already out stay out."""
        breaker = self._breaker
        assert breaker is not None
        before = breaker.snapshot()
        breaker.reset(f"reset by admin {message.admin_id}")
        after = breaker.snapshot()
        log_event(logger, "admin.breaker_reset", logging.WARNING, admin_id=message.admin_id,
                  request_id=message.request_id, breaker=before.name, old=before.state,
                  new=after.state, consecutive_failures=before.consecutive_failures)
        return before, after

    def _finish(self, spec: FetchSpec, *, value: object = None, error: Exception | None = None) -> None:
        flight = self._flights.pop(spec, None)
        if flight is None:
            return
        for waiter in flight.waiters:
            if waiter is None:
                if error is not None:
                    self._cache.tell(RefreshFailed(spec))
            elif error is None:
                try:
                    waiter.set(value)
                except Exception:  # queue.Full: the asker's future was completed already
                    pass
            else:
                fail_future(waiter, error)


class FetchWorker(SupervisedActor):
    """Does one blocking upstream request at a time and reports the outcome to the router."""

    def __init__(
        self,
        ctx: ChildContext,
        *,
        source_factory: Callable[[], MarketSource],
        router: str = "fetcher",
        clock: Callable[[], float] = time.perf_counter,
        on_request: RequestObserver | None = None,
        shared: SharedFetch | None = None,
    ) -> None:
        super().__init__(ctx)
        self._source_factory = source_factory
        self._shared = shared
        self._on_request = on_request
        self._router = ctx.directory[router]
        self._clock = clock
        self._source: MarketSource | None = None
        self._calls = 0
        self._errors = 0

    def setup(self) -> None:
        self._source = self._source_factory()

    def release(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None

    def handle(self, message: Any) -> Any:
        match message:
            case WorkerFetch():
                return self._on_work(message)
        return super().handle(message)

    def stats(self) -> FetchWorkerStats:
        return FetchWorkerStats(calls=self._calls, errors=self._errors)

    def _on_work(self, message: WorkerFetch) -> None:
        assert self._source is not None
        started = self._clock()
        self._calls += 1
        source, spec = self._source, message.spec
        try:
            if self._shared is None:
                value, age_s = source.call(spec), 0.0
            else:
                value, age_s = self._shared(spec, lambda: source.call(spec))
        except MarketError as exc:  # expected upstream trouble; anything else is a bug: crash
            self._errors += 1
            log_event(
                logger,
                "fetch.failed",
                logging.WARNING,
                kind=message.spec.kind,
                symbol=message.spec.symbol,
                error=repr(exc),
                request_id=message.request_id,
            )
            done = FetchDone(message.spec, self.ctx.name, error=exc, elapsed_s=self._clock() - started)
        else:
            done = FetchDone(message.spec, self.ctx.name, value=value,
                             elapsed_s=self._clock() - started, age_s=age_s)
        if self._on_request is not None:
            result = "ok" if done.error is None else type(done.error).__name__
            self._on_request(message.spec.kind, result, done.elapsed_s)
        self._router.tell(done)


def _log_transition(transition: BreakerTransition) -> None:
    log_event(
        logger,
        "breaker.state_changed",
        logging.WARNING,
        breaker=transition.name,
        old=transition.old.value,
        new=transition.new.value,
        reason=transition.reason,
    )
