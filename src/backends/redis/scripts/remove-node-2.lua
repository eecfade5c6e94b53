--[[
  remove-node-2: a node leaves gracefully: every entry it owns is removed and announced, and
  the node is no longer live.

  KEYS[1]  {ns}:nodes          ZSET node id -> liveness deadline (epoch ms)
  KEYS[2]  {ns}:own:<nodeId>   SET of owned-entry members of the node
  ARGV[1]  node id
  ARGV[2]  entries key prefix ({ns}:reg:), + kind = the kind's HASH (same hash tag)
  ARGV[3]  change channel prefix ({ns}:rc:), + kind = the kind's channel

  Returns  number of entries removed (>= 0)
]]
local node = ARGV[1]
local removed = 0
for _, member in ipairs(redis.call('SMEMBERS', KEYS[2])) do
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
    removed = removed + 1
  end
end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], node)
return removed
