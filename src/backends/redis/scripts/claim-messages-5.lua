--[[
  claim-messages-5: lease up to `count` messages to one consumer: redeliveries first (expired
  leases, then due releases), then new messages in order. Each delivery gets its own lease
  token, stored in the message's meta: ARGV[3] (random, fresh for every call) followed by the
  delivery's position in this call, so no token is ever reused, even after Redis lost its data.

  KEYS[1]  {ns}:q:<queue>:ready     LIST of ids not yet claimed, oldest first
  KEYS[2]  {ns}:q:<queue>:leased    ZSET id -> lease end (epoch ms)
  KEYS[3]  {ns}:q:<queue>:delayed   ZSET id -> when a released message may be claimed again
  KEYS[4]  {ns}:q:<queue>:meta      HASH id -> "<attempt>:<enqueuedAt ms>[:<lease token>]"
  KEYS[5]  {ns}:q:<queue>:data      HASH id -> payload
  ARGV[1]  most messages to lease
  ARGV[2]  lease length in ms
  ARGV[3]  lease token prefix (random, unique to this call, without ':')

  A meta that cannot be parsed (corrupt or forged) is rewritten as a first delivery enqueued
  now; an id without payload or meta is dropped. Both are counted in `bad`.

  Returns  flat array: next, bad, id1, payload1, attempt1, enqueuedAt1, lease1, id2, ...
           next is -1 when messages were leased or nothing is held, else the epoch ms at which
           the earliest lease or delay ends (when a claimer should look again)
]]
--!include now.lua
local count = tonumber(ARGV[1])
local leaseEnd = now + tonumber(ARGV[2])
local out = { -1, 0 }
local taken = 0

local function lease(id)
  local payload = redis.call('HGET', KEYS[5], id)
  local meta = redis.call('HGET', KEYS[4], id)
  if not payload or not meta then
    redis.call('HDEL', KEYS[4], id)
    redis.call('HDEL', KEYS[5], id)
    out[2] = out[2] + 1
    return
  end
  local attempt, enqueuedAt = string.match(meta, '^(%d+):(%d+)')
  if attempt == nil then
    attempt, enqueuedAt = '0', tostring(now)
    out[2] = out[2] + 1
  end
  attempt = tonumber(attempt) + 1
  local token = ARGV[3] .. taken
  redis.call('HSET', KEYS[4], id, attempt .. ':' .. enqueuedAt .. ':' .. token)
  redis.call('ZADD', KEYS[2], leaseEnd, id)
  out[#out + 1] = id
  out[#out + 1] = payload
  out[#out + 1] = attempt
  out[#out + 1] = tonumber(enqueuedAt)
  out[#out + 1] = token
  taken = taken + 1
end

for _, key in ipairs({ KEYS[2], KEYS[3] }) do
  if taken < count then
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', key, '-inf', now, 'LIMIT', 0, count - taken)) do
      redis.call('ZREM', key, id)
      lease(id)
    end
  end
end
while taken < count do
  local id = redis.call('LPOP', KEYS[1])
  if not id then
    break
  end
  lease(id)
end

if taken == 0 then
  local next = -1
  for _, key in ipairs({ KEYS[2], KEYS[3] }) do
    local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if first[2] and (next < 0 or tonumber(first[2]) < next) then
      next = tonumber(first[2])
    end
  end
  out[1] = next
end
return out
