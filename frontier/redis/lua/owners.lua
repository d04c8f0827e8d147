-- owners: KEYS[1] = the job's lease hash. Returns (worker id, leases
-- held) pairs. Read only.
local count = {}
local all = redis.call('HVALS', KEYS[1])
for _, rec in ipairs(all) do
  local _, _, _, owner = cmsgpack.unpack(rec)
  count[owner] = (count[owner] or 0) + 1
end
local out = {}
for owner, n in pairs(count) do
  out[#out + 1] = owner
  out[#out + 1] = n
end
return out
