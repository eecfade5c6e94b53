--[[
  queue-activity-6: a queue's counts and what it did in the last minute (Redis TIME): messages
  enqueued, completed and failed, summed over the activity ring's buckets of the last 60
  seconds (this one included), and the span they cover (60 s, or since the ring started).

  KEYS[1]  {ns:q:<queue>}:ready     LIST of ready ids of priority 0
  KEYS[2]  {ns:q:<queue>}:prio      ZSET ready ids of other priorities
  KEYS[3]  {ns:q:<queue>}:leased    ZSET id -> lease end
  KEYS[4]  {ns:q:<queue>}:delayed   ZSET id -> when it becomes ready
  KEYS[5]  {ns:q:<queue>}:dead      ZSET id -> when it died
  KEYS[6]  {ns:q:<queue>}:rate      HASH activity ring

  Returns  { ready, delayed, leased, dead, enqueued, completed, failed, windowMs }
]]
--!include queue-counts.lua
--!include activity.lua
local out = count_states(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
local totals = { e = 0, c = 0, f = 0 }
local windowMs = 0
local ring = redis.pcall('HGETALL', KEYS[6])
if type(ring) == 'table' and ring.err == nil then
  local fields = {}
  for i = 1, #ring, 2 do
    fields[ring[i]] = ring[i + 1]
  end
  local second = math.floor(now / 1000)
  for slot = 0, ACTIVITY_SLOTS - 1 do
    local stamp = tonumber(fields['t' .. slot])
    if stamp ~= nil and stamp > second - ACTIVITY_SLOTS and stamp <= second then
      for kind in pairs(totals) do
        totals[kind] = totals[kind] + (tonumber(fields[kind .. slot]) or 0)
      end
    end
  end
  local since = tonumber(fields['since'])
  if since ~= nil then
    windowMs = math.max(0, math.min(ACTIVITY_SLOTS * 1000, now - since))
  end
end
out[5], out[6], out[7], out[8] = totals.e, totals.c, totals.f, windowMs
return out
