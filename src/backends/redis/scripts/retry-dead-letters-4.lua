--[[
  retry-dead-letters-4: move up to `limit` dead letters (oldest first) back among the ready
  messages: each becomes due at the time it died, so the next claim makes them ready in the
  order they died and redelivers them with attempt + 1. Wakes waiting claimers.

  KEYS[1]  {ns:q:<queue>}:dead      ZSET id -> when it died
  KEYS[2]  {ns:q:<queue>}:why       HASH id -> reason
  KEYS[3]  {ns:q:<queue>}:delayed   ZSET id -> when it becomes ready
  KEYS[4]  {ns:q:<queue>}:wake      STRING present while a claimer waits
  ARGV[1]  most dead letters to move (>= 1)
  ARGV[2]  notify channel ({ns:q:<queue>}:qn)
  ARGV[3]  optional: the id of the one dead letter to move (absent: the oldest ones)

  Returns  how many were moved (0: none, or no such dead letter)
]]
local ids
if ARGV[3] then
  local died = redis.call('ZSCORE', KEYS[1], ARGV[3])
  if not died then
    return 0
  end
  ids = { ARGV[3], died }
  redis.call('ZREM', KEYS[1], ARGV[3])
else
  ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
  if #ids == 0 then
    return 0
  end
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, #ids / 2 - 1)
end
local members = {}
local entries = {}
for i = 1, #ids, 2 do
  members[#members + 1] = ids[i]
  entries[#entries + 1] = ids[i + 1]
  entries[#entries + 1] = ids[i]
end
redis.call('HDEL', KEYS[2], unpack(members))
redis.call('ZADD', KEYS[3], unpack(entries))
if redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('PUBLISH', ARGV[2], '')
end
return #members
