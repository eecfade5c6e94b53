--[[
  remove-message-6: remove a waiting message (ready, of any priority, or delayed) for good, e.g.
  a cancelled delayed message. A leased, dead or unknown message is left alone.

  KEYS[1]  {ns:q:<queue>}:meta      HASH id -> "<attempt>:<enqueuedAt>:<maxAttempts>:<priority>[:<lease token>]"
  KEYS[2]  {ns:q:<queue>}:data      HASH id -> payload
  KEYS[3]  {ns:q:<queue>}:delayed   ZSET id -> when it becomes ready
  KEYS[4]  {ns:q:<queue>}:prio      ZSET ready ids of other priorities
  KEYS[5]  {ns:q:<queue>}:dead      ZSET id -> when it died
  KEYS[6]  {ns:q:<queue>}:ready     LIST of ready ids of priority 0
  ARGV[1]  message id

  Returns  1  removed
           0  not waiting: nothing changed
]]
local meta = redis.call('HGET', KEYS[1], ARGV[1])
-- Unknown, settled, or leased (its meta carries a lease token): not waiting.
if not meta or string.match(meta, '^%d+:%d+:%d+:%-?%d+:') then
  return 0
end
local removed = redis.call('ZREM', KEYS[3], ARGV[1])
if removed == 0 then
  removed = redis.call('ZREM', KEYS[4], ARGV[1])
end
-- The LIST is searched last (LREM is linear), and never for a dead letter.
if removed == 0 and not redis.call('ZSCORE', KEYS[5], ARGV[1]) then
  removed = redis.call('LREM', KEYS[6], 1, ARGV[1])
end
if removed == 0 then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
