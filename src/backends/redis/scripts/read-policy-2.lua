--[[
  read-policy-2: every record of the permission policy and the revision they are at, in one
  step (a write between the two reads would pair records with the wrong revision).

  KEYS[1]  {ns}:pol      HASH record key → record bytes
  KEYS[2]  {ns}:pol:rev  STRING the policy's revision (absent: 0)

  Returns  {revision, {key1, value1, key2, value2, ...}}
]]
local revision = tonumber(redis.call('GET', KEYS[2])) or 0
return {revision, redis.call('HGETALL', KEYS[1])}
