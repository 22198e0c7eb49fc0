"""The per-user rate limit as one sliding window for every instance of the bot.

Why: with several instances behind one token a user's commands land on any of them; a limit
kept per process would let a flood through N times over. The window lives in Redis instead,
with the local limiter's rules (``chat.ratelimit.UserRateLimiter``): ``count`` units of work
per ``window_s``, the first request over it warned once, later ones dropped until the window
has room again. One Lua script decides atomically, with ``now`` passed in (wall-clock seconds).

Keys (under the link's namespace): ``ratelimit:<user_id>`` (``ratelimit:<bucket>:<user_id>``
for another bucket, e.g. ``inline``) — a ZSET of admitted requests (member ``<token>|<cost>``,
score: when), expiring a second after the window; ``...:warned`` — set by the warning, cleared
by the next admitted request, expiring with the window. Answers are the plain words
``allow``/``warn``/``drop``: ``cluster`` may not import ``chat``, so the actor-side wrapper
(``actors.shared_limits``) maps them to ``Admission`` and falls back to the local limiter when
Redis does not answer (``SharedUnavailable``).
"""

from __future__ import annotations

import itertools
import uuid
import time
from collections.abc import Callable
from typing import Any, Literal

from cluster.redis_link import RedisLink

__all__ = ["UserBudget", "Verdict"]

Verdict = Literal["allow", "warn", "drop"]

_ADMIT = """
local now, win = tonumber(ARGV[1]), tonumber(ARGV[2])
local count, cost = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win)
local spent = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  spent = spent + (tonumber(string.match(member, '|(.+)$') or '') or 0)
end
if spent + cost <= count + 1e-9 then
  redis.call('ZADD', KEYS[1], now, ARGV[5] .. '|' .. ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil(win * 1000) + 1000)
  redis.call('DEL', KEYS[2])
  return 'allow'
end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'drop' end
redis.call('SET', KEYS[2], '1', 'PX', math.ceil(win * 1000) + 1000)
return 'warn'
"""
_TOLERANCE = 1e-9


class UserBudget:
    """Per-user sliding windows in Redis; thread-safe (the link is)."""

    def __init__(self, link: RedisLink, *, count: int, window_s: float, bucket: str = "",
                 owner: str = "local", clock: Callable[[], float] = time.time) -> None:
        self.link = link
        self._count = count
        self._window_s = window_s
        self._bucket = (bucket,) if bucket else ()
        # A named instance restarts under the same name: the life makes its tokens unique.
        self._owner = f"{owner}:{uuid.uuid4().hex[:8]}"
        self._clock = clock
        self._tokens = itertools.count(1)
        self._admit: Any = link.script(_ADMIT)

    def key(self, user_id: int) -> str:
        return self.link.key("ratelimit", *self._bucket, user_id)

    def admit(self, user_id: int, cost: float = 1.0, *, now: float | None = None) -> Verdict:
        """Spend ``cost`` of ``user_id``'s window, or ``warn`` (first refusal) / ``drop``."""
        at = self._clock() if now is None else now
        key = self.key(user_id)
        args = [repr(at), repr(float(self._window_s)), self._count, repr(float(cost)),
                f"{self._owner}:{next(self._tokens)}"]
        answer = self.link.call(lambda client: self._admit(
            keys=[key, f"{key}:warned"], args=args, client=client))
        text = answer.decode() if isinstance(answer, bytes) else str(answer)
        if text not in ("allow", "warn", "drop"):
            raise ValueError(f"unexpected rate-limit answer {text!r}")
        return text  # type: ignore[return-value]

    def retry_after_s(self, user_id: int, *, now: float | None = None) -> float:
        """Seconds until ``user_id`` may spend one unit again (0 when allowed now)."""
        at = self._clock() if now is None else now
        key = self.key(user_id)
        rows: Any = self.link.call(
            lambda client: client.zrangebyscore(key, f"({at - self._window_s!r}", "+inf",
                                                withscores=True))
        costs = [(float(score), _cost_of(member)) for member, score in rows]
        spent = sum(cost for _, cost in costs)
        if spent + 1.0 <= self._count + _TOLERANCE:
            return 0.0
        for when, cost in costs:  # oldest first: when enough has left the window
            spent -= cost
            if spent + 1.0 <= self._count + _TOLERANCE:
                return max(0.0, self._window_s - (at - when))
        return self._window_s


def _cost_of(member: object) -> float:
    """The cost a window member carries (``<token>|<cost>``); 0 for one that carries none."""
    try:
        return float(_text(member).rsplit("|", 1)[1])
    except (IndexError, ValueError):
        return 0.0


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
