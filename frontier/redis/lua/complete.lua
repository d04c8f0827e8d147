-- complete: ARGV[4..] = host table (for the links), outcome count, then
-- per outcome: lease id, status (0 done, 1 failed, 2 retry), retry delay
-- (µs), crawl delay (µs), link count, links (as add's requests).
-- Returns the ids of the outcomes skipped because their lease had ended.
local hosts, i = loadHosts(4)
local n = tonumber(ARGV[i])
i = i + 1
reapExpired()
local expired = {}
for _ = 1, n do
  local id, status = ARGV[i], ARGV[i + 1]
  local retryIn, crawlDelay, links = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])
  i = i + 5
  local host, score, member = takeLease(id)
  if not host then
    expired[#expired + 1] = tonumber(id)
    i = i + 4 * links
  else
    local hk = hkey(host)
    if crawlDelay > 0 and crawlDelay > (tonumber(redis.call('HGET', hk, 'c')) or 0) then
      redis.call('HSET', hk, 'c', crawlDelay)
    end
    if status == '2' then
      -- Back in the queue with one more attempt and a new arrival number.
      local body = string.sub(member, 7)
      local bar = string.find(body, '|', 1, true)
      SEQ = SEQ + 1
      redis.call('ZADD', qkey(host), score,
        be6(SEQ) .. (tonumber(string.sub(body, 1, bar - 1)) + 1) .. string.sub(body, bar))
      C.q = C.q + 1
      if retryIn > 0 and NOW + retryIn > (tonumber(redis.call('HGET', hk, 'n')) or 0) then
        redis.call('HSET', hk, 'n', NOW + retryIn)
      end
    elseif status == '1' then
      C.f = C.f + 1
    else
      C.d = C.d + 1
    end
    if redis.call('ZCARD', qkey(host)) == 0 and inflight(host) == 0 then
      C.h = C.h - 1
    end
    local _
    _, i = addRequests(hosts, i, links)
  end
end
return finish(expired, true)
