--[[
  claim-tx-2: take over an unfinished transaction whose lease lapsed (Redis TIME): lease it to
  `owner` for `leaseMs` and return the record. Atomic, so two nodes never both take it while
  the new lease runs. An index entry without a record (or of a finished one) is dropped.

  KEYS[1]  {ns:tx:<p>}:r:<id>  HASH the record
  KEYS[2]  {ns:tx:<p>}:u       ZSET unfinished id -> lease end (epoch ms)
  ARGV[1]  transaction id
  ARGV[2]  owner
  ARGV[3]  lease, ms from now (>= 1)

  Returns  the record's fields and values (HGETALL) once taken over
           0  its lease runs, it is finished, or no record (nothing taken)
]]
--!include now.lua
local state = redis.call('HMGET', KEYS[1], 'l', 'f')
if not state[1] or state[2] then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if tonumber(state[1]) > now then
  return 0
end
local lease_until = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'o', ARGV[2], 'l', lease_until)
redis.call('ZADD', KEYS[2], lease_until, ARGV[1])
return redis.call('HGETALL', KEYS[1])
