--[[
  release-message-2: give a leased message back, claimable again after a delay.

  KEYS[1]  {ns}:q:<queue>:leased    ZSET id -> lease end
  KEYS[2]  {ns}:q:<queue>:delayed   ZSET id -> when claimable again (epoch ms)
  ARGV[1]  message id
  ARGV[2]  delay in ms (>= 0)
  ARGV[3]  notify channel ({ns}:qn:<queue>), to wake claimers

  Returns  1  released
           0  the message is not leased (acknowledged, dead-lettered, or its lease was taken over)
]]
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PUBLISH', ARGV[3], '')
return 1
