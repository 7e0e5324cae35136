--[[
create-record: write a document, its optional live state and its index objects at once
(restore records, stored plans).

KEYS[1]  object index (sorted set of bank keys)
KEYS[2]  document object
KEYS[3]  state hash
KEYS[4..] index objects
ARGV[1]  document bank key
ARGV[2]  document JSON
ARGV[3]  initial status, or '' to write no state
ARGV[4]  index object body (JSON)
ARGV[5..] index bank keys, same order as KEYS[4..]

Returns 1 when created, 0 when the document already existed (nothing written).
]]
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[1], 0, ARGV[1])
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[3], 'status', ARGV[3], 'updated_at', now_ms())
end
for i = 4, #KEYS do
  redis.call('SET', KEYS[i], ARGV[4])
  redis.call('ZADD', KEYS[1], 0, ARGV[i + 1])
end
return 1
