--[[
  count-messages-4: how many messages of a queue are in each state, at Redis TIME.

  KEYS[1]  {ns}:q:<queue>:ready     LIST of ids not yet claimed
  KEYS[2]  {ns}:q:<queue>:leased    ZSET id -> lease end
  KEYS[3]  {ns}:q:<queue>:delayed   ZSET id -> when claimable again
  KEYS[4]  {ns}:q:<queue>:dead      ZSET id -> when it died

  Returns  { ready, delayed, leased, dead }; expired leases and due releases count as ready
]]
--!include now.lua
local leased = redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf')
local delayed = redis.call('ZCOUNT', KEYS[3], '(' .. now, '+inf')
local ready = redis.call('LLEN', KEYS[1])
  + redis.call('ZCARD', KEYS[2]) - leased
  + redis.call('ZCARD', KEYS[3]) - delayed
return { ready, delayed, leased, redis.call('ZCARD', KEYS[4]) }
