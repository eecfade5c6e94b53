--!include key-type.lua
--!include now.lua
-- The change log of a kind: a STREAM of change frames (field "f") whose entry ids are
-- <epoch>-<n>. n counts up by one per change, so a reader that finds a gap knows it missed
-- changes. The epoch is picked by the write that creates the log (Redis TIME in microseconds)
-- and kept for the log's life, so a log created afresh (Redis restarted empty, the key was lost
-- or replaced) never continues the numbering of the one before it: a reader holding a position
-- in the old log sees another epoch and lists the kind again. Trimmed to about LOG_LENGTH
-- entries. A log of the wrong type (corrupt or forged) starts afresh.
local LOG_LENGTH = 1024
local log_epoch = nil
local log_seq = nil
-- last_change(log): epoch and n of the newest entry ('', 0 for none), nil when the log is not
-- usable.
local function last_change(log)
  if not usable(log, 'stream') then
    return nil
  end
  local last = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)
  if not last[1] then
    return '', 0
  end
  local epoch, n = string.match(last[1][1], '^(%d+)%-(%d+)$')
  return epoch, tonumber(n)
end
-- log_change(log, frame): append one change frame (starting a new epoch when the log is empty,
-- missing or not a stream).
local function log_change(log, frame)
  if log_epoch == nil then
    log_epoch, log_seq = last_change(log)
    if log_epoch == nil or log_epoch == '' then
      -- DEL also resets an emptied stream's last id, which may lie past the new epoch.
      redis.call('DEL', log)
      log_epoch = clock[1] .. string.format('%06d', tonumber(clock[2]))
      log_seq = 0
    end
  end
  log_seq = log_seq + 1
  redis.call('XADD', log, 'MAXLEN', '~', LOG_LENGTH, log_epoch .. '-' .. log_seq, 'f', frame)
end
