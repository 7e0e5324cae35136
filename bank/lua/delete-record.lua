--[[
delete-record: remove a document, its state hash and its index objects at once.

KEYS[1]  object index (sorted set of bank keys)
KEYS[2]  document object
KEYS[3]  state hash
KEYS[4..] index objects
ARGV[1]  document bank key
ARGV[2..] index bank keys, same order as KEYS[4..]

Returns 1 when it existed, 0 when not.
]]
local existed = redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[3])
for i = 4, #KEYS do
  redis.call('DEL', KEYS[i])
  redis.call('ZREM', KEYS[1], ARGV[i - 2])
end
return existed
