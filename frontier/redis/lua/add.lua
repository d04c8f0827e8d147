-- add: ARGV[4..] = host table, request count, requests. Returns {added}.
if CACHED then
  return cmsgpack.unpack(CACHED)
end
local t = 4
local i = t + 2 * tonumber(ARGV[t]) + 1
local added = addRequests(t, i + 1, tonumber(ARGV[i]))
local reply = {added}
return finish(reply, cmsgpack.pack(reply))
