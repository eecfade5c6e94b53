--[[
  refresh-node-1: prove that a node is alive (join, or heartbeat).

  KEYS[1]  {ns}:nodes      ZSET node id -> liveness deadline (epoch ms, Redis TIME)
  ARGV[1]  node id
  ARGV[2]  liveness TTL in ms

  A {ns}:nodes key of another type (corrupt or forged) is replaced: every node then rejoins
  on its next heartbeat.

  Returns  1  the node was live and its deadline moved forward
           0  the node was absent or not live (lapsed, or a forged deadline past the horizon;
              it has now joined afresh and must put its entries again: they may have been
              reaped or lost in a Redis restart)
]]
--!include liveness.lua
replace_wrong_type(KEYS[1], 'zset')
local deadline = deadline_of(KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
if is_live(deadline) then
  return 1
end
return 0
