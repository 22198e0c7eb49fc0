"""The weight budget of an instance that shares its IP's Binance budget through Redis.

``SharedBudget`` is what the exchange clients of the fetch workers take from (the
``market.weights.RequestBudget`` interface): each grant and each 429/418 block is decided by the
shared ledger in Redis (``cluster.weight_budget``). When Redis does not answer it falls back,
call by call, to a local ``WeightBudget`` whose limit is the limit times
``redis_fallback_fraction`` (0.5 by default: two instances on their own stay within the IP's
limit together), and uses the shared ledger again as soon as the link is back up.

What the local budget knows, so that the fallback starts from a safe place rather than empty:

* every ``X-MBX-USED-WEIGHT-1M`` the exchange sent (the IP's real count, all instances
  included) is fed to it as well as to the ledger;
* every block (429/418) this instance saw or read from the ledger is kept locally too, and is
  honoured in both modes.

Reading the state (``snapshot``, ``mode``) never calls Redis: the mode is the link's up/down
state, the figures are those of the last call, so the fetcher's stats never wait on a dead
Redis.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cluster.redis_link import SharedUnavailable
from cluster.weight_budget import LedgerAnswer, SharedWeightLedger
from core.config import RateLimitStrategy
from market.errors import IpBanned, RateLimited, WeightBudgetExhausted
from market.weights import (
    BlockReason,
    BudgetSnapshot,
    WeightBudget,
    check_weight,
    parse_used_weight,
)

__all__ = ["FALLBACK", "SHARED", "SharedBudget", "fallback_limit"]

SHARED = "shared"
"""Mode: grants are decided in Redis for every instance."""
FALLBACK = "local-fallback"
"""Mode: Redis did not answer; the local budget at the safe fraction decides."""


def fallback_limit(limit: int, fraction: float) -> int:
    """The local limit while Redis is away (at least 2, the budget's smallest)."""
    return max(2, int(limit * fraction))


class SharedBudget:
    """``RequestBudget`` backed by the shared ledger, local at a safe fraction without it."""

    def __init__(self, ledger: SharedWeightLedger, *, limit_per_minute: int,
                 strategy: RateLimitStrategy, fallback_fraction: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ledger = ledger
        self._fraction = fallback_fraction
        self._clock = clock
        self._local = WeightBudget(fallback_limit(limit_per_minute, fallback_fraction),
                                   strategy, clock)
        self._lock = threading.Lock()
        self._limit = limit_per_minute
        self._strategy: RateLimitStrategy = strategy
        self._last_mode = SHARED
        self._fallbacks = 0
        self._last: LedgerAnswer | None = None
        self._last_at = clock()

    @property
    def strategy(self) -> RateLimitStrategy:
        return self._strategy

    @property
    def limit(self) -> int:
        with self._lock:
            return self._limit

    @property
    def mode(self) -> str:
        """``shared`` or ``local-fallback``: whether the Redis link is up now (the link decides
        for every shared mechanism; the next call follows it)."""
        return SHARED if self._ledger.up() else FALLBACK

    @property
    def fallbacks(self) -> int:
        """Times this budget went from shared to local-fallback."""
        with self._lock:
            return self._fallbacks

    @property
    def local_limit(self) -> int:
        return self._local.limit

    def acquire(self, weight: int) -> None:
        limit = self.limit
        check_weight(weight, limit if self._strategy == "sliding_window" else limit / 2)
        self._raise_if_blocked_here()
        try:
            answer = self._ledger.take(weight, limit, self._strategy)
        except SharedUnavailable:
            self._went(FALLBACK)
            self._local.acquire(weight)
            return
        self._went(SHARED, answer)
        if answer.quiet_for_s > 0:
            reason = BlockReason(answer.quiet_reason or BlockReason.RATE_LIMITED.value)
            self._local.block_until(self._clock() + answer.quiet_for_s, reason,
                                    banned_until_ms=answer.banned_until_ms)
            _raise_quiet(reason, answer.quiet_for_s, answer.banned_until_ms)
        if not answer.granted:
            raise WeightBudgetExhausted(answer.wait_s + 1e-6, weight)

    def observe_used_weight(self, header_value: str | int | None) -> None:
        server_used = parse_used_weight(header_value)
        if server_used is None:
            return
        self._local.observe_used_weight(server_used)
        try:
            answer = self._ledger.observe(server_used, self.limit, self._strategy)
        except SharedUnavailable:
            self._went(FALLBACK)
            return
        self._went(SHARED, answer)

    def set_limit(self, limit_per_minute: int) -> None:
        self._local.set_limit(fallback_limit(limit_per_minute, self._fraction))
        with self._lock:
            self._limit = limit_per_minute

    def block_until(self, until: float, reason: BlockReason, *,
                    banned_until_ms: int | None = None) -> None:
        self._local.block_until(until, reason, banned_until_ms=banned_until_ms)
        try:
            self._ledger.block(until - self._clock(), reason.value, banned_until_ms)
        except SharedUnavailable:
            self._went(FALLBACK)
            return
        self._went(SHARED)

    def snapshot(self) -> BudgetSnapshot:
        local = self._local.snapshot()
        with self._lock:
            last, last_at, limit = self._last, self._last_at, self._limit
        if self.mode == FALLBACK:
            return local
        if last is None:
            last = LedgerAnswer(granted=True, wait_s=0.0, used=0.0, quiet_for_s=0.0,
                                quiet_reason=None, banned_until_ms=None)
        left = max(0.0, last.quiet_for_s - (self._clock() - last_at))
        blocked = local.blocked_until is not None or left > 0
        until = max(local.blocked_until or 0.0, self._clock() + left) if blocked else None
        capacity = limit if self._strategy == "sliding_window" else limit / 2
        reason = local.blocked_reason or BlockReason(last.quiet_reason or "rate_limited")
        return BudgetSnapshot(
            strategy=self._strategy, limit=limit, used=last.used,
            available=max(0.0, capacity - last.used), blocked_until=until,
            blocked_reason=reason if blocked else None,
            blocked_for_s=max(0.0, until - self._clock()) if until is not None else 0.0)

    def _raise_if_blocked_here(self) -> None:
        local = self._local.snapshot()
        if local.blocked_until is not None and local.blocked_reason is not None:
            _raise_quiet(local.blocked_reason, local.blocked_for_s, None)

    def _went(self, mode: str, answer: LedgerAnswer | None = None) -> None:
        with self._lock:
            if mode == FALLBACK and self._last_mode == SHARED:
                self._fallbacks += 1
            self._last_mode = mode
            if answer is not None:
                self._last, self._last_at = answer, self._clock()


def _raise_quiet(reason: BlockReason, seconds: float, banned_until_ms: int | None) -> None:
    if reason is BlockReason.BANNED:
        raise IpBanned(seconds, banned_until_ms)
    raise RateLimited(seconds)
