--[[
lease-check: is a lease alive within the validity window?

KEYS[1]  lease hash
ARGV[1]  validity window, ms
ARGV[2]  token to check, or '' for whichever token holds it

Returns {state, token, owner, ms since last renewal}, state being 'valid', 'stale' (held but
not renewed within the window), 'expired' (no lease) or 'superseded' (another token holds it).
]]
local h = redis.call('HMGET', KEYS[1], 'token', 'owner', 'renewed_at')
if not h[1] then
  return {'expired', '', '', '-1'}
end
local age = now_ms() - tonumber(h[3])
if ARGV[2] ~= '' and ARGV[2] ~= h[1] then
  return {'superseded', h[1], h[2], tostring(age)}
end
if age > tonumber(ARGV[1]) then
  return {'stale', h[1], h[2], tostring(age)}
end
return {'valid', h[1], h[2], tostring(age)}
