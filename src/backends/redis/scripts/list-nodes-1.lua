--[[
  list-nodes-1: ids of the nodes whose liveness has not lapsed.

  KEYS[1]  {ns}:nodes   ZSET node id -> liveness deadline (epoch ms, Redis TIME)

  Returns  array of node ids
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
