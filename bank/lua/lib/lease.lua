--[[
Shared prelude, prepended to every bank script by bank/scripts.ts.

lease_refusal(lease_key, token): nil when a write presenting `token` may go ahead, else the
reason it may not. An empty token means the caller holds no lease and is not checked.
]]
local function lease_refusal(lease_key, token)
  if token == nil or token == '' then
    return nil
  end
  local held = redis.call('HGET', lease_key, 'token')
  if not held then
    return 'lease expired'
  end
  if held ~= token then
    return 'a newer lease (token ' .. held .. ') exists'
  end
  return nil
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
