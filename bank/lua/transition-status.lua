--[[
transition-status: compare-and-set the status in a state hash (checkpoints, restores).

KEYS[1]  state hash
KEYS[2]  lease hash
KEYS[3]  index of unfinished operations (sorted set: id -> last change, ms)
ARGV[1]  new status
ARGV[2]  reason ('' for none)
ARGV[3]  lease token presented, or ''
ARGV[4]  the record's id (its member in KEYS[3])
ARGV[5]  '1' when the new status is unfinished (the record stays indexed), '0' when final
ARGV[6..] statuses the record may be in for the change to apply

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
for i = 6, #ARGV do
  if current == ARGV[i] then
    local now = now_ms()
    redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updated_at', now)
    if ARGV[2] ~= '' then
      redis.call('HSET', KEYS[1], 'reason', ARGV[2])
    end
    if ARGV[5] == '1' then
      redis.call('ZADD', KEYS[3], now, ARGV[4])
    else
      redis.call('ZREM', KEYS[3], ARGV[4])
    end
    return {'ok', current}
  end
end
return {'conflict', current}
