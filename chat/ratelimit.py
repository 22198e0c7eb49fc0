"""Per-user rate limit: one friendly warning, then quiet until the window passes.

A sliding window of ``count`` units of work per ``window_s`` seconds per user: a command
costs 1, a button press what its work is worth (the conversation policy weighs it), so a
flood of presses spends the same budget as commands. The first request over the limit gets
a warning (so the user knows why the bot went silent); further ones are ignored until the
window has room again, so a flood costs the bot nothing. Pure and single-threaded: the
conversation actor owns one.

Several instances on one token share the budgets instead (``cluster.user_limits``, in Redis):
both kinds are a :class:`RateLimiter`, and the policies only know that.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

__all__ = ["Admission", "RateLimiter", "UserRateLimiter"]


class Admission(Enum):
    ALLOW = "allow"
    WARN = "warn"
    """Over the limit for the first time in this burst: tell the user once."""
    DROP = "drop"
    """Still over the limit after the warning: stay quiet."""


class RateLimiter(Protocol):
    """What the policies ask of a per-user limit (local here, or shared across instances)."""

    def admit(self, user_id: int, cost: float = 1.0) -> Admission:
        """Spend ``cost`` of ``user_id``'s budget, or refuse (a warning once, then silence)."""
        ...

    def retry_after_s(self, user_id: int) -> float:
        """Seconds until ``user_id`` may send a command again (0 when allowed now)."""
        ...


@dataclass(slots=True)
class _UserWindow:
    times: deque[tuple[float, float]] = field(default_factory=deque)
    """(when, cost) of each admitted request in the window, oldest first."""
    spent: float = 0.0
    """Sum of the costs in ``times``."""
    warned: bool = False


class UserRateLimiter:
    """Sliding-window limiter keyed by user id; forgets idle users to stay bounded."""

    def __init__(
        self, count: int, window_s: float, *, clock: Callable[[], float], max_users: int = 100_000
    ) -> None:
        self._count = count
        self._window_s = window_s
        self._clock = clock
        self._max_users = max_users
        self._users: dict[int, _UserWindow] = {}

    def admit(self, user_id: int, cost: float = 1.0) -> Admission:
        """Admit a request of ``cost`` units (a command is 1) for ``user_id``, or refuse it."""
        now = self._clock()
        window = self._users.get(user_id)
        if window is None:
            if len(self._users) >= self._max_users:
                self._forget_idle(now)
            window = self._users[user_id] = _UserWindow()
        self._expire(window, now)
        # A small tolerance, so that e.g. four half-cost presses fill a budget of 2 exactly.
        if window.spent + cost <= self._count + 1e-9:
            window.times.append((now, cost))
            window.spent += cost
            window.warned = False
            return Admission.ALLOW
        if window.warned:
            return Admission.DROP
        window.warned = True
        return Admission.WARN

    def retry_after_s(self, user_id: int) -> float:
        """Seconds until ``user_id`` may send a command again (0 when allowed now)."""
        window = self._users.get(user_id)
        if window is None:
            return 0.0
        now = self._clock()
        self._expire(window, now)
        spent = window.spent
        if spent + 1.0 <= self._count + 1e-9:
            return 0.0
        for at, cost in window.times:  # oldest first: when enough has left the window
            spent -= cost
            if spent + 1.0 <= self._count + 1e-9:
                return max(0.0, self._window_s - (now - at))
        return self._window_s

    def _expire(self, window: _UserWindow, now: float) -> None:
        times = window.times
        while times and now - times[0][0] >= self._window_s:
            window.spent -= times.popleft()[1]
        if not times:
            window.spent = 0.0  # no float drift across windows

    def _forget_idle(self, now: float) -> None:
        idle = [
            user
            for user, window in self._users.items()
            if not window.times or now - window.times[-1][0] >= self._window_s
        ]
        for user in idle:
            del self._users[user]
