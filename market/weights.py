"""Our side of Binance's request-weight limit: a thread-safe budget that refuses, never waits.

Why: Binance counts request weight per IP per minute and answers 429, then bans with 418 (two
minutes up to three days), when a client keeps going. The bot's fetchers call the exchange
from several threads at once, so they share one ``WeightBudget``: ``acquire(weight)`` grants
weight only if the limit allows it, and otherwise raises ``WeightBudgetExhausted`` with the
time until it would, so the caller (the fetcher actor) can degrade instead of blocking a
thread. The budget also holds the global "quiet until" after a 429 or 418, so that no thread
sends anything before the time Binance gave.

Two strategies (``BotConfig.rate_limit_strategy``), both pure arithmetic on an injected
monotonic clock behind one lock:

* ``sliding_window``: grants are remembered for 60 s; a grant is allowed when the weight
  granted in the last 60 s plus the new weight stays within the limit. For every instant ``t``
  the weight granted in ``(t - 60, t]`` is at most the limit.
* ``token_bucket``: capacity ``limit / 2``, refilled at ``limit / 2`` per minute. Half the
  limit is the price of the guarantee: a full bucket plus one minute of refill is exactly the
  limit, so no 60-s window ever gets more than the limit either (a full-size bucket would let
  twice the limit through in a minute and earn a 429).

The server's count (``X-MBX-USED-WEIGHT-1M``) is trusted when it says more was used than we
think (other processes on the same IP, urllib3's own retries): see ``observe_used_weight``.
``request_weight`` is Binance's weight table for the endpoints the client calls.
"""

from __future__ import annotations

import enum
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from core.config import RateLimitStrategy
from market.errors import IpBanned, RateLimited, WeightBudgetExhausted

__all__ = ["BlockReason", "BudgetSnapshot", "RequestBudget", "WINDOW_S", "WeightBudget",
           "check_weight", "parse_used_weight", "request_weight"]

WINDOW_S = 60.0
"""Length of Binance's REQUEST_WEIGHT window (1 MINUTE)."""

# Waits are rounded up by a microsecond, so waiting exactly ``retry_after_s`` is always enough
# despite float rounding; token comparisons get the same slack in the other direction.
_MARGIN_S = 1e-6
_EPSILON = 1e-9
# Far above any real count; a larger header is garbage, and past float range it would crash the
# budget's arithmetic (a 400-digit X-MBX-USED-WEIGHT-1M is still a valid int).
_MAX_SERVER_USED = 10**9


class BlockReason(enum.StrEnum):
    """Why every request is held back."""

    RATE_LIMITED = "rate_limited"
    """Binance answered 429."""
    BANNED = "banned"
    """Binance answered 418."""


@dataclass(frozen=True, slots=True)
class BudgetSnapshot:
    """The budget's state at one instant, for status pages and logs."""

    strategy: RateLimitStrategy
    limit: int
    """REQUEST_WEIGHT per minute, from config or exchangeInfo."""
    used: float
    """Sliding window: weight counted in the last 60 s. Token bucket: capacity minus tokens."""
    available: float
    """Weight that could be granted right now (ignoring a block)."""
    blocked_until: float | None
    """Monotonic time until which every request is refused, or None."""
    blocked_reason: BlockReason | None
    blocked_for_s: float = 0.0
    """Seconds from the snapshot until requests may leave again (0 when not blocked)."""


class _Meter(Protocol):
    """One strategy's arithmetic; called with the budget's lock held."""

    @property
    def max_weight(self) -> float: ...

    def take(self, weight: int, now: float) -> float:
        """Grant ``weight`` and return 0.0, or return the seconds until it could be granted."""
        ...

    def observe(self, server_used: int, limit: int, now: float) -> None: ...

    def resize(self, limit: int, now: float) -> None: ...

    def used(self, now: float) -> float: ...

    def available(self, now: float) -> float: ...


