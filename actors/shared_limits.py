"""The per-user rate limit shared by every instance (Redis), with the local one as fallback.

``chat`` stays pure: its policies ask a :class:`chat.ratelimit.RateLimiter`. This wrapper is
one that asks :class:`cluster.user_limits.UserBudget` and, while Redis does not answer, the
local :class:`chat.ratelimit.UserRateLimiter` it was given (each instance then limits alone,
as a single instance does). Called on the conversation actor's thread.
"""

from __future__ import annotations

from collections.abc import Callable

from chat.ratelimit import Admission, RateLimiter
from cluster.redis_link import RedisLink, SharedUnavailable
from cluster.user_limits import UserBudget
from core.config import BotConfig

__all__ = ["LimiterFactory", "SharedRateLimiter", "shared_limiters"]

LimiterFactory = Callable[[str, RateLimiter], RateLimiter]
"""(bucket, the local limiter) -> the limiter the policy uses ("" commands, "inline")."""


class SharedRateLimiter:
    """A :class:`RateLimiter` over Redis that falls back to ``fallback`` while it is down."""

    def __init__(self, budget: UserBudget, fallback: RateLimiter) -> None:
        self._budget = budget
        self._fallback = fallback
        self.fallbacks = 0
        """Decisions the local limiter made because Redis did not answer."""

    def admit(self, user_id: int, cost: float = 1.0) -> Admission:
        try:
            return Admission(self._budget.admit(user_id, cost))
        except SharedUnavailable:
            self.fallbacks += 1
            return self._fallback.admit(user_id, cost)

    def retry_after_s(self, user_id: int) -> float:
        try:
            return self._budget.retry_after_s(user_id)
        except SharedUnavailable:
            return self._fallback.retry_after_s(user_id)


def shared_limiters(config: BotConfig, link: RedisLink | None,
                    owner: str) -> LimiterFactory | None:
    """What the conversation wraps its limiters with: None without Redis (all local)."""
    if link is None:
        return None

    def wrap(bucket: str, local: RateLimiter) -> RateLimiter:
        budget = UserBudget(link, count=config.user_rate_limit_count,
                            window_s=config.user_rate_limit_window_s, bucket=bucket, owner=owner)
        return SharedRateLimiter(budget, local)

    return wrap
