--[[
  mark-tx-done-1: record that participant `index` applied its phase two (idempotent).

  KEYS[1]  {ns:tx:<p>}:r:<id>  HASH the record
  ARGV[1]  participant index (0-based)

  Returns  1  marked now
           0  done already, no such participant, or no record (nothing changed)
]]
local count = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
local index = tonumber(ARGV[1])
if index >= count then
  return 0
end
return redis.call('HSETNX', KEYS[1], 'x' .. index, '1')
