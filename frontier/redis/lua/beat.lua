-- beat: ARGV[4] = this worker's id, ARGV[5] = its description, ARGV[6] =
-- heartbeat TTL (ms). Registers the worker as live, hands the leases of
-- workers whose heartbeat lapsed (killed, or closed) back to their
-- queues, and reaps expired leases. Returns the number of dead workers.
local self, info, ttl = ARGV[4], ARGV[5], ARGV[6]
if self ~= '' then
  redis.call('SET', P .. 'w:' .. self, info, 'PX', ttl)
  redis.call('SADD', WORKERS, self)
end
local dead = 0
for _, w in ipairs(redis.call('SMEMBERS', WORKERS)) do
  if redis.call('EXISTS', P .. 'w:' .. w) == 0 then
    for _, id in ipairs(redis.call('SMEMBERS', P .. 'wl:' .. w)) do
      requeue(id)
    end
    redis.call('DEL', P .. 'wl:' .. w)
    redis.call('SREM', WORKERS, w)
    dead = dead + 1
  end
end
reapExpired()
return finish({dead}, false)
