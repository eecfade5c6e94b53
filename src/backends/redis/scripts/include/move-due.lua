--!include now.lua
--!include queue-meta.lua
-- move_due(delayed, meta, data, ready, prio, seq): make the delayed messages that are due ready,
-- in due order, at most MOVE_DUE_BOUND per call: priority 0 to the ready LIST's tail, others to
-- the prio ZSET with a fresh sequence number. Every script that appends to the ready messages
-- (enqueue, claim) runs it first, so a message that fell due is queued ahead of every message
-- that became ready after its due time (FIFO by the time messages became ready). A due id
-- without meta is dropped with its payload. Returns how many ids were dropped.
local MOVE_DUE_BOUND = 1000
local function move_due(delayed, meta, data, ready, prio, seq)
  local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, MOVE_DUE_BOUND)
  if #due == 0 then
    return 0
  end
  local dropped = 0
  local plain = {}
  for _, id in ipairs(due) do
    local stored = redis.call('HGET', meta, id)
    local _, _, _, priority = parse_meta(stored)
    if not stored then
      redis.call('HDEL', data, id)
      dropped = dropped + 1
    elseif priority == nil or priority == 0 then
      plain[#plain + 1] = id
    else
      redis.call('ZADD', prio, priority_score(priority, redis.call('INCR', seq)), id)
    end
  end
  if #plain > 0 then
    redis.call('RPUSH', ready, unpack(plain))
  end
  -- Taken out last: a write above that fails (a key of the wrong type) loses no message. They
  -- are the lowest-ranked members.
  redis.call('ZREMRANGEBYRANK', delayed, 0, #due - 1)
  return dropped
end
