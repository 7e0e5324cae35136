--[[
record-measurements: what a finished protect measured (size, new bytes, end time), kept in
the checkpoint's state hash as `x:<name>` fields and shown in its extra_info.

KEYS[1]  checkpoint state hash
ARGV     name, value, name, value, ...

Returns {'ok'}, or {'missing', ''} when the checkpoint is gone (never revived by a late write).
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing', ''}
end
for i = 1, #ARGV, 2 do
  redis.call('HSET', KEYS[1], 'x:' .. ARGV[i], ARGV[i + 1])
end
return {'ok'}
