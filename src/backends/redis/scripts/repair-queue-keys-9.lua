--[[
  repair-queue-keys-9: a queue script failed on a key of the wrong type (corrupt or forged
  state): replace every key of the queue that has the wrong type, so the queue flows again. What
  such a key held was unusable anyway. The id counter, when not an integer, restarts at Redis
  TIME in microseconds, far past every id INCR ever gave, so no new id meets an old message.

  KEYS[1]  {ns:q:<queue>}:ready     LIST
  KEYS[2]  {ns:q:<queue>}:prio      ZSET
  KEYS[3]  {ns:q:<queue>}:leased    ZSET
  KEYS[4]  {ns:q:<queue>}:delayed   ZSET
  KEYS[5]  {ns:q:<queue>}:dead      ZSET
  KEYS[6]  {ns:q:<queue>}:why       HASH
  KEYS[7]  {ns:q:<queue>}:data      HASH
  KEYS[8]  {ns:q:<queue>}:meta      HASH
  KEYS[9]  {ns:q:<queue>}:seq       STRING id counter

  Returns  how many keys were replaced (0: none was wrong, the failure was something else)
]]
--!include now.lua
--!include key-type.lua
local replaced = replace_wrong_type(KEYS[1], 'list')
  + replace_wrong_type(KEYS[2], 'zset')
  + replace_wrong_type(KEYS[3], 'zset')
  + replace_wrong_type(KEYS[4], 'zset')
  + replace_wrong_type(KEYS[5], 'zset')
  + replace_wrong_type(KEYS[6], 'hash')
  + replace_wrong_type(KEYS[7], 'hash')
  + replace_wrong_type(KEYS[8], 'hash')
local seq = redis.call('TYPE', KEYS[9])['ok']
if seq ~= 'none' and (seq ~= 'string' or not string.match(redis.call('GET', KEYS[9]), '^%d+$')) then
  redis.call('DEL', KEYS[9])
  redis.call('SET', KEYS[9], clock[1] .. string.format('%06d', tonumber(clock[2])))
  replaced = replaced + 1
end
return replaced
