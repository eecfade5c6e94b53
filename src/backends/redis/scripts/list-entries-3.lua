--[[
  list-entries-3: every entry of one kind whose owner is live (entries of lapsed nodes not yet
  reaped are left out, so a crash is invisible to readers from the moment liveness lapses).
  Malformed entries (see entry.lua) are skipped and counted. Also says where the kind's change
  log stands, so a watcher applies exactly the changes after this snapshot.

  KEYS[1]  {ns}:reg:<kind>   HASH entry id -> entry ([u8 nodeLen][nodeId][value])
  KEYS[2]  {ns}:nodes        ZSET node id -> liveness deadline (epoch ms, Redis TIME)
  KEYS[3]  {ns}:log:<kind>   STREAM change log of the kind (see change-log.lua)

  Returns  flat array: epoch, seq, skipped, id1, entry1, id2, entry2, ...
           epoch and seq name the newest change in the log (<epoch>-<seq>; '' and 0: none, or
           the log is unusable);
           skipped is the number of malformed entries left out, or -1 when KEYS[1] is not a
           hash (corrupt or forged: nothing is listed)
]]
--!include liveness.lua
--!include entry.lua
--!include change-log.lua
local epoch, seq = last_change(KEYS[3])
if epoch == nil then
  epoch, seq = '', 0
end
if not usable(KEYS[1], 'hash') then
  return { epoch, seq, -1 }
end
local all = redis.call('HGETALL', KEYS[1])
local live = {}
local out = { epoch, seq, 0 }
for i = 1, #all, 2 do
  local entry = all[i + 1]
  local owner = owner_of(entry)
  if owner == nil then
    out[3] = out[3] + 1
  else
    local alive = live[owner]
    if alive == nil then
      alive = is_live(deadline_of(KEYS[2], owner))
      live[owner] = alive
    end
    if alive then
      out[#out + 1] = all[i]
      out[#out + 1] = entry
    end
  end
end
return out
