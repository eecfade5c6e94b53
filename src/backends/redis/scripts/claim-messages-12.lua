--[[
  claim-messages-12: lease up to `count` messages to one consumer. First due delayed messages
  become ready (move_due: at most 1000 per call), then expired leases are redelivered (a message
  whose next delivery would pass its max deliveries is dead-lettered instead, and counted as
  `died`), then ready messages: priorities > 0 (highest first), the ready LIST (priority 0),
  priorities < 0; FIFO within a priority. With a rate limit, at most `max` claims per window
  across every claimer (a counter that expires with its window).
  Each delivery gets its own lease token, stored in the message's meta: ARGV[3] (random, fresh
  for every call) followed by the delivery's position in this call, so no token is ever reused,
  even after Redis lost its data.

  KEYS[1]   {ns:q:<queue>}:ready     LIST of ready ids of priority 0, oldest first
  KEYS[2]   {ns:q:<queue>}:prio      ZSET ready ids of other priorities -> priority score
  KEYS[3]   {ns:q:<queue>}:leased    ZSET id -> lease end (epoch ms)
  KEYS[4]   {ns:q:<queue>}:delayed   ZSET id -> when it becomes ready (epoch ms)
  KEYS[5]   {ns:q:<queue>}:meta      HASH id -> "<attempt>:<enqueuedAt>:<maxAttempts>:<priority>[:<lease token>]"
  KEYS[6]   {ns:q:<queue>}:data      HASH id -> payload
  KEYS[7]   {ns:q:<queue>}:seq       STRING id counter (orders due priority messages)
  KEYS[8]   {ns:q:<queue>}:dead      ZSET id -> when it died
  KEYS[9]   {ns:q:<queue>}:why       HASH id -> reason
  KEYS[10]  {ns:q:<queue>}:rate      HASH activity counters
  KEYS[11]  {ns:q:<queue>}:rl        STRING claims in the current rate-limit window (PX: its end)
  KEYS[12]  {ns:q:<queue>}:wake      STRING present while a claimer waits
  ARGV[1]  most messages to lease
  ARGV[2]  lease length in ms
  ARGV[3]  lease token prefix (random, unique to this call, without ':')
  ARGV[4]  rate limit: most claims per window (0: no limit)
  ARGV[5]  rate limit: window length in ms
  ARGV[6]  when nothing is leased: how long the caller will wait, in ms (0: it will not wait)

  A meta that cannot be parsed (corrupt or forged) is rewritten as a first delivery enqueued
  now; an id without payload or meta is dropped. Both are counted in `bad`.

  Returns  flat array: next, bad, died, id1, payload1, attempt1, enqueuedAt1, id2, ...
           (the lease token of the i-th message, from 0, is ARGV[3] .. i)
           next is -1 when messages were leased or nothing is held; else how many ms from now
           (Redis TIME, so node clocks never matter) a claimer should look again: until the
           rate-limit window's end when the limit is used up, otherwise until the earliest lease
           end or due time
]]
--!include now.lua
--!include queue-meta.lua
--!include activity.lua
--!include move-due.lua
local MOVE_BOUND = 1000
local count = tonumber(ARGV[1])
local leaseEnd = now + tonumber(ARGV[2])
local out = { -1, 0, 0 }
local taken = 0

-- The rate limit: how many claims the window still allows.
local rateMax = tonumber(ARGV[4])
local windowEnd = nil
local freshWindow = false
if rateMax > 0 then
  local used = tonumber(redis.pcall('GET', KEYS[11]))
  local ttl = redis.call('PTTL', KEYS[11])
  if used == nil or ttl < 0 then
    -- Missing, expired, or corrupt (not a number, or without an end): a new window.
    redis.call('DEL', KEYS[11])
    used, freshWindow = 0, true
  end
  if used >= rateMax then
    windowEnd = now + ttl
    count = 0
  elseif rateMax - used < count then
    count = rateMax - used
  end
end

-- Due delayed messages become ready, in due order.
out[2] = move_due(KEYS[4], KEYS[5], KEYS[6], KEYS[1], KEYS[2], KEYS[7])

-- die(id, ...): dead-letter a redelivery past its max deliveries (rare: one id at a time).
local function die(id, attempt, enqueuedAt, maxAttempts, priority)
  redis.call('ZREM', KEYS[3], id)
  redis.call('HSET', KEYS[5], id, format_meta(attempt, enqueuedAt, maxAttempts, priority))
  redis.call('ZADD', KEYS[8], now, id)
  redis.call(
    'HSET',
    KEYS[9],
    id,
    'delivered ' .. attempt .. ' times without being settled (its receivers died or overran their lease)'
  )
  count_activity(KEYS[10], 'f')
  out[3] = out[3] + 1
