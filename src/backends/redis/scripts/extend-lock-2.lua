--[[
  extend-lock-2: the holder keeps the lock `ttlMs` from now (Redis TIME); anyone else changes
  nothing.

  KEYS[1]  {ns:l:<res>}:o   STRING owner
  KEYS[2]  {ns:l:<res>}:f   STRING last fencing token (outlives the lock by its keep time)
  ARGV[1]  owner id
  ARGV[2]  TTL, ms (>= 1)
  ARGV[3]  how long the last token outlives the lock, ms

  Returns  1  extended
           0  not held by `owner`
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local ttl = tonumber(ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl + tonumber(ARGV[3]))
return 1
