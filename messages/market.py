"""Messages of the market conversation: fetching, caching, indicators.

Requests that expect an answer carry a ``request_id`` (it travels into every log line the
request causes) and, when the asker is not an actor, a ``reply_to`` future that the actor doing
the work completes. Values are immutable (frozen models, read-only numpy arrays).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pykka

    from market.candles import Candles

__all__ = [
    "AnalysisKey",
    "CacheLookup",
    "CachePut",
    "ClearCache",
    "ComputeIndicators",
    "Fetch",
    "FetchDone",
    "FetchSpec",
    "RefreshDue",
    "RefreshFailed",
    "ResetBreaker",
    "WorkerFetch",
]


@dataclass(frozen=True, slots=True)
class FetchSpec:
    """One upstream request; also the cache key of its response (identical specs coalesce)."""

    kind: str
    """klines, ticker_24h, tickers_24h, prices or exchange_info."""
    symbol: str = ""
    """Exchange symbol (BTCUSDT) for single-symbol kinds."""
    interval: str = ""
    """Kline interval (1h, 15m, ...)."""
    limit: int = 0
    """Kline count."""
    symbols: tuple[str, ...] = ()
    """Symbols for multi-symbol kinds, sorted so equal requests compare equal."""


@dataclass(frozen=True, slots=True)
class AnalysisKey:
    """Cache key of a computed analysis."""

    symbol: str
    """Exchange symbol."""
    interval: str
    """Kline interval it was computed on."""


@dataclass(frozen=True, slots=True)
class Fetch:
    """Ask the fetcher for ``spec``; the answer (value or error) completes ``reply_to``."""

    spec: FetchSpec
    """What to fetch."""
    reply_to: pykka.Future[Any] | None
    """Completed with the parsed value or the typed error; None for cache refreshes."""
    request_id: str | None = None
    """Correlates logs of one user request."""


@dataclass(frozen=True, slots=True)
class WorkerFetch:
    """Router to worker: do this request now (it may block up to the HTTP timeouts)."""

    spec: FetchSpec
    """What to fetch."""
    request_id: str | None = None
    """Correlates logs of the request that caused it."""


@dataclass(frozen=True, slots=True)
class FetchDone:
    """Worker to router: the outcome of one upstream request."""

    spec: FetchSpec
    """What was fetched."""
    worker: str
    """Which worker did it (for load accounting)."""
    value: object = None
    """Parsed, immutable result when it succeeded."""
    error: Exception | None = None
    """Typed error when it failed."""
    elapsed_s: float = 0.0
    """Time spent upstream."""
    age_s: float = 0.0
    """How old the value already was when it arrived (read from the shared layer)."""


@dataclass(frozen=True, slots=True)
class CacheLookup:
    """Ask the cache for several keys at once; answered with a tuple of ``CacheHit | None``."""

    keys: tuple[Any, ...]
    """FetchSpec or AnalysisKey values."""
    allow_stale: bool = True
    """Return stale entries (labelled by age) rather than nothing."""


@dataclass(frozen=True, slots=True)
class CachePut:
    """Store a value (fire-and-forget)."""

    key: Any
    """FetchSpec or AnalysisKey."""
    value: object
    """Immutable value to keep."""
    age_s: float = 0.0
    """How old it already is (fetched by another instance): freshness counts from the fetch."""


@dataclass(frozen=True, slots=True)
class ComputeIndicators:
    """Ask the indicator actor for the latest indicators over closed candles."""

    symbol: str
    """Exchange symbol (the state is kept per symbol and interval)."""
    interval: str
    """Kline interval."""
    candles: Candles
    """Closed candles only (read-only arrays)."""
    request_id: str | None = None
    """Correlates logs of one user request."""


@dataclass(frozen=True, slots=True)
class RefreshDue:
    """The cache's own timer: look for hot keys about to expire and refresh them."""


@dataclass(frozen=True, slots=True)
class RefreshFailed:
    """Fetcher to cache: a background refresh failed; the key may be offered again."""

    spec: FetchSpec
    """The key whose refresh failed."""


@dataclass(frozen=True, slots=True)
class ClearCache:
    """An admin's ``/cache clear``: asked of the cache, answered with ``CacheCleared``."""

    symbol: str | None
    """Exchange symbol whose entries go (every layer, every key), or None for everything."""
    request_id: str | None = None
    """The admin's request, for the log line."""
    admin_id: int | None = None
    """Who asked, for the log line."""


@dataclass(frozen=True, slots=True)
class ResetBreaker:
    """An admin's ``/breaker reset``: asked of the fetcher router, which closes the exchange
    breaker; answered with the (before, after) ``BreakerSnapshot`` pair."""

    request_id: str | None = None
    """The admin's request, for the log line."""
    admin_id: int | None = None
    """Who asked, for the log line."""
