--[[
  read-entries-2: the current state of some entries of one kind, to confirm change frames
  (a frame is only a hint: watchers report what Redis holds, never what a frame claims).

  KEYS[1]  {ns}:reg:<kind>   HASH entry id -> entry ([u8 nodeLen][nodeId][value])
  KEYS[2]  {ns}:nodes        ZSET node id -> liveness deadline (epoch ms, Redis TIME)
  ARGV[1..] entry ids

  Returns  one item per id, in order: the entry when it exists, is well formed and its owner is
           live, else false (absent, malformed, owner not live, or KEYS[1] not a hash)
]]
--!include liveness.lua
--!include entry.lua
local out = {}
local hash = usable(KEYS[1], 'hash')
for i = 1, #ARGV do
  out[i] = false
  if hash then
    local entry = redis.call('HGET', KEYS[1], ARGV[i])
    local owner = owner_of(entry)
    if owner ~= nil and is_live(deadline_of(KEYS[2], owner)) then
      out[i] = entry
    end
  end
end
return out
