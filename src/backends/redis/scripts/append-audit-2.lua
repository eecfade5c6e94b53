--[[
  append-audit-2: append records to the audit chain and store its new checkpoint, only if the
  chain's head is still the one the writer chained from (compare-and-append: writers on several
  nodes form one linear chain; a writer that lost the race reads the head again and rechains).
  Redis 7.0's Lua has no SHA-256: the writer computes every hash, the script only compares.

  KEYS[1]  {ns}:au:h  HASH s: head seq, h: head hash, c: checkpoint, ss/sh/sa: where a trimmed
                      chain starts (seq, hash, anchor)
  KEYS[2]  {ns}:au:r  HASH seq → record (64 hex chars of its hash, then the entry's bytes)
  ARGV[1]  expected head seq (0: empty)
  ARGV[2]  expected head hash ('' when empty)
  ARGV[3]  the new checkpoint (bytes)
  ARGV[4]  the new head hash (the last record's)
  ARGV[5..] the records, in order: seqs ARGV[1] + 1, + 2, ...

  Returns  1 appended, 0 the head moved (nothing written)
]]
local head = redis.call('HMGET', KEYS[1], 's', 'h')
local seq = tonumber(head[1]) or 0
if seq ~= tonumber(ARGV[1]) or (head[2] or '') ~= ARGV[2] then
  return 0
end
local fields = {}
for i = 5, #ARGV do
  fields[#fields + 1] = seq + i - 4
  fields[#fields + 1] = ARGV[i]
end
if #fields > 0 then
  redis.call('HSET', KEYS[2], unpack(fields))
end
redis.call('HSET', KEYS[1], 's', seq + #ARGV - 4, 'h', ARGV[4], 'c', ARGV[3])
return 1
