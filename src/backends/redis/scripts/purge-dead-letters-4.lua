--[[
  purge-dead-letters-4: drop up to `limit` dead letters of a queue (oldest first), with their
  payloads, metas and reasons. The caller repeats until a call drops fewer, so no one call holds
  Redis for long however many dead letters there are.

  KEYS[1]  {ns:q:<queue>}:dead      ZSET id -> when it died
  KEYS[2]  {ns:q:<queue>}:why       HASH id -> reason
  KEYS[3]  {ns:q:<queue>}:data      HASH id -> payload
  KEYS[4]  {ns:q:<queue>}:meta      HASH id -> "<attempt>:<enqueuedAt>:<maxAttempts>:<priority>"
  ARGV[1]  most dead letters to drop (1 to 1000)

  Returns  how many dead letters were dropped
]]
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #ids == 0 then
  return 0
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, #ids - 1)
redis.call('HDEL', KEYS[2], unpack(ids))
redis.call('HDEL', KEYS[3], unpack(ids))
redis.call('HDEL', KEYS[4], unpack(ids))
return #ids
