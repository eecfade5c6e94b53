--[[
  refresh-node-1: prove that a node is alive (join, or heartbeat).

  KEYS[1]  {ns}:nodes      ZSET node id -> liveness deadline (epoch ms, Redis TIME)
  ARGV[1]  node id
  ARGV[2]  liveness TTL in ms

  Returns  1  the node was live and its deadline moved forward
           0  the node was absent or its liveness had lapsed (it has now joined afresh and must
              put its entries again: they may have been reaped or lost in a Redis restart)
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deadline = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
if deadline and deadline >= now then
  return 1
end
return 0
