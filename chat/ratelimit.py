"""Per-user command rate limit: one friendly warning, then quiet until the window passes.

A sliding window of ``count`` commands per ``window_s`` seconds per user. The first command
over the limit gets a warning (so the user knows why the bot went silent); further ones are
ignored until the window has room again, so a flood costs the bot nothing. Pure and
single-threaded: the conversation actor owns one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

__all__ = ["Admission", "UserRateLimiter"]


class Admission(Enum):
    ALLOW = "allow"
    WARN = "warn"
    """Over the limit for the first time in this burst: tell the user once."""
    DROP = "drop"
    """Still over the limit after the warning: stay quiet."""


@dataclass(slots=True)
class _UserWindow:
    times: deque[float] = field(default_factory=deque)
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

    def admit(self, user_id: int) -> Admission:
        now = self._clock()
        window = self._users.get(user_id)
        if window is None:
            if len(self._users) >= self._max_users:
                self._forget_idle(now)
            window = self._users[user_id] = _UserWindow()
        times = window.times
        while times and now - times[0] >= self._window_s:
            times.popleft()
        if len(times) < self._count:
            times.append(now)
            window.warned = False
            return Admission.ALLOW
        if window.warned:
            return Admission.DROP
        window.warned = True
        return Admission.WARN

    def retry_after_s(self, user_id: int) -> float:
        """Seconds until ``user_id`` may send again (0 when allowed now)."""
        window = self._users.get(user_id)
        if window is None or len(window.times) < self._count:
            return 0.0
        return max(0.0, self._window_s - (self._clock() - window.times[0]))

    def _forget_idle(self, now: float) -> None:
        idle = [
            user
            for user, window in self._users.items()
            if not window.times or now - window.times[-1] >= self._window_s
        ]
        for user in idle:
            del self._users[user]
