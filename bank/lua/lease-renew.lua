--[[
lease-renew: extend a lease, only for the holder of the current token.

KEYS[1]  lease hash
ARGV[1]  token
ARGV[2]  time-to-live, ms

Returns {'ok'} or {'lease', reason}.
]]
local refusal = lease_refusal(KEYS[1], ARGV[1])
if refusal then
  return {'lease', refusal}
end
redis.call('HSET', KEYS[1], 'renewed_at', now_ms())
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {'ok'}
