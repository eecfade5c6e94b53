--[[
  trim-audit-2: drop the audit records up to a new start (the retention bound), keeping the
  start's signed anchor so verify() checks the rest from there.

  KEYS[1]  {ns}:au:h  HASH (see append-audit-2.lua)
  KEYS[2]  {ns}:au:r  HASH seq → record
  ARGV[1]  new start seq: the last record dropped
  ARGV[2]  its hash (the record must still hold it)
  ARGV[3]  the start's anchor (bytes)

  Returns  how many records were dropped (0: the start is not past the current one, or the
           record is not there with that hash)
]]
local start = tonumber(ARGV[1])
local state = redis.call('HMGET', KEYS[1], 'ss', 's')
local from = tonumber(state[1]) or 0
local head = tonumber(state[2]) or 0
if start <= from or start > head then
  return 0
end
local record = redis.call('HGET', KEYS[2], start)
if not record or string.sub(record, 1, 64) ~= ARGV[2] then
  return 0
end
local dropped = 0
local batch = {}
for seq = from + 1, start do
  batch[#batch + 1] = seq
  if #batch == 1000 or seq == start then
    dropped = dropped + redis.call('HDEL', KEYS[2], unpack(batch))
    batch = {}
  end
end
redis.call('HSET', KEYS[1], 'ss', start, 'sh', ARGV[2], 'sa', ARGV[3])
return dropped
