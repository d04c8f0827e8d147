// Package disk is the embedded, crash-safe frontier backend: the queues, the
// seen set, host state and leases live in a pebble store in a state
// directory, so a crawl survives its process and may be far larger than
// RAM. It implements frontier.Frontier and passes the frontiertest suite.
//
// # Memory
//
// Memory grows with the active hosts (those with requests queued or leased),
// not with the queued requests: each active host keeps its state and a
// window of its first WindowPerHost requests; the rest of its queue stays on
// disk and is read in order from where the window ends. Add checks
// fingerprints against an in-memory Bloom filter of the seen set (14 bits a
// URL, capped at 64 MiB, rebuilt by Open from the store) and looks up only
// the URLs it cannot rule out. Pebble is tuned to stay small: 32 MiB
// memtables (at most three), a 32 MiB block cache. A frontier of five
// million URLs on a thousand hosts peaks under 250 MB of RSS. Strict crawls
// also count outstanding requests per priority, which costs memory per
// distinct priority (per depth, for the breadth- and depth-first
// schedulers).
//
// # Durability
//
// Every operation changes the in-memory state and logs the same changes,
// under one mutex; a committer goroutine applies the log as one pebble
// batch and syncs it at most every CommitInterval (group commit), and each
// batch ends in a consistent state: every request in exactly one place,
// queued or leased, and the counters matching. The log holds copies: no
// caller's slice is kept. Add and Complete return only once their changes
// are synced, so many concurrent callers share one fsync, and an
// acknowledged Add or Complete is never lost; when their context ends first
// they return its error, and their changes, made already, are synced with
// the next batch (or lost in a crash, like any change not acknowledged).
// Lease and Renew do not wait: a lease's record, and a renewal's new expiry,
// reach the store with the next batch, and after a crash every leased
// request is queued again whatever its expiry.
//
// The scheduling (ready hosts, leases, politeness, Strict) is the core the
// memory backend shares, frontier/internal/sched; this package keeps the
// storage behind it (each host's window over its queue in the store) and
// logs what the core changes through its hooks.
//
// A crash (the process killed, the machine stopped) costs at most what was
// changed in the last commit window, and no request is silently lost:
//   - requests leased since the last commit, and every request that was
//     leased at the crash, are queued again at their old places when the
//     directory is opened next, and so are fetched again;
//   - completions not yet acknowledged may be lost: their requests are
//     leased again and refetched;
//   - Adds not yet acknowledged may be lost, with the links of unacknowledged
//     completions; they are rediscovered when their parent page is
//     refetched, which it is, since its completion is lost with them.
//
// Nothing is ever counted twice: a request is in the store once, as a queued
// entry or as a lease record, and its fingerprint marks the seen set in the
// same batch.
//
// # On-disk layout
//
// A state directory holds crawl.lock (flock-ed by the process that has the
// directory open: a second Open fails with ErrLocked), stats (the counters,
// rewritten by the committer at most once a second, for ReadStats while a
// crawl runs) and pebble/, the store. Its keys, each led by one byte:
//
//	Mversion                 format version (uvarint): 2; Open upgrades 1, refuses others with ErrIncompatible
//	Mstats                   counters (varints), written with every commit
//	Mseq                     last arrival sequence (uvarint)
//	MleaseID                 first lease ID not yet reserved (uvarint)
//	Mprios                   present while the P counts are kept (Strict crawls)
//	S fp[8]                  the seen set: one empty value per fingerprint (big-endian)
//	Q len(host) host prio[8] seq[8]
//	                         a queued request: value [0x01 kind] depth, attempts, parent, URL
//	H host                   host state: active flag, RetryAt hold, next-allowed time,
//	                         Crawl-delay, and the head (a lower bound of its queue)
//	L id[8]                  a lease: expiry, the request's queue position, the request
//	P prio[8]                Strict: requests outstanding at that priority (uvarint)
//
// A request's value opens with the byte 0x01 and its kind only when it is not
// a page (or has a negative depth): version 1 stores, which predate kinds,
// hold pages only and read unchanged (0x01 would be their encoding of the
// depth -1, which no request has). Open upgrades a version 1 store to
// version 2, which builds that read only version 1 refuse.
//
// The host's length (a uvarint, a prefix-free code) comes before its name,
// so each host's queue is one key range, ordered by priority then arrival.
// The priority is the float64's bits made to sort as numbers: the sign bit
// flipped for non-negative values, all bits flipped for negative ones (-0
// counts as 0, NaN as +Inf). Scans of a queue start after the last position
// loaded into the window, never at the start of the range, so they do not
// wade through the tombstones of the requests already consumed; the head
// kept in the host record plays the same part after a restart.
//
// Lease IDs are reserved in blocks of 4096, synced before any is handed out,
// so that no ID repeats across restarts.
//
// Package disk imports frontier and its internal scheduling core, and
// nothing else of this module.
package disk
