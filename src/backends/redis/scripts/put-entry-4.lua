--[[
  put-entry-4: create or replace a registry entry owned by a live node, log the change and
  announce it.

  KEYS[1]  {ns}:reg:<kind>     HASH entry id -> entry ([u8 nodeLen][nodeId][value])
  KEYS[2]  {ns}:own:<nodeId>   SET of owned-entry members of the node
  KEYS[3]  {ns}:nodes          ZSET node id -> liveness deadline (epoch ms)
  KEYS[4]  {ns}:log:<kind>     STREAM change log of the kind (see change-log.lua)
  ARGV[1]  entry id
  ARGV[2]  node id
  ARGV[3]  entry bytes
  ARGV[4]  owned-entry member (<len(kind)>:<kind><id>)
  ARGV[5]  change channel ({ns}:rc:<kind>)
  ARGV[6]  change frame to log and publish

  Every key it touches is in KEYS. When the entry belonged to another node, that node's owned
  set keeps a stale member (unlinking it would touch an undeclared key): every script that
  reads an owned set checks the entry's current owner before removing anything, and
  remove-owned-entries-4 drops the stale member when that node leaves or is reaped.
  The hash or the owned set holding another type (corrupt or forged state) is replaced.

  Returns  1  stored and announced
           2  stored and announced after replacing a key of the wrong type
          -1  the node is not live (reaped or never joined): refresh it, then put again
]]
--!include liveness.lua
--!include change-log.lua
if not is_live(deadline_of(KEYS[3], ARGV[2])) then
  return -1
end
local replaced = replace_wrong_type(KEYS[1], 'hash') + replace_wrong_type(KEYS[2], 'set')
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
log_change(KEYS[4], ARGV[6])
redis.call('PUBLISH', ARGV[5], ARGV[6])
if replaced > 0 then
  return 2
end
return 1
