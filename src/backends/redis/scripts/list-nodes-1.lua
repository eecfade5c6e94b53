--[[
  list-nodes-1: ids of the live nodes (see liveness.lua).

  KEYS[1]  {ns}:nodes   ZSET node id -> liveness deadline (epoch ms, Redis TIME)

  Returns  array of node ids
]]
--!include liveness.lua
if not usable(KEYS[1], 'zset') then
  return {}
end
return redis.call('ZRANGEBYSCORE', KEYS[1], now, now + HORIZON_MS)
