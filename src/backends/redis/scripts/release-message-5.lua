--[[
  release-message-5: the holder of a lease gives its message back, ready again after a delay
  (counted as failed: released for a retry). Only the current lease may do it (see
  ack-message-4). The lease token is dropped from the meta.

  KEYS[1]  {ns:q:<queue>}:leased    ZSET id -> lease end
  KEYS[2]  {ns:q:<queue>}:delayed   ZSET id -> when it becomes ready (epoch ms)
  KEYS[3]  {ns:q:<queue>}:meta      HASH id -> "<attempt>:<enqueuedAt>:<maxAttempts>:<priority>[:<lease token>]"
  KEYS[4]  {ns:q:<queue>}:rate      HASH activity counters
  KEYS[5]  {ns:q:<queue>}:wake      STRING present while a claimer waits
  ARGV[1]  message id
  ARGV[2]  lease token (returned by the claim)
  ARGV[3]  delay in ms (>= 0)
  ARGV[4]  notify channel ({ns:q:<queue>}:qn), to wake claimers

  Returns  1  released
           0  not leased under this token: nothing changed
]]
--!include now.lua
--!include lease-check.lua
--!include activity.lua
if not holds_lease(KEYS[1], KEYS[3], ARGV[1], ARGV[2]) then
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
unleased_meta(KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
count_activity(KEYS[4], 'f')
if redis.call('EXISTS', KEYS[5]) == 1 then
  redis.call('PUBLISH', ARGV[4], '')
end
return 1
