--[[
lease-release: drop a lease, only for the holder of the current token.

KEYS[1]  lease hash
ARGV[1]  token

Returns {'ok', 1} when released, {'ok', 0} when it was already gone or taken by a newer
token (a retried release is a no-op; a stale holder never drops someone else's lease).
]]
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return {'ok', '1'}
end
return {'ok', '0'}
