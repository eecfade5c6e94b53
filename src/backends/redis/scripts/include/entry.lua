-- owner_of(entry): the node id in a stored registry entry ([u8 nodeLen][nodeId][value]), or
-- nil when the entry is malformed (empty, length 0, or a length byte running past its end).
local function owner_of(entry)
  if type(entry) ~= 'string' or #entry < 1 then
    return nil
  end
  local length = string.byte(entry, 1)
  if length == 0 or #entry < 1 + length then
    return nil
  end
  return string.sub(entry, 2, 1 + length)
end
