-- A queue message's meta: "<attempt>:<enqueuedAt ms>:<maxAttempts>:<priority>", followed by
-- ":<lease token>" while it is leased. attempt counts deliveries; maxAttempts 0 means no limit.
-- parse_meta(meta): attempt, enqueuedAt, maxAttempts, priority as numbers, or nil when `meta`
-- is missing or does not parse (corrupt or forged).
local function parse_meta(meta)
  if type(meta) ~= 'string' then
    return nil
  end
  local a, e, m, p = string.match(meta, '^(%d+):(%d+):(%d+):(%-?%d+)')
  if a == nil then
    return nil
  end
  return tonumber(a), tonumber(e), tonumber(m), tonumber(p)
end
-- format_meta(attempt, enqueuedAt, maxAttempts, priority): the meta without a lease token.
local function format_meta(attempt, enqueuedAt, maxAttempts, priority)
  return string.format('%d:%d:%d:%d', attempt, enqueuedAt, maxAttempts, priority)
end
-- PRIORITY_SPAN: ready ids of a non-zero priority are scored -priority * PRIORITY_SPAN + seq
-- mod PRIORITY_SPAN in the prio ZSET: higher priorities first, FIFO within one (|priority| <=
-- 1e6, so every score is an exact double). Scores < 0 are claimed before the ready LIST
-- (priority 0), scores > 0 after it.
local PRIORITY_SPAN = 4294967296
local function priority_score(priority, seq)
  return -priority * PRIORITY_SPAN + seq % PRIORITY_SPAN
end
