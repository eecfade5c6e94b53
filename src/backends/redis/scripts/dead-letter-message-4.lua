--[[
  dead-letter-message-4: the holder of a lease moves its message to the queue's dead letters
  with the reason. Payload and attempt count are kept (for inspection and replay). Only the
  current lease may do it (see ack-message-3).

  KEYS[1]  {ns}:q:<queue>:leased    ZSET id -> lease end
  KEYS[2]  {ns}:q:<queue>:meta      HASH id -> "<attempt>:<enqueuedAt ms>"
  KEYS[3]  {ns}:q:<queue>:dead      ZSET id -> when it died (epoch ms)
  KEYS[4]  {ns}:q:<queue>:why       HASH id -> reason
  ARGV[1]  message id
  ARGV[2]  lease token (the attempt number the claim returned)
  ARGV[3]  reason

  Returns  1  dead-lettered
           0  not leased under this token: nothing changed
]]
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
local meta = redis.call('HGET', KEYS[2], ARGV[1])
if not meta or string.sub(meta, 1, string.find(meta, ':', 1, true) - 1) ~= ARGV[2] then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[3], now, ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
return 1
