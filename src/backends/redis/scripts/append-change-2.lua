-- append-change: record one change of a collection, trim the feed to its retention, and
-- publish the change to the collection's watchers.
-- KEYS[1] log   STREAM  ids 0-<seq> (XADD 0-*: seq counts up by one and survives trimming),
--                       fields t (timestamp, epoch ms) and d (the change, codec bytes)
-- KEYS[2] meta  HASH    s: last seq, t: last timestamp, a: when an age trim is next due
-- ARGV[1] data
-- ARGV[2] maxChanges: kept per collection (trimmed with MAXLEN, `~` from 1000 on: Redis then
--         keeps up to one stream node more)
-- ARGV[3] maxAgeMs: older changes are trimmed, at most maxAgeMs/64 late (one binary search
--         per such slack, not per append)
-- ARGV[4] notification channel
-- Returns {seq, timestamp}.
--!include now.lua
--!include feed-search.lua
local log, meta = KEYS[1], KEYS[2]
local max_changes = tonumber(ARGV[2])
local max_age = tonumber(ARGV[3])
local state = redis.call('HMGET', meta, 't', 'a')
local ts = math.max(now, tonumber(state[1]) or 0)
local approx = max_changes >= 1000 and '~' or '='
local id = redis.call('XADD', log, 'MAXLEN', approx, max_changes, '0-*', 't', ts, 'd', ARGV[1])
local seq = tonumber(string.match(id, '%-(%d+)$'))
local due = tonumber(state[2])
local fields = {'s', seq, 't', ts}
if due == nil or ts >= due then
  local cutoff = ts - max_age
  local first = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)[1]
  local first_ts = tonumber(first[2][2])
  if first_ts < cutoff then
    -- The new entry is at or after the cutoff, so the search always finds one.
    local keep = first_at_or_after(log, feed_seq(first), seq, cutoff)
    redis.call('XTRIM', log, 'MINID', '0-' .. keep)
    first_ts = tonumber(redis.call('XRANGE', log, '0-' .. keep, '+', 'COUNT', 1)[1][2][2])
  end
  fields[5] = 'a'
  fields[6] = first_ts + max_age + math.floor(max_age / 64)
end
redis.call('HSET', meta, unpack(fields))
redis.call('PUBLISH', ARGV[4], seq .. ':' .. ts .. ':' .. ARGV[1])
return {seq, ts}
