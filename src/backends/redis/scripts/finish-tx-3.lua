--[[
  finish-tx-3: mark a transaction finished (every participant done): drop it from its
  partition's indexes and let the record expire `retention` ms from now, so late lookups still
  see it meanwhile. Finishing again changes nothing (the first retention holds).

  KEYS[1]  {ns:tx:<p>}:r:<id>  HASH the record
  KEYS[2]  {ns:tx:<p>}:u       ZSET unfinished id -> lease end (epoch ms)
  KEYS[3]  {ns:tx:<p>}:ur      ZSET "<resource>\0<id>" of unfinished records (score 0)
  ARGV[1]  transaction id
  ARGV[2]  retention, ms (0: removed at once)

  Returns  1  finished now
           0  finished already, or no record
]]
local state = redis.call('HMGET', KEYS[1], 'n', 'f')
if not state[1] or state[2] then
  return 0
end
local id = ARGV[1]
for i = 0, tonumber(state[1]) - 1 do
  local resource = redis.call('HGET', KEYS[1], 'r' .. i)
  if resource then
    redis.call('ZREM', KEYS[3], resource .. '\0' .. id)
  end
end
redis.call('ZREM', KEYS[2], id)
local retention = tonumber(ARGV[2])
if retention > 0 then
  redis.call('HSET', KEYS[1], 'f', '1')
  redis.call('PEXPIRE', KEYS[1], retention)
else
  redis.call('DEL', KEYS[1])
end
return 1
