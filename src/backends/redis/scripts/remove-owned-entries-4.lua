--[[
  remove-owned-entries-4: remove entries of one kind that a node owns (it left, or it lapsed and
  is being reaped), logging and announcing each removal, and unlink them from the node's owned set. An
  entry another node has put since, a malformed entry and a KEYS[1] of the wrong type are
  unlinked but left alone. Running it twice is harmless.

  KEYS[1]  {ns}:reg:<kind>     HASH entry id -> entry ([u8 nodeLen][nodeId][value])
  KEYS[2]  {ns}:own:<nodeId>   SET of owned-entry members of the node
  KEYS[3]  {ns}:nodes          ZSET node id -> liveness deadline (epoch ms, Redis TIME)
  KEYS[4]  {ns}:log:<kind>     STREAM change log of the kind (see change-log.lua)
  ARGV[1]  node id
  ARGV[2]  kind
  ARGV[3]  change channel of the kind ({ns}:rc:<kind>)
  ARGV[4]  "1": only if the node is not live (reaper); "0": unconditionally (leave)
  ARGV[5..] entry ids

  Returns  number of entries removed (>= 0)
          -1  ARGV[4] is "1" and the node is live again: nothing changed
]]
--!include liveness.lua
--!include entry.lua
--!include change-log.lua
local node = ARGV[1]
local kind = ARGV[2]
if ARGV[4] == '1' and is_live(deadline_of(KEYS[3], node)) then
  return -1
end
local owned = usable(KEYS[2], 'set')
local hash = usable(KEYS[1], 'hash')
local removed = 0
for i = 5, #ARGV do
  local id = ARGV[i]
  if owned then
    redis.call('SREM', KEYS[2], #kind .. ':' .. kind .. id)
  end
  if hash and owner_of(redis.call('HGET', KEYS[1], id)) == node then
    redis.call('HDEL', KEYS[1], id)
    local frame = 'D' .. string.char(math.floor(#kind / 256), #kind % 256) .. kind
        .. string.char(math.floor(#id / 256), #id % 256) .. id
        .. string.char(#node) .. node
    log_change(KEYS[4], frame)
    redis.call('PUBLISH', ARGV[3], frame)
    removed = removed + 1
  end
end
return removed
