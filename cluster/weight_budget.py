"""One IP's Binance request weight, counted in Redis for every instance behind that IP.

Why: Binance counts request weight per IP per minute and answers 429, then bans with 418, when
the IP goes over. Two instances on one host (or behind one NAT) each keeping their own
``market.weights.WeightBudget`` could together spend twice the limit. Here the count lives in
Redis and every grant is decided by one Lua script, atomically, so no interleaving of instances
can grant more than the limit in any 60-second window. The "quiet until" after a 429/418 lives
there too: a 429 seen by one instance silences them all.

The same two strategies as the local budget (``rate_limit_strategy``):

* ``sliding_window``: weight is counted in one-second buckets (a HASH ``weight:window``,
  field = epoch second). A grant at second ``b`` is counted while ``now < b + 61`` s, i.e.
  between 60 and 61 s after it was made: never less than 60 s, so for every instant the weight
  granted in the last 60 s is at most the limit (the bucket costs at most one second of
  forgetting, on the safe side).
* ``token_bucket``: a HASH ``weight:bucket`` (tokens, last), capacity ``limit / 2`` refilled at
  ``limit / 2`` per minute, the local budget's arithmetic.

The quiet block is a HASH ``weight:quiet`` (until in epoch ms, reason, Binance's ban end), never
shortened, a ban never downgraded to a rate limit while it lasts.

"Now" is Redis's own clock (``TIME`` inside the script), so instances on hosts whose clocks
differ still agree on the window; tests pass "now" as an argument instead and drive time
without waiting. Redis's own expiry (PEXPIRE) only collects garbage. Every call goes through
the link, so a Redis outage is a ``SharedUnavailable`` the caller turns into its local fallback
(``actors.shared_budget``).
Pure mechanism: nothing here knows the market's error types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cluster.redis_link import RedisLink

__all__ = ["LedgerAnswer", "SharedWeightLedger"]

_STRATEGIES = ("sliding_window", "token_bucket")
_REASONS = ("rate_limited", "banned")
"""The block reasons the market knows (``market.weights.BlockReason``)."""

# Redis's own clock in ms, unless the caller passed "now" (tests drive time that way).
_NOW = """
local function now_ms(arg)
  local given = tonumber(arg)
  if given then return given end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

# KEYS: window, bucket, quiet.  ARGV: op (take|observe|peek), now_ms or '', weight, limit,
# strategy. Returns {status, wait_ms, used*1000, quiet_until_ms, reason, banned_until_ms, now}
# with status 1 = granted (or done), 0 = not granted (wait_ms), 2 = quiet (until quiet_until_ms).
_LEDGER = _NOW + """
local op, now, weight = ARGV[1], now_ms(ARGV[2]), tonumber(ARGV[3])
local limit, strategy = tonumber(ARGV[4]), ARGV[5]
local q = redis.call('HMGET', KEYS[3], 'until', 'reason', 'banned')
local quiet = tonumber(q[1] or '0') or 0
if quiet <= now then quiet = 0 end
local reason, banned = q[2] or '', q[3] or ''
if strategy == 'token_bucket' then
  local capacity = limit / 2
  local rate = capacity / 60000
  local b = redis.call('HMGET', KEYS[2], 'tokens', 'last')
  local tokens = tonumber(b[1] or '') or capacity
  local last = tonumber(b[2] or '') or now
  if now > last then tokens = math.min(capacity, tokens + (now - last) * rate); last = now end
  if tokens > capacity then tokens = capacity end
  local status, wait = 1, 0
  if op == 'take' and quiet > 0 then
    status = 2
  elseif op == 'take' then
    if tokens + 1e-9 >= weight then tokens = math.max(0, tokens - weight)
    else status = 0; wait = math.ceil((weight - tokens) / rate) + 1 end
  elseif op == 'observe' then
    tokens = math.min(tokens, math.max(0, limit - weight))
  end
  redis.call('HSET', KEYS[2], 'tokens', tostring(tokens), 'last', tostring(last))
  redis.call('PEXPIRE', KEYS[2], 120000)
  return {status, wait, math.floor((capacity - tokens) * 1000), quiet, reason, banned, now}
end
local second = math.floor(now / 1000)
local all = redis.call('HGETALL', KEYS[1])
local used, buckets = 0, {}
for i = 1, #all, 2 do
  local b, w = tonumber(all[i]), tonumber(all[i + 1])
  if b == nil or w == nil or b < second - 60 then
    redis.call('HDEL', KEYS[1], all[i])
  else
    used = used + w
    buckets[#buckets + 1] = {b, w}
  end
end
local status, wait = 1, 0
if op == 'take' and quiet > 0 then
  status = 2
elseif op == 'take' then
  if used + weight <= limit then
    redis.call('HINCRBY', KEYS[1], second, weight)
    used = used + weight
  else
    status = 0
    table.sort(buckets, function(x, y) return x[1] < y[1] end)
    local excess, freed = used + weight - limit, 0
    wait = 61000
    for _, bucket in ipairs(buckets) do
      freed = freed + bucket[2]
      if freed >= excess then wait = (bucket[1] + 61) * 1000 - now; break end
    end
  end
elseif op == 'observe' and weight > used then
  redis.call('HINCRBY', KEYS[1], second, weight - used)
  used = weight
end
redis.call('PEXPIRE', KEYS[1], 62000)
return {status, wait, used * 1000, quiet, reason, banned, now}
"""

