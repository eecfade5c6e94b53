--[[
  enqueue-message-10: store a message, ready at once (the ready LIST for priority 0, the prio
  ZSET otherwise) or delayed until its due time, and wake waiting claimers. With a dedup key,
  a key enqueued within its window makes this a no-op that answers the first message's id.
  A message ready at once is queued behind the delayed messages that fell due before it
  (move_due first).

  KEYS[1]   {ns:q:<queue>}:seq       STRING id counter
  KEYS[2]   {ns:q:<queue>}:data      HASH id -> payload
  KEYS[3]   {ns:q:<queue>}:meta      HASH id -> "<attempt>:<enqueuedAt>:<maxAttempts>:<priority>[:<lease token>]"
  KEYS[4]   {ns:q:<queue>}:ready     LIST of ready ids of priority 0, oldest first
  KEYS[5]   {ns:q:<queue>}:prio      ZSET ready ids of other priorities -> priority score
  KEYS[6]   {ns:q:<queue>}:delayed   ZSET id -> when it becomes ready (epoch ms)
  KEYS[7]   {ns:q:<queue>}:rate      HASH activity counters
  KEYS[8]   {ns:q:<queue>}:wake      STRING present while a claimer waits
  KEYS[9]   {ns:q:<queue>}:epoch     STRING when the queue's dedup memory began
  KEYS[10]  {ns:q:<queue>}:dd:<key>  STRING "<epoch>:<id>" (any key of the queue when no dedup)
  ARGV[1]  payload
  ARGV[2]  notify channel ({ns:q:<queue>}:qn)
  ARGV[3]  delay in ms from now (>= 0)
  ARGV[4]  not before this epoch ms (0: no bound)
  ARGV[5]  priority (integer in [-1e6, 1e6])
  ARGV[6]  max deliveries (0: no limit)
  ARGV[7]  dedup window in ms (0: no dedup key)

  Returns  the new message id (integer), or for a duplicate the first one's id (string); when
           due delayed ids without meta were dropped on the way (corrupt or forged), the table
           { id, how many were dropped }
]]
--!include now.lua
--!include queue-meta.lua
--!include activity.lua
--!include move-due.lua
local dedupMs = tonumber(ARGV[7])
local epoch = nil
if dedupMs > 0 then
  -- The epoch ties dedup keys to this life of the queue: deleting the queue deletes the epoch,
  -- so keys remembered before the deletion (left to expire) never match again.
  epoch = redis.pcall('GET', KEYS[9])
  if type(epoch) ~= 'string' then
    epoch = clock[1] .. string.format('%06d', tonumber(clock[2]))
    redis.call('SET', KEYS[9], epoch)
  end
  local first = redis.pcall('GET', KEYS[10])
  if type(first) == 'string' then
    local at, id = string.match(first, '^(%d+):(.+)$')
    if at == epoch then
      return id
    end
  end
end
local priority = tonumber(ARGV[5])
local due = math.max(now + tonumber(ARGV[3]), tonumber(ARGV[4]))
local dropped = 0
if due <= now then
  -- Messages that fell due before now go first: they became ready earlier.
  dropped = move_due(KEYS[6], KEYS[3], KEYS[2], KEYS[4], KEYS[5], KEYS[1])
end
local id = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], id, ARGV[1])
redis.call('HSET', KEYS[3], id, format_meta(0, now, tonumber(ARGV[6]), priority))
if due > now then
  redis.call('ZADD', KEYS[6], due, id)
elseif priority == 0 then
  redis.call('RPUSH', KEYS[4], id)
else
  redis.call('ZADD', KEYS[5], priority_score(priority, id), id)
end
if epoch ~= nil then
  redis.call('SET', KEYS[10], epoch .. ':' .. id, 'PX', dedupMs)
end
count_activity(KEYS[7], 'e')
if redis.call('EXISTS', KEYS[8]) == 1 then
  redis.call('PUBLISH', ARGV[2], '')
end
if dropped > 0 then
  return { id, dropped }
end
return id
