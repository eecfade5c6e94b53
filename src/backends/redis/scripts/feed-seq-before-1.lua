-- feed-seq-before: the seq just before the first kept change recorded at or after a time.
-- KEYS[1] log  STREAM  a change feed (see append-change-2.lua)
-- ARGV[1] the time, epoch ms
-- Returns that seq; the last seq when every kept change is older; 0 for an empty feed.
--!include feed-search.lua
local log = KEYS[1]
local first = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)[1]
if not first then
  return 0
end
local last = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)[1]
local found = first_at_or_after(log, feed_seq(first), feed_seq(last), tonumber(ARGV[1]))
if found == nil then
  return feed_seq(last)
end
return found - 1
