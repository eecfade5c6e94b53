--[[
  release-lock-3: free the lock if `owner` holds it (a stale holder never touches the new
  holder's lock), and wake the first live waiter in line if any (message `n:<owner id>`;
  waiters whose place lapsed are dropped first, so a dead waiter is never the one woken). The
  last fencing token stays (it expires a day after the lock's TTL, see acquire-lock-4).

  KEYS[1]  {ns:l:<res>}:o   STRING owner
  KEYS[2]  {ns:l:<res>}:q   ZSET waiting owner -> arrival (µs)
  KEYS[3]  {ns:l:<res>}:d   ZSET waiting owner -> when its place lapses (epoch ms)
  ARGV[1]  owner id
  ARGV[2]  wake-up channel of the resource

  Returns  1  released
           0  not held by `owner`: nothing changed
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
--!include lock-clock.lua
--!include lock-line.lua
local next_owner = first_live_waiter(KEYS[2], KEYS[3], now)
if next_owner then
  redis.call('PUBLISH', ARGV[2], 'n:' .. next_owner)
end
return 1
