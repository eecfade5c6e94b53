--[[
  list-lapsed-nodes-1: nodes whose liveness lapsed (crashed, frozen, cut off), for the reaper.
  Reaping one is a few more calls, each with every key it touches declared: for each kind the
  node owns entries of, remove-owned-entries-3, then remove-node-2.

  KEYS[1]  {ns}:nodes   ZSET node id -> liveness deadline (epoch ms, Redis TIME)
  ARGV[1]  most node ids to return

  Returns  array of node ids whose deadline is before Redis TIME
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, tonumber(ARGV[1]))
