--[[
list-checkpoints: one page of an index range with each checkpoint's document and live state,
read in one step (so a page is a consistent snapshot).

KEYS[1]  object index (sorted set of bank keys)
ARGV[1]  range start for ZRANGEBYLEX / ZREVRANGEBYLEX ('[' or '(' prefixed)
ARGV[2]  range end
ARGV[3]  how many index keys to read
ARGV[4]  'asc' or 'desc'
ARGV[5]  Redis key prefix of objects ('{prefix}:obj:')
ARGV[6]  Redis key prefix of state hashes ('{prefix}:cpstate:')

Index keys end in '@<checkpoint id>'. Returns {index keys, rows}, one row per key:
{document JSON or false, {field, value, ...}}.
]]
local keys
if ARGV[4] == 'asc' then
  keys = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, ARGV[3])
else
  keys = redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, ARGV[3])
end
local rows = {}
for i, key in ipairs(keys) do
  local id = string.match(key, '@([^@]*)$')
  local path = ARGV[5] .. '/checkpoints/' .. id .. '/index.json'
  rows[i] = {redis.call('GET', path), redis.call('HGETALL', ARGV[6] .. id)}
end
return {keys, rows}
