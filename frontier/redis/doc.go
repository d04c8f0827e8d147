// Package redis is the frontier backend for a fleet: any number of crawl
// processes, on any number of machines, share one job's queue in Redis
// (github.com/redis/go-redis/v9), and per-host politeness holds across all
// of them because a host's state lives in Redis, not in a worker.
//
// # Layout
//
// Every key of job J starts with "crawl:{J}:" (the braces make it a Redis
// Cluster hash tag, so a job's keys share a slot):
//
//	meta          hash: counters (q queued, l leased, d done, f failed,
//	              h hosts, s seen, u duplicates), seq (arrival counter),
//	              lid (lease id counter), sl/sp (seen-set level and split),
//	              v (layout version, now 4: a job of layout 3 is read as
//	              one of 4 and marked 4 by its first change; a job of
//	              another layout is refused, not misread)
//	q:<host>      zset: the host's queue; score = Scheduler priority,
//	              member = 6-byte big-endian arrival number + request
//	              ("attempts|depth|url\x00parent", the depth followed by
//	              ":kind" for a Kind other than KindPage)
//	hosts         hash: host -> its state, six little-endian float64s
//	              (struct "<dddddd"): in flight, last lease, not before
//	              (Retry-After), scheduler delay, Crawl-delay (times µs,
//	              last lease -1 for never) and queue length; a host with
//	              nothing queued or in flight, no Crawl-delay and no delay
//	              running is dropped, a new one behaving the same
//	ready         zset: hosts with queued requests and room under their cap,
//	              scored by their next-allowed time
//	leases        zset: "first:last", the lease ids of one Lease call,
//	              -> their expiry; kept until then, so that the leases
//	              still in lease are handed back then
//	lease         hash: lease id -> "host\x00worker\x00score\x00member"
//	renewed       hash: lease id -> the expiry of a renewed lease, which
//	              also has an entry "id:id" of its own in leases; an
//	              earlier entry's expiry leaves it alone
//	s:<bucket>    hash: the seen set, a linear hash table of fingerprints
//	              (field = the top 7 bytes of the 64-bit fingerprint, the low
//	              byte being the bucket's); about 40 fields a bucket, so
//	              Redis keeps each as a small listpack: ~14 bytes a URL
//	workers       set of worker ids; w:<id> a heartbeat key with a TTL
//	seeds         zset of the job's seeds, by first arrival
//	robots:<o>    robots.txt of origin o shared by the fleet, with a TTL
//	t:<token>     a call's reply (lease ids, for Lease) for 30 seconds, so
//	              that a call retried after a lost reply is not applied twice
//	out:<name>    stream: a job's lines (Lines: the page records, items
//	              and log a fleet's workers publish), entry 0-n holding
//	              line n-1 in field "l", trimmed with MAXLEN ~
//	wake          pub/sub channel: published when work may have become
//	              available, so idle workers poll at once
//
// A queue's order is (priority, arrival): Redis orders equal scores by
// member bytes, so the big-endian arrival prefix breaks ties in arrival
// order while the score holds any float64 priority exactly. (Packing both
// into one score, priority×2^k + arrival, would leave a double's 53 bits
// to share between them and lose best-first scores' precision.)
//
// Every change is one Lua script (add, lease, complete, renew, beat,
// unlease), run
// atomically by Redis with one round trip per batch. A script reads the
// state of all the hosts it touches with one call and writes it back with
// one more, and moves hosts in the ready set with one call for all, so a
// batch costs one command per URL (the seen-set check) plus one per host
// queue it adds to or leases from, and a few per call. The client groups
// a batch's requests by host and splits their fingerprints so that the
// scripts do as little per URL as they can: in Redis's Lua, each function
// call, table write and number formatted costs about as much as a small
// Redis command. Times come from the Redis server's clock (TIME), so
// workers' clocks need not agree; a lease's Expires is reported on the
// worker's clock, never later than Redis will take it back.
//
// A Lease that finds nothing ready waits for a message on the wake
// channel, the next host's ready time or the next lease expiry (at most
// 250 ms), and only one blocked Lease per process polls at a time.
//
// # Failure
//
// A worker that dies keeps its leases until they expire or its heartbeat
// lapses (Options.HeartbeatTTL), whichever comes first; then any worker
// hands them back to their queues, in place. A worker held up keeps its
// leases by renewing them (Renew), which first hands back every lease whose
// time is over, so that none is renewed late. Completions and renewals of
// leases that ended are fenced off by lease id. Calls that fail for a
// connection error (Redis restarting, a failover) are retried with backoff
// until their context ends; a retry within 30 seconds of a lost reply gets
// that reply instead of applying the call again (later, a Lease's lost
// leases come back when they expire, and a Complete may report as expired
// the leases it did complete). A Lease call whose context ends while its
// script is under way hands back, with one more script call, the leases the
// script took (or keeps it from running, if it has not run yet), so that
// they need not wait for their expiry. A Redis outage longer than
// HeartbeatTTL makes every worker look dead to the first one back, so the
// URLs in flight then are handed out again.
//
// What survives a Redis crash depends on its persistence: with appendonly
// yes and appendfsync always nothing acknowledged is lost; with appendfsync
// everysec about the last second of changes may be. The append-only log
// is a prefix of the job's history, so the job stays consistent and loses
// no URL: the URLs completed in that second are handed out again (and
// their links found again), those leased in it are queued again.
//
// Options.Strict is not supported: Open refuses it.
//
// Package redis imports frontier and no other package of this module.
package redis
