--!include now.lua
-- A queue's activity ring: one HASH of per-second buckets for the last minute, slot
-- s = second mod 60 holding "t<s>" (the epoch second it counts), "e<s>" enqueued, "c<s>"
-- completed (acknowledged), "f<s>" failed (released for a retry or dead-lettered); "since" is
-- when the ring was started (epoch ms). A bucket of an older second is reset before counting.
-- Activity is bookkeeping: a ring of the wrong type or with garbage counters (corrupt or forged)
-- is started afresh rather than failing the transition that counts.
local ACTIVITY_SLOTS = 60
-- count_activity(rate, kind, n): count n (default 1) events of `kind` ('e', 'c' or 'f') now.
local function count_activity(rate, kind, n)
  local second = math.floor(now / 1000)
  local slot = second % ACTIVITY_SLOTS
  local stamp = redis.pcall('HGET', rate, 't' .. slot)
  if type(stamp) == 'table' then
    redis.call('DEL', rate)
    stamp = false
  end
  if tonumber(stamp) ~= second then
    redis.call('HSET', rate, 't' .. slot, second, 'e' .. slot, 0, 'c' .. slot, 0, 'f' .. slot, 0)
    redis.call('HSETNX', rate, 'since', now)
  end
  if type(redis.pcall('HINCRBY', rate, kind .. slot, n or 1)) == 'table' then
    redis.call('HSET', rate, kind .. slot, n or 1)
  end
end
