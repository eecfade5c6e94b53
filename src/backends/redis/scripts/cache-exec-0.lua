--[[
  cache-exec-0: apply a batch of shared cache operations atomically and in order
  (`cache.multi().exec()`). Keys read by a `g` are checked first, so a key of the wrong type
  fails the batch before anything is written.

  KEYS[1..]  ns:c:<key>  STRING, the key of each operation, in order (a key may repeat)
  ARGV[1..]  per operation, 3 fields: its code (`g` get, `s` set, `d` delete, `e` expire); for
             `s` the new entry (version, then value), else ''; for `s` and `e` the TTL in ms
             ('0' for `s`: no expiry), else ''

  Returns  per operation, in order: `g` the entry or nil; `s` 1; `d`, `e` 1 when the key
           existed, else 0
]]
for i = 1, #KEYS do
  if ARGV[i * 3 - 2] == 'g' then
    local kind = redis.call('TYPE', KEYS[i]).ok
    if kind ~= 'string' and kind ~= 'none' then
      return redis.error_reply('WRONGTYPE cache key ' .. KEYS[i] .. ' holds a ' .. kind)
    end
  end
end
local out = {}
for i = 1, #KEYS do
  local code = ARGV[i * 3 - 2]
  if code == 'g' then
    out[i] = redis.call('GET', KEYS[i])
  elseif code == 's' then
    if ARGV[i * 3] == '0' then
      redis.call('SET', KEYS[i], ARGV[i * 3 - 1])
    else
      redis.call('SET', KEYS[i], ARGV[i * 3 - 1], 'PX', ARGV[i * 3])
    end
    out[i] = 1
  elseif code == 'd' then
    out[i] = redis.call('DEL', KEYS[i])
  else
    out[i] = redis.call('PEXPIRE', KEYS[i], ARGV[i * 3])
  end
end
return out
