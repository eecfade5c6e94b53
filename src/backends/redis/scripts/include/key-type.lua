-- usable(key, want): true when `key` holds a `want` ('hash', 'set', 'zset', ...) or does not
-- exist. A key of another type is corrupt or forged state: reads skip it, writes replace it.
local function usable(key, want)
  local found = redis.call('TYPE', key)['ok']
  return found == want or found == 'none'
end
-- replace_wrong_type(key, want): delete `key` when it holds another type; 1 when it did.
local function replace_wrong_type(key, want)
  if usable(key, want) then
    return 0
  end
  redis.call('DEL', key)
  return 1
end
