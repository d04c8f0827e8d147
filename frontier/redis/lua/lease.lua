-- lease: ARGV[4] = max, ARGV[5] = TTL (µs), ARGV[6] = owner (worker id).
-- Returns {0, 0, id, member, id, member, ...} with leases,
-- {1, wait} when nothing is ready yet (wait: µs until the next host is
-- ready or the next lease expires, -1 if unknown), or {2, 0} when nothing
-- is queued and nothing is leased.
local max, ttl, owner = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
reapExpired()
refreshTouched()

local out = {0, 0}
local n = 0
while n < max do
  local top = redis.call('ZRANGE', READY, 0, 0, 'WITHSCORES')
  if #top == 0 or tonumber(top[2]) > NOW then
    break
  end
  local host = top[1]
  local hk = hkey(host)
  local inf = inflight(host)
  local popped = {}
  if CAP < 0 or inf < CAP then
    popped = redis.call('ZPOPMIN', qkey(host))
  end
  if #popped == 0 then
    redis.call('ZREM', READY, host)
  else
    LID = LID + 1
    redis.call('HSET', hk, 'i', inf + 1, 'l', NOW)
    redis.call('ZADD', LEASES, NOW + ttl, LID)
    redis.call('HSET', LDATA, LID, cmsgpack.pack(host, popped[2], popped[1], owner))
    redis.call('SADD', P .. 'wl:' .. owner, LID)
    C.q = C.q - 1
    C.l = C.l + 1
    out[#out + 1] = LID
    out[#out + 1] = popped[1]
    n = n + 1
    refresh(host)
  end
end
if n > 0 then
  return finish(out, true)
end

if QUEUED0 + C.q == 0 and LEASED0 + C.l == 0 then
  return finish({2, 0}, false)
end
local wait = -1
local top = redis.call('ZRANGE', READY, 0, 0, 'WITHSCORES')
if #top > 0 then
  wait = math.max(tonumber(top[2]) - NOW, 0)
end
local first = redis.call('ZRANGE', LEASES, 0, 0, 'WITHSCORES')
if #first > 0 then
  local e = math.max(tonumber(first[2]) - NOW, 0)
  if wait < 0 or e < wait then
    wait = e
  end
end
return finish({1, wait}, false)
