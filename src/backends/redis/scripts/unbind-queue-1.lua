--[[
  unbind-queue-1: remove a binding and, only if it existed, tell every node on the bindings
  channel.

  KEYS[1]  {ns}:bindings            SET "<len(queue)>:<queue><pattern>"
  ARGV[1]  the binding member
  ARGV[2]  bindings change channel ({ns}:bc)

  Returns  1  removed
           0  was not bound: nothing published
]]
local removed = redis.call('SREM', KEYS[1], ARGV[1])
if removed == 1 then
  redis.call('PUBLISH', ARGV[2], '-' .. ARGV[1])
end
return removed
