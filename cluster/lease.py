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

__all__ = ["LEASE_KEY", "FENCE_KEY", "LeaseDecision", "LeaseGrant", "LeaseKeeper", "Poll",
           "PollLease", "StopPolling"]

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
  return {0, tonumber(redis.call('GET', KEYS[2]) or '') or 0}
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


@dataclass(frozen=True, slots=True)
class Poll:
    """Start polling under this fencing token."""

    fence: int
    """The token every append of this holding carries."""


@dataclass(frozen=True, slots=True)
class StopPolling:
    """Stop polling now."""

    fence: int
    """The holding that ends."""
    reason: str
    """Why, for the log."""
    release: bool
    """Give the lease up in Redis too (after a 409: let another instance try)."""


LeaseDecision = Poll | StopPolling | None


class LeaseKeeper:
    """Whether this instance may poll, from the outcomes of its lease calls and its clock.

    Pure: the relay (``actors.update_relay``) makes the Redis calls and reports each outcome
    with the times it asked and got the answer; the keeper says when to start or stop polling.
    A holder polls only until ``valid_fraction`` of the TTL after the start of its last
    successful renew, so when renewing fails (Redis down) it has stopped before the lease can
    expire and another instance can take it. A 409 from getUpdates ends the holding and keeps
    this instance from acquiring for ``conflict_backoff_s``.
    """

    def __init__(self, *, ttl_s: float, conflict_backoff_s: float,
                 valid_fraction: float = 2 / 3) -> None:
        if not 0 < valid_fraction < 1:
            raise ValueError("a holder must stop polling before its lease expires")
        self._valid_s = ttl_s * valid_fraction
        self._conflict_backoff_s = conflict_backoff_s
        self.fence: int | None = None
        """The fencing token while this instance holds the lease."""
        self._valid_until = 0.0
        self._backoff_until = 0.0

    def may_acquire(self, now: float) -> bool:
        """Not holding, and not backing off after a 409."""
        return self.fence is None and now >= self._backoff_until

    def acquired(self, grant: LeaseGrant | None, asked_at: float) -> LeaseDecision:
        """An acquire's outcome (None: another instance holds the lease)."""
        if grant is None or self.fence is not None:
            return None
        self.fence = grant.fence
        self._valid_until = asked_at + self._valid_s
        return Poll(grant.fence)

    def renewed(self, renewed: bool | None, *, asked_at: float,
                answered_at: float) -> LeaseDecision:
        """A renew's outcome: True renewed, False refused (fenced out), None Redis failed."""
        if self.fence is None:
            return None
        if renewed:
            self._valid_until = asked_at + self._valid_s
            return None
        if renewed is False:
            return self._end("the lease moved on (fencing token refused)", release=False)
        if answered_at >= self._valid_until:
            return self._end("could not renew the lease before it would expire", release=False)
        return None

    def conflicted(self, now: float) -> LeaseDecision:
        """getUpdates answered 409: someone else polls this token."""
        if self.fence is None:
            return None
        self._backoff_until = now + self._conflict_backoff_s
        return self._end("409 from getUpdates: someone else polls this token", release=True)

    def wait_s(self, now: float, beat_s: float) -> float:
        """How long the relay may wait before its next step: a beat, or less while holding
        (it must look again when the holding's validity runs out)."""
        if self.fence is None:
            return beat_s
        return max(0.0, min(beat_s, self._valid_until - now))

    def _end(self, reason: str, *, release: bool) -> StopPolling:
        fence, self.fence = self.fence, None
        assert fence is not None
        return StopPolling(fence, reason, release)
