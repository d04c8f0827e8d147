-- complete: ARGV[4..] = host table (for the links), outcome count, then
-- per outcome: lease id, status (0 done, 1 failed, 2 retry), retry delay
-- (µs), crawl delay (µs), link count, links (as add's requests).
-- Returns the ids of the outcomes skipped because their lease had ended.
if CACHED then
  return cmsgpack.unpack(CACHED)
end
local t = 4
local i = t + 2 * tonumber(ARGV[t]) + 1
local n = tonumber(ARGV[i])
i = i + 1
reapExpired()

local outs, ids = {}, {}
for k = 1, n do
  local links = tonumber(ARGV[i + 4])
  outs[k] = i
  ids[k] = ARGV[i]
  i = i + 5 + 4 * links
end
local recs = endLeases(ids)
local byID = {}
for _, r in ipairs(recs) do
  byID[r[1]] = r
end

local expired = {}
for k = 1, n do
  local j = outs[k]
  local id = ARGV[j]
  local r = byID[id]
  byID[id] = nil -- a second outcome for the same lease is late
  if not r then
    expired[#expired + 1] = tonumber(id)
  else
    local h = host(r[2])
    local status = ARGV[j + 1]
    local retryIn, crawlDelay = tonumber(ARGV[j + 2]), tonumber(ARGV[j + 3])
    if crawlDelay > h.c then
      h.c = crawlDelay
    end
    if status == '2' then
      -- Back in the queue with one more attempt and a new arrival number.
      local body = string.sub(r[4], 7)
      local bar = string.find(body, '|', 1, true)
      SEQ = SEQ + 1
      enqueue(h, r[3], be6(SEQ) .. (tonumber(string.sub(body, 1, bar - 1)) + 1) .. string.sub(body, bar))
      if retryIn > 0 then
        h.n = math.max(h.n, NOW + retryIn)
      end
    elseif status == '1' then
      C.f = C.f + 1
    else
      C.d = C.d + 1
    end
    addRequests(t, j + 5, tonumber(ARGV[j + 4]))
  end
end
return finish(expired, cmsgpack.pack(expired))
