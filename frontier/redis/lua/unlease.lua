-- unlease: ARGV[3] = the token of a Lease call whose reply its caller's
-- context cut off. If the call ran, its leases still held go back where
-- they were in their queues; if it has not run yet, it is kept from
-- running later (its cached reply becomes an empty range). Returns {the
-- number of leases handed back}.
local ended = 0
if CACHED then
  local c = find(CACHED, ':', 1, true)
  local ids, m = {}, 0
  for lid = sub(CACHED, 1, c - 1) + 0, sub(CACHED, c + 1) + 0 do
    m = m + 1
    ids[m] = fmt('%d', lid)
  end
  local rid, rhost, rrec = endLeases(ids, 1, m)
  requeue(rid, rhost, rrec)
  ended = #rid
end
return finish({ended}, '1:0')
