--[[
stop-operation: mark a workflow run as stopping, so none of its hooks starts from now on.

KEYS[1]  stop flag of the workflow run
ARGV[1]  why
ARGV[2]  time-to-live, seconds

Returns {'ok'}; an earlier reason is kept.
]]
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX')
return {'ok'}
