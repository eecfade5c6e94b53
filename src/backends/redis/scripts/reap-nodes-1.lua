--[[
  reap-nodes-1: remove nodes whose liveness lapsed (crashed, frozen, cut off) with every entry
  they own, announcing each removal. Any live node may run it; running it twice is harmless.

  KEYS[1]  {ns}:nodes   ZSET node id -> liveness deadline (epoch ms, Redis TIME)
  ARGV[1]  owned-set key prefix ({ns}:own:), + node id = the node's SET (same hash tag)
  ARGV[2]  entries key prefix ({ns}:reg:), + kind = the kind's HASH (same hash tag)
  ARGV[3]  change channel prefix ({ns}:rc:), + kind = the kind's channel
  ARGV[4]  most nodes to reap in this call

  Returns  number of nodes reaped (>= 0)
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, tonumber(ARGV[4]))
for _, node in ipairs(dead) do
  local owned = ARGV[1] .. node
  for _, member in ipairs(redis.call('SMEMBERS', owned)) do
    local colon = string.find(member, ':', 1, true)
    local n = tonumber(string.sub(member, 1, colon - 1))
    local kind = string.sub(member, colon + 1, colon + n)
    local id = string.sub(member, colon + n + 1)
    local key = ARGV[2] .. kind
    local entry = redis.call('HGET', key, id)
    if entry and string.sub(entry, 2, 1 + string.byte(entry, 1)) == node then
      redis.call('HDEL', key, id)
      redis.call('PUBLISH', ARGV[3] .. kind,
        'D' .. string.char(math.floor(#kind / 256), #kind % 256) .. kind
            .. string.char(math.floor(#id / 256), #id % 256) .. id
            .. string.char(#node) .. node)
    end
  end
  redis.call('DEL', owned)
  redis.call('ZREM', KEYS[1], node)
end
return #dead
