-- add: ARGV[4..] = host table, then the requests (see addRequests).
-- Returns {added}.
if CACHED then
  return cmsgpack.unpack(CACHED)
end
local t = 4
loadHostTable(t)
local added = addRequests(t + 2 * ARGV[t] + 1)
local reply = {added}
return finish(reply, cmsgpack.pack(reply))
