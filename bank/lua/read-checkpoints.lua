--[[
read-checkpoints: many checkpoints' documents and live state in one call (listing pages).

KEYS[2i-1]  checkpoint document object of the i-th checkpoint
KEYS[2i]    its state hash

Returns one entry per checkpoint: {document JSON or false, {field, value, ...}}.
]]
local out = {}
for i = 1, #KEYS, 2 do
  out[#out + 1] = {redis.call('GET', KEYS[i]), redis.call('HGETALL', KEYS[i + 1])}
end
return out
