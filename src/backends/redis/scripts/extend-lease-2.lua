--[[
  extend-lease-2: the holder of a lease keeps it longer (a long-running handler): the lease now
  ends `leaseMs` from now (Redis TIME). Only the current lease may do it (see ack-message-4); a
  lease that ended but was not claimed again yet may still be extended.

  KEYS[1]  {ns:q:<queue>}:leased    ZSET id -> lease end (epoch ms)
  KEYS[2]  {ns:q:<queue>}:meta      HASH id -> "<attempt>:<enqueuedAt>:<maxAttempts>:<priority>[:<lease token>]"
  ARGV[1]  message id
  ARGV[2]  lease token (returned by the claim)
  ARGV[3]  new lease length in ms, from now (>= 1)

  Returns  1  extended
           0  not leased under this token: nothing changed
]]
--!include now.lua
--!include lease-check.lua
if not holds_lease(KEYS[1], KEYS[2], ARGV[1], ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[3]), ARGV[1])
return 1
