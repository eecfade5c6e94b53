-- holds_lease(leased, meta, id, token): true when message `id` is leased (in the leased ZSET)
-- under `token`, the random token its claim stored in meta
-- ("<attempt>:<enqueuedAt>:<maxAttempts>:<priority>:<token>").
-- The one lease check of ack, release, extend and dead-letter.
local function holds_lease(leased, meta, id, token)
  if not redis.call('ZSCORE', leased, id) then
    return false
  end
  local stored = redis.call('HGET', meta, id)
  if not stored then
    return false
  end
  local held = string.match(stored, '^%d+:%d+:%d+:%-?%d+:(.+)$')
  return held ~= nil and held == token
end
-- unleased_meta(meta, id): drop the lease token from message `id`'s meta (it was just settled
-- under that lease, so the meta parses).
local function unleased_meta(meta, id)
  local stored = redis.call('HGET', meta, id)
  redis.call('HSET', meta, id, string.match(stored, '^%d+:%d+:%d+:%-?%d+'))
end
