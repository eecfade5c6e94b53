--[[
  feed-seq-before-1: the seq just before the first kept change recorded at or after a time
  (reading after it yields the changes from that time on).

  KEYS[1]  {ns:f:<collection>}:log  STREAM a change feed (see append-change-2.lua)
  ARGV[1]  the time, epoch ms

  Returns  that seq; the last seq when every kept change is older; 0 for an empty feed
]]
--!include feed-search.lua
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
if not first then
  return 0
end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
local found = first_at_or_after(KEYS[1], feed_seq(first), feed_seq(last), tonumber(ARGV[1]))
if found == nil then
  return feed_seq(last)
end
return found - 1
