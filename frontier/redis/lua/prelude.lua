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

if TOKEN ~= '' then
  local cached = redis.call('GET', TOKKEY)
  if cached then
    return cmsgpack.unpack(cached)
  end
end

local clock = redis.call('TIME')
local NOW = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

local meta = redis.call('HMGET', META, 'seq', 'lid', 'sl', 'sp', 's', 'q', 'l')
local SEQ = tonumber(meta[1]) or 0
local LID = tonumber(meta[2]) or 0
-- The seen set is a linear hash table of 2^SL + SP buckets: bucket b holds
-- the fingerprints whose low SL (or SL+1, below the split pointer SP) bits
-- are b. A bucket keeps about SEEN_LOAD fingerprints, few enough for Redis
-- to keep it as a listpack (hash-max-listpack-entries, 128 by default).
local SEEN_MIN_LEVEL = 8
local SEEN_MAX_LEVEL = 31
local SEEN_LOAD = 40
local SL = tonumber(meta[3]) or SEEN_MIN_LEVEL
local SP = tonumber(meta[4]) or 0
local SEEN0 = tonumber(meta[5]) or 0
local QUEUED0 = tonumber(meta[6]) or 0
local LEASED0 = tonumber(meta[7]) or 0

-- Counter deltas, written once at the end.
local C = {q = 0, l = 0, d = 0, f = 0, h = 0, s = 0, u = 0}
local touched = {} -- hosts whose place in READY must be recomputed
local woke = false -- something may now be leasable, or the job drained

local function hkey(host) return P .. 'h:' .. host end
local function qkey(host) return P .. 'q:' .. host end

-- be6 encodes an arrival number as 6 big-endian bytes: queue members
-- start with it, so equal scores sort by arrival.
local function be6(n)
  local b = {}
  for i = 6, 1, -1 do
    b[i] = n % 256
    n = math.floor(n / 256)
  end
  return string.char(b[1], b[2], b[3], b[4], b[5], b[6])
end

local function seenKey(lo)
  local b = lo % 2 ^ SL
  if b < SP then
    b = lo % 2 ^ (SL + 1)
  end
  return P .. 's:' .. b
end

