--[[
  purge-dead-letters-4: drop every dead letter of a queue, with payloads and bookkeeping.

  KEYS[1]  {ns:q:<queue>}:dead      ZSET id -> when it died
  KEYS[2]  {ns:q:<queue>}:why       HASH id -> reason
  KEYS[3]  {ns:q:<queue>}:data      HASH id -> payload
  KEYS[4]  {ns:q:<queue>}:meta      HASH id -> "<attempt>:<enqueuedAt>:<maxAttempts>:<priority>"

  Returns  how many dead letters were dropped
]]
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, id in ipairs(ids) do
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
end
redis.call('DEL', KEYS[1], KEYS[2])
return #ids
