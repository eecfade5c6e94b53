--[[
  lapsed-tx-1: list unfinished transactions of one partition whose lease lapsed (Redis TIME),
  those lapsed longest first. Reads only: claim-tx-2 takes each one over.

  KEYS[1]  {ns:tx:<p>}:u  ZSET unfinished id -> lease end (epoch ms)
  ARGV[1]  at most this many (>= 1)

  Returns  ids
]]
--!include now.lua
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
