--[[
append-event: add one hook event to an operation's log, honouring the operation's stop flag,
so that once an operation is stopping (a hook failed for good, or it was cancelled) no hook
of it can start: the check and the append are one step.

KEYS[1]  operation log stream
KEYS[2]  stop flag of the workflow run ('' value: not stopping)
ARGV[1]  event JSON
ARGV[2]  'start' (refused when the flag is set), 'stop' (append, then set the flag) or ''
ARGV[3]  stream length bound (approximate)
ARGV[4]  stop flag time-to-live, seconds
ARGV[5]  why the operation stops (with 'stop')

Returns {'ok'} or {'stopped', why} (a start refused; nothing appended).
]]
if ARGV[2] == 'start' then
  local why = redis.call('GET', KEYS[2])
  if why then
    return {'stopped', why}
  end
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[1])
if ARGV[2] == 'stop' then
  redis.call('SET', KEYS[2], ARGV[5], 'EX', ARGV[4])
end
return {'ok'}
