--[[
create-checkpoint: write a new checkpoint document, its live state and its indexes at once.

KEYS[1]  object index (sorted set of bank keys)
KEYS[2]  checkpoint document object
KEYS[3]  checkpoint state hash
KEYS[4..] index objects
ARGV[1]  checkpoint document bank key
ARGV[2]  checkpoint document JSON (immutable part)
ARGV[3]  initial status
ARGV[4]  updated_at (seconds)
ARGV[5]  index object body (JSON)
ARGV[6..] index bank keys, same order as KEYS[4..]

Returns 1 when created, 0 when the checkpoint already existed (a retried create is a no-op).
]]
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[1], 0, ARGV[1])
redis.call('HSET', KEYS[3], 'status', ARGV[3], 'updated_at', ARGV[4])
for i = 4, #KEYS do
  redis.call('SET', KEYS[i], ARGV[5])
  redis.call('ZADD', KEYS[1], 0, ARGV[i + 2])
end
return 1