class _SlidingWindow:
    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._grants: deque[tuple[float, int]] = deque()
        self._sum = 0

    @property
    def max_weight(self) -> float:
        return float(self._limit)

    def _expire(self, now: float) -> None:
        while self._grants and self._grants[0][0] + WINDOW_S <= now:
            self._sum -= self._grants.popleft()[1]

    def take(self, weight: int, now: float) -> float:
        self._expire(now)
        excess = self._sum + weight - self._limit
        if excess <= 0:
            self._grants.append((now, weight))
            self._sum += weight
            return 0.0
        freed = 0
        for granted_at, granted in self._grants:
            freed += granted
            if freed >= excess:
                return granted_at + WINDOW_S - now + _MARGIN_S
        return WINDOW_S  # unreachable while weight <= limit; a safe answer anyway

    def observe(self, server_used: int, limit: int, now: float) -> None:
        self._expire(now)
        if server_used > self._sum:
            self._grants.append((now, server_used - self._sum))
            self._sum = server_used

    def resize(self, limit: int, now: float) -> None:
        self._limit = limit

    def used(self, now: float) -> float:
        self._expire(now)
        return float(self._sum)

    def available(self, now: float) -> float:
        return max(0.0, self._limit - self.used(now))


class _TokenBucket:
    def __init__(self, limit: int, now: float) -> None:
        self._capacity = limit / 2
        self._rate = self._capacity / WINDOW_S
        self._tokens = self._capacity
        self._last = now

    @property
    def max_weight(self) -> float:
        return self._capacity

    def _refill(self, now: float) -> None:
        if now > self._last:
            self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
            self._last = now

    def take(self, weight: int, now: float) -> float:
        self._refill(now)
        if self._tokens + _EPSILON >= weight:
            self._tokens = max(0.0, self._tokens - weight)
            return 0.0
        return (weight - self._tokens) / self._rate + _MARGIN_S

    def observe(self, server_used: int, limit: int, now: float) -> None:
        self._refill(now)
        self._tokens = min(self._tokens, max(0.0, float(limit - server_used)))

    def resize(self, limit: int, now: float) -> None:
        self._refill(now)
        self._capacity = limit / 2
        self._rate = self._capacity / WINDOW_S
        self._tokens = min(self._tokens, self._capacity)

    def used(self, now: float) -> float:
        self._refill(now)
        return self._capacity - self._tokens

    def available(self, now: float) -> float:
        self._refill(now)
        return self._tokens


class RequestBudget(Protocol):
    """What the exchange client needs from a weight budget: ``WeightBudget`` in one process,
    ``actors.shared_budget.SharedBudget`` when instances share one IP's budget in Redis.

    Every method returns at once (refuses, never waits); times are this process's monotonic
    clock.
    """

    @property
    def strategy(self) -> RateLimitStrategy: ...

    @property
    def limit(self) -> int: ...

    def acquire(self, weight: int) -> None: ...

    def observe_used_weight(self, header_value: str | int | None) -> None: ...

    def set_limit(self, limit_per_minute: int) -> None: ...

    def block_until(
        self, until: float, reason: BlockReason, *, banned_until_ms: int | None = None
    ) -> None: ...

    def snapshot(self) -> BudgetSnapshot: ...


