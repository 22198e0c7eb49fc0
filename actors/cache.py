"""Cache actor: owns the layered cache and refreshes hot keys before they expire.

Thin shell over ``market.cache.LayeredCache``: lookups and stores are messages; a timer of its
own (``RefreshDue``) finds keys that are read often and about to expire and asks the fetcher to
refresh them, so popular symbols are served fresh from cache without anyone waiting on the
exchange. On ``MemoryPressure`` it shrinks every layer to the given fraction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable
from typing import Any

from core.logs import log_event
from market.cache import DEFAULT_TTLS, CacheHit, CacheStats, CacheTtls, Layer, LayeredCache, ttl_for
from market.cache_clear import CacheCleared, clear_cache
from messages.market import (
    AnalysisKey,
    CacheLookup,
    CachePut,
    ClearCache,
    Fetch,
    FetchSpec,
    RefreshDue,
    RefreshFailed,
)
from messages.system import MemoryPressure
from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from supervision.timer import PeriodicTimer, start_periodic, stop_periodic

__all__ = ["CacheActor", "layer_of"]

logger = logging.getLogger(__name__)


def layer_of(key: Hashable) -> Layer:
    """Raw exchange responses, computed analyses, rendered charts."""
    if isinstance(key, FetchSpec):
        return Layer.RAW
    if isinstance(key, AnalysisKey):
        return Layer.COMPUTED
    return Layer.CHARTS


def _ttl(key: Hashable, ttls: CacheTtls) -> float:
    if isinstance(key, FetchSpec):
        return ttl_for(key.kind, key.interval, ttls)
    if isinstance(key, AnalysisKey):
        return ttl_for("analysis", key.interval, ttls)
    return ttl_for("chart", getattr(key, "interval", ""), ttls)


class CacheActor(SupervisedActor):
    """Answers CacheLookup, stores CachePut, refreshes hot keys, shrinks under pressure."""

    def __init__(
        self,
        ctx: ChildContext,
        *,
        max_bytes: int,
        fetcher: str = "fetcher",
        refresh_interval_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        ttls: CacheTtls = DEFAULT_TTLS,
    ) -> None:
        super().__init__(ctx)
        self._max_bytes = max_bytes
        self._ttls = ttls
        self._fetcher = ctx.directory[fetcher]
        self._refresh_interval_s = refresh_interval_s
        self._clock = clock
        self._cache = LayeredCache(max_bytes, clock=clock, layer_of=layer_of)
        self._timer: PeriodicTimer | None = None
        self._refreshes = 0

    def setup(self) -> None:
        self._timer = start_periodic(self, RefreshDue(), self._refresh_interval_s)

    def release(self) -> None:
        stop_periodic(self._timer)

    def handle(self, message: Any) -> Any:
        match message:
            case CacheLookup():
                return self._on_lookup(message)
            case CachePut():
                return self._on_put(message)
            case RefreshDue():
                return self._on_refresh_due()
            case RefreshFailed(spec=spec):
                return self._cache.refresh_failed(spec)
            case MemoryPressure():
                return self._on_memory_pressure(message)
            case ClearCache():
                return self._on_clear(message)
        return super().handle(message)

    def stats(self) -> CacheStats:
        return CacheStats(
            bytes=self._cache.total_bytes(),
            max_bytes=self._max_bytes,
            layers=tuple((layer.value, figures) for layer, figures in self._cache.stats().items()),
            background_refreshes=self._refreshes,
        )

    def _on_lookup(self, message: CacheLookup) -> tuple[CacheHit | None, ...]:
        return tuple(self._cache.get(key, allow_stale=message.allow_stale) for key in message.keys)

    def _on_put(self, message: CachePut) -> None:
        self._cache.put(message.key, message.value, ttl_s=_ttl(message.key, self._ttls),
                        age_s=message.age_s)

    def _on_refresh_due(self) -> None:
        for key in self._cache.due_for_refresh():
            assert isinstance(key, FetchSpec)
            self._refreshes += 1
            self._fetcher.tell(Fetch(key, reply_to=None))

    def _on_memory_pressure(self, message: MemoryPressure) -> None:
        freed = self._cache.shrink(message.target_fraction)
        log_event(
            logger,
            "cache.shrunk",
            logging.WARNING,
            memory_level=message.level,
            freed_bytes=freed,
            now_bytes=self._cache.total_bytes(),
        )

    def _on_clear(self, message: ClearCache) -> CacheCleared:
        cleared = clear_cache(self._cache, message.symbol)
        log_event(logger, "admin.cache_cleared", logging.WARNING, admin_id=message.admin_id,
                  request_id=message.request_id, symbol=message.symbol or "all",
                  entries=cleared.entries, freed_bytes=cleared.bytes,
                  now_bytes=self._cache.total_bytes())
        return cleared
