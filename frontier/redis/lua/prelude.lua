-- Shared by every script. ARGV[1] is the job's key prefix, ARGV[2] the
-- per-host in-flight cap (negative: none), ARGV[3] an idempotency token
-- ('' for none). KEYS[1] is the job's meta hash, declared so that the
-- script runs on the slot that holds the job (all its keys share the
-- {job} hash tag).
--
-- Times are microseconds on the Redis server's clock, so that every worker
-- sees the same clock whatever its own says.
--
-- The scripts do per-URL work in Redis's single thread, so their inner
-- loops avoid what costs most in Redis's Lua: C function calls (string
-- and struct functions; redis.call most of all), global lookups (hence
-- the local aliases), the length operator and number formatting. Numeric
-- arguments are read by arithmetic coercion (x + 0), not tonumber.
local ARGV, call = ARGV, redis.call
local sub, find, fmt = string.sub, string.find, string.format
local spack, sunpack = struct.pack, struct.unpack
local unpack, pairs = unpack, pairs
local P = ARGV[1]
local CAP = tonumber(ARGV[2])
local TOKEN = ARGV[3]
local META = KEYS[1]
local READY = P .. 'ready'   -- zset: host -> next-allowed time
local LEASES = P .. 'leases' -- zset: 'first:last' lease ids of a Lease call -> expiry
local LDATA = P .. 'lease'   -- hash: lease id -> host\0owner\0score\0member
local WORKERS = P .. 'workers'
local HOSTS = P .. 'hosts'   -- hash: host -> packed politeness state (HFMT)
local RENEWED = P .. 'renewed' -- hash: lease id -> expiry of a renewed lease
local TOKKEY = P .. 't:' .. TOKEN

-- CACHED is the reply of an earlier run of this very call (same token),
-- whose reply was lost: each script returns it instead of running again.
local CACHED = false
if TOKEN ~= '' then
  CACHED = call('GET', TOKKEY)
end

local clock = call('TIME')
local NOW = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

local meta = call('HMGET', META, 'seq', 'lid', 'sl', 'sp', 'q', 'l', 'd', 'f', 'h', 's', 'u', 'v')
local SEQ = tonumber(meta[1]) or 0
local LID = tonumber(meta[2]) or 0
-- VERSION marks the layout a job was created with: a job of another
-- layout (or of the first, which had none) is refused, not misread.
-- Layout 4 is layout 3 with request kinds (the depth field may carry
-- ":kind") and renewed leases (renewed): a job of layout 3 reads as one of
-- layout 4, and is marked 4 by the first change, so that a version that
-- knows only layout 3 refuses it from then on.
local VERSION = '4'
if meta[12] ~= VERSION and meta[12] ~= '3' and (meta[12] or SEQ > 0 or LID > 0) then
  return redis.error_reply('job layout ' .. (meta[12] or '1') .. ' is not ' .. VERSION ..
    ': finish or purge the job with the version that started it')
end
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
local QUEUED0 = C0.q
local LEASED0 = C0.l
local woke = false -- something may now be leasable, or the job drained

local function qkey(name) return P .. 'q:' .. name end

-- callChunks calls cmd key with the flat list args, in chunks that stay
-- within Lua's unpack limit.
local function callChunks(cmd, key, args, step)
  local n = #args
  for i = 1, n, step do
    local j = i + step - 1
    if j > n then
      j = n
    end
    call(cmd, key, unpack(args, i, j))
  end
end

-- be6 encodes an arrival number as 6 big-endian bytes: queue members
-- start with it, so equal scores sort by arrival.
local function be6(n)
  return spack('>I6', n)
end

-- The seen set's bucket of fingerprint low bits lo is lo % MOD, or
-- lo % MOD2 below the split pointer; the table splits a bucket when the
-- seen counter passes SPLIT_AT.
local MOD, MOD2, SPLIT_AT
local function seenLevel()
  MOD = 2 ^ SL
  MOD2 = 2 ^ (SL + 1)
  SPLIT_AT = SEEN_LOAD * (MOD + SP)
  if SL >= SEEN_MAX_LEVEL then
    SPLIT_AT = math.huge
  end
end
seenLevel()

-- BK caches bucket keys by bucket number (formatting a number is slow).
local BK = {}
local SKEY = P .. 's:'

