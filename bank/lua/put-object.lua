--[[
put-object: store one bank object and list it.

KEYS[1]  object index (sorted set of bank keys)
KEYS[2]  object
KEYS[3]  lease hash of the checkpoint the key is under (any key when ARGV[3] is '')
ARGV[1]  bank key
ARGV[2]  body (JSON)
ARGV[3]  lease token presented, or ''

Returns {'ok'} or {'lease', reason} (nothing written).
]]
local refusal = lease_refusal(KEYS[3], ARGV[3])
if refusal then
  return {'lease', refusal}
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[1], 0, ARGV[1])
return {'ok'}
