--[[
  delete-queue-9: unbind every pattern of a queue (telling every node on the bindings channel)
  and delete all of its messages, leases, delays and dead letters.

  KEYS[1]  {ns}:bindings            SET "<len(queue)>:<queue><pattern>"
  KEYS[2]  {ns}:q:<queue>:seq
  KEYS[3]  {ns}:q:<queue>:data
  KEYS[4]  {ns}:q:<queue>:meta
  KEYS[5]  {ns}:q:<queue>:ready
  KEYS[6]  {ns}:q:<queue>:leased
  KEYS[7]  {ns}:q:<queue>:delayed
  KEYS[8]  {ns}:q:<queue>:dead
  KEYS[9]  {ns}:q:<queue>:why
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
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9])
return removed
