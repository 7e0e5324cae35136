--[[
sweep-chunks: pick the chunk files garbage collection may remove, and lock them for removal
(a protect that claims a locked chunk waits, then writes it anew). A chunk goes only when no
owner uses it and it has been free since before the cutoff: by its entry in the free set, or,
for a file the bank never heard of (a protect the bank forgot), by the file's own age.

KEYS[1]  one of the keys below, declared so a Redis Cluster runs the script on the node
         that holds the bank's slot (the others are derived; all carry the bank's hash tag)
ARGV[1]  key prefix of reference sets
ARGV[2]  key prefix of removal locks
ARGV[3]  free chunks of the store (sorted set: hash -> free since, ms)
ARGV[4]  cutoff, ms since the epoch: free (or written) before this
ARGV[5]  lock time-to-live, ms
ARGV[6]  '1' to only report (nothing locked or changed)
ARGV[7..] pairs: chunk hash, file mtime (ms)

Returns the hashes locked for removal: the caller removes their files, then unlocks.
]]
local cutoff = tonumber(ARGV[4])
local dry = ARGV[6] == '1'
local out = {}
for i = 7, #ARGV, 2 do
  local hash = ARGV[i]
  if redis.call('SCARD', ARGV[1] .. hash) > 0 then
    if not dry then
      redis.call('ZREM', ARGV[3], hash)
    end
  elseif redis.call('EXISTS', ARGV[2] .. hash) == 0 then
    local since = redis.call('ZSCORE', ARGV[3], hash)
    local age = since and tonumber(since) or tonumber(ARGV[i + 1])
    if age <= cutoff then
      if not dry then
        redis.call('SET', ARGV[2] .. hash, 'gc', 'PX', ARGV[5])
        redis.call('ZREM', ARGV[3], hash)
      end
      out[#out + 1] = hash
    end
  end
end
return out
