"""Telegram's flood limits as one budget for every instance of the bot (docs/telegram.md).

Why: Telegram counts calls per bot token, not per process. Two instances that each keep their
own ~30 calls/s, their own per-chat bucket and their own 20/minute per group together send
twice that and collect 429s. Each instance still queues and orders its calls locally
(``chat.outbound.OutboundScheduler``); just before a call leaves it asks this budget, which
either *grants* it (counting it in all three limits at once) or says how long to wait.

One Lua script does the whole decision atomically, with ``now`` passed in (wall-clock seconds,
the same on every host; tests drive it), so two instances can never both take the last slot:

* ``flood:global`` — ZSET of calls (member: a grant token, score: when it counts) over all
  chats; at most ``global_calls`` in any ``global_window_s``.
* ``flood:chat:<chat_id>`` — the chat's token bucket as a GCRA "theoretical arrival time":
  ``chat_burst`` (``group_burst``) at once, then ``chat_per_s``. Edits skip it (and the group
  window), as they do locally.
* ``flood:group:<chat_id>`` — ZSET like the global one: ``group_messages`` per
  ``group_window_s`` for groups, supergroups and channels.
* ``flood:pause:all`` and ``flood:pause:<chat_id>`` — set from a 429's ``retry_after`` by the
  instance that saw it (:meth:`FloodBudget.pause`): every instance waits.

Like the local scheduler, a call counts from its *completion*: a grant holds its slot at
``now + in_flight_hold_s`` until :meth:`FloodBudget.settle` moves it to the completion time
(Telegram counts a call on arrival, between our send and its answer, so our count is never
behind Telegram's). A grant whose instance died mid-call frees its slot after the hold. A
slot held by a call in flight makes the script answer "look again in ``poll_s``" rather than
a long wait, since another instance's completion does not wake this one.

Every call goes through :meth:`cluster.redis_link.RedisLink.call`: Redis down raises
``SharedUnavailable`` and the caller falls back to its local scheduler at a safe fraction.
"""

from __future__ import annotations

import itertools
import uuid
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cluster.redis_link import RedisLink

__all__ = ["FloodBudget", "FloodGrant", "FloodLimits", "FloodVerdict"]

_ACQUIRE = """
local now = tonumber(ARGV[1])
local is_message = ARGV[2] == '1'
local is_group = ARGV[3] == '1'
local member = ARGV[4]
local g_calls, g_win = tonumber(ARGV[5]), tonumber(ARGV[6])
local burst, rate = tonumber(ARGV[7]), tonumber(ARGV[8])
local grp_calls, grp_win = tonumber(ARGV[9]), tonumber(ARGV[10])
local hold, poll = tonumber(ARGV[11]), tonumber(ARGV[12])

local function window_wait(key, limit, win)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - win)
  local n = redis.call('ZCARD', key)
  if n < limit then return 0 end
  local at = tonumber(redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')[2])
  if at > now then return poll end
  return at + win - now
end

local wait, why = 0, ''
local function consider(w, name)
  if w > wait then wait, why = w, name end
end
consider((tonumber(redis.call('GET', KEYS[4]) or '') or 0) - now, 'pause_all')
consider((tonumber(redis.call('GET', KEYS[5]) or '') or 0) - now, 'pause')
consider(window_wait(KEYS[1], g_calls, g_win), 'global')
local tat = now
if is_message then
  tat = math.max((tonumber(redis.call('GET', KEYS[2]) or '') or 0), now)
  consider(tat - (burst - 1) / rate - now, 'chat')
  if is_group then consider(window_wait(KEYS[3], grp_calls, grp_win), 'group') end
end
if wait > 1e-9 then return {0, tostring(wait), why} end

redis.call('ZADD', KEYS[1], now + hold, member)
redis.call('PEXPIRE', KEYS[1], math.ceil((g_win + hold) * 1000))
if is_message then
  local next_tat = tat + 1 / rate
  redis.call('SET', KEYS[2], tostring(next_tat), 'PX', math.ceil((next_tat - now + hold) * 1000))
  if is_group then
    redis.call('ZADD', KEYS[3], now + hold, member)
    redis.call('PEXPIRE', KEYS[3], math.ceil((grp_win + hold) * 1000))
  end
end
return {1, member, ''}
"""

_SETTLE = """
local now = tonumber(ARGV[1])
local member = ARGV[2]
local rate, hold = tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZADD', KEYS[1], 'XX', now, member)
if ARGV[3] == '1' then
  local tat = math.max((tonumber(redis.call('GET', KEYS[2]) or '') or 0), now + 1 / rate)
  redis.call('SET', KEYS[2], tostring(tat), 'PX', math.ceil((tat - now + hold) * 1000))
  redis.call('ZADD', KEYS[3], 'XX', now, member)
end
return 1
"""