end

-- LEASE_CHUNK: ids leased per batch of commands (keeps every unpack far below Lua's stack limit).
local LEASE_CHUNK = 500
-- lease_all(ids, redelivery): lease these ids to the caller, in order, with a few commands per
-- chunk (HMGET metas and payloads, one HSET of the new metas, one ZADD of the lease ends); a
-- redelivery past its max deliveries is dead-lettered instead, an id without payload or meta
-- dropped.
local function lease_all(ids, redelivery)
  for first = 1, #ids, LEASE_CHUNK do
    local chunk = { unpack(ids, first, math.min(#ids, first + LEASE_CHUNK - 1)) }
    local metas = redis.call('HMGET', KEYS[5], unpack(chunk))
    local payloads = redis.call('HMGET', KEYS[6], unpack(chunk))
    local newMetas, leaseEnds, gone = {}, {}, {}
    for i, id in ipairs(chunk) do
      local payload = payloads[i]
      local attempt, enqueuedAt, maxAttempts, priority = parse_meta(metas[i])
      if not payload or not metas[i] then
        gone[#gone + 1] = id
      else
        if attempt == nil then
          attempt, enqueuedAt, maxAttempts, priority = 0, now, 0, 0
          out[2] = out[2] + 1
        end
        if redelivery and maxAttempts > 0 and attempt >= maxAttempts then
          die(id, attempt, enqueuedAt, maxAttempts, priority)
        else
          attempt = attempt + 1
          newMetas[#newMetas + 1] = id
          newMetas[#newMetas + 1] = format_meta(attempt, enqueuedAt, maxAttempts, priority) .. ':' .. ARGV[3] .. taken
          leaseEnds[#leaseEnds + 1] = leaseEnd
          leaseEnds[#leaseEnds + 1] = id
          out[#out + 1] = id
          out[#out + 1] = payload
          out[#out + 1] = attempt
          out[#out + 1] = enqueuedAt
          taken = taken + 1
        end
      end
    end
    if #gone > 0 then
      redis.call('HDEL', KEYS[5], unpack(gone))
      redis.call('HDEL', KEYS[6], unpack(gone))
      redis.call('ZREM', KEYS[3], unpack(gone))
      out[2] = out[2] + #gone
    end
    if #newMetas > 0 then
      redis.call('HSET', KEYS[5], unpack(newMetas))
      redis.call('ZADD', KEYS[3], unpack(leaseEnds))
    end
  end
end

-- Expired leases first (each lease moves its score past now; each death removes it).
local examined = 0
while taken < count and examined < MOVE_BOUND do
  local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, count - taken)
  if #expired == 0 then
    break
  end
  examined = examined + #expired
  lease_all(expired, true)
end

-- take_prio(max): lease ready ids of the prio ZSET scored below `max`, lowest score first.
local function take_prio(max)
  while taken < count do
    local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', max, 'LIMIT', 0, count - taken)
    if #ids == 0 then
      return
    end
    redis.call('ZREMRANGEBYRANK', KEYS[2], 0, #ids - 1)
    lease_all(ids, false)
  end
end

take_prio('(0')
while taken < count do
  local wanted = count - taken
  local ids
  if wanted == 1 then
    local id = redis.call('LPOP', KEYS[1])
    ids = id and { id } or {}
  else
    ids = redis.call('LRANGE', KEYS[1], 0, wanted - 1)
    if #ids > 0 then
      redis.call('LTRIM', KEYS[1], #ids, -1)
    end
  end
  if #ids == 0 then
    break
  end
  lease_all(ids, false)
end
take_prio('+inf')

if taken > 0 and rateMax > 0 then
  if freshWindow then
    redis.call('SET', KEYS[11], taken, 'PX', tonumber(ARGV[5]))
  else
    redis.call('INCRBY', KEYS[11], taken)
  end
end

if taken == 0 then
  if windowEnd ~= nil then
    out[1] = windowEnd - now
  else
    for _, key in ipairs({ KEYS[3], KEYS[4] }) do
      local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
      if first[2] and (out[1] < 0 or tonumber(first[2]) < out[1]) then
        out[1] = tonumber(first[2])
      end
    end
    if out[1] >= 0 then
      out[1] = math.max(0, out[1] - now)
    end
  end
  -- Tell enqueues (and releases, retries) that someone waits for a wake-up.
  local wait = tonumber(ARGV[6])
  if wait > 0 and redis.call('PTTL', KEYS[12]) < wait then
    redis.call('SET', KEYS[12], '1', 'PX', wait)
  end
end
return out
