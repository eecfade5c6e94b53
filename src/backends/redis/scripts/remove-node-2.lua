--[[
  remove-node-2: a node is no longer live (it left, or it lapsed and was reaped), once its
  entries are gone (remove-owned-entries-4 for each kind it owns entries of).

  KEYS[1]  {ns}:nodes          ZSET node id -> liveness deadline (epoch ms, Redis TIME)
  KEYS[2]  {ns}:own:<nodeId>   SET of owned-entry members of the node
  ARGV[1]  node id
  ARGV[2]  "1": only if the node is not live (reaper); "0": unconditionally (leave)
  ARGV[3..] owned-set members to drop first: they name no entry (unparsable, corrupt or
           forged), or the reaper gives up on them

  An owned set of the wrong type is deleted.

  Returns  1  the node is gone
          -1  ARGV[2] is "1" and the node is live again: nothing changed
          -2  the node still owns entries (put since they were listed): remove those first
]]
--!include liveness.lua
if ARGV[2] == '1' and is_live(deadline_of(KEYS[1], ARGV[1])) then
  return -1
end
if replace_wrong_type(KEYS[2], 'set') == 0 then
  for i = 3, #ARGV do
    redis.call('SREM', KEYS[2], ARGV[i])
  end
  if redis.call('SCARD', KEYS[2]) > 0 then
    return -2
  end
end
if usable(KEYS[1], 'zset') then
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return 1
