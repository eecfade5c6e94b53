--[[
  extend-lease-2: the holder of a lease keeps it longer (a long-running handler): the lease now
  ends `leaseMs` from now (Redis TIME). Only the current lease may do it (see ack-message-3); a
  lease that ended but was not claimed again yet may still be extended.

  KEYS[1]  {ns}:q:<queue>:leased    ZSET id -> lease end (epoch ms)
  KEYS[2]  {ns}:q:<queue>:meta      HASH id -> "<attempt>:<enqueuedAt ms>"
  ARGV[1]  message id
  ARGV[2]  lease token (the attempt number the claim returned)
  ARGV[3]  new lease length in ms, from now (>= 1)

  Returns  1  extended
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
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[3]), ARGV[1])
return 1
