--[[
  release-lock-3: free the lock if `owner` holds it (a stale holder never touches the new
  holder's lock), and wake the waiters if any.

  KEYS[1]  {ns:l:<res>}:o   STRING owner
  KEYS[2]  {ns:l:<res>}:q   ZSET waiting owner -> arrival (µs)
  KEYS[3]  {ns:l:<res>}:f   STRING last fencing token (kept, TTL shortened to its keep time)
  ARGV[1]  owner id
  ARGV[2]  wake-up channel of the resource
  ARGV[3]  how long the last token outlives the lock, ms

  Returns  1  released
           0  not held by `owner`: nothing changed
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[3]))
if redis.call('ZCARD', KEYS[2]) > 0 then
  redis.call('PUBLISH', ARGV[2], '')
end
return 1
