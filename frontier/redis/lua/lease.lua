-- lease: ARGV[4] = max, ARGV[5] = TTL (µs), ARGV[6] = owner (worker id).
-- Returns {0, 0, id, member, id, member, ...} with leases,
-- {1, wait} when nothing is ready yet (wait: µs until the next host is
-- ready or the next lease expires, -1 if unknown), or {2, 0} when nothing
-- is queued and nothing is leased.
local max, ttl, owner = ARGV[4] + 0, ARGV[5] + 0, ARGV[6]

if CACHED then
  -- Hand out again those of the call's leases that are still held.
  local out = {0, 0}
  local c = find(CACHED, ':', 1, true)
  for lid = sub(CACHED, 1, c - 1) + 0, sub(CACHED, c + 1) + 0 do
    local id = fmt('%d', lid)
    local rec = call('HGET', LDATA, id)
    if rec then
      local _, _, _, member = parseRecord(rec)
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
placeAll()

local FIRST = LID + 1
local out, no = {0, 0}, 2
local records, ne = {}, 0
local n = 0
while n < max do
  -- With a cap, a host gives at most CAP leases: ask for the hosts that
  -- fill the lease if each does (and a few more), not for max - n, whose
  -- names would mostly be read for nothing. Hosts with less queued leave
  -- a rest for the next pass.
  local limit = max - n
  if CAP > 0 then
    local want = math.ceil(limit / CAP) + 8
    if want < limit then
      limit = want
    end
  end
  local names = call('ZRANGEBYSCORE', READY, '-inf', NOW, 'LIMIT', 0, limit)
  local count = #names
  if count == 0 then
    break
  end
  local progress = false
  -- Hosts are loaded a chunk at a time: when a few of them fill the
  -- lease, the state of the others is not read for nothing.
  local loaded = 0
  for x = 1, count do
    if n >= max then
      break
    end
    if x > loaded then
      loaded = x + 99
      if loaded > count then
        loaded = count
      end
      loadHosts(names, x, loaded)
    end
    local name = names[x]
    local h = H[name]
    local k = max - n
    if h.q < k then
      k = h.q
    end
    if CAP >= 0 and CAP - h.i < k then
      k = CAP - h.i
    end
    if k > 1 and (h.d > 0 or h.c > 0) then
      k = 1 -- the next one waits for the delay
    end
    if readyAt(h) > NOW then
      k = 0
    end
    if k <= 0 then
      h.placed = nil -- READY was wrong about it (a worker with another cap?): rewrite
    else
      local popped = call('ZPOPMIN', qkey(name), k)
      local got = #popped / 2
      local pre = name .. '\0' .. owner .. '\0'
      for j = 1, #popped, 2 do
        LID = LID + 1
        local id = fmt('%d', LID)
        local member = popped[j]
        records[ne + 1] = id
        records[ne + 2] = pre .. popped[j + 1] .. '\0' .. member
        ne = ne + 2
        out[no + 1] = id
        out[no + 2] = member
        no = no + 2
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
    h.stale = true
  end
  placeAll()
  if not progress or count < limit then
    break -- no more hosts are ready
  end
end
if n > 0 then
  local range = fmt('%d:%d', FIRST, LID)
  call('ZADD', LEASES, NOW + ttl, range)
  callChunks('HSET', LDATA, records, 1000)
  return finish(out, range)
end

if QUEUED0 + C.q == 0 and LEASED0 + C.l == 0 then
  return finish({2, 0}, nil)
end
local wait = -1
local top = call('ZRANGE', READY, 0, 0, 'WITHSCORES')
if #top > 0 then
  wait = math.max(top[2] - NOW, 0)
end
local first = call('ZRANGE', LEASES, 0, 0, 'WITHSCORES')
if #first > 0 then
  local e = math.max(first[2] - NOW, 0)
  if wait < 0 or e < wait then
    wait = e
  end
end
return finish({1, wait}, nil)
