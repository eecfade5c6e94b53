--[[
  release-message-3: the holder of a lease gives its message back, claimable again after a
  delay. Only the current lease may do it (see ack-message-3). The lease token is dropped from
  the meta.

  KEYS[1]  {ns}:q:<queue>:leased    ZSET id -> lease end
  KEYS[2]  {ns}:q:<queue>:delayed   ZSET id -> when claimable again (epoch ms)
  KEYS[3]  {ns}:q:<queue>:meta      HASH id -> "<attempt>:<enqueuedAt ms>[:<lease token>]"
  ARGV[1]  message id
  ARGV[2]  lease token (returned by the claim)
  ARGV[3]  delay in ms (>= 0)
  ARGV[4]  notify channel ({ns}:qn:<queue>), to wake claimers

  Returns  1  released
           0  not leased under this token: nothing changed
]]
--!include now.lua
--!include lease-check.lua
if not holds_lease(KEYS[1], KEYS[3], ARGV[1], ARGV[2]) then
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], string.match(redis.call('HGET', KEYS[3], ARGV[1]), '^%d+:%d+'))
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PUBLISH', ARGV[4], '')
return 1
