--[[
  open-tx-3: record a transaction before its first prepare message, leased to its coordinator,
  and list it among its partition's unfinished records (by lease end, and by resource).

  KEYS[1]  {ns:tx:<p>}:r:<id>  HASH the record (fields: see redis-tx-log-store.ts)
  KEYS[2]  {ns:tx:<p>}:u       ZSET unfinished id -> lease end (epoch ms)
  KEYS[3]  {ns:tx:<p>}:ur      ZSET "<resource>\0<id>" of unfinished records (score 0)
  ARGV[1]  transaction id
  ARGV[2]  coordinator node id (the first lease owner)
  ARGV[3]  lease, ms from now (>= 1)
  ARGV[4..] participants: resource name, then its work (bytes), for each in order

  Returns  1  recorded
           0  a record with this id exists (nothing changed)
]]
--!include now.lua
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local id = ARGV[1]
local lease_until = now + tonumber(ARGV[3])
local count = (#ARGV - 3) / 2
local fields = {'c', ARGV[2], 't', now, 'n', count, 'o', ARGV[2], 'l', lease_until}
for i = 0, count - 1 do
  local resource = ARGV[4 + 2 * i]
  fields[#fields + 1] = 'r' .. i
  fields[#fields + 1] = resource
  fields[#fields + 1] = 'w' .. i
  fields[#fields + 1] = ARGV[5 + 2 * i]
  redis.call('ZADD', KEYS[3], 0, resource .. '\0' .. id)
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('ZADD', KEYS[2], lease_until, id)
return 1
