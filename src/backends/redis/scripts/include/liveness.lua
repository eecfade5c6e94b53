--!include now.lua
--!include key-type.lua
-- Node liveness: a node is live while its deadline (its score in {ns}:nodes) has not passed
-- and is at most HORIZON_MS ahead. No node sets a deadline that far (livenessTtl is at most
-- 5 minutes), so a score further ahead is forged or corrupt and the node counts as lapsed.
local HORIZON_MS = 600000
-- deadline_of(nodes, node): the node's deadline, or nil (absent, or `nodes` is not a ZSET).
local function deadline_of(nodes, node)
  if not usable(nodes, 'zset') then
    return nil
  end
  return tonumber(redis.call('ZSCORE', nodes, node))
end
local function is_live(deadline)
  return deadline ~= nil and deadline >= now and deadline <= now + HORIZON_MS
end
