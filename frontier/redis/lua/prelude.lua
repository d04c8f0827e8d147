-- Shared by every script. ARGV[1] is the job's key prefix, ARGV[2] the
-- per-host in-flight cap (negative: none), ARGV[3] an idempotency token
-- ('' for none). KEYS[1] is the job's meta hash, declared so that the
-- script runs on the slot that holds the job (all its keys share the
-- {job} hash tag).
--
-- Times are microseconds on the Redis server's clock, so that every worker
-- sees the same clock whatever its own says.
local P = ARGV[1]
local CAP = tonumber(ARGV[2])
local TOKEN = ARGV[3]
local META = KEYS[1]
local READY = P .. 'ready'   -- zset: host -> next-allowed time
local LEASES = P .. 'leases' -- zset: lease id -> expiry
local LDATA = P .. 'lease'   -- hash: lease id -> msgpack(host, score, member, owner)
local WORKERS = P .. 'workers'
local TOKKEY = P .. 't:' .. TOKEN

-- CACHED is the reply of an earlier run of this very call (same token),
-- whose reply was lost: each script returns it instead of running again.
local CACHED = false
if TOKEN ~= '' then
  CACHED = redis.call('GET', TOKKEY)
end

local clock = redis.call('TIME')
local NOW = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

local meta = redis.call('HMGET', META, 'seq', 'lid', 'sl', 'sp', 'q', 'l', 'd', 'f', 'h', 's', 'u')
local SEQ = tonumber(meta[1]) or 0
local LID = tonumber(meta[2]) or 0
-- The seen set is a linear hash table of 2^SL + SP buckets: bucket b holds
-- the fingerprints whose low SL bits (SL+1 below the split pointer SP) are
-- b. A bucket keeps about SEEN_LOAD fingerprints on average and at most
-- twice that, few enough for Redis to keep it a listpack
-- (hash-max-listpack-entries, 128 by default).
local SEEN_MIN_LEVEL = 8
local SEEN_MAX_LEVEL = 31
local SEEN_LOAD = 40
local SL = tonumber(meta[3]) or SEEN_MIN_LEVEL
local SP = tonumber(meta[4]) or 0

-- The job's counters (queued, leased, done, failed, hosts, seen,
-- duplicates), as they were and as the script changes them; written back
-- once at the end.
local C0 = {}
local C = {}
for k, name in ipairs({'q', 'l', 'd', 'f', 'h', 's', 'u'}) do
  C0[name] = tonumber(meta[4 + k]) or 0
  C[name] = 0
end
local SEEN0 = C0.s
local QUEUED0 = C0.q
local LEASED0 = C0.l
local woke = false -- something may now be leasable, or the job drained

local function hkey(name) return P .. 'h:' .. name end
local function qkey(name) return P .. 'q:' .. name end

