"""A layered TTL + LRU cache bounded by bytes, with stale-while-revalidate bookkeeping.

Three layers share ``max_bytes`` (``cache_size_mb``): raw exchange responses (kept compressed:
klines are the bulk of the memory and compress well), computed analyses, and rendered charts.
Each entry is fresh for the TTL of its data kind and interval (:func:`ttl_for`, configured by
:class:`CacheTtls`); after that it
is *stale* but kept, so a failing exchange can still be answered with labelled old data, until
LRU eviction or ``max_stale_s`` removes it. Keys that are read often and are about to expire are
reported by :meth:`LayeredCache.due_for_refresh`, so the cache actor can refresh them in the
background before anyone sees a miss.

Pure and single-threaded: the cache actor owns one instance.
"""

from __future__ import annotations

import pickle
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from market.intervals import INTERVAL_MS
from core.stats import INLINE, ActorStats

if TYPE_CHECKING:
    from core.config import BotConfig

__all__ = ["CacheHit", "CacheStats", "CacheTtls", "DEFAULT_TTLS", "Layer", "LayerStats", "LayeredCache",
           "ttl_for"]


class Layer(StrEnum):
    RAW = "raw"
    COMPUTED = "computed"
    CHARTS = "charts"


LAYER_SHARES = {Layer.RAW: 0.6, Layer.COMPUTED: 0.25, Layer.CHARTS: 0.15}
"""How ``max_bytes`` is split: raw data is the largest and most reusable."""

TICKER_TTL_S = 5.0
"""Prices and 24h stats: users compare against other screens, so a few seconds at most."""
EXCHANGE_INFO_TTL_S = 3600.0
"""Symbols and limits change rarely."""


@dataclass(frozen=True, slots=True)
class CacheTtls:
    """How long each data kind stays fresh: the ``cache_*_ttl*`` settings, today's values as
    defaults. Klines follow their interval (a 1-minute candle changes every minute, a daily
    one barely), within a floor (no hammering the exchange for 1m candles) and a cap (a daily
    chart still shows the live candle)."""

    ticker_s: float = TICKER_TTL_S
    """Prices and 24h stats."""
    analysis_s: float = TICKER_TTL_S
    """An analysis also shows the live price, so it should not outlive the ticker."""
    klines_divisor: int = 60
    """Klines are fresh for 1/``klines_divisor`` of their interval (1h: 60 s) ..."""
    klines_min_s: float = 5.0
    """... but at least this long ..."""
    klines_max_s: float = 120.0
    """... and at most this long."""

    @classmethod
    def from_config(cls, config: BotConfig) -> CacheTtls:
        return cls(ticker_s=config.cache_ticker_ttl_s, analysis_s=config.cache_analysis_ttl_s,
                   klines_divisor=config.cache_klines_ttl_divisor,
                   klines_min_s=config.cache_klines_ttl_min_s,
                   klines_max_s=config.cache_klines_ttl_max_s)


DEFAULT_TTLS = CacheTtls()


def ttl_for(kind: str, interval: str = "", ttls: CacheTtls = DEFAULT_TTLS) -> float:
    """Freshness of one data kind (charts follow their klines; an unknown interval counts as 1h)."""
    if kind == "exchange_info":
        return EXCHANGE_INFO_TTL_S
    if kind == "analysis":
        return ttls.analysis_s
    if kind in ("klines", "chart"):
        seconds = INTERVAL_MS.get(interval, 3_600_000) / 1000 / ttls.klines_divisor
        return min(max(seconds, ttls.klines_min_s), ttls.klines_max_s)
    return ttls.ticker_s


@dataclass(frozen=True, slots=True)
class CacheHit:
    """A value found in the cache, with how old it is."""

    value: object
    """The stored value (decompressed for the raw layer)."""
    age_s: float
    """Seconds since it was stored."""
    fresh: bool
    """False once its TTL passed (stale-while-revalidate)."""


