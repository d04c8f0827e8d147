-- add: ARGV[4..] = the requests (a request section: see listHosts).
-- Returns {added}.
if CACHED then
  return cmsgpack.unpack(CACHED)
end
local names = {}
loadHosts(names, 1, listHosts(4, names, 0))
local reply = {addRequests(4)}
return finish(reply, cmsgpack.pack(reply))
