--[[
  dead-letter-message-4: move a held message to the queue's dead-letter list with the reason.
  Its payload and attempt count are kept (for inspection and replay).

  KEYS[1]  {ns}:q:<queue>:leased    ZSET id -> lease end
  KEYS[2]  {ns}:q:<queue>:delayed   ZSET id -> when claimable again
  KEYS[3]  {ns}:q:<queue>:dead      ZSET id -> when it died (epoch ms)
  KEYS[4]  {ns}:q:<queue>:why       HASH id -> reason
  ARGV[1]  message id
  ARGV[2]  reason

  Returns  1  dead-lettered
           0  no such held message
]]
local held = redis.call('ZREM', KEYS[1], ARGV[1]) + redis.call('ZREM', KEYS[2], ARGV[1])
if held == 0 then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[3], now, ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
return 1
