-- now: Redis TIME in epoch ms, the one clock of every script (node clocks never matter).
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
