-- add: ARGV[4..] = host table, request count, requests.
-- Returns {added}.
local hosts, i = loadHosts(4)
local added = addRequests(hosts, i + 1, tonumber(ARGV[i]))
return finish({added}, true)
