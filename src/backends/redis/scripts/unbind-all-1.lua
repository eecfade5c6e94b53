--[[
  unbind-all-1: unbind every pattern of a queue (the first half of deleting it; its keys, in
  the queue's own slot, are deleted next), telling every node on the bindings channel.

  KEYS[1]  {ns}:bindings            SET "<len(queue)>:<queue><pattern>"
  ARGV[1]  the queue's binding prefix "<len(queue)>:<queue>" (length-prefixed: exact)
  ARGV[2]  bindings change channel ({ns}:bc)

  Returns  how many bindings were removed
]]
local removed = 0
local prefix = ARGV[1]
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if string.sub(member, 1, #prefix) == prefix then
    redis.call('SREM', KEYS[1], member)
    redis.call('PUBLISH', ARGV[2], '-' .. member)
    removed = removed + 1
  end
end
return removed
