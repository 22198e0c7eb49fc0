"""The figures of the exchange fetch path: the router's, each worker's and the weight budget's.

Defined here, beside the exchange client and its weight budget, rather than in the actors that
report them, so the readers (``/stats`` in ``chat.cards_admin``, the metrics line) depend on a
domain module, not on an actor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.stats import GROUP, ActorStats

__all__ = ["FetchWorkerStats", "FetcherStats", "SharedMarketStats", "WeightStats"]


@dataclass(frozen=True, slots=True)
class WeightStats:
    """The exchange's request-weight budget, shared by the fetch workers."""

    used: float
    """Weight used in the current minute (one decimal)."""
    limit: int
    """Weight allowed per minute."""
    blocked_s: float
    """Seconds calls are still held back (one decimal; 0 when not blocked)."""
    blocked_reason: str | None
    """Why they are held back (a ``BlockReason`` value), None when not blocked."""


@dataclass(frozen=True, slots=True)
class SharedMarketStats:
    """The exchange side shared between instances through Redis (only with ``redis_url``)."""

    mode: str
    """``shared`` or ``local-fallback`` (Redis did not answer the last call)."""
    redis_up: bool
    """What the Redis link thinks now."""
    fallbacks: int
    """Times the weight budget went from shared to local-fallback."""
    local_limit: int
    """Weight per minute this instance allows itself while in local-fallback."""
    hits: int
    """Answers found in the shared response layer."""
    led: int
    """Upstream calls this instance made for every instance."""
    followed: int
    """Answers another instance fetched while this one waited."""
    alone: int
    """Upstream calls made without sharing (Redis away, leader failed or died, bad entry)."""
    bad_entries: int
    """Shared entries that failed validation and were ignored."""


@dataclass(frozen=True, slots=True)
class FetcherStats(ActorStats):
    """The fetcher router's figures."""

    upstream_calls: int
    """Calls handed to workers (after single-flight coalescing)."""
    coalesced: int
    """Fetches that joined a call already in flight."""
    refused_circuit_open: int
    """Fetches refused while the exchange breaker was open."""
    in_flight: int
    """Distinct calls in flight now."""
    busy_workers: int
    """Workers with at least one call now."""
    weight: WeightStats | None = field(default=None, metadata=GROUP)
    """The request-weight budget; None without one (no ``weight.*`` figures then)."""
    shared: SharedMarketStats | None = field(default=None, metadata=GROUP)
    """The Redis-shared side; None without ``redis_url`` (no ``shared.*`` figures then)."""


@dataclass(frozen=True, slots=True)
class FetchWorkerStats(ActorStats):
    """One fetch worker's figures."""

    calls: int
    """Exchange calls made by this incarnation."""
    errors: int
    """Of those, failed with a market error."""
