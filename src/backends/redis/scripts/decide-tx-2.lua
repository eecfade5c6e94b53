--[[
  decide-tx-2: record a transaction's decision unless one is recorded, and return the one on
  record: the first decision wins (a slow coordinator's commit and a recovering node's presumed
  abort may race; exactly one holds). With no record at all, an abort is recorded (presumed
  abort), left unfinished with its lease lapsed, so that whoever decided (or else recovery)
  finishes it, and a late open of the same id is refused.

  KEYS[1]  {ns:tx:<p>}:r:<id>  HASH the record
  KEYS[2]  {ns:tx:<p>}:u       ZSET unfinished id -> lease end (epoch ms)
  ARGV[1]  transaction id
  ARGV[2]  decision asked: 'commit' or 'abort'
  ARGV[3]  reasons of an abort, also recorded for a presumed abort (JSON array of strings)

  Returns  the decision on record: 'commit' or 'abort'
]]
--!include now.lua
local state = redis.call('HMGET', KEYS[1], 'd', 'n')
if state[1] then
  return state[1]
end
if not state[2] then
  redis.call('HSET', KEYS[1], 'c', '', 't', now, 'n', 0, 'o', '', 'l', now, 'd', 'abort', 'y', ARGV[3])
  redis.call('ZADD', KEYS[2], now, ARGV[1])
  return 'abort'
end
if ARGV[2] == 'commit' then
  redis.call('HSET', KEYS[1], 'd', 'commit')
else
  redis.call('HSET', KEYS[1], 'd', 'abort', 'y', ARGV[3])
end
return ARGV[2]
