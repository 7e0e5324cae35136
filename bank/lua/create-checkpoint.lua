--[[
create-checkpoint: under a new write lease, write a checkpoint document, its live state and
its indexes in one step.

KEYS[1]  object index (sorted set of bank keys)
KEYS[2]  checkpoint document object
KEYS[3]  checkpoint state hash
KEYS[4]  lease hash
KEYS[5]  fencing counter
KEYS[6]  index of unfinished operations (sorted set: id -> last change, ms)
KEYS[7..] index objects
ARGV[1]  checkpoint document bank key
ARGV[2]  checkpoint document JSON (immutable part)
ARGV[3]  lease owner (the workflow run that builds the checkpoint)
ARGV[4]  lease time-to-live, ms
ARGV[5]  index object body (JSON)
ARGV[6]  checkpoint id
ARGV[7..] index bank keys, same order as KEYS[7..]

Returns {'created', token}; {'again', token} when this owner already created it (a retried
create is a no-op that renews the lease); {'exists', other owner} when someone else did.
]]
local now = now_ms()
if redis.call('EXISTS', KEYS[2]) == 1 then
  local owner = redis.call('HGET', KEYS[3], 'lease_owner')
  if owner ~= ARGV[3] then
    return {'exists', owner or ''}
  end
  local token = redis.call('HGET', KEYS[4], 'token')
  if not token then
    return {'exists', owner}
  end
  redis.call('HSET', KEYS[4], 'renewed_at', now)
  redis.call('PEXPIRE', KEYS[4], ARGV[4])
  return {'again', token}
end
local token = tostring(redis.call('INCR', KEYS[5]))
redis.call('HSET', KEYS[4], 'token', token, 'owner', ARGV[3], 'renewed_at', now)
redis.call('PEXPIRE', KEYS[4], ARGV[4])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[1], 0, ARGV[1])
redis.call('HSET', KEYS[3], 'status', 'protecting', 'updated_at', now, 'lease_owner', ARGV[3])
redis.call('ZADD', KEYS[6], now, ARGV[6])
for i = 7, #KEYS do
  redis.call('SET', KEYS[i], ARGV[5])
  redis.call('ZADD', KEYS[1], 0, ARGV[i])
end
return {'created', token}
