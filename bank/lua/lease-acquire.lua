--[[
lease-acquire: take the write lease of a checkpoint for an owner.

KEYS[1]  lease hash
KEYS[2]  fencing counter
ARGV[1]  owner
ARGV[2]  time-to-live, ms

Returns {'acquired', token} with a token newer than any before; {'held', token} when this
owner already holds it (renewed; a retried acquire is a no-op); {'busy', other owner} when
another owner holds an unexpired lease.
]]
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner then
  if owner ~= ARGV[1] then
    return {'busy', owner}
  end
  redis.call('HSET', KEYS[1], 'renewed_at', now_ms())
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'held', redis.call('HGET', KEYS[1], 'token')}
end
local token = tostring(redis.call('INCR', KEYS[2]))
redis.call('HSET', KEYS[1], 'token', token, 'owner', ARGV[1], 'renewed_at', now_ms())
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {'acquired', token}
