--[[
  retry-dead-letter-3: move one dead letter back among the claimable messages (as a due
  release, so the next claim redelivers it with attempt + 1) and wake waiting claimers.

  KEYS[1]  {ns}:q:<queue>:dead      ZSET id -> when it died
  KEYS[2]  {ns}:q:<queue>:why       HASH id -> reason
  KEYS[3]  {ns}:q:<queue>:delayed   ZSET id -> when claimable again
  ARGV[1]  message id
  ARGV[2]  notify channel ({ns}:qn:<queue>)

  Returns  1  moved back
           0  no such dead letter
]]
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
redis.call('PUBLISH', ARGV[2], '')
return 1
