--[[
purge-checkpoint: remove a checkpoint's document, every object under it, its indexes, lease
and fencing counter in one step, leaving a short-lived tombstone state with status `deleted`.

KEYS[1]  object index (sorted set of bank keys)
KEYS[2]  checkpoint state hash
KEYS[3]  lease hash
KEYS[4]  fencing counter
KEYS[5]  operation log stream of the checkpoint
KEYS[6]  index of unfinished operations
KEYS[7..] index objects
ARGV[1]  Redis key prefix of objects ('{prefix}:obj:')
ARGV[2]  bank key prefix of the checkpoint's objects ('/checkpoints/<id>/')
ARGV[3]  tombstone time-to-live, seconds
ARGV[4]  number of statuses in ARGV[5..] the checkpoint may be in
ARGV[5..4+n] those statuses
ARGV[5+n]  checkpoint id
ARGV[6+n..] index bank keys, same order as KEYS[7..]

Returns {'ok', objects removed}, {'missing', ''} or {'conflict', actual status}.
]]
local current = redis.call('HGET', KEYS[2], 'status')
if not current then
  return {'missing', ''}
end
local n = tonumber(ARGV[4])
local allowed = false
for i = 5, 4 + n do
  if current == ARGV[i] then
    allowed = true
  end
end
if not allowed then
  return {'conflict', current}
end
local members = redis.call('ZRANGEBYLEX', KEYS[1], '[' .. ARGV[2], '[' .. ARGV[2] .. '\127')
for _, key in ipairs(members) do
  redis.call('DEL', ARGV[1] .. key)
end
-- ZREM in slices: unpack() of a long list would overflow Lua's stack.
for first = 1, #members, 500 do
  local last = math.min(first + 499, #members)
  redis.call('ZREM', KEYS[1], unpack(members, first, last))
end
redis.call('ZREM', KEYS[6], ARGV[5 + n])
for i = 7, #KEYS do
  redis.call('DEL', KEYS[i])
  redis.call('ZREM', KEYS[1], ARGV[i - 1 + n])
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
redis.call('HSET', KEYS[2], 'status', 'deleted', 'updated_at', now_ms())
redis.call('EXPIRE', KEYS[2], ARGV[3])
return {'ok', tostring(#members)}