-- splitSeen splits bucket SP into SP and SP + 2^SL by bit SL of each
-- fingerprint. A field is the fingerprint's top 7 bytes (bits 63..8); the
-- low byte is implied by the bucket, there being at least 2^8 of them.
local function splitSeen()
  local src = SKEY .. SP
  local dst = SKEY .. (SP + 2 ^ SL)
  local bit = 2 ^ (SL - 8)
  local move, kv = {}, {}
  for _, f in ipairs(call('HKEYS', src)) do
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
  seenLevel()
end

-- markFingerprint sets the seen-set field of a fingerprint (field, its top
-- 7 bytes; lo, its low 32 bits) and reports whether it was new. seen is
-- the number of fingerprints marked before it: a new one past SPLIT_AT
-- splits a bucket.
local function markFingerprint(field, lo, seen)
  local b = lo % MOD
  if b < SP then
    b = lo % MOD2
  end
  local key = BK[b]
  if not key then
    key = SKEY .. b
    BK[b] = key
  end
  if call('HSETNX', key, field, '1') ~= 1 then
    return false
  end
  if seen + 1 > SPLIT_AT then
    splitSeen()
  end
  return true
end

local function readyAt(h)
  local at, l = h.n, h.l
  if l >= 0 then
    local d = h.d
    if h.c > d then
      d = h.c
    end
    if l + d > at then
      at = l + d
    end
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

-- HFMT packs a host's state in HOSTS: i in flight, l last lease (-1:
-- never), n not before (Retry-After), d scheduler delay, c Crawl-delay
-- (times µs) and q queued (the ZCARD of its queue, kept with it to save
-- a call). Doubles hold these integers exactly.
local HFMT = '<dddddd'

-- H caches the hosts a script touches, written back once by finish. A
-- host counts in the hosts counter while it has requests queued or in
-- flight.
local H = {}
local function newHost(name, v)
  local i, l, n, d, c, q = 0, -1, 0, 0, 0, 0
  if v then
    i, l, n, d, c, q = sunpack(HFMT, v)
  end
  local h = {
    i = i, l = l, n = n, d = d, c = c, q = q,
    dirty = false,  -- state to write back
    stale = false,  -- place in READY to recompute
    pend = false,   -- (score, member) pairs to add to the queue
    pn = 0,         -- their count (twice the number of members)
    was = q > 0 or i > 0,
    placed = -1,    -- its score in READY (-1: not in it) as last written
  }
  h.placed = readyKey(h) -- READY holds every host at its readyKey
  H[name] = h
  return h
end

-- loadHosts caches the hosts names[from..to] with one call.
local function loadHosts(names, from, to)
  local want, w = {}, 0
  for k = from, to do
    local name = names[k]
    if not H[name] then
      w = w + 1
      want[w] = name
    end
  end
  for i = 1, w, 1000 do
    local j = i + 999
    if j > w then
      j = w
    end
    local v = call('HMGET', HOSTS, unpack(want, i, j))
    for k = i, j do
      local name = want[k]
      if not H[name] then
        newHost(name, v[k - i + 1])
      end
    end
  end
end

-- placeAll moves the stale hosts to their places in READY, with one call
-- for the additions and one for the removals.
local function placeAll()
  local add, rem, na, nr = {}, {}, 0, 0
  for name, h in pairs(H) do
    if h.stale then
      local key = readyKey(h)
      if key ~= h.placed then
        if key < 0 then
          nr = nr + 1
          rem[nr] = name
        else
          add[na + 1] = key
          add[na + 2] = name
          na = na + 2
        end
        h.placed = key
      end
      h.stale = false
    end
  end
  callChunks('ZADD', READY, add, 1000)
  callChunks('ZREM', READY, rem, 1000)
end

-- enqueue adds a member to a host's queue (written by flushQueues).
local function enqueue(h, score, member)
  local p, pn = h.pend, h.pn
  if not p then
    p = {}
    h.pend = p
  end
  p[pn + 1] = score
  p[pn + 2] = member
  h.pn = pn + 2
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
    local p = h.pend
    if p then
      if h.pn == 2 then
        -- One member, as when each URL of a batch has its own host: no
        -- unpack, no chunks.
        call('ZADD', P .. 'q:' .. name, p[1], p[2])
      else
        callChunks('ZADD', P .. 'q:' .. name, p, 1000)
      end
      h.pend = false
      h.pn = 0
    end
  end
end

-- A request section, for Add and for each outcome's links, is a count of
-- groups, then per group its host, the host's scheduler delay (µs), a
-- count and that many requests, each (the fingerprint's top 7 bytes, its
-- low 32 bits, score, body): the client groups requests by host, so that
-- the scripts handle each host once.

