--[[
  list-entries-2: every entry of one kind whose owner is live (entries of lapsed nodes not yet
  reaped are left out, so a crash is invisible to readers from the moment liveness lapses).

  KEYS[1]  {ns}:reg:<kind>   HASH entry id -> entry ([u8 nodeLen][nodeId][value])
  KEYS[2]  {ns}:nodes        ZSET node id -> liveness deadline (epoch ms, Redis TIME)

  Returns  flat array: id1, entry1, id2, entry2, ...
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[1])
local live = {}
local out = {}
for i = 1, #all, 2 do
  local entry = all[i + 1]
  local owner = string.sub(entry, 2, 1 + string.byte(entry, 1))
  local alive = live[owner]
  if alive == nil then
    local deadline = tonumber(redis.call('ZSCORE', KEYS[2], owner))
    alive = deadline ~= nil and deadline >= now
    live[owner] = alive
  end
  if alive then
    out[#out + 1] = all[i]
    out[#out + 1] = entry
  end
end
return out
