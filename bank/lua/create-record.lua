--[[
create-record: write a document, its optional live state and its index objects at once
(restore records, stored plans).

KEYS[1]  object index (sorted set of bank keys)
KEYS[2]  document object
KEYS[3]  state hash
KEYS[4]  index of unfinished operations (written only with ARGV[5])
KEYS[5..] index objects
ARGV[1]  document bank key
ARGV[2]  document JSON
ARGV[3]  initial status, or '' to write no state
ARGV[4]  index object body (JSON)
ARGV[5]  the record's id in KEYS[4] while unfinished, or '' for none
ARGV[6..] index bank keys, same order as KEYS[5..]

Returns 1 when created, 0 when the document already existed (nothing written).
]]
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[1], 0, ARGV[1])
local now = now_ms()
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[3], 'status', ARGV[3], 'updated_at', now)
end
if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[4], now, ARGV[5])
end
for i = 5, #KEYS do
  redis.call('SET', KEYS[i], ARGV[4])
  redis.call('ZADD', KEYS[1], 0, ARGV[i + 1])
end
return 1
