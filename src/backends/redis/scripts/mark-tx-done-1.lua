--[[
  mark-tx-done-1: record that participant `index` applied its phase two (idempotent).

  KEYS[1]  {ns:tx:<p>}:r:<id>  HASH the record
  ARGV[1]  participant index (0-based)

  Returns  1  marked now
           0  done already, or no record (nothing changed)
          -1  the record has no participant `index` (nothing changed)
]]
local count = redis.call('HGET', KEYS[1], 'n')
if not count then
  return 0
end
if tonumber(ARGV[1]) >= tonumber(count) then
  return -1
end
return redis.call('HSETNX', KEYS[1], 'x' .. ARGV[1], '1')
