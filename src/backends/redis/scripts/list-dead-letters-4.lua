--[[
  list-dead-letters-4: the oldest dead letters of a queue with everything kept about them.

  KEYS[1]  {ns:q:<queue>}:dead      ZSET id -> when it died (epoch ms)
  KEYS[2]  {ns:q:<queue>}:why       HASH id -> reason
  KEYS[3]  {ns:q:<queue>}:data      HASH id -> payload
  KEYS[4]  {ns:q:<queue>}:meta      HASH id -> "<attempt>:<enqueuedAt>:<maxAttempts>:<priority>"
  ARGV[1]  most dead letters to return

  Returns  flat array: id1, deadAt1, reason1, payload1, meta1, id2, ...
]]
local out = {}
local limit = tonumber(ARGV[1])
if limit < 1 then
  return out
end
local dead = redis.call('ZRANGE', KEYS[1], 0, limit - 1, 'WITHSCORES')
for i = 1, #dead, 2 do
  local id = dead[i]
  out[#out + 1] = id
  out[#out + 1] = tonumber(dead[i + 1])
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or ''
  out[#out + 1] = redis.call('HGET', KEYS[3], id) or ''
  out[#out + 1] = redis.call('HGET', KEYS[4], id) or '0:0:0:0'
end
return out
