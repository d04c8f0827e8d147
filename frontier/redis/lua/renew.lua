-- renew: ARGV[4] = TTL (µs), ARGV[5..] = lease ids. Gives the leases
-- still held a full lease time from now; every expired lease is reaped
-- first, so that none is renewed after its expiry. Returns the ids of the
-- leases that had ended (expired, completed, or handed back).
local ttl = ARGV[4] + 0
while reapExpired() do
end
local ids, n = {}, 0
for k = 5, #ARGV do
  n = n + 1
  ids[n] = ARGV[k]
end
return finish(renewLeases(ids, n, ttl), nil)
