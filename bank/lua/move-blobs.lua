--[[
move-blobs: point index entries of a repository at a new place, or drop them, each only if
it still says what the caller read (a pack being pruned): an entry another writer changed
in between is left alone.

KEYS[1]  the repository's index (hash: blob id -> "pack type offset length raw")
ARGV[1..] triples: blob id, the value read, the new value ('' drops the entry)

Returns the number of entries changed.
]]
local changed = 0
for i = 1, #ARGV, 3 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    if ARGV[i + 2] == '' then
      redis.call('HDEL', KEYS[1], ARGV[i])
    else
      redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
    end
    changed = changed + 1
  end
end
return {'ok', tostring(changed)}
