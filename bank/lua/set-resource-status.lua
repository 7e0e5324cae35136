--[[
set-resource-status: record one resource's status (and failure reason) in a state hash.

KEYS[1]  state hash (checkpoint or restore)
KEYS[2]  lease hash
ARGV[1]  resource id
ARGV[2]  resource status
ARGV[3]  lease token presented, or ''
ARGV[4]  reason, or '' for none

Returns {'ok'}, {'missing', ''} or {'lease', reason}.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing', ''}
end
local refusal = lease_refusal(KEYS[2], ARGV[3])
if refusal then
  return {'lease', refusal}
end
redis.call('HSET', KEYS[1], 'r:' .. ARGV[1], ARGV[2])
if ARGV[4] and ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'e:' .. ARGV[1], ARGV[4])
end
return {'ok'}
