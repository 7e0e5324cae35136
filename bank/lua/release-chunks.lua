--[[
release-chunks: drop an owner's use of chunks. Nothing is removed here: a chunk nobody uses
any more is recorded as free since now, and garbage collection removes its file once it has
been free for the grace period (so a bank that rolls back never names a chunk that is gone).

KEYS[1]  one of the keys below, declared so a Redis Cluster runs the script on the node
         that holds the bank's slot (the others are derived; all carry the bank's hash tag)
ARGV[1]  key prefix of reference sets
ARGV[2]  free chunks of the store (sorted set: hash -> free since, ms)
ARGV[3]  owner
ARGV[4]  the owner's set of claimed chunks
ARGV[5..] chunk hashes

Returns how many chunks became free.
]]
local now = now_ms()
local freed = 0
for i = 5, #ARGV do
  redis.call('SREM', ARGV[4], ARGV[i])
  local set = ARGV[1] .. ARGV[i]
  if redis.call('SREM', set, ARGV[3]) == 1 and redis.call('SCARD', set) == 0 then
    redis.call('ZADD', ARGV[2], now, ARGV[i])
    freed = freed + 1
  end
end
return {'ok', tostring(freed)}
