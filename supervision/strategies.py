"""Restart strategies and restart intensity, as pure functions of supervisor state.

======================  =====================================================================
strategy                which children restart when one fails
======================  =====================================================================
``one_for_one``         only the failed one
``one_for_all``         all of them (the others are stopped first)
``rest_for_one``        the failed one and every sibling started after it
======================  =====================================================================

Intensity is OTP's: more than ``max_restarts`` restarts within ``period_s`` seconds means the
supervisor gives up, stops its children in reverse order and fails to its parent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from enum import StrEnum

__all__ = ["RestartIntensity", "Strategy", "affected_children"]


class Strategy(StrEnum):
    """OTP restart strategies."""

    ONE_FOR_ONE = "one_for_one"
    ONE_FOR_ALL = "one_for_all"
    REST_FOR_ONE = "rest_for_one"


def affected_children(strategy: Strategy, order: Sequence[str], failed: str) -> tuple[str, ...]:
    """Children (in start order) that must restart because ``failed`` died."""
    match strategy:
        case Strategy.ONE_FOR_ONE:
            return (failed,)
        case Strategy.ONE_FOR_ALL:
            return tuple(order)
        case Strategy.REST_FOR_ONE:
            return tuple(order[order.index(failed) :])
    raise ValueError(f"unknown strategy {strategy!r}")


class RestartIntensity:
    """Sliding record of restart times; says when a supervisor must give up.

    Not thread-safe: it lives inside one supervisor actor.
    """

    def __init__(self, max_restarts: int, period_s: float) -> None:
        if max_restarts < 0 or period_s <= 0:
            raise ValueError("max_restarts must be >= 0 and period_s > 0")
        self.max_restarts = max_restarts
        self.period_s = period_s
        self._times: deque[float] = deque()

    def record(self, now: float) -> bool:
        """Record a restart at ``now``; True when this one exceeds the intensity."""
        self._times.append(now)
        while self._times and now - self._times[0] > self.period_s:
            self._times.popleft()
        return len(self._times) > self.max_restarts

    def recent(self, now: float) -> int:
        """Restarts counted within the period ending at ``now``."""
        return sum(1 for t in self._times if now - t <= self.period_s)
