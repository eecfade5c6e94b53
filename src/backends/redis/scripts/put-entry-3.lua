--[[
  put-entry-3: create or replace a registry entry owned by a live node, and announce it.

  KEYS[1]  {ns}:reg:<kind>     HASH entry id -> entry ([u8 nodeLen][nodeId][value])
  KEYS[2]  {ns}:own:<nodeId>   SET of owned-entry members of the node
  KEYS[3]  {ns}:nodes          ZSET node id -> liveness deadline (epoch ms)
  ARGV[1]  entry id
  ARGV[2]  node id
  ARGV[3]  entry bytes
  ARGV[4]  owned-entry member (<len(kind)>:<kind><id>)
  ARGV[5]  change channel ({ns}:rc:<kind>)
  ARGV[6]  change frame to publish

  Every key it touches is in KEYS. When the entry belonged to another node, that node's owned
  set keeps a stale member (unlinking it would touch an undeclared key): every script that
  reads an owned set checks the entry's current owner before removing anything, and
  remove-owned-entries-3 drops the stale member when that node leaves or is reaped.

  Returns  1  stored and announced
          -1  the node is not live (reaped or never joined): refresh it, then put again
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deadline = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[2]))
if not deadline or deadline < now then
  return -1
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1