-- listHosts appends the hosts of the request section at ARGV[i] to
-- names, which holds n, and returns its new length.
local function listHosts(i, names, n)
  local groups = ARGV[i] + 0
  i = i + 1
  for _ = 1, groups do
    n = n + 1
    names[n] = ARGV[i]
    i = i + 3 + 4 * ARGV[i + 2]
  end
  return n
end

-- addRequests adds the requests of the section at ARGV[i], whose hosts
-- must be cached (listHosts, loadHosts), and returns the number added.
local function addRequests(i)
  local added, dups, seen = 0, 0, C0.s + C.s
  local groups = ARGV[i] + 0
  i = i + 1
  for _ = 1, groups do
    local h = H[ARGV[i]]
    local last = i + 4 * ARGV[i + 2] - 1
    local p, pn = h.pend, h.pn
    if not p then
      p = {}
    end
    local new = 0
    for j = i + 3, last, 4 do
      if markFingerprint(ARGV[j], ARGV[j + 1] + 0, seen) then
        seen = seen + 1
        SEQ = SEQ + 1
        p[pn + 1] = ARGV[j + 2]
        p[pn + 2] = spack('>I6', SEQ) .. ARGV[j + 3]
        pn = pn + 2
        new = new + 1
      else
        dups = dups + 1
      end
    end
    if new > 0 then
      h.pend, h.pn = p, pn
      local d = ARGV[i + 1] + 0
      if h.d ~= d then
        h.d = d
        h.stale = true
      end
      if h.q == 0 then
        h.stale = true
      end
      h.q = h.q + new
      h.dirty = true
      added = added + new
    end
    i = last + 4
  end
  if added > 0 then
    woke = true
  end
  C.s = C.s + added
  C.q = C.q + added
  C.u = C.u + dups
  return added
end

-- markSeen marks as seen the fingerprints of the seen section at ARGV[i]
-- (a count, then per URL the fingerprint's top 7 bytes and its low 32
-- bits), without queueing them. A fingerprint seen before is left as it
-- is and counts as no duplicate: no request was offered.
local function markSeen(i)
  local seen = C0.s + C.s
  local new = 0
  for j = i + 1, i + 2 * ARGV[i], 2 do
    if markFingerprint(ARGV[j], ARGV[j + 1] + 0, seen) then
      new = new + 1
      seen = seen + 1
    end
  end
  C.s = C.s + new
end

-- A lease record is "host\0owner\0score\0member": the host first, which
-- is all that Complete needs of most records.
local function recordHost(rec)
  return sub(rec, 1, find(rec, '\0', 1, true) - 1)
end

-- parseRecord returns a lease record's host, owner, score and member.
local function parseRecord(rec)
  local a = find(rec, '\0', 1, true)
  local b = find(rec, '\0', a + 1, true)
  local c = find(rec, '\0', b + 1, true)
  return sub(rec, 1, a - 1), sub(rec, a + 1, b - 1), sub(rec, b + 1, c - 1), sub(rec, c + 1)
end

-- endLeases removes the leases ids[from..to] and returns their ids, hosts
-- and records as parallel lists, skipping ids that are not (or no longer)
-- leased, and ids that appear twice.
local function endLeases(ids, from, to)
  local rid, rhost, rrec, m = {}, {}, {}, 0
  local seen = {}
  for i = from, to, 1000 do
    local j = i + 999
    if j > to then
      j = to
    end
    local data = call('HMGET', LDATA, unpack(ids, i, j))
    for k = i, j do
      local rec = data[k - i + 1]
      local id = ids[k]
      if rec and not seen[id] then
        seen[id] = true
        m = m + 1
        rid[m] = id
        rhost[m] = recordHost(rec)
        rrec[m] = rec
      end
    end
  end
  if m > 0 then
    loadHosts(rhost, 1, m)
    for k = 1, m do
      local h = H[rhost[k]]
      h.i = h.i - 1
      h.dirty = true
      h.stale = true
    end
    callChunks('HDEL', LDATA, rid, 1000)
    C.l = C.l - m
    woke = true
  end
  return rid, rhost, rrec
end

-- requeue puts ended leases' requests back where they were in their
-- hosts' queues: their members keep their arrival numbers.
local function requeue(_, rhost, rrec)
  for m = 1, #rhost do
    local _, _, score, member = parseRecord(rrec[m])
    enqueue(H[rhost[m]], score, member)
  end
end

