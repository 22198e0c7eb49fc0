"""The polling lease: which one instance may call getUpdates, with a fencing token.

Why a lease in Redis: Telegram lets one client poll a token at a time (a second getUpdates gets
409), and several instances of the bot share one token. The holder is the instance whose
``InstanceId.key`` is the value of ``poll:lease``; the key has a PX TTL, so a holder that dies
(kill -9: no release) loses it when the TTL runs out and the next instance's acquire succeeds.

Each acquisition INCRs ``poll:fence``: the *fencing token*. A holder keeps its token and every
renew (and every append to the update stream, :mod:`cluster.update_stream`) checks both the
holder and the token inside one Lua script, so a stale holder (paused past its TTL while
another took over) is refused even if it wakes up convinced it still holds the lease.

Time comes from Redis alone (the PX TTL); this module keeps no clock. The holder's own side of
"stop before the TTL ends" (``actors.update_relay``) counts from its last successful renew.
Every call goes through :meth:`cluster.redis_link.RedisLink.call`, so Redis being down raises
:class:`~cluster.redis_link.SharedUnavailable` here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cluster.redis_link import RedisLink

__all__ = ["LEASE_KEY", "FENCE_KEY", "LeaseGrant", "PollLease"]

LEASE_KEY = ("poll", "lease")
FENCE_KEY = ("poll", "fence")

# KEYS: lease, fence. ARGV: holder, ttl_ms. A free lease is taken with a new fence token;
# a lease this holder already has is extended and keeps its token; another's is refused.
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('INCR', KEYS[2])}
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {0, tonumber(redis.call('GET', KEYS[2]) or '0')}
end
return {-1, 0}
"""

# KEYS: lease, fence. ARGV: holder, fence, ttl_ms. Compare-and-renew: only the holder with
# the current token extends the lease.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] and redis.call('GET', KEYS[2]) == ARGV[2] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 0
"""

# KEYS: lease, fence. ARGV: holder, fence. Compare-and-delete.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] and redis.call('GET', KEYS[2]) == ARGV[2] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class LeaseGrant:
    """A successful acquire."""

    fence: int
    """The fencing token of this holding (larger than every earlier holding's)."""
    fresh: bool
    """True when this acquire took a free lease (a new token); False when it was already ours."""


class PollLease:
    """Acquire, renew and release ``poll:lease`` as ``holder``; thread-safe (stateless)."""

    def __init__(self, link: RedisLink, holder: str, *, ttl_ms: int = 3000) -> None:
        if ttl_ms <= 0:
            raise ValueError("a lease needs a positive TTL")
        self._link = link
        self.holder = holder
        self.ttl_ms = ttl_ms
        self._keys = [link.key(*LEASE_KEY), link.key(*FENCE_KEY)]
        self._acquire: Any = link.script(_ACQUIRE)
        self._renew: Any = link.script(_RENEW)
        self._release: Any = link.script(_RELEASE)

    def acquire(self) -> LeaseGrant | None:
        """Take the lease if it is free (or already ours); None while another instance holds it."""
        taken, fence = self._link.call(
            lambda client: self._acquire(keys=self._keys, args=[self.holder, self.ttl_ms],
                                         client=client))
        if int(taken) < 0:
            return None
        return LeaseGrant(fence=int(fence), fresh=int(taken) == 1)

    def renew(self, fence: int) -> bool:
        """Extend the lease by its TTL; False when it is no longer ours under ``fence``."""
        renewed = self._link.call(
            lambda client: self._renew(keys=self._keys, args=[self.holder, fence, self.ttl_ms],
                                       client=client))
        return int(renewed) == 1

    def release(self, fence: int) -> bool:
        """Give the lease up (a clean stop), only if it is still ours under ``fence``."""
        released = self._link.call(
            lambda client: self._release(keys=self._keys, args=[self.holder, fence],
                                         client=client))
        return int(released) == 1

    def holder_now(self) -> str | None:
        """Who holds the lease now (None: nobody)."""
        value = self._link.call(lambda client: client.get(self._keys[0]))
        return None if value is None else _text(value)

    def fence_now(self) -> int:
        """The latest fencing token handed out (0: never)."""
        value = self._link.call(lambda client: client.get(self._keys[1]))
        return 0 if value is None else int(value)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
