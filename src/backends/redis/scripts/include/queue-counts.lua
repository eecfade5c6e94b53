--!include now.lua
-- count_states(ready, prio, leased, delayed, dead): { ready, delayed, leased, dead } of a queue
-- at Redis TIME. Expired leases and due delayed messages count as ready (the next claim takes
-- them); so does every id of the ready LIST and the prio ZSET.
local function count_states(ready, prio, leased, delayed, dead)
  local live = redis.call('ZCOUNT', leased, '(' .. now, '+inf')
  local waiting = redis.call('ZCOUNT', delayed, '(' .. now, '+inf')
  local claimable = redis.call('LLEN', ready)
    + redis.call('ZCARD', prio)
    + redis.call('ZCARD', leased) - live
    + redis.call('ZCARD', delayed) - waiting
  return { claimable, waiting, live, redis.call('ZCARD', dead) }
end