-- reapExpired hands back the leases of the Lease calls whose leases
-- expired. LEASES has an entry per call, not per lease (they share an
-- expiry), which stays until then: the call's leases that have ended
-- since are no longer in LDATA, and endLeases skips them. A renewed lease
-- has an entry of its own ("id:id") and its expiry in RENEWED, which the
-- entries of earlier expiries leave alone.
--
-- It reaps at most 100 calls' entries, and reports whether there may be
-- more.
local function reapExpired()
  local calls = call('ZRANGEBYSCORE', LEASES, '-inf', NOW, 'LIMIT', 0, 100)
  if #calls == 0 then
    return false
  end
  local ids, m = {}, 0
  for _, r in ipairs(calls) do
    local c = find(r, ':', 1, true)
    for id = sub(r, 1, c - 1) + 0, sub(r, c + 1) + 0 do
      m = m + 1
      ids[m] = fmt('%d', id)
    end
  end
  callChunks('ZREM', LEASES, calls, 1000)
  if call('EXISTS', RENEWED) == 1 then
    local keep, k = {}, 0
    for i = 1, m, 1000 do
      local j = i + 999
      if j > m then
        j = m
      end
      local exp = call('HMGET', RENEWED, unpack(ids, i, j))
      for x = i, j do
        local e = exp[x - i + 1]
        if not e or e + 0 <= NOW then
          k = k + 1
          keep[k] = ids[x]
        end
      end
    end
    callChunks('HDEL', RENEWED, keep, 1000)
    ids, m = keep, k
  end
  requeue(endLeases(ids, 1, m))
  return #calls == 100
end

-- renewLeases gives the leases ids[1..n] still held a full lease time
-- (ttl µs) from now, and returns the ids of the others.
local function renewLeases(ids, n, ttl)
  local gone, ng = {}, 0
  local exp, ne = {}, 0
  local entries, nz = {}, 0
  local at = NOW + ttl
  for i = 1, n, 1000 do
    local j = i + 999
    if j > n then
      j = n
    end
    local data = call('HMGET', LDATA, unpack(ids, i, j))
    for k = i, j do
      local id = ids[k]
      if data[k - i + 1] then
        exp[ne + 1] = id
        exp[ne + 2] = at
        ne = ne + 2
        entries[nz + 1] = at
        entries[nz + 2] = id .. ':' .. id
        nz = nz + 2
      else
        ng = ng + 1
        gone[ng] = id + 0
      end
    end
  end
  callChunks('HSET', RENEWED, exp, 1000)
  callChunks('ZADD', LEASES, entries, 1000)
  return gone
end

-- finish writes back the queues, the hosts, the counters and the ready
-- set, wakes waiting workers, and caches cache (if any) under the call's
-- token.
local function finish(reply, cache)
  flushQueues()
  local kv, n = {}, 0
  local gone, ng = {}, 0
  local dh = 0
  for name, h in pairs(H) do
    if h.dirty then
      if h.q == 0 and h.i == 0 and h.c == 0 and h.n <= NOW and h.l + h.d <= NOW then
        -- Nothing queued or in flight, no Crawl-delay to remember and no
        -- delay still running: a new host would behave the same, so the
        -- state of a done host takes no memory.
        ng = ng + 1
        gone[ng] = name
      else
        kv[n + 1] = name
        kv[n + 2] = spack(HFMT, h.i, h.l, h.n, h.d, h.c, h.q)
        n = n + 2
      end
    end
    local active = h.q > 0 or h.i > 0
    if active ~= h.was then
      dh = dh + (active and 1 or -1)
    end
  end
  C.h = C.h + dh
  callChunks('HSET', HOSTS, kv, 1000)
  callChunks('HDEL', HOSTS, gone, 1000)
  placeAll()
  if C.l ~= 0 and C0.l + C.l == 0 then
    -- The last leases ended: LEASES holds only Lease calls none of
    -- whose leases are left, RENEWED only leases that ended.
    call('DEL', LEASES, RENEWED)
  end
  call('HSET', META, 'seq', SEQ, 'lid', LID, 'sl', SL, 'sp', SP,
    'q', C0.q + C.q, 'l', C0.l + C.l, 'd', C0.d + C.d, 'f', C0.f + C.f,
    'h', C0.h + C.h, 's', C0.s + C.s, 'u', C0.u + C.u, 'v', VERSION)
  if woke then
    call('PUBLISH', P .. 'wake', '1')
  end
  if cache and TOKEN ~= '' then
    call('SET', TOKKEY, cache, 'PX', 30000)
  end
  return reply
end
