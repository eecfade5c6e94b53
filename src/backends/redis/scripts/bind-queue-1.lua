--[[
  bind-queue-1: bind an event pattern to a queue and, only if that is a change, tell every
  node on the bindings channel (in the same step, so a watcher never misses a transition it
  could have heard).

  KEYS[1]  {ns}:bindings            SET "<len(queue)>:<queue><pattern>"
  ARGV[1]  the binding member
  ARGV[2]  bindings change channel ({ns}:bc)

  Returns  1  bound now
           0  was bound already: nothing published
]]
local added = redis.call('SADD', KEYS[1], ARGV[1])
if added == 1 then
  redis.call('PUBLISH', ARGV[2], '+' .. ARGV[1])
end
return added