-- splitSeen splits bucket SP into SP and SP + 2^SL by bit SL of each
-- fingerprint. A field is the fingerprint's top 7 bytes (bits 63..8): the
-- low byte is implied by the bucket, as there are at least 2^8 buckets.
local function splitSeen()
  local src = P .. 's:' .. SP
  local dst = P .. 's:' .. (SP + 2 ^ SL)
  local bit = 2 ^ (SL - 8)
  local move = {}
  for _, f in ipairs(redis.call('HKEYS', src)) do
    local b5, b6, b7 = string.byte(f, 5, 7)
    local x = (b5 * 256 + b6) * 256 + b7 -- fingerprint bits 31..8
    if math.floor(x / bit) % 2 == 1 then
      move[#move + 1] = f
    end
  end
  if #move > 0 then
    redis.call('HDEL', src, unpack(move))
    local kv = {}
    for _, f in ipairs(move) do
      kv[#kv + 1] = f
      kv[#kv + 1] = '1'
    end
    redis.call('HSET', dst, unpack(kv))
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
  local b5, b6, b7, b8 = string.byte(fp, 5, 8)
  local lo = ((b5 * 256 + b6) * 256 + b7) * 256 + b8
  if redis.call('HSETNX', seenKey(lo), string.sub(fp, 1, 7), '1') == 0 then
    return false
  end
  C.s = C.s + 1
  if SL < SEEN_MAX_LEVEL and SEEN0 + C.s > SEEN_LOAD * (2 ^ SL + SP) then
    splitSeen()
  end
  return true
end

local function inflight(host)
  return tonumber(redis.call('HGET', hkey(host), 'i')) or 0
end

-- addNew queues a request unless its fingerprint was seen before.
local function addNew(fp, host, score, body)
  if not markSeen(fp) then
    C.u = C.u + 1
    return 0
  end
  local qk = qkey(host)
  if redis.call('ZCARD', qk) == 0 and inflight(host) == 0 then
    C.h = C.h + 1
  end
  SEQ = SEQ + 1
  redis.call('ZADD', qk, score, be6(SEQ) .. body)
  C.q = C.q + 1
  touched[host] = true
  woke = true
  return 1
end

-- loadHosts reads the host table at ARGV[i]: a count, then (host,
-- scheduler delay) pairs. It records each host's delay and returns the
-- names and the index after the table.
local function loadHosts(i)
  local n = tonumber(ARGV[i])
  local hosts = {}
  for k = 1, n do
    local host, delay = ARGV[i + 2 * k - 1], ARGV[i + 2 * k]
    hosts[k] = host
    if tonumber(delay) > 0 or redis.call('HEXISTS', hkey(host), 'd') == 1 then
      redis.call('HSET', hkey(host), 'd', delay)
    end
  end
  return hosts, i + 2 * n + 1
end

-- addRequests adds n requests encoded at ARGV[i] as (fingerprint, host
-- index, score, body) and returns the number added and the next index.
local function addRequests(hosts, i, n)
  local added = 0
  for k = 0, n - 1 do
    local j = i + 4 * k
    added = added + addNew(ARGV[j], hosts[tonumber(ARGV[j + 1])], ARGV[j + 2], ARGV[j + 3])
  end
  return added, i + 4 * n
end

-- refresh puts host in READY at its next-allowed time if it has queued
-- requests and room under the cap, and takes it out otherwise.
local function refresh(host)
  local v = redis.call('HMGET', hkey(host), 'i', 'l', 'n', 'd', 'c')
  local n = tonumber(v[1]) or 0
  if (CAP >= 0 and n >= CAP) or redis.call('ZCARD', qkey(host)) == 0 then
    redis.call('ZREM', READY, host)
    return
  end
  local at = tonumber(v[3]) or 0
  local last = tonumber(v[2])
  if last then
    local gap = math.max(tonumber(v[4]) or 0, tonumber(v[5]) or 0)
    if last + gap > at then
      at = last + gap
    end
  end
  redis.call('ZADD', READY, at, host)
end

local function refreshTouched()
  for host in pairs(touched) do
    refresh(host)
  end
  touched = {}
end

-- takeLease ends lease id and returns its host, score and queue member,
-- or nil if there is no such lease (it expired, or was completed).
local function takeLease(id)
  local rec = redis.call('HGET', LDATA, id)
  if not rec then
    return nil
  end
  redis.call('HDEL', LDATA, id)
  redis.call('ZREM', LEASES, id)
  local host, score, member, owner = cmsgpack.unpack(rec)
  redis.call('SREM', P .. 'wl:' .. owner, id)
  redis.call('HINCRBY', hkey(host), 'i', -1)
  C.l = C.l - 1
  touched[host] = true
  woke = true
  return host, score, member
end

-- requeue puts a lease's request back where it was in its host's queue:
-- its member keeps its arrival number.
local function requeue(id)
  local host, score, member = takeLease(id)
  if host then
    redis.call('ZADD', qkey(host), score, member)
    C.q = C.q + 1
  end
end

local function reapExpired()
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', LEASES, '-inf', NOW, 'LIMIT', 0, 256)) do
    requeue(id)
  end
end

-- finish writes back the counters and the ready set, wakes waiting
-- workers, and caches the reply under the call's token, so that a call
-- retried after a lost reply gets the same answer instead of running
-- twice.
local function finish(reply, cache)
  refreshTouched()
  redis.call('HSET', META, 'seq', SEQ, 'lid', LID, 'sl', SL, 'sp', SP)
  for k, v in pairs(C) do
    if v ~= 0 then
      redis.call('HINCRBY', META, k, v)
    end
  end
  if woke then
    redis.call('PUBLISH', P .. 'wake', '1')
  end
  if cache and TOKEN ~= '' then
    redis.call('SET', TOKKEY, cmsgpack.pack(reply), 'PX', 120000)
  end
  return reply
end
