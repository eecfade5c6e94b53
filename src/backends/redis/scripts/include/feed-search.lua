-- first_at_or_after(log, lo, hi, ts): the smallest seq in [lo, hi] of a change feed (a STREAM
-- of ids 0-<seq> whose field `t` never decreases) recorded at or after `ts`, nil when none.
-- A binary search over seqs: O(log² n), each probe an XRANGE of one entry.
local function feed_seq(entry)
  return tonumber(string.match(entry[1], '%-(%d+)$'))
end
local function first_at_or_after(log, lo, hi, ts)
  local found = nil
  while lo <= hi do
    local mid = math.floor((lo + hi) / 2)
    local entry = redis.call('XRANGE', log, '0-' .. mid, '0-' .. hi, 'COUNT', 1)[1]
    if not entry then
      hi = mid - 1
    else
      local seq = feed_seq(entry)
      if tonumber(entry[2][2]) < ts then
        lo = seq + 1
      else
        found = seq
        hi = mid - 1
      end
    end
  end
  return found
end
