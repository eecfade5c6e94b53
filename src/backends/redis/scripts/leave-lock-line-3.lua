--[[
  leave-lock-line-3: a waiter gives up; when the lock is free and others wait, wake the one now
  first in line (the leaver may have been first; lapsed places are dropped first); message
  `n:<owner id>`.

  KEYS[1]  {ns:l:<res>}:q   ZSET waiting owner -> arrival (µs)
  KEYS[2]  {ns:l:<res>}:d   ZSET waiting owner -> when its place lapses (epoch ms)
  KEYS[3]  {ns:l:<res>}:o   STRING owner
  ARGV[1]  owner id
  ARGV[2]  wake-up channel of the resource

  Returns  1  left the line
           0  was not in it
]]
--!include lock-clock.lua
--!include lock-line.lua
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if removed == 1 and redis.call('EXISTS', KEYS[3]) == 0 then
  local next_owner = first_live_waiter(KEYS[1], KEYS[2], now)
  if next_owner then
    redis.call('PUBLISH', ARGV[2], 'n:' .. next_owner)
  end
end
return removed
