--[[
  ack-message-4: the holder of a lease is done with its message: remove the message for good
  and count it as completed. Only the current lease may do it: a consumer whose lease lapsed
  (the message was claimed again) or that already settled it changes nothing.

  KEYS[1]  {ns:q:<queue>}:leased    ZSET id -> lease end
  KEYS[2]  {ns:q:<queue>}:data      HASH id -> payload
  KEYS[3]  {ns:q:<queue>}:meta      HASH id -> "<attempt>:<enqueuedAt>:<maxAttempts>:<priority>[:<lease token>]"
  KEYS[4]  {ns:q:<queue>}:rate      HASH activity counters
  ARGV[1]  message id
  ARGV[2]  lease token (returned by the claim)

  Returns  1  removed
           0  not leased under this token (lease taken over, released, acknowledged,
              dead-lettered, or no such message): nothing changed
]]
--!include lease-check.lua
--!include activity.lua
if not holds_lease(KEYS[1], KEYS[3], ARGV[1], ARGV[2]) then
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
count_activity(KEYS[4], 'c')
return 1
