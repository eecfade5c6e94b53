--[[
  release-message-3: the holder of a lease gives its message back, claimable again after a
  delay. Only the current lease may do it (see ack-message-3).

  KEYS[1]  {ns}:q:<queue>:leased    ZSET id -> lease end
  KEYS[2]  {ns}:q:<queue>:delayed   ZSET id -> when claimable again (epoch ms)
  KEYS[3]  {ns}:q:<queue>:meta      HASH id -> "<attempt>:<enqueuedAt ms>"
  ARGV[1]  message id
  ARGV[2]  lease token (the attempt number the claim returned)
  ARGV[3]  delay in ms (>= 0)
  ARGV[4]  notify channel ({ns}:qn:<queue>), to wake claimers

  Returns  1  released
           0  not leased under this token: nothing changed
]]
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
local meta = redis.call('HGET', KEYS[3], ARGV[1])
if not meta or string.sub(meta, 1, string.find(meta, ':', 1, true) - 1) ~= ARGV[2] then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PUBLISH', ARGV[4], '')
return 1