_PAUSE = """
local now, untl = tonumber(ARGV[1]), tonumber(ARGV[2])
local current = (tonumber(redis.call('GET', KEYS[1]) or '') or 0)
if untl > current then
  redis.call('SET', KEYS[1], tostring(untl), 'PX', math.max(1, math.ceil((untl - now) * 1000)))
end
return 1
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class FloodLimits:
    """The shared limits (the same numbers as ``chat.outbound.OutboundLimits``)."""

    global_calls: int = 30
    """Calls per ``global_window_s`` over all chats and all instances."""
    global_window_s: float = 1.0
    chat_burst: int = 3
    """Messages to one private chat at once, then ``chat_per_s``."""
    group_burst: int = 3
    """The same for a group, supergroup or channel."""
    chat_per_s: float = 1.0
    """Sustained messages per second to one chat."""
    group_messages: int = 20
    """Messages per ``group_window_s`` to one group."""
    group_window_s: float = 60.0
    in_flight_hold_s: float = 30.0
    """How long a grant never settled (its instance died mid-call) holds its slot."""
    poll_s: float = 0.05
    """The wait answered while the blocking slot is a call in flight (maybe elsewhere)."""


@dataclass(frozen=True, slots=True)
class FloodGrant:
    """A call allowed to leave; hand it back to :meth:`FloodBudget.settle` when it ends."""

    token: str
    """The call's member in the windows."""
    chat_id: int
    is_message: bool
    """False for an edit (counted in the global window only)."""


@dataclass(frozen=True, slots=True)
class FloodVerdict:
    """The budget's answer: a grant, or how long to wait and for which limit."""

    grant: FloodGrant | None
    """None when the call must wait."""
    wait_s: float = 0.0
    """Seconds to wait before asking again (0 with a grant)."""
    limit: str = ""
    """What held it back: ``global``, ``chat``, ``group``, ``pause`` or ``pause_all``."""


class FloodBudget:
    """The shared flood budget of one bot token; thread-safe (the link is)."""

    def __init__(self, link: RedisLink, limits: FloodLimits = FloodLimits(), *,
                 owner: str = "local", fallback_fraction: float = 0.5,
                 clock: Callable[[], float] = time.time) -> None:
        self.link = link
        self.limits = limits
        self.fallback_fraction = fallback_fraction
        """The share of the limits an instance keeps to while Redis is down."""
        # A named instance restarts under the same name: the life makes its tokens unique.
        self._owner = f"{owner}:{uuid.uuid4().hex[:8]}"
        self._clock = clock
        self._tokens = itertools.count(1)
        self._acquire: Any = link.script(_ACQUIRE)
        self._settle: Any = link.script(_SETTLE)
        self._pause: Any = link.script(_PAUSE)

    def _keys(self, chat_id: int) -> list[str]:
        link = self.link
        return [link.key("flood", "global"), link.key("flood", "chat", chat_id),
                link.key("flood", "group", chat_id), link.key("flood", "pause", "all"),
                link.key("flood", "pause", chat_id)]

    def acquire(self, chat_id: int, *, is_group: bool, is_message: bool,
                now: float | None = None) -> FloodVerdict:
        """Grant one call to ``chat_id`` now, or say how long to wait (``SharedUnavailable``
        when Redis does not answer)."""
        at = self._clock() if now is None else now
        limits = self.limits
        token = f"{self._owner}:{next(self._tokens)}"
        args = [repr(at), int(is_message), int(is_group), token, limits.global_calls,
                repr(limits.global_window_s),
                limits.group_burst if is_group else limits.chat_burst, repr(limits.chat_per_s),
                limits.group_messages, repr(limits.group_window_s),
                repr(limits.in_flight_hold_s), repr(limits.poll_s)]
        keys = self._keys(chat_id)
        granted, value, limit = self.link.call(lambda client: self._acquire(
            keys=keys, args=args, client=client))
        if int(granted):
            return FloodVerdict(FloodGrant(_text(value), chat_id, is_message))
        return FloodVerdict(None, max(0.0, float(_text(value))), _text(limit))

    def settle(self, grant: FloodGrant, now: float | None = None) -> None:
        """The granted call ended at ``now``: it counts from then (sent or not)."""
        at = self._clock() if now is None else now
        keys = self._keys(grant.chat_id)[:3]
        args = [repr(at), grant.token, int(grant.is_message), repr(self.limits.chat_per_s),
                repr(self.limits.in_flight_hold_s)]
        self.link.call(lambda client: self._settle(keys=keys, args=args, client=client))

    def pause(self, chat_id: int | None, for_s: float, now: float | None = None) -> None:
        """A 429: send nothing to ``chat_id`` (every chat when None) for ``for_s`` seconds,
        from any instance (a later pause wins)."""
        at = self._clock() if now is None else now
        key = self.link.key("flood", "pause", "all" if chat_id is None else chat_id)
        args = [repr(at), repr(at + max(0.0, for_s))]
        self.link.call(lambda client: self._pause(keys=[key], args=args, client=client))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

