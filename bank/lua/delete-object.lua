--[[
delete-object: remove one bank object and unlist it.

KEYS[1]  object index (sorted set of bank keys)
KEYS[2]  object
KEYS[3]  lease hash (see put-object)
ARGV[1]  bank key
ARGV[2]  lease token presented, or ''

Returns {'ok', n} with n = 1 when the object existed, 0 when not; or {'lease', reason}.
]]
local refusal = lease_refusal(KEYS[3], ARGV[2])
if refusal then
  return {'lease', refusal}
end
local n = redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
return {'ok', tostring(n)}