-- callChunks calls cmd key with the flat list args, in chunks that stay
-- within Lua's unpack limit.
local function callChunks(cmd, key, args, step)
  for i = 1, #args, step do
    redis.call(cmd, key, unpack(args, i, math.min(i + step - 1, #args)))
  end
end

-- be6 encodes an arrival number as 6 big-endian bytes: queue members
-- start with it, so equal scores sort by arrival.
local function be6(n)
  return struct.pack('>I6', n)
end

-- splitSeen splits bucket SP into SP and SP + 2^SL by bit SL of each
-- fingerprint. A field is the fingerprint's top 7 bytes (bits 63..8); the
-- low byte is implied by the bucket, there being at least 2^8 of them.
local function splitSeen()
  local src = P .. 's:' .. SP
  local dst = P .. 's:' .. (SP + 2 ^ SL)
  local bit = 2 ^ (SL - 8)
  local move, kv = {}, {}
  for _, f in ipairs(redis.call('HKEYS', src)) do
    local b5, b6, b7 = string.byte(f, 5, 7)
    local x = (b5 * 256 + b6) * 256 + b7 -- fingerprint bits 31..8
    if math.floor(x / bit) % 2 == 1 then
      move[#move + 1] = f
      kv[#kv + 1] = f
      kv[#kv + 1] = '1'
    end
  end
  if #move > 0 then
    callChunks('HDEL', src, move, 1000)
    callChunks('HSET', dst, kv, 1000)
  end
  SP = SP + 1
  if SP == 2 ^ SL then
    SL = SL + 1
    SP = 0
  end
end

-- markSeen adds an 8-byte big-endian fingerprint to the seen set and
-- reports whether it was new.
local function markSeen(fp)
  local lo = struct.unpack('>I4', fp, 5)
  local b = lo % 2 ^ SL
  if b < SP then
    b = lo % 2 ^ (SL + 1)
  end
  if redis.call('HSETNX', P .. 's:' .. b, string.sub(fp, 1, 7), '1') == 0 then
    return false
  end
  C.s = C.s + 1
  if SL < SEEN_MAX_LEVEL and SEEN0 + C.s > SEEN_LOAD * (2 ^ SL + SP) then
    splitSeen()
  end
  return true
end

local function readyAt(h)
  local at = h.n
  if h.l >= 0 then
    at = math.max(at, h.l + math.max(h.d, h.c))
  end
  return at
end

-- readyKey is a host's score in READY: its next-allowed time if it has
-- queued requests and room under the cap, or -1 for not in READY.
local function readyKey(h)
  if h.q > 0 and (CAP < 0 or h.i < CAP) then
    return readyAt(h)
  end
  return -1
end

-- H caches the hosts a script touches: their politeness state (i in
-- flight, l last lease, n not before, d scheduler delay, c Crawl-delay)
-- and queue length q (the ZCARD of their queue, kept with them to save a
-- call), written back once by finish. A host counts in the hosts counter
-- while it has requests queued or in flight.
local H = {}
local function host(name)
  local h = H[name]
  if h then
    return h
  end
  local v = redis.call('HMGET', hkey(name), 'i', 'l', 'n', 'd', 'c', 'q')
  h = {
    name = name,
    placed = -1,     -- its score in READY (-1: not in it) as last written
    i = tonumber(v[1]) or 0,
    l = tonumber(v[2]) or -1,
    n = tonumber(v[3]) or 0,
    d = tonumber(v[4]) or 0,
    c = tonumber(v[5]) or 0,
    q = tonumber(v[6]) or 0,
    dirty = false,   -- state to write back
    stale = false,   -- place in READY to recompute
    pending = {},    -- (score, member) pairs to add to the queue
  }
  h.was = h.q > 0 or h.i > 0
  H[name] = h
  h.placed = readyKey(h) -- READY holds every host at its readyKey
  return h
end

-- place updates a host's entry in READY, if it changed.
local function place(h)
  local key = readyKey(h)
  if key ~= h.placed then
    if key < 0 then
      redis.call('ZREM', READY, h.name)
    else
      redis.call('ZADD', READY, key, h.name)
    end
    h.placed = key
  end
  h.stale = false
end

-- enqueue adds a member to a host's queue (written by flushQueues).
local function enqueue(h, score, member)
  local p = h.pending
  p[#p + 1] = score
  p[#p + 1] = member
  if h.q == 0 then
    h.stale = true
  end
  h.dirty = true
  h.q = h.q + 1
  C.q = C.q + 1
  woke = true
end

local function flushQueues()
  for name, h in pairs(H) do
    if #h.pending > 0 then
      callChunks('ZADD', qkey(name), h.pending, 1000)
      h.pending = {}
    end
  end
end

-- addRequests adds n requests encoded at ARGV[i] as (fingerprint, host
-- index, score, body), the hosts being those of the host table at ARGV[t]
-- (a count, then (host, scheduler delay) pairs). It returns the number
-- added and the index after the requests.
local function addRequests(t, i, n)
  local added = 0
  for k = 0, n - 1 do
    local j = i + 4 * k
    if markSeen(ARGV[j]) then
      local x = t + 2 * tonumber(ARGV[j + 1])
      local h = host(ARGV[x - 1])
      local d = tonumber(ARGV[x])
      if h.d ~= d then
        h.d = d
        h.dirty = true
        h.stale = true
      end
      SEQ = SEQ + 1
      enqueue(h, ARGV[j + 2], be6(SEQ) .. ARGV[j + 3])
      added = added + 1
    else
      C.u = C.u + 1
    end
  end
  return added, i + 4 * n
end

-- endLeases removes the leases ids (a list) and returns their records,
-- unpacked: {id, host, score, member, owner}, skipping ids that are not
-- (or no longer) leased, and ids that appear twice.
local function endLeases(ids)
  local recs = {}
  local gone, seen = {}, {}
  for i = 1, #ids, 1000 do
    local chunk = {unpack(ids, i, math.min(i + 999, #ids))}
    local data = redis.call('HMGET', LDATA, unpack(chunk))
    for k, rec in ipairs(data) do
      local id = chunk[k]
      if rec and not seen[id] then
        seen[id] = true
        local name, score, member, owner = cmsgpack.unpack(rec)
        recs[#recs + 1] = {id, name, score, member, owner}
        gone[#gone + 1] = id
        local h = host(name)
        h.i = h.i - 1
        h.dirty = true
        h.stale = true
      end
    end
  end
  if #gone > 0 then
    callChunks('HDEL', LDATA, gone, 1000)
    callChunks('ZREM', LEASES, gone, 1000)
    C.l = C.l - #gone
    woke = true
  end
  return recs, seen
end

-- requeue puts ended leases' requests back where they were in their
-- hosts' queues: their members keep their arrival numbers.
local function requeue(recs)
  for _, r in ipairs(recs) do
    enqueue(host(r[2]), r[3], r[4])
  end
end

local function reapExpired()
  local ids = redis.call('ZRANGEBYSCORE', LEASES, '-inf', NOW, 'LIMIT', 0, 1000)
  if #ids > 0 then
    requeue(endLeases(ids))
  end
end

-- finish writes back the queues, the hosts, the counters and the ready
-- set, wakes waiting workers, and caches cache (if any) under the call's
-- token.
local function finish(reply, cache)
  flushQueues()
  for name, h in pairs(H) do
    if h.dirty then
      redis.call('HSET', hkey(name), 'i', h.i, 'l', h.l, 'n', h.n, 'd', h.d, 'c', h.c, 'q', h.q)
    end
    if h.stale then
      place(h)
    end
    local active = h.q > 0 or h.i > 0
    if active ~= h.was then
      C.h = C.h + (active and 1 or -1)
    end
  end
  redis.call('HSET', META, 'seq', SEQ, 'lid', LID, 'sl', SL, 'sp', SP,
    'q', C0.q + C.q, 'l', C0.l + C.l, 'd', C0.d + C.d, 'f', C0.f + C.f,
    'h', C0.h + C.h, 's', C0.s + C.s, 'u', C0.u + C.u)
  if woke then
    redis.call('PUBLISH', P .. 'wake', '1')
  end
  if cache and TOKEN ~= '' then
    redis.call('SET', TOKKEY, cache, 'PX', 30000)
  end
  return reply
end
