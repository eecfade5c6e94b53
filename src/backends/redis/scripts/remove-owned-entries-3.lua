--[[
  remove-owned-entries-3: remove entries of one kind that a node owns (it left, or it lapsed and
  is being reaped), announcing each removal, and unlink them from the node's owned set. An
  entry another node has put since is unlinked but left alone. Running it twice is harmless.

  KEYS[1]  {ns}:reg:<kind>     HASH entry id -> entry ([u8 nodeLen][nodeId][value])
  KEYS[2]  {ns}:own:<nodeId>   SET of owned-entry members of the node
  KEYS[3]  {ns}:nodes          ZSET node id -> liveness deadline (epoch ms, Redis TIME)
  ARGV[1]  node id
  ARGV[2]  kind
  ARGV[3]  change channel of the kind ({ns}:rc:<kind>)
  ARGV[4]  "1": only if the node's liveness lapsed (reaper); "0": unconditionally (leave)
  ARGV[5..] entry ids

  Returns  number of entries removed (>= 0)
          -1  ARGV[4] is "1" and the node is live again: nothing changed
]]
local node = ARGV[1]
local kind = ARGV[2]
if ARGV[4] == '1' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local deadline = tonumber(redis.call('ZSCORE', KEYS[3], node))
  if deadline and deadline >= now then
    return -1
  end
end
local removed = 0
for i = 5, #ARGV do
  local id = ARGV[i]
  redis.call('SREM', KEYS[2], #kind .. ':' .. kind .. id)
  local entry = redis.call('HGET', KEYS[1], id)
  if entry and string.sub(entry, 2, 1 + string.byte(entry, 1)) == node then
    redis.call('HDEL', KEYS[1], id)
    redis.call('PUBLISH', ARGV[3],
      'D' .. string.char(math.floor(#kind / 256), #kind % 256) .. kind
          .. string.char(math.floor(#id / 256), #id % 256) .. id
          .. string.char(#node) .. node)
    removed = removed + 1
  end
end
return removed
