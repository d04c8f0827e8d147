-- owners: KEYS[1] = the job's lease hash. Returns (worker id, leases
-- held) pairs. Read only.
local count = {}
local all = redis.call('HVALS', KEYS[1])
for _, rec in ipairs(all) do
  -- A record is "host\0owner\0score\0member".
  local owner = string.match(rec, '^[^%z]*%z([^%z]*)%z') or '?'
  count[owner] = (count[owner] or 0) + 1
end
local out = {}
for owner, n in pairs(count) do
  out[#out + 1] = owner
  out[#out + 1] = n
end
return out
