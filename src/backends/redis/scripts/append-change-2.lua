--[[
  append-change-2: record one change of a collection, trim the feed to its retention, and
  publish the change to the collection's watchers, in one step (a watcher never misses a change
  it could have heard).

  KEYS[1]  {ns:f:<collection>}:log   STREAM ids 0-<seq> (XADD 0-*: seq counts up by one and
                                     survives trimming), fields t (timestamp, epoch ms) and
                                     d (the change, codec bytes)
  KEYS[2]  {ns:f:<collection>}:meta  HASH s: last seq, t: last timestamp, a: when an age trim
                                     is next due
  ARGV[1]  the change (bytes)
  ARGV[2]  maxChanges: kept per collection (MAXLEN; approximate `~` from 1000 on, so Redis may
           keep up to one stream node more, never fewer)
  ARGV[3]  maxAgeMs: older changes are trimmed, at most maxAgeMs / 64 late (one binary search
           per such slack, not per append)
  ARGV[4]  notification channel ({ns:f:<collection>}:fn)

  Returns  {seq, timestamp}; the timestamp is Redis TIME (ms), never below the feed's last one
]]
--!include now.lua
--!include feed-search.lua
local max_changes = tonumber(ARGV[2])
local max_age = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[2], 't', 'a')
local ts = math.max(now, tonumber(state[1]) or 0)
local approx = max_changes >= 1000 and '~' or '='
local id = redis.call('XADD', KEYS[1], 'MAXLEN', approx, max_changes, '0-*', 't', ts, 'd', ARGV[1])
local seq = tonumber(string.match(id, '%-(%d+)$'))
local due = tonumber(state[2])
local slack = math.floor(max_age / 64)
local fields = {'s', seq, 't', ts}
-- A due time beyond what this maxAgeMs can give was set under a longer one (the retention was
-- lowered since): trim now rather than at that far time.
if due == nil or ts >= due or due > ts + max_age + slack then
  local cutoff = ts - max_age
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
  local first_ts = tonumber(first[2][2])
  if first_ts < cutoff then
    -- The new entry is at or after the cutoff, so the search always finds one.
    local keep = first_at_or_after(KEYS[1], feed_seq(first), seq, cutoff)
    redis.call('XTRIM', KEYS[1], 'MINID', '0-' .. keep)
    first_ts = tonumber(redis.call('XRANGE', KEYS[1], '0-' .. keep, '+', 'COUNT', 1)[1][2][2])
  end
  fields[5] = 'a'
  fields[6] = first_ts + max_age + slack
end
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('PUBLISH', ARGV[4], seq .. ':' .. ts .. ':' .. ARGV[1])
return {seq, ts}
