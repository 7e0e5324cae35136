--[[
release-chunks: drop an owner's use of chunks; a chunk nobody uses any more is locked for
removal (the caller deletes its file, then unlocks).

KEYS     none (derived, see claim-chunks)
ARGV[1]  key prefix of reference sets
ARGV[2]  key prefix of removal locks
ARGV[3]  owner
ARGV[4]  lock time-to-live, ms
ARGV[5..] chunk hashes

Returns the hashes that are now unreferenced and locked: the caller removes their files.
]]
local free = {}
for i = 5, #ARGV do
  local set = ARGV[1] .. ARGV[i]
  redis.call('SREM', set, ARGV[3])
  if redis.call('SCARD', set) == 0 then
    redis.call('SET', ARGV[2] .. ARGV[i], ARGV[3], 'PX', ARGV[4])
    free[#free + 1] = ARGV[i]
  end
end
return free
