--[[
  release-lock-2: free the lock if `owner` holds it (a stale holder never touches the new
  holder's lock), and wake the first waiter in line if any (message `n:<owner id>`). The last fencing token stays (it expires a day
  after the lock's TTL, see acquire-lock-4).

  KEYS[1]  {ns:l:<res>}:o   STRING owner
  KEYS[2]  {ns:l:<res>}:q   ZSET waiting owner -> arrival (µs)
  ARGV[1]  owner id
  ARGV[2]  wake-up channel of the resource

  Returns  1  released
           0  not held by `owner`: nothing changed
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
local next_owner = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
if next_owner then
  redis.call('PUBLISH', ARGV[2], 'n:' .. next_owner)
end
return 1
