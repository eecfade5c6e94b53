--[[
  write-policy-2: apply changes to the permission policy and bump its revision, in one step,
  only if the revision is still the one the writer read (optimistic concurrency: two nodes
  changing the policy at once never lose each other's change; the loser reads and retries).

  KEYS[1]  {ns}:pol      HASH record key → record bytes
  KEYS[2]  {ns}:pol:rev  STRING the policy's revision (absent: 0)
  ARGV[1]  the expected revision
  ARGV[2]  n: how many records to store
  ARGV[3..2+2n]  key, value pairs to store (HSET)
  ARGV[3+2n..]   keys to remove (HDEL)

  Returns  the new revision, or -1 (nothing written) when the revision is not ARGV[1]

  The first write (no revision yet: a new namespace, or Redis lost its data) starts the count at
  Redis TIME in ms, not at 1: after a data loss the revisions restart far above any a node may
  still have cached, so no node mistakes the new policy for the one it compiled before.
]]
--!include now.lua
local stored = redis.call('GET', KEYS[2])
local revision = tonumber(stored) or 0
if revision ~= tonumber(ARGV[1]) then return -1 end
if not stored then redis.call('SET', KEYS[2], now) end
local puts = tonumber(ARGV[2])
local i = 3
for _ = 1, puts do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i <= #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
  i = i + 1
end
return redis.call('INCR', KEYS[2])
