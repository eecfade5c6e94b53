--!include key-type.lua
-- The change log of a kind: a STREAM of change frames (field "f") whose entry ids are 0-<n>,
-- n counting up by one per change, so a reader that finds a gap knows it missed changes.
-- Trimmed to about LOG_LENGTH entries. A log of the wrong type, or with ids of another shape
-- (corrupt or forged), starts afresh (readers see the gap and list the kind again).
local LOG_LENGTH = 1024
local log_seq = nil
-- last_change(log): n of the newest entry, 0 for none, nil when the log is not usable.
local function last_change(log)
  if not usable(log, 'stream') then
    return nil
  end
  local last = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)
  if not last[1] then
    return 0
  end
  return tonumber(string.match(last[1][1], '^0%-(%d+)$'))
end
-- log_change(log, frame): append one change frame.
local function log_change(log, frame)
  if log_seq == nil then
    log_seq = last_change(log)
    if log_seq == nil then
      redis.call('DEL', log)
      log_seq = 0
    end
  end
  log_seq = log_seq + 1
  redis.call('XADD', log, 'MAXLEN', '~', LOG_LENGTH, '0-' .. log_seq, 'f', frame)
end
