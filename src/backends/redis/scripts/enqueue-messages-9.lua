--[[
  enqueue-messages-9: store a batch of messages, in order, each ready at once (the ready LIST
  for priority 0, the prio ZSET otherwise) or delayed until its due time, and wake waiting
  claimers once. A message with a dedup key enqueued within its window (before this call, or
  earlier in this batch) is not stored: its place answers the first message's id. Messages ready
  at once are queued behind the delayed messages that fell due before them (move_due first).
  The writes are a few commands for the whole batch (one HSET of payloads, one of metas, one
  RPUSH or ZADD per kind, one activity count), not per message; only dedup keys cost one GET
  and one SET each.

  KEYS[1]   {ns:q:<queue>}:seq       STRING id counter
  KEYS[2]   {ns:q:<queue>}:data      HASH id -> payload
  KEYS[3]   {ns:q:<queue>}:meta      HASH id -> "<attempt>:<enqueuedAt>:<maxAttempts>:<priority>[:<lease token>]"
  KEYS[4]   {ns:q:<queue>}:ready     LIST of ready ids of priority 0, oldest first
  KEYS[5]   {ns:q:<queue>}:prio      ZSET ready ids of other priorities -> priority score
  KEYS[6]   {ns:q:<queue>}:delayed   ZSET id -> when it becomes ready (epoch ms)
  KEYS[7]   {ns:q:<queue>}:rate      HASH activity counters
  KEYS[8]   {ns:q:<queue>}:wake      STRING present while a claimer waits
  KEYS[9]   {ns:q:<queue>}:epoch     STRING when the queue's dedup memory began
  KEYS[10..]  {ns:q:<queue>}:dd:<key>  STRING "<epoch>:<id>", one per distinct dedup key of the batch
  ARGV[1]  notify channel ({ns:q:<queue>}:qn)
  ARGV[2..]  per message, 2 fields: its payload, then its options as one string
           "<delay ms from now>:<not before epoch ms, 0: no bound>:<priority>:<max deliveries, 0:
           no limit>:<dedup window ms, 0: no dedup key>:<its dedup key's index in KEYS, 0: none>"
           (one string, parsed once per distinct value: a batch usually shares its options)

  Returns  flat array: how many due delayed ids without meta were dropped on the way (corrupt
           or forged), then per message its id: the new message's id (integer), or for a
           duplicate the first one's id (string)
]]
--!include now.lua
--!include queue-meta.lua
--!include activity.lua
--!include move-due.lua
local count = (#ARGV - 1) / 2
local out = { 0 }

-- field(i, f): field f of message i: 1 its payload, 2.. its options (delay, not before,
-- priority, max deliveries, dedup window, dedup key index), as numbers.
local parsed = {}
local function field(i, f)
  if f == 1 then
    return ARGV[2 * i]
  end
  local spec = ARGV[2 * i + 1]
  local options = parsed[spec]
  if options == nil then
    local d, nb, p, m, w, k = string.match(spec, '^(%d+):(%d+):(%-?%d+):(%d+):(%d+):(%d+)$')
    options = { tonumber(d), tonumber(nb), tonumber(p), tonumber(m), tonumber(w), tonumber(k) }
    parsed[spec] = options
  end
  return options[f - 1]
end
local function due_at(i)
  return math.max(now + tonumber(field(i, 2)), tonumber(field(i, 3)))
end

-- Pass 1: which messages are new. A dedup key remembered in this life of the queue answers its
-- first id (known); one used earlier in this batch, that message's id (dupOf: its position).
local epoch = nil
local known, dupOf, firstAt = {}, {}, {}
local fresh, due = 0, false
for i = 1, count do
  local key = tonumber(field(i, 7))
  if key > 0 then
    if epoch == nil then
      -- The epoch ties dedup keys to this life of the queue: deleting the queue deletes the
      -- epoch, so keys remembered before the deletion (left to expire) never match again.
      epoch = redis.pcall('GET', KEYS[9])
      if type(epoch) ~= 'string' then
        epoch = clock[1] .. string.format('%06d', tonumber(clock[2]))
        redis.call('SET', KEYS[9], epoch)
      end
    end
    if firstAt[key] ~= nil then
      dupOf[i] = firstAt[key]
    else
      local first = redis.pcall('GET', KEYS[key])
      if type(first) == 'string' then
        local at, id = string.match(first, '^(%d+):(.+)$')
        if at == epoch then
          known[i] = id
        end
      end
      if known[i] == nil then
        firstAt[key] = i
      end
    end
  end
  if known[i] == nil and dupOf[i] == nil then
    fresh = fresh + 1
    due = due or due_at(i) <= now
  end
end

if fresh > 0 and due then
  -- Messages that fell due before now go first: they became ready earlier.
  out[1] = move_due(KEYS[6], KEYS[3], KEYS[2], KEYS[4], KEYS[5], KEYS[1])
end

-- Pass 2: ids in batch order, then the writes: payloads and metas first, dedup keys last, so a
-- write refused for a key of the wrong type loses no message and remembers no missing one.
local nextId = fresh > 0 and redis.call('INCRBY', KEYS[1], fresh) - fresh or 0
local payloads, metas, plain, prio, delayed, remembered = {}, {}, {}, {}, {}, {}
for i = 1, count do
  if known[i] ~= nil then
    out[i + 1] = known[i]
  elseif dupOf[i] ~= nil then
    out[i + 1] = out[dupOf[i] + 1]
  else
    nextId = nextId + 1
    local id = nextId
    out[i + 1] = id
    local priority = tonumber(field(i, 4))
    local at = due_at(i)
    payloads[#payloads + 1] = id
    payloads[#payloads + 1] = field(i, 1)
    metas[#metas + 1] = id
    metas[#metas + 1] = format_meta(0, now, tonumber(field(i, 5)), priority)
    if at > now then
      delayed[#delayed + 1] = at
      delayed[#delayed + 1] = id
    elseif priority == 0 then
      plain[#plain + 1] = id
    else
      prio[#prio + 1] = priority_score(priority, id)
      prio[#prio + 1] = id
    end
    if tonumber(field(i, 7)) > 0 then
      remembered[#remembered + 1] = { key = tonumber(field(i, 7)), id = id, ms = tonumber(field(i, 6)) }
    end
  end
end
if fresh > 0 then
  redis.call('HSET', KEYS[2], unpack(payloads))
  redis.call('HSET', KEYS[3], unpack(metas))
  if #plain > 0 then
    redis.call('RPUSH', KEYS[4], unpack(plain))
  end
  if #prio > 0 then
    redis.call('ZADD', KEYS[5], unpack(prio))
  end
  if #delayed > 0 then
    redis.call('ZADD', KEYS[6], unpack(delayed))
  end
  for _, r in ipairs(remembered) do
    local key = r.key
    redis.call('SET', KEYS[key], epoch .. ':' .. r.id, 'PX', r.ms)
  end
  count_activity(KEYS[7], 'e', fresh)
  if redis.call('EXISTS', KEYS[8]) == 1 then
    redis.call('PUBLISH', ARGV[1], '')
  end
end
return out