class WeightBudget:
    """Request weight shared by every thread that talks to Binance (see module docstring).

    All methods are thread-safe and return at once: nothing here sleeps.
    """

    def __init__(
        self,
        limit_per_minute: int,
        strategy: RateLimitStrategy = "sliding_window",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_limit(limit_per_minute)
        self._clock = clock
        self._lock = threading.Lock()
        self._limit = limit_per_minute
        self._strategy: RateLimitStrategy = strategy
        self._meter: _Meter
        if strategy == "sliding_window":
            self._meter = _SlidingWindow(limit_per_minute)
        elif strategy == "token_bucket":
            self._meter = _TokenBucket(limit_per_minute, clock())
        else:
            raise ValueError(f"unknown rate-limit strategy {strategy!r}")
        self._blocked_until: float | None = None
        self._blocked_reason: BlockReason | None = None
        self._banned_until_ms: int | None = None

    @property
    def strategy(self) -> RateLimitStrategy:
        return self._strategy

    @property
    def limit(self) -> int:
        with self._lock:
            return self._limit

    def acquire(self, weight: int) -> None:
        """Take ``weight`` from the budget, or raise without taking anything.

        Raises ``RateLimited``/``IpBanned`` during a block (see ``block_until``),
        ``WeightBudgetExhausted`` when the weight does not fit yet, and ``ValueError`` for a
        weight that could never fit (< 1 or above the strategy's maximum).
        """
        with self._lock:
            now = self._clock()
            self._raise_if_blocked(now)
            check_weight(weight, self._meter.max_weight)
            wait = self._meter.take(weight, now)
        if wait > 0.0:
            raise WeightBudgetExhausted(wait, weight)

    def _raise_if_blocked(self, now: float) -> None:
        until = self._blocked_until
        if until is None:
            return
        if now >= until:
            self._blocked_until = self._blocked_reason = self._banned_until_ms = None
            return
        if self._blocked_reason is BlockReason.BANNED:
            raise IpBanned(until - now, self._banned_until_ms)
        raise RateLimited(until - now)

    def observe_used_weight(self, header_value: str | int | None) -> None:
        """Sync with the server's ``X-MBX-USED-WEIGHT-1M``; a lower count than ours is ignored.

        Missing or unreadable values are ignored: the header is advisory, our count stands.
        """
        server_used = parse_used_weight(header_value)
        if server_used is None:
            return
        with self._lock:
            self._meter.observe(server_used, self._limit, self._clock())

    def set_limit(self, limit_per_minute: int) -> None:
        """Adopt the REQUEST_WEIGHT limit from exchangeInfo; weight already granted counts."""
        _check_limit(limit_per_minute)
        with self._lock:
            self._limit = limit_per_minute
            self._meter.resize(limit_per_minute, self._clock())

    def block_until(
        self, until: float, reason: BlockReason, *, banned_until_ms: int | None = None
    ) -> None:
        """Refuse every request until monotonic time ``until`` (after a 429 or 418).

        A block never gets shorter, and a ban is never downgraded to a rate limit while it
        lasts. ``banned_until_ms`` is Binance's own end of a ban (epoch ms), kept for messages.
        """
        with self._lock:
            current = self._blocked_until
            if current is None or self._clock() >= current:
                self._blocked_until, self._blocked_reason = until, reason
                self._banned_until_ms = banned_until_ms
                return
            self._blocked_until = max(current, until)
            if reason is BlockReason.BANNED:
                self._blocked_reason = BlockReason.BANNED
                self._banned_until_ms = banned_until_ms or self._banned_until_ms

    def snapshot(self) -> BudgetSnapshot:
        with self._lock:
            now = self._clock()
            blocked = self._blocked_until is not None and now < self._blocked_until
            return BudgetSnapshot(
                strategy=self._strategy,
                limit=self._limit,
                used=self._meter.used(now),
                available=self._meter.available(now),
                blocked_until=self._blocked_until if blocked else None,
                blocked_reason=self._blocked_reason if blocked else None,
                blocked_for_s=(self._blocked_until or now) - now if blocked else 0.0,
            )


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 2:
        raise ValueError(f"limit_per_minute must be an integer >= 2, got {limit!r}")


def parse_used_weight(header_value: str | int | None) -> int | None:
    """``X-MBX-USED-WEIGHT-1M`` as a count, or None when missing, unreadable or absurd."""
    if header_value is None:
        return None
    try:
        server_used = int(str(header_value).strip())
    except ValueError:
        return None
    return server_used if 0 <= server_used <= _MAX_SERVER_USED else None


def check_weight(weight: int, max_weight: float) -> None:
    """``ValueError`` for a weight that could never be granted."""
    if weight < 1 or weight > max_weight:
        raise ValueError(f"weight must be between 1 and {max_weight:g}, got {weight}")


def request_weight(path: str, symbol_count: int | None = None) -> int:
    """Binance's weight for ``path``; ``symbol_count`` is the length of a ``symbols`` list."""
    if path == "/api/v3/ticker/24hr" and symbol_count is not None:
        return 2 if symbol_count <= 20 else 40 if symbol_count <= 100 else 80
    if path == "/api/v3/ticker/price" and symbol_count is not None:
        return 4
    return _WEIGHTS[path]


_WEIGHTS = {
    "/api/v3/ping": 1,
    "/api/v3/time": 1,
    "/api/v3/exchangeInfo": 20,
    "/api/v3/ticker/price": 2,
    "/api/v3/ticker/24hr": 2,
    "/api/v3/klines": 2,
    "/api/v3/avgPrice": 2,
}
