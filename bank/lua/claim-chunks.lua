--[[
claim-chunks: record that an owner (checkpoint/resource) uses chunks, before it checks or
writes their files, so a concurrent delete never frees a chunk being reused.

KEYS[1]  one of the keys below, declared so a Redis Cluster runs the script on the node
         that holds the bank's slot (the others are derived; all carry the bank's hash tag)
ARGV[1]  key prefix of reference sets ('{prefix}:chunkrefs:<provider>:')
ARGV[2]  key prefix of removal locks ('{prefix}:chunklock:<provider>:')
ARGV[3]  owner
ARGV[4]  the owner's set of claimed chunks (so every claim of any attempt can be given back)
ARGV[5..] chunk hashes

Returns one entry per hash: 'ok' (claimed) or 'wait' (its file is being removed right now:
claim again shortly, then write it).
]]
local out = {}
for i = 5, #ARGV do
  if redis.call('EXISTS', ARGV[2] .. ARGV[i]) == 1 then
    out[#out + 1] = 'wait'
  else
    redis.call('SADD', ARGV[1] .. ARGV[i], ARGV[3])
    redis.call('SADD', ARGV[4], ARGV[i])
    out[#out + 1] = 'ok'
  end
end
return out
