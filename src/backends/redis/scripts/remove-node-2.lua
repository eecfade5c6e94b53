--[[
  remove-node-2: a node is no longer live (it left, or it lapsed and was reaped), once its
  entries are gone (remove-owned-entries-3 for each kind it owns entries of).

  KEYS[1]  {ns}:nodes          ZSET node id -> liveness deadline (epoch ms, Redis TIME)
  KEYS[2]  {ns}:own:<nodeId>   SET of owned-entry members of the node
  ARGV[1]  node id
  ARGV[2]  "1": only if the node's liveness lapsed (reaper); "0": unconditionally (leave)

  Returns  1  the node is gone
          -1  ARGV[2] is "1" and the node is live again: nothing changed
          -2  the node still owns entries (put since they were listed): remove those first
]]
if ARGV[2] == '1' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local deadline = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
  if deadline and deadline >= now then
    return -1
  end
end
if redis.call('SCARD', KEYS[2]) > 0 then
  return -2
end
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
