--[[
  acquire-lock-4: grant a lock to `owner` when nobody holds it and `owner` is first in the line
  (or the line is empty); otherwise put `owner` in the line (or keep its place) for `lineMs`.
  Waiters whose place lapsed are dropped first. An owner that already holds the lock gets its
  token again and a fresh TTL (a retried attempt whose reply was lost).

  Fencing token: max(last token + 1, Redis TIME in µs). The last token is kept in KEYS[2] for a day
  past the lock's TTL; when Redis lost it (restart without persistence, or the key lapsed), TIME
  alone still exceeds every earlier token, since each was at most the TIME of its grant (plus the
  grants of the same µs).

  KEYS[1]  {ns:l:<res>}:o   STRING owner (PX = TTL)
  KEYS[2]  {ns:l:<res>}:f   STRING last fencing token
  KEYS[3]  {ns:l:<res>}:q   ZSET waiting owner -> arrival (µs)
  KEYS[4]  {ns:l:<res>}:d   ZSET waiting owner -> when its place lapses (epoch ms)
  ARGV[1]  owner id
  ARGV[2]  TTL, ms (>= 1)
  ARGV[3]  line time, ms (0: do not wait in line)
  ARGV[4]  how long the last token outlives the lock, ms
  ARGV[5]  wake-up channel of the resource

  A grant taken from the line tells the waiter now first in it the new holder's TTL (message
  `t:<ttl>:<owner>`): it last heard the previous holder's, and would otherwise sleep its whole
  retry interval should the new holder die without releasing. It shortens its sleep to that TTL
  without trying (a try now would only be refused: one request per hand-over saved).

  Returns  {1, token}        granted
           {0, holderTtlMs}  not granted: the longest the holder (or the line's head) keeps it
]]
--!include lock-clock.lua
--!include lock-line.lua
local owner = ARGV[1]
local ttl = tonumber(ARGV[2])
local line_ms = tonumber(ARGV[3])

-- The common case first: nobody holds it and nobody waits (one EXISTS for both). The token is
-- written as the clock and the last one read back in the same SET; only when the last one is not
-- below the clock (grants within one µs, or a clock set back) is it written again as last + 1.
if redis.call('EXISTS', KEYS[1], KEYS[3]) == 0 then
  local keep = ttl + tonumber(ARGV[4])
  local token = now_us
  local last = tonumber(redis.call('SET', KEYS[2], string.format('%.0f', now_us), 'PX', keep, 'GET') or '0')
  if last >= token then
    token = last + 1
    redis.call('SET', KEYS[2], string.format('%.0f', token), 'PX', keep)
  end
  redis.call('SET', KEYS[1], owner, 'PX', ttl)
  return {1, token}
end

local head = first_live_waiter(KEYS[3], KEYS[4], now)

local function wait_in_line()
  if line_ms <= 0 then
    return
  end
  if not redis.call('ZSCORE', KEYS[3], owner) then
    redis.call('ZADD', KEYS[3], now_us, owner)
  end
  redis.call('ZADD', KEYS[4], now + line_ms, owner)
  -- The line vanishes on its own once every waiter stopped trying.
  if redis.call('PTTL', KEYS[3]) < line_ms then
    redis.call('PEXPIRE', KEYS[3], line_ms)
  end
  if redis.call('PTTL', KEYS[4]) < line_ms then
    redis.call('PEXPIRE', KEYS[4], line_ms)
  end
end

local holder = redis.call('GET', KEYS[1])
if holder == owner then
  redis.call('PEXPIRE', KEYS[1], ttl)
  return {1, tonumber(redis.call('GET', KEYS[2]) or '0')}
end
if holder then
  local left = redis.call('PTTL', KEYS[1])
  wait_in_line()
  if left == -1 then
    -- No expiry (written by someone else): the waiter re-checks at its own pace.
    left = ttl
  elseif left < 1 then
    -- Lapsing this very millisecond (or gone since the GET): re-check at once.
    left = 1
  end
  return {0, left}
end
if head and head ~= owner then
  local until_ms = tonumber(redis.call('ZSCORE', KEYS[4], head) or now)
  wait_in_line()
  return {0, math.max(1, until_ms - now)}
end

if head then
  redis.call('ZREM', KEYS[3], owner)
  redis.call('ZREM', KEYS[4], owner)
  local following = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
  if following then
    redis.call('PUBLISH', ARGV[5], 't:' .. ttl .. ':' .. following)
  end
end
local token = math.max(tonumber(redis.call('GET', KEYS[2]) or '0') + 1, now_us)
redis.call('SET', KEYS[2], string.format('%.0f', token), 'PX', ttl + tonumber(ARGV[4]))
redis.call('SET', KEYS[1], owner, 'PX', ttl)
return {1, token}
