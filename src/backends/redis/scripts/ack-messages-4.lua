--[[
  ack-messages-4: the holders of leases are done with their messages: remove each message whose
  lease is still the caller's for good and count them as completed, with a few commands for the
  whole batch (not per message). A message whose lease lapsed (it was claimed again) or that was
  already settled changes nothing.

  KEYS[1]  {ns:q:<queue>}:leased    ZSET id -> lease end
  KEYS[2]  {ns:q:<queue>}:data      HASH id -> payload
  KEYS[3]  {ns:q:<queue>}:meta      HASH id -> "<attempt>:<enqueuedAt>:<maxAttempts>:<priority>[:<lease token>]"
  KEYS[4]  {ns:q:<queue>}:rate      HASH activity counters
  ARGV[1..]  pairs: message id, lease token (returned by the claim); at least one pair

  Returns  per pair, in order: 1 removed, 0 not leased under this token (lease taken over,
           released, acknowledged, dead-lettered, or no such message): nothing changed
]]
--!include lease-check.lua
--!include activity.lua
local ids, tokens = {}, {}
for i = 1, #ARGV, 2 do
  ids[#ids + 1] = ARGV[i]
  tokens[#tokens + 1] = ARGV[i + 1]
end
local holds = holding_leases(KEYS[1], KEYS[3], ids, tokens)
local out, done = {}, {}
for i, id in ipairs(ids) do
  out[i] = holds[i] and 1 or 0
  if holds[i] then
    done[#done + 1] = id
  end
end
if #done > 0 then
  redis.call('ZREM', KEYS[1], unpack(done))
  redis.call('HDEL', KEYS[2], unpack(done))
  redis.call('HDEL', KEYS[3], unpack(done))
  count_activity(KEYS[4], 'c', #done)
end
return out
