-- holds_lease(leased, meta, id, token): true when message `id` is leased (in the leased ZSET)
-- under `token`, the random token its claim stored in meta ("<attempt>:<enqueuedAt>:<token>").
-- The one lease check of ack, release, extend and dead-letter.
local function holds_lease(leased, meta, id, token)
  if not redis.call('ZSCORE', leased, id) then
    return false
  end
  local stored = redis.call('HGET', meta, id)
  if not stored then
    return false
  end
  local held = string.match(stored, '^%d+:%d+:(.+)$')
  return held ~= nil and held == token
end
