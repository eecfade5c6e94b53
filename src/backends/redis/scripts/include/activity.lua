--!include now.lua
-- A queue's activity: one HASH of per-second counters of the last minute. Field
-- "<kind><epoch second>" counts the events of one kind in that second: "e" enqueued, "c"
-- completed (acknowledged), "f" failed (released for a retry, or dead-lettered). "last<kind>"
-- is the newest second counted for the kind, "since" when counting began (epoch ms). Counting is
-- one HINCRBY per script call (a batch counts once); only the first count of a kind in a new
-- second also drops that kind's fields that left the window (each field of a kind lies within
-- ACTIVITY_SECONDS of "last<kind>", so at most ACTIVITY_SECONDS fields are dropped, in one
-- HDEL), so the HASH stays bounded.
-- Activity is bookkeeping: a HASH of the wrong type or a garbage counter (corrupt or forged)
-- starts afresh rather than failing the transition that counts.
local ACTIVITY_SECONDS = 60
-- count_activity(rate, kind, n): count `n` events (default 1) of `kind` ('e', 'c' or 'f') now;
-- a batch counts once, with one HINCRBY.
local function count_activity(rate, kind, n)
  n = n or 1
  local second = math.floor(now / 1000)
  local counted = redis.pcall('HINCRBY', rate, kind .. second, n)
  if type(counted) == 'table' then
    redis.call('DEL', rate)
    counted = redis.call('HINCRBY', rate, kind .. second, n)
  end
  if counted ~= n then
    return
  end
  local last = tonumber(redis.call('HGET', rate, 'last' .. kind))
  if last ~= nil and last < second then
    local stale = {}
    for s = last - ACTIVITY_SECONDS + 1, math.min(last, second - ACTIVITY_SECONDS) do
      stale[#stale + 1] = kind .. s
    end
    if #stale > 0 then
      redis.call('HDEL', rate, unpack(stale))
    end
  end
  if last == nil or last < second then
    redis.call('HSET', rate, 'last' .. kind, second)
  end
  if tonumber(redis.call('HGET', rate, 'since')) == nil then
    redis.call('HSET', rate, 'since', now)
  end
end
