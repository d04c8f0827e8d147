-- beat: ARGV[4] = this worker's id, ARGV[5] = its description, ARGV[6] =
-- heartbeat TTL (ms). Registers the worker as live, hands the leases of
-- workers whose heartbeat lapsed (killed, or closed) back to their
-- queues, and reaps expired leases. Returns {dead workers}.
local me, info, ttl = ARGV[4], ARGV[5], ARGV[6]
redis.call('SET', P .. 'w:' .. me, info, 'PX', ttl)
redis.call('SADD', WORKERS, me)
local dead = {}
local ndead = 0
for _, w in ipairs(redis.call('SMEMBERS', WORKERS)) do
  if redis.call('EXISTS', P .. 'w:' .. w) == 0 then
    dead[w] = true
    ndead = ndead + 1
    redis.call('SREM', WORKERS, w)
  end
end
if ndead > 0 then
  local ids = {}
  local all = redis.call('HGETALL', LDATA)
  for k = 1, #all, 2 do
    local _, owner = parseRecord(all[k + 1])
    if dead[owner] then
      ids[#ids + 1] = all[k]
    end
  end
  if #ids > 0 then
    requeue(endLeases(ids, 1, #ids))
  end
end
reapExpired()
return finish({ndead}, nil)
