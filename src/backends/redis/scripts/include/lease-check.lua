-- lease_token(stored): the lease token in a message's meta
-- ("<attempt>:<enqueuedAt>:<maxAttempts>:<priority>:<token>"), or nil (not leased, no meta).
local function lease_token(stored)
  if not stored then
    return nil
  end
  return string.match(stored, '^%d+:%d+:%d+:%-?%d+:(.+)$')
end
-- holds_lease(leased, meta, id, token): true when message `id` is leased (in the leased ZSET)
-- under `token`, the random token its claim stored in meta.
-- The one lease check of release, extend and dead-letter.
local function holds_lease(leased, meta, id, token)
  if not redis.call('ZSCORE', leased, id) then
    return false
  end
  local held = lease_token(redis.call('HGET', meta, id))
  return held ~= nil and held == token
end
-- holding_leases(leased, meta, ids, tokens): holds_lease for many messages: one HMGET of their
-- metas, then a ZSCORE only for those whose token matches (ZMSCORE would need Redis 6.2; the
-- backend supports 5). A table of booleans in the order of `ids`. An id given twice holds only
-- the first time (the second would settle it again).
local function holding_leases(leased, meta, ids, tokens)
  local metas = redis.call('HMGET', meta, unpack(ids))
  local holds, seen = {}, {}
  for i, id in ipairs(ids) do
    holds[i] = lease_token(metas[i]) == tokens[i]
      and not seen[id]
      and redis.call('ZSCORE', leased, id) ~= false
    if holds[i] then
      seen[id] = true
    end
  end
  return holds
end
-- unleased_meta(meta, id): drop the lease token from message `id`'s meta (it was just settled
-- under that lease, so the meta parses).
local function unleased_meta(meta, id)
  local stored = redis.call('HGET', meta, id)
  redis.call('HSET', meta, id, string.match(stored, '^%d+:%d+:%d+:%-?%d+'))
end
