--[[
  remove-entry-3: remove a registry entry if the given node owns it, log the change and announce
  it.

  KEYS[1]  {ns}:reg:<kind>     HASH entry id -> entry ([u8 nodeLen][nodeId][value])
  KEYS[2]  {ns}:own:<nodeId>   SET of owned-entry members of the node
  KEYS[3]  {ns}:log:<kind>     STREAM change log of the kind (see change-log.lua)
  ARGV[1]  entry id
  ARGV[2]  node id
  ARGV[3]  owned-entry member (<len(kind)>:<kind><id>)
  ARGV[4]  change channel ({ns}:rc:<kind>)
  ARGV[5]  change frame to log and publish

  Keys of the wrong type and malformed entries are never the node's: nothing is removed.

  Returns  1  removed and announced
           0  no such entry owned by this node (nothing changed)
]]
--!include key-type.lua
--!include entry.lua
--!include change-log.lua
if usable(KEYS[2], 'set') then
  redis.call('SREM', KEYS[2], ARGV[3])
end
if not usable(KEYS[1], 'hash') then
  return 0
end
if owner_of(redis.call('HGET', KEYS[1], ARGV[1])) ~= ARGV[2] then
  return 0
end
redis.call('HDEL', KEYS[1], ARGV[1])
log_change(KEYS[3], ARGV[5])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
