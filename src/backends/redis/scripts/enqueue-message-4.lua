--[[
  enqueue-message-4: append a message to a queue and wake waiting claimers.

  KEYS[1]  {ns}:q:<queue>:seq     STRING id counter
  KEYS[2]  {ns}:q:<queue>:data    HASH id -> payload
  KEYS[3]  {ns}:q:<queue>:meta    HASH id -> "<attempt>:<enqueuedAt ms>[:<lease token>]"
  KEYS[4]  {ns}:q:<queue>:ready   LIST of ids not yet claimed, oldest first
  ARGV[1]  payload
  ARGV[2]  notify channel ({ns}:qn:<queue>)

  Returns  the new message id (string)
]]
--!include now.lua
local id = tostring(redis.call('INCR', KEYS[1]))
redis.call('HSET', KEYS[2], id, ARGV[1])
redis.call('HSET', KEYS[3], id, '0:' .. now)
redis.call('RPUSH', KEYS[4], id)
redis.call('PUBLISH', ARGV[2], '')
return id
