--[[
move-blobs: point index entries of a repository at a new place, or drop them, each only if
it still says what the caller read (a pack being pruned): an entry another writer changed
in between is left alone. An entry is dropped only while nobody claims its chunk: a claim
that came after prune judged it (its lock ran out meanwhile) keeps it.

KEYS[1]  the repository's index (hash: blob id -> "pack type offset length raw")
ARGV[1]  key prefix of the provider's reference sets ('' when there are none to consult)
ARGV[2..] triples: blob id, the value read, the new value ('' drops the entry)

Returns the number of entries changed.
]]
local changed = 0
for i = 2, #ARGV, 3 do
  local claimed = ARGV[1] ~= '' and redis.call('SCARD', ARGV[1] .. ARGV[i]) > 0
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] and not (ARGV[i + 2] == '' and claimed) then
    if ARGV[i + 2] == '' then
      redis.call('HDEL', KEYS[1], ARGV[i])
    else
      redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
    end
    changed = changed + 1
  end
end
return {'ok', tostring(changed)}