@dataclass(frozen=True, slots=True)
class LayerStats:
    """Figures of one layer, for introspection (a copy of its counters)."""

    hits: int
    """Fresh hits."""
    misses: int
    """Lookups that found nothing usable."""
    stale_hits: int
    """Hits on an expired entry that was still allowed."""
    evictions: int
    """Entries evicted to stay within the layer's byte budget."""
    bytes: int
    """Bytes the layer holds now."""
    hit_rate: float | None
    """Lookups answered from the cache, fresh or stale, four decimals; None before the first
    lookup. Kept for the dashboards that read ``<layer>.hit_rate``; a stale answer is not a
    fresh one, so /stats shows the two rates below instead."""
    fresh_hit_rate: float | None = None
    """Fresh hits over lookups: answers that needed no exchange call and are up to date."""
    stale_hit_rate: float | None = None
    """Stale hits over lookups: answers served past their TTL (labelled old data)."""
    entries: int = 0
    """Entries the layer holds now."""


@dataclass(frozen=True, slots=True)
class CacheStats(ActorStats):
    """The cache actor's figures: the layered cache's plus its background refreshes."""

    bytes: int
    """Bytes held over all layers."""
    max_bytes: int
    """The cache's byte budget."""
    layers: tuple[tuple[str, LayerStats], ...] = field(metadata=INLINE)
    """Per layer (raw, computed, charts): its figures, named ``<layer>.hits`` and so on."""
    background_refreshes: int
    """Refreshes of hot keys asked of the fetcher."""

    def layer(self, layer: Layer) -> LayerStats | None:
        """The figures of one layer, if the cache has it."""
        return dict(self.layers).get(layer.value)


@dataclass(slots=True)
class _LayerCounters:
    """The live, mutable counters behind :class:`LayerStats`."""

    hits: int = 0
    misses: int = 0
    stale_hits: int = 0
    evictions: int = 0
    bytes: int = 0
    entries: int = 0

    def snapshot(self) -> LayerStats:
        lookups = self.hits + self.stale_hits + self.misses
        def rate(count: int) -> float | None:
            return None if lookups == 0 else round(count / lookups, 4)

        return LayerStats(hits=self.hits, misses=self.misses, stale_hits=self.stale_hits,
                          evictions=self.evictions, bytes=self.bytes,
                          hit_rate=rate(self.hits + self.stale_hits),
                          fresh_hit_rate=rate(self.hits), stale_hit_rate=rate(self.stale_hits),
                          entries=self.entries)


@dataclass(slots=True)
class _Entry:
    payload: object
    compressed: bool
    size: int
    stored_at: float
    ttl_s: float
    reads_since_store: int = 0
    refreshing: bool = False


@dataclass(slots=True)
class _LayerState:
    budget: int
    entries: OrderedDict[Hashable, _Entry] = field(default_factory=OrderedDict)
    stats: _LayerCounters = field(default_factory=_LayerCounters)


