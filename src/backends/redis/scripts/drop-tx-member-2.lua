--[[
  drop-tx-member-2: drop a resource index member whose record is gone (evicted or deleted by
  hand: finish removes the members of every record it ends). Left in place, such members sort
  ahead of live ones and use up every bounded unfinishedFor read of their resource.

  KEYS[1]  {ns:tx:<p>}:r:<id>  HASH the record
  KEYS[2]  {ns:tx:<p>}:ur      ZSET "<resource>\0<id>" of unfinished records (score 0)
  ARGV[1]  the member "<resource>\0<id>"

  Returns  1  dropped
           0  the record exists (a record being read wrongly is not this script's to judge), or
              no such member
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
return redis.call('ZREM', KEYS[2], ARGV[1])
