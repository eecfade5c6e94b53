--[[
  renew-tx-2: the lease owner of a transaction keeps driving it `leaseMs` longer (from Redis
  TIME). A lease that lapsed but was not taken over yet may still be renewed.

  KEYS[1]  {ns:tx:<p>}:r:<id>  HASH the record
  KEYS[2]  {ns:tx:<p>}:u       ZSET unfinished id -> lease end (epoch ms)
  ARGV[1]  transaction id
  ARGV[2]  owner
  ARGV[3]  lease, ms from now (>= 1)

  Returns  1  renewed
           0  another owner holds it, or no record (nothing changed)
]]
--!include now.lua
local state = redis.call('HMGET', KEYS[1], 'o', 'f')
if state[1] ~= ARGV[2] then
  return 0
end
local lease_until = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'l', lease_until)
if not state[2] then
  redis.call('ZADD', KEYS[2], 'XX', lease_until, ARGV[1])
end
return 1
