"""The Lua scripts of :mod:`cluster.update_stream`, each one atomic step on the stream.

Apart only to keep that module short; the comment above each script says what it does.
"""

from __future__ import annotations

__all__ = ["ACK_TRIMMED", "APPEND_POLLED", "APPEND_POSTED", "FINISH", "OWNS", "TOUCH_MINE"]

# The lease holder's batch. KEYS: lease, fence, stream, offset. ARGV: holder, fence, maxlen,
# offset ttl, then update_id/raw pairs in Telegram's (ascending) order. Appends the updates at
# or above ``poll:offset`` (one past the last appended) and moves it; -1 when the caller no
# longer holds the lease under that fence.
APPEND_POLLED = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('GET', KEYS[2]) ~= ARGV[2] then
  return -1
end
local floor = tonumber(redis.call('GET', KEYS[4]) or '') or 0
local added = 0
for i = 5, #ARGV, 2 do
  local update_id = tonumber(ARGV[i])
  if update_id >= floor then
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'u', ARGV[i + 1])
    floor = update_id + 1
    added = added + 1
  end
end
redis.call('SET', KEYS[4], floor, 'EX', ARGV[4])
return added
"""

# A webhook POST (they may arrive out of order, so no offset). KEYS: stream, seen key.
# ARGV: maxlen, seen ttl, raw. Appends unless this update_id was appended already.
APPEND_POSTED = """
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'u', ARGV[3])
  return 1
end
return 0
"""

# KEYS: stream. ARGV: group, consumer, scan count, entry ids. Refresh the idle time of those
# entries that are still pending under our name, and only those: an entry another instance
# reclaimed while we were paused (SIGSTOP, a frozen VM) must not be pulled back, or both would
# answer it. An entry pending nowhere and gone from the stream vanished with Redis's data (the
# group was made again, empty): nobody else can have it, so it is still ours to answer.
# Returns the ids still ours.
TOUCH_MINE = """
local mine = {}
for _, row in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', ARGV[3], ARGV[2])) do
  mine[row[1]] = true
end
local kept, claim = {}, {}
for i = 4, #ARGV do
  local id = ARGV[i]
  if mine[id] then
    table.insert(kept, id)
    table.insert(claim, id)
  elseif #redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1) == 0
      and #redis.call('XRANGE', KEYS[1], id, id) == 0 then
    table.insert(kept, id)
  end
end
if #claim > 0 then
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(claim), 'JUSTID')
end
return kept
"""

# KEYS: stream. ARGV: group, consumer, entry id. 1 when the entry is pending under our name,
# or pending nowhere and gone from the stream (lost with Redis's data, see TOUCH_MINE).
OWNS = """
local rows = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #rows > 0 then
  if rows[1][2] == ARGV[2] then return 1 end
  return 0
end
if #redis.call('XRANGE', KEYS[1], ARGV[3], ARGV[3]) == 0 then return 1 end
return 0
"""

# KEYS: stream. ARGV: group, consumer, count. Ack our pending entries older than the stream's
# first entry (trimmed away while pending: Redis 6.2's XAUTOCLAIM answers them with a nil).
ACK_TRIMMED = """
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local upto = '+'
if #first > 0 then upto = '(' .. first[1][1] end
local ids = {}
for _, row in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], '-', upto, ARGV[3], ARGV[2])) do
  table.insert(ids, row[1])
end
if #ids == 0 then return 0 end
return redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
"""


# KEYS: done key, stream. ARGV: group, entry id, ttl. The reply is out: remember, then ack.
FINISH = """
redis.call('SET', KEYS[1], '1', 'EX', ARGV[3])
return redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
"""
