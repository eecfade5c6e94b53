--[[
  dead-letter-message-5: the holder of a lease moves its message to the queue's dead letters
  with the reason (counted as failed). Payload and meta are kept (for inspection and replay).
  Only the current lease may do it (see ack-message-4). The lease token is dropped from the meta.

  KEYS[1]  {ns:q:<queue>}:leased    ZSET id -> lease end
  KEYS[2]  {ns:q:<queue>}:meta      HASH id -> "<attempt>:<enqueuedAt>:<maxAttempts>:<priority>[:<lease token>]"
  KEYS[3]  {ns:q:<queue>}:dead      ZSET id -> when it died (epoch ms)
  KEYS[4]  {ns:q:<queue>}:why       HASH id -> reason
  KEYS[5]  {ns:q:<queue>}:rate      HASH activity counters
  ARGV[1]  message id
  ARGV[2]  lease token (returned by the claim)
  ARGV[3]  reason

  Returns  1  dead-lettered
           0  not leased under this token: nothing changed
]]
--!include now.lua
--!include lease-check.lua
--!include activity.lua
if not holds_lease(KEYS[1], KEYS[2], ARGV[1], ARGV[2]) then
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
unleased_meta(KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], now, ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
count_activity(KEYS[5], 'f')
return 1
