// Package frontier owns the crawl's queue of work: requests, their
// fingerprints, the scheduling policies that order them, per-host politeness
// state and leases. It holds the in-memory backend; the embedded disk and
// Redis backends live in subpackages and implement the same contract, which
// the frontiertest package checks.
//
// The contract is written on the Frontier interface: a request is always in
// exactly one place, a host queue or a lease; Add drops what was seen before
// (by 64-bit fingerprint, checked and marked in one step) and is idempotent;
// Lease hands out requests from hosts that are ready (their next-allowed time
// has come and they are under their in-flight cap), blocks until one is, or
// returns ErrDrained when nothing is queued and nothing is leased, and
// returns leases or an error, never both; Renew keeps a held lease; Complete
// is the only way to finish a lease, and a completion or renewal for a lease
// that has expired is rejected with ErrLeaseExpired (fencing), so nothing is
// counted twice; no backend keeps a caller's slice.
//
// The memory and disk backends share one scheduling core,
// frontier/internal/sched (the ready-host heap, politeness, Strict, leases
// and the blocking Lease loop); each writes only its storage. The Redis
// backend keeps the same rules in Lua.
//
// Package frontier imports frontier/internal/sched and no other package of
// this module. Its backends (disk, redis) and the frontiertest suite import
// it, never the reverse, and none of them imports the engine (crawler).
package frontier
