--[[
transition-status: compare-and-set the status in a state hash (checkpoints, restores).

KEYS[1]  state hash
KEYS[2]  lease hash
ARGV[1]  new status
ARGV[2]  reason ('' for none)
ARGV[3]  lease token presented, or ''
ARGV[4..] statuses the checkpoint may be in for the change to apply

Returns {'ok', previous} when applied; {'same', status} when the checkpoint already has the
new status (a retried transition is a no-op); {'conflict', actual} when it is in another
status; {'missing', ''} when there is no such checkpoint; {'lease', reason}.
]]
local current = redis.call('HGET', KEYS[1], 'status')
if not current then
  return {'missing', ''}
end
if current == ARGV[1] then
  return {'same', current}
end
local refusal = lease_refusal(KEYS[2], ARGV[3])
if refusal then
  return {'lease', refusal}
end
for i = 4, #ARGV do
  if current == ARGV[i] then
    redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updated_at', now_ms())
    if ARGV[2] ~= '' then
      redis.call('HSET', KEYS[1], 'reason', ARGV[2])
    end
    return {'ok', current}
  end
end
return {'conflict', current}