class LayeredCache:
    """TTL + LRU-by-bytes cache with three layers; see the module docstring."""

    def __init__(
        self,
        max_bytes: int,
        *,
        clock: Callable[[], float],
        max_stale_s: float = 6 * 3600.0,
        layer_of: Callable[[Hashable], Layer] = lambda key: Layer.RAW,
    ) -> None:
        self.max_bytes = max_bytes
        self._clock = clock
        self._max_stale_s = max_stale_s
        self._layer_of = layer_of
        self._layers = {
            layer: _LayerState(budget=int(max_bytes * share)) for layer, share in LAYER_SHARES.items()
        }

    # -- reads and writes ----------------------------------------------------------------------

    def get(self, key: Hashable, *, allow_stale: bool = True) -> CacheHit | None:
        """The entry for ``key``: fresh, stale (if allowed and not too old), or None."""
        state = self._layers[self._layer_of(key)]
        entry = state.entries.get(key)
        now = self._clock()
        if entry is None:
            state.stats.misses += 1
            return None
        age = now - entry.stored_at
        fresh = age <= entry.ttl_s
        if not fresh and (not allow_stale or age > entry.ttl_s + self._max_stale_s):
            state.stats.misses += 1
            return None
        state.entries.move_to_end(key)
        entry.reads_since_store += 1
        if fresh:
            state.stats.hits += 1
        else:
            state.stats.stale_hits += 1
        return CacheHit(value=self._unpack(entry), age_s=age, fresh=fresh)

    def put(self, key: Hashable, value: object, *, ttl_s: float, size: int | None = None,
            age_s: float = 0.0) -> None:
        """Store ``value``; raw-layer values are compressed and sized by their compressed bytes.

        ``age_s``: how old the value already is (one fetched by another instance), so it turns
        stale when it would have at the instance that fetched it."""
        layer = self._layer_of(key)
        state = self._layers[layer]
        if layer is Layer.RAW:
            payload: object = zlib.compress(pickle.dumps(value, protocol=5), 1)
            compressed = True
            nbytes = len(payload)  # type: ignore[arg-type]
        else:
            payload, compressed = value, False
            nbytes = size if size is not None else _estimate_size(value)
        old = state.entries.pop(key, None)
        if old is not None:
            state.stats.bytes -= old.size
        state.entries[key] = _Entry(payload, compressed, nbytes, self._clock() - max(0.0, age_s),
                                    ttl_s)
        state.stats.bytes += nbytes
        self._evict_to(state, state.budget)
        state.stats.entries = len(state.entries)

    def invalidate(self, key: Hashable) -> None:
        state = self._layers[self._layer_of(key)]
        entry = state.entries.pop(key, None)
        if entry is not None:
            state.stats.bytes -= entry.size
            state.stats.entries = len(state.entries)

    def remove_where(self, doomed: Callable[[Hashable], bool]) -> dict[Layer, tuple[int, int]]:
        """Drop every entry whose key ``doomed`` picks; per layer, (entries, bytes) removed.

        For an operator's ``/cache clear``: hit and miss counters are kept (they describe
        the past), only what is held goes.
        """
        removed: dict[Layer, tuple[int, int]] = {}
        for layer, state in self._layers.items():
            keys = [key for key in state.entries if doomed(key)]
            freed = 0
            for key in keys:
                freed += state.entries.pop(key).size
            state.stats.bytes -= freed
            state.stats.entries = len(state.entries)
            removed[layer] = (len(keys), freed)
        return removed

    # -- background refresh --------------------------------------------------------------------

    def due_for_refresh(
        self, *, layer: Layer = Layer.RAW, before_expiry: float = 0.25, min_reads: int = 2
    ) -> tuple[Hashable, ...]:
        """Keys read at least ``min_reads`` times since stored, in the last quarter of their TTL.

        Each is returned once and marked as refreshing until it is stored again.
        """
        now = self._clock()
        due = []
        for key, entry in self._layers[layer].entries.items():
            remaining = entry.ttl_s - (now - entry.stored_at)
            if (
                not entry.refreshing
                and entry.reads_since_store >= min_reads
                and 0 <= remaining <= entry.ttl_s * before_expiry
            ):
                entry.refreshing = True
                due.append(key)
        return tuple(due)

    def refresh_failed(self, key: Hashable) -> None:
        """Let a key be offered for refresh again."""
        entry = self._layers[self._layer_of(key)].entries.get(key)
        if entry is not None:
            entry.refreshing = False

    # -- memory ----------------------------------------------------------------------------------

    def shrink(self, target_fraction: float) -> int:
        """Evict least recently used entries until every layer is within ``target_fraction``
        of its budget; returns the bytes freed."""
        before = self.total_bytes()
        for state in self._layers.values():
            self._evict_to(state, int(state.budget * target_fraction))
            state.stats.entries = len(state.entries)
        return before - self.total_bytes()

    def total_bytes(self) -> int:
        return sum(state.stats.bytes for state in self._layers.values())

    def stats(self) -> dict[Layer, LayerStats]:
        """Per-layer figures (copies)."""
        return {layer: state.stats.snapshot() for layer, state in self._layers.items()}

    def keys(self, layer: Layer) -> Iterable[Hashable]:
        return tuple(self._layers[layer].entries)

    # -- internals -------------------------------------------------------------------------------

    @staticmethod
    def _unpack(entry: _Entry) -> object:
        if entry.compressed:
            return pickle.loads(zlib.decompress(entry.payload))  # type: ignore[arg-type]
        return entry.payload

    @staticmethod
    def _evict_to(state: _LayerState, budget: int) -> None:
        while state.stats.bytes > budget and state.entries:
            _, entry = state.entries.popitem(last=False)
            state.stats.bytes -= entry.size
            state.stats.evictions += 1


def _estimate_size(value: object) -> int:
    """Bytes a computed value holds; its own ``memory_bytes()`` when it has one."""
    sizer = getattr(value, "memory_bytes", None)
    if callable(sizer):
        return int(sizer())
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    return len(pickle.dumps(value, protocol=5))
