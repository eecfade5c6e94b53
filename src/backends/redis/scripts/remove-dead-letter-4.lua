--[[
  remove-dead-letter-4: drop one dead letter for good, with its payload and bookkeeping.

  KEYS[1]  {ns:q:<queue>}:dead      ZSET id -> when it died
  KEYS[2]  {ns:q:<queue>}:why       HASH id -> reason
  KEYS[3]  {ns:q:<queue>}:data      HASH id -> payload
  KEYS[4]  {ns:q:<queue>}:meta      HASH id -> "<attempt>:<enqueuedAt>:<maxAttempts>:<priority>"
  ARGV[1]  message id

  Returns  1  removed
           0  no such dead letter
]]
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
