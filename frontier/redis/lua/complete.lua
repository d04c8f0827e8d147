-- complete: ARGV[4] = outcome count, then per outcome: lease id and
-- either '0' (done, no links, no URLs to mark seen, no crawl delay) or
-- the count of the arguments that follow: status (0 done, 1 failed, 2
-- retry, 3 release), the host's hold (µs from now, for any status), crawl
-- delay (µs), the URLs to mark seen (a seen section: see markSeen), links
-- (a request section: see listHosts). The seen URLs are marked before the
-- links are added, so a link to one of them is dropped.
-- Returns the ids of the outcomes skipped because their lease had ended.
if CACHED then
  return cmsgpack.unpack(CACHED)
end
local n = ARGV[4] + 0
local i = 5
reapExpired()

local ids, ext = {}, {}
local names, nn = {}, 0 -- the links' hosts
for k = 1, n do
  ids[k] = ARGV[i]
  local x = ARGV[i + 1]
  if x == '0' then
    i = i + 2
  else
    ext[k] = i + 2
    nn = listHosts(i + 6 + 2 * ARGV[i + 5], names, nn)
    i = i + 2 + x
  end
end
local rid, rhost, rrec = endLeases(ids, 1, n)
local byID = {}
for m = 1, #rid do
  byID[rid[m]] = m
end
loadHosts(names, 1, nn)

local expired, ne = {}, 0
local done = 0
for k = 1, n do
  local id = ids[k]
  local m = byID[id]
  byID[id] = nil -- a second outcome for the same lease is late
  if not m then
    ne = ne + 1
    expired[ne] = id + 0
  else
    local j = ext[k]
    if not j then
      done = done + 1
    else
      local h = H[rhost[m]]
      local status = ARGV[j]
      local retryIn, crawlDelay = ARGV[j + 1] + 0, ARGV[j + 2] + 0
      if crawlDelay > h.c then
        h.c = crawlDelay
        h.dirty = true
        h.stale = true
      end
      if retryIn > 0 and NOW + retryIn > h.n then
        -- Retry-After holds the host back, whatever became of the request.
        h.n = NOW + retryIn
        h.dirty = true
        h.stale = true
      end
      if status == '2' then
        -- Back in the queue with one more attempt and a new arrival number.
        local _, _, score, member = parseRecord(rrec[m])
        local body = sub(member, 7)
        local bar = find(body, '|', 1, true)
        SEQ = SEQ + 1
        enqueue(h, score, be6(SEQ) .. (sub(body, 1, bar - 1) + 1) .. sub(body, bar))
      elseif status == '3' then
        -- Back where it was: same arrival number, same attempts.
        local _, _, score, member = parseRecord(rrec[m])
        enqueue(h, score, member)
      elseif status == '1' then
        C.f = C.f + 1
      else
        done = done + 1
      end
      markSeen(j + 3)
      addRequests(j + 4 + 2 * ARGV[j + 3])
    end
  end
end
C.d = C.d + done
return finish(expired, cmsgpack.pack(expired))
