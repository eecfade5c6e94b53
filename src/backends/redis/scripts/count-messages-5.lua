--[[
  count-messages-5: how many messages of a queue are in each state, at Redis TIME.

  KEYS[1]  {ns:q:<queue>}:ready     LIST of ready ids of priority 0
  KEYS[2]  {ns:q:<queue>}:prio      ZSET ready ids of other priorities
  KEYS[3]  {ns:q:<queue>}:leased    ZSET id -> lease end
  KEYS[4]  {ns:q:<queue>}:delayed   ZSET id -> when it becomes ready
  KEYS[5]  {ns:q:<queue>}:dead      ZSET id -> when it died

  Returns  { ready, delayed, leased, dead }; expired leases and due delayed messages count as
           ready
]]
--!include queue-counts.lua
return count_states(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
