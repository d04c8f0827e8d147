// Package frontier owns the crawl's queue of work: requests, their
// fingerprints, the scheduling policies that order them, per-host politeness
// state and leases. It holds the in-memory backend; the embedded disk and
// Redis backends live in subpackages and implement the same contract, which
// the frontiertest package checks.
//
// The contract: a request is always in exactly one place, a host queue or a
// lease. Add drops what was seen before (by 64-bit fingerprint, checked and
// marked in one step). Lease hands out requests from hosts that are ready
// (their next-allowed time has come and they are under their in-flight cap)
// and blocks until one is, or returns ErrDrained when nothing is queued and
// nothing is leased. Complete is the only way to finish a lease; a completion
// for a lease that has expired is rejected with ErrLeaseExpired, so nothing is
// counted twice.
//
// Package frontier imports no other package of this module.
package frontier
