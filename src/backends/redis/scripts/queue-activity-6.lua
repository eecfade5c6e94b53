--[[
  queue-activity-6: a queue's counts and what it did in the last minute (Redis TIME): messages
  enqueued, completed and failed, summed over the per-second counters of the last 60 seconds
  (this one included), and the span they cover (60 s, or since counting began).

  KEYS[1]  {ns:q:<queue>}:ready     LIST of ready ids of priority 0
  KEYS[2]  {ns:q:<queue>}:prio      ZSET ready ids of other priorities
  KEYS[3]  {ns:q:<queue>}:leased    ZSET id -> lease end
  KEYS[4]  {ns:q:<queue>}:delayed   ZSET id -> when it becomes ready
  KEYS[5]  {ns:q:<queue>}:dead      ZSET id -> when it died
  KEYS[6]  {ns:q:<queue>}:rate      HASH activity counters

  Returns  { ready, delayed, leased, dead, enqueued, completed, failed, windowMs }
]]
--!include queue-counts.lua
--!include activity.lua
local out = count_states(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
local totals = { e = 0, c = 0, f = 0 }
local windowMs = 0
local ring = redis.pcall('HGETALL', KEYS[6])
if type(ring) == 'table' and ring.err == nil then
  local second = math.floor(now / 1000)
  for i = 1, #ring, 2 do
    local kind, at = string.match(ring[i], '^([ecf])(%d+)$')
    at = tonumber(at)
    if kind ~= nil and at > second - ACTIVITY_SECONDS and at <= second then
      totals[kind] = totals[kind] + (tonumber(ring[i + 1]) or 0)
    elseif ring[i] == 'since' and tonumber(ring[i + 1]) ~= nil then
      windowMs = math.max(0, math.min(ACTIVITY_SECONDS * 1000, now - tonumber(ring[i + 1])))
    end
  end
end
out[5], out[6], out[7], out[8] = totals.e, totals.c, totals.f, windowMs
return out
