--[[
  cache-set-if-version-1: store a shared cache entry only if it still has the version the
  caller read (compare-and-set), or only if it does not exist.

  KEYS[1]  ns:c:<key>  STRING the entry: its version (16 bytes), then the encoded value
  ARGV[1]  the expected version (16 bytes), or '' for "only if the key does not exist"
  ARGV[2]  the new entry (its new version, then the encoded value)
  ARGV[3]  TTL in ms, '0' for no expiry

  Returns  1  stored
           0  the version did not match (or the key exists, for ''): nothing written
]]
local current = redis.call('GET', KEYS[1])
local expected = ARGV[1]
if expected == '' then
  if current then return 0 end
elseif not current or string.sub(current, 1, #expected) ~= expected then
  return 0
end
if ARGV[3] == '0' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
