"""The market's shared side when ``redis_url`` is set: one budget, one flight table per process.

Built once per market subtree (``actors.market_tree``) and handed to its fetch workers and
router: the workers take weight from ``budget`` and fetch through ``fetch``, so identical
requests from several instances make one upstream call and an answer fetched by one instance
is reused by the others for its TTL (``cluster.flights``); the router reads ``stats``.
Without ``redis_url`` none of this exists and the subtree is exactly the in-process one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from actors.shared_budget import FALLBACK, SHARED, SharedBudget
from cluster.flights import SharedFlights
from cluster.redis_link import RedisLink
from cluster.weight_budget import SharedWeightLedger
from core.config import BotConfig
from core.logs import log_event
from market import wire
from market.cache import CacheTtls, ttl_for
from market.fetch_stats import SharedMarketStats
from messages.market import FetchSpec

__all__ = ["SharedMarket", "shared_market"]

logger = logging.getLogger(__name__)


class SharedMarket:
    """The shared budget and flights of one instance, and how to fetch through them."""

    def __init__(self, link: RedisLink, budget: SharedBudget, flights: SharedFlights,
                 ttls: CacheTtls, flight_timeout_s: float,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.link = link
        self.budget = budget
        self.flights = flights
        self.ttls = ttls
        self.flight_timeout_s = flight_timeout_s
        self.wall_clock = wall_clock
        self._lock = threading.Lock()
        self._was_up = True

    def fetch(self, spec: FetchSpec, call: Callable[[], object]) -> tuple[object, float]:
        """The answer to ``spec`` and its age (s): shared, waited for, or ``call()`` made."""
        if spec.kind not in wire.SHARED_KINDS:
            return call(), 0.0
        try:
            shared = self.flights.run(
                wire.spec_hash(spec), ttl_s=ttl_for(spec.kind, spec.interval, self.ttls),
                flight_timeout_s=self.flight_timeout_s, fetch=call,
                encode=lambda value: wire.encode(spec, value),
                decode=lambda data: wire.decode(spec, data, int(self.wall_clock() * 1000)))
        finally:
            self._note_link()
        return shared.value, shared.age_s

    def _note_link(self) -> None:
        """Log once when the shared side is lost and once when it is back."""
        state = self.link.state()
        with self._lock:
            changed, self._was_up = state.up != self._was_up, state.up
        if not changed:
            return
        if state.up:
            log_event(logger, "market.shared_restored", logging.INFO, mode=SHARED)
        else:
            log_event(logger, "market.shared_fallback", logging.WARNING, mode=FALLBACK,
                      error=state.last_error, local_limit=self.budget.local_limit)

    def stats(self) -> SharedMarketStats:
        counts = self.flights.counts()
        return SharedMarketStats(
            mode=self.budget.mode, redis_up=self.link.state().up,
            fallbacks=self.budget.fallbacks, local_limit=self.budget.local_limit,
            hits=counts.hits, led=counts.led, followed=counts.followed, alone=counts.alone,
            bad_entries=counts.bad_entries)


def shared_market(config: BotConfig, link: RedisLink, *, owner: str, flight_timeout_s: float,
                  clock: Callable[[], float] = time.monotonic,
                  wall_clock: Callable[[], float] = time.time) -> SharedMarket:
    """The shared side of one instance (``owner`` names it in flight keys)."""
    budget = SharedBudget(
        SharedWeightLedger(link, wall_clock=wall_clock),
        limit_per_minute=config.request_weight_limit_per_minute,
        strategy=config.rate_limit_strategy, fallback_fraction=config.redis_fallback_fraction,
        clock=clock)
    flights = SharedFlights(link, owner=owner, wall_clock=wall_clock, clock=clock)
    return SharedMarket(link, budget, flights, CacheTtls.from_config(config), flight_timeout_s,
                        wall_clock)
