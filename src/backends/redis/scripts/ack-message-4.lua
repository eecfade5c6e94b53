--[[
  ack-message-4: a leased message is done: remove it for good. Acknowledging twice is harmless.

  KEYS[1]  {ns}:q:<queue>:leased    ZSET id -> lease end
  KEYS[2]  {ns}:q:<queue>:delayed   ZSET id -> when claimable again
  KEYS[3]  {ns}:q:<queue>:data      HASH id -> payload
  KEYS[4]  {ns}:q:<queue>:meta      HASH id -> "<attempt>:<enqueuedAt ms>"
  ARGV[1]  message id

  Returns  1  removed
           0  no such held message (already acknowledged, or dead-lettered)
]]
local held = redis.call('ZREM', KEYS[1], ARGV[1]) + redis.call('ZREM', KEYS[2], ARGV[1])
if held == 0 then
  return 0
end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
