--[[
  list-lapsed-nodes-1: nodes that are not live (crashed, frozen, cut off, or a deadline forged
  past the horizon, see liveness.lua), for the reaper. Reaping one is a few more calls, each
  with every key it touches declared: for each kind the node owns entries of,
  remove-owned-entries-4, then remove-node-2.

  KEYS[1]  {ns}:nodes   ZSET node id -> liveness deadline (epoch ms, Redis TIME)
  ARGV[1]  most node ids to return

  Returns  array of node ids, lapsed ones (oldest first) then forged ones
]]
--!include liveness.lua
if not usable(KEYS[1], 'zset') then
  return {}
end
local limit = tonumber(ARGV[1])
local out = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, limit)
if #out < limit then
  local forged = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now + HORIZON_MS), '+inf',
    'LIMIT', 0, limit - #out)
  for _, node in ipairs(forged) do
    out[#out + 1] = node
  end
end
return out
