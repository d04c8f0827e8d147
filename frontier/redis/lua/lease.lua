-- lease: ARGV[4] = max, ARGV[5] = TTL (µs), ARGV[6] = owner (worker id).
-- Returns {0, 0, id, member, id, member, ...} with leases,
-- {1, wait} when nothing is ready yet (wait: µs until the next host is
-- ready or the next lease expires, -1 if unknown), or {2, 0} when nothing
-- is queued and nothing is leased.
local max, ttl, owner = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]

if CACHED then
  -- Hand out again those of the call's leases that are still held.
  local out = {0, 0}
  for _, id in ipairs(cmsgpack.unpack(CACHED)) do
    local rec = redis.call('HGET', LDATA, id)
    if rec then
      local _, _, member = cmsgpack.unpack(rec)
      out[#out + 1] = id
      out[#out + 1] = member
    end
  end
  if #out > 2 then
    return out
  end
  return {1, 0}
end

reapExpired()
flushQueues()

local out = {0, 0}
local ids = {}
local expiries, records = {}, {}
local n = 0
while n < max do
  local names = redis.call('ZRANGEBYSCORE', READY, '-inf', NOW, 'LIMIT', 0, max - n)
  if #names == 0 then
    break
  end
  local progress = false
  for _, name in ipairs(names) do
    if n >= max then
      break
    end
    local h = host(name)
    local k = math.min(max - n, h.q)
    if CAP >= 0 then
      k = math.min(k, CAP - h.i)
    end
    if h.d > 0 or h.c > 0 then
      k = math.min(k, 1) -- the next one waits for the delay
    end
    if readyAt(h) > NOW then
      k = 0
    end
    if k <= 0 then
      h.placed = nil -- READY was wrong about it (a worker with another cap?): rewrite
    end
    if k > 0 then
      local popped = redis.call('ZPOPMIN', qkey(name), k)
      local got = #popped / 2
      for j = 1, #popped, 2 do
        LID = LID + 1
        expiries[#expiries + 1] = NOW + ttl
        expiries[#expiries + 1] = LID
        records[#records + 1] = LID
        records[#records + 1] = cmsgpack.pack(name, popped[j + 1], popped[j], owner)
        out[#out + 1] = LID
        out[#out + 1] = popped[j]
        ids[#ids + 1] = LID
      end
      n = n + got
      if got < k then
        h.q = got -- the queue was shorter than its host said: trust the queue
      end
      h.q = h.q - got
      h.i = h.i + got
      h.l = NOW
      h.dirty = true
      C.q = C.q - got
      C.l = C.l + got
      if got > 0 then
        progress = true
      end
    end
    place(h)
  end
  if not progress then
    break
  end
end
if n > 0 then
  callChunks('ZADD', LEASES, expiries, 1000)
  callChunks('HSET', LDATA, records, 1000)
  return finish(out, cmsgpack.pack(ids))
end

if QUEUED0 + C.q == 0 and LEASED0 + C.l == 0 then
  return finish({2, 0}, nil)
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
return finish({1, wait}, nil)
