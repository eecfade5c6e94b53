-- lock-clock: Redis TIME as epoch ms (`now`) and epoch µs (`now_us`, the base of fencing tokens).
local clock = redis.call('TIME')
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local now = math.floor(now_us / 1000)
