--[[
  cache-release-load-1: give back the right to load a missing cache entry, only if the caller
  still holds it (a lease that lapsed and was taken by another loader is left alone).

  KEYS[1]  ns:cl:<key>  STRING the owner of the load right (PX: the lease)
  ARGV[1]  the owner giving it back

  Returns  1 released; 0 not held by this owner
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