# KEYS: quiet.  ARGV: now_ms or '', block ms, reason, banned_until_ms ('' if unknown).
# Returns {until_ms, now}.
_BLOCK = _NOW + """
local now = now_ms(ARGV[1])
local untill = now + tonumber(ARGV[2])
local q = redis.call('HMGET', KEYS[1], 'until', 'reason', 'banned')
local current = tonumber(q[1] or '0') or 0
local reason, banned = ARGV[3], ARGV[4]
if current > now then
  if current > untill then untill = current end
  if ARGV[3] ~= 'banned' and q[2] == 'banned' then reason = 'banned'; banned = q[3] or '' end
  if ARGV[3] == 'banned' and banned == '' then banned = q[3] or '' end
end
redis.call('HSET', KEYS[1], 'until', untill, 'reason', reason, 'banned', banned)
redis.call('PEXPIRE', KEYS[1], math.max(1, untill - now) + 1000)
return {untill, now}
"""


@dataclass(frozen=True, slots=True)
class LedgerAnswer:
    """What the shared ledger said, as of one call."""

    granted: bool
    """The weight was taken (``take``), or the call was not a take."""
    wait_s: float
    """When not granted and not quiet: seconds until the weight would fit."""
    used: float
    """Weight counted in the window (sliding) or capacity minus tokens (bucket) afterwards."""
    quiet_for_s: float
    """Seconds every request is still held back after a 429/418 (0 when not)."""
    quiet_reason: str | None
    """``rate_limited`` or ``banned`` while quiet, else None."""
    banned_until_ms: int | None
    """Binance's own end of a ban (epoch ms), if it gave one."""


class SharedWeightLedger:
    """The Redis side of the shared weight budget (see the module docstring)."""

    def __init__(self, link: RedisLink, *,
                 wall_clock: Callable[[], float] | None = None) -> None:
        """``wall_clock`` (epoch s) stands in for Redis's clock (``TIME``) in tests."""
        self._link = link
        self._wall_clock = wall_clock
        self._keys = [link.key("weight", "window"), link.key("weight", "bucket"),
                      link.key("weight", "quiet")]
        self._ledger = link.script(_LEDGER)
        self._block = link.script(_BLOCK)

    def up(self) -> bool:
        """Whether the link thinks Redis answers (no call is made)."""
        return self._link.state().up

    def take(self, weight: int, limit: int, strategy: str) -> LedgerAnswer:
        """Grant ``weight`` if the window (or bucket) has room and no block is on."""
        return self._run("take", weight, limit, strategy)

    def observe(self, server_used: int, limit: int, strategy: str) -> LedgerAnswer:
        """The exchange said the IP used ``server_used`` this minute: count at least that."""
        return self._run("observe", server_used, limit, strategy)

    def peek(self, limit: int, strategy: str) -> LedgerAnswer:
        """The state now, taking nothing."""
        return self._run("peek", 0, limit, strategy)

    def block(self, seconds: float, reason: str, banned_until_ms: int | None) -> float:
        """Hold every instance back for ``seconds`` (never shortening a longer block);
        returns the seconds the block now lasts."""
        args = [self._now_arg(), max(1, int(seconds * 1000 + 0.999)), reason,
                "" if banned_until_ms is None else banned_until_ms]
        until_ms, now_ms = self._link.call(
            lambda client: self._block(keys=[self._keys[2]], args=args, client=client))
        return max(0.0, (int(until_ms) - int(now_ms)) / 1000)

    def _run(self, op: str, weight: int, limit: int, strategy: str) -> LedgerAnswer:
        if strategy not in _STRATEGIES:
            raise ValueError(f"unknown rate-limit strategy {strategy!r}")
        args = [op, self._now_arg(), weight, limit, strategy]
        reply = self._link.call(
            lambda client: self._ledger(keys=self._keys, args=args, client=client))
        return _answer(reply)

    def _now_arg(self) -> int | str:
        return "" if self._wall_clock is None else int(self._wall_clock() * 1000)


def _answer(reply: Any) -> LedgerAnswer:
    status, wait_ms, used_milli, quiet_ms, reason, banned, now_ms = reply
    now_ms = int(now_ms)
    quiet_for = max(0.0, (int(quiet_ms) - now_ms) / 1000) if int(quiet_ms) else 0.0
    reason_text = reason.decode() if isinstance(reason, bytes) else str(reason)
    if reason_text not in _REASONS:  # Redis content is input: an unknown reason holds back too
        reason_text = "rate_limited"
    banned_text = banned.decode() if isinstance(banned, bytes) else str(banned)
    return LedgerAnswer(
        granted=int(status) == 1,
        wait_s=int(wait_ms) / 1000 if int(status) == 0 else 0.0,
        used=int(used_milli) / 1000,
        quiet_for_s=quiet_for if int(status) == 2 or quiet_for > 0 else 0.0,
        quiet_reason=(reason_text or "rate_limited") if quiet_for > 0 else None,
        banned_until_ms=int(banned_text) if quiet_for > 0 and banned_text.isdigit() else None,
    )
