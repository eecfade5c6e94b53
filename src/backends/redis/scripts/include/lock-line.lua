-- lock-line: the first waiter of a lock's line after dropping those whose place lapsed
-- (`line`: ZSET owner -> arrival µs; `deadlines`: ZSET owner -> when its place lapses, epoch ms).
local function first_live_waiter(line, deadlines, now_ms)
  local head = redis.call('ZRANGE', line, 0, 0)[1]
  if not head then
    return nil
  end
  local stale = redis.call('ZRANGEBYSCORE', deadlines, '-inf', now_ms)
  if #stale == 0 then
    return head
  end
  for _, member in ipairs(stale) do
    redis.call('ZREM', line, member)
  end
  redis.call('ZREMRANGEBYSCORE', deadlines, '-inf', now_ms)
  return redis.call('ZRANGE', line, 0, 0)[1]
end
