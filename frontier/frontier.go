package frontier

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors returned by every backend.
var (
	// ErrDrained is returned by Lease when nothing is queued and nothing is
	// leased: the crawl is over.
	ErrDrained = errors.New("frontier: drained")
	// ErrLeaseExpired is returned (wrapped) by Complete for a lease that
	// expired before it was completed; its request has been handed out again.
	ErrLeaseExpired = errors.New("frontier: lease expired")
	// ErrClosed is returned by calls on a closed frontier.
	ErrClosed = errors.New("frontier: closed")
)

// Request is one URL to fetch. URL must already be canonical (see
// urlnorm.Normalizer.Canonical); backends normalize nothing.
type Request struct {
	// URL is the canonical absolute URL.
	URL string `json:"url"`
	// Depth is the number of links followed from a seed; seeds have depth 0.
	Depth int `json:"depth"`
	// Parent is the URL of the page the link was found on; empty for seeds.
	Parent string `json:"parent,omitempty"`
	// Attempts counts the fetches already tried for this request (retries).
	Attempts int `json:"attempts,omitempty"`
	// Kind says what the request is fetched for; the zero value is a page.
	// Backends store it with the request and hand it back unchanged.
	Kind Kind `json:"kind,omitempty"`
}

// Kind says what a request is fetched for. Every kind counts against its
// host's in-flight cap and rate alike.
type Kind uint8

// Request kinds.
const (
	// KindPage is a page: fetched, parsed for links, recorded.
	KindPage Kind = iota
	// KindAsset is an embedded resource (image, script, stylesheet): fetched
	// and recorded, not parsed for links.
	KindAsset
	// KindSitemap is a sitemap or sitemap index: its URLs are added to the
	// crawl.
	KindSitemap
)

// Key returns the request's fingerprint.
func (r Request) Key() uint64 { return Fingerprint(r.URL) }

// Host returns the politeness key of the request: the URL's host[:port].
func (r Request) Host() string { return HostOf(r.URL) }

// Lease is a request handed to a worker. The worker must Complete it (or
// Renew it) before Expires; after that the request goes back to its host's
// queue. Expires is as of the Lease call; Renew moves the lease's expiry,
// not this field.
type Lease struct {
	// ID identifies the lease and fences late completions. IDs are unique
	// within a frontier for its lifetime (across restarts for persistent
	// backends).
	ID uint64
	// Request is the leased request.
	Request Request
	// Expires is when the lease lapses.
	Expires time.Time
}

// Status says how a lease ended.
type Status uint8

// Outcome statuses.
const (
	// Done: the request was fetched (whatever the HTTP status) or given up
	// for good with a recorded reason. It is not queued again.
	Done Status = iota
	// Failed: the request failed for good. Like Done it is not queued again;
	// it is counted separately.
	Failed
	// Retry: the request goes back to its host's queue with Attempts+1, and
	// is not leased before RetryAt.
	Retry
	// Release: the lease is given up without an attempt (the crawl stopped
	// before the request was fetched, or could not record it): the request
	// goes back where it was in its host's queue, Attempts unchanged.
	Release
)

// Outcome reports how a lease ended. It is the only way to finish a lease.
type Outcome struct {
	// Lease is the lease being completed (its ID fences late completions).
	Lease Lease
	// Status says what happens to the request.
	Status Status
	// RetryAt, for Status Retry, is the earliest time to fetch it again. The
	// host as a whole is not leased before then either, whatever the status
	// (Retry-After and server errors slow the host down, even when the
	// request itself is given up).
	RetryAt time.Time
	// HostDelay, when positive, is a minimum delay between requests to the
	// lease's host from now on (robots.txt Crawl-delay), counted from the
	// host's last lease. It only ever slows a host down.
	HostDelay time.Duration
	// Links are newly discovered requests (canonical, scoped), added in the
	// same step as the completion.
	Links []Request
	// Seen are canonical URLs to mark as seen without queueing them (the
	// page's rel="canonical" target, which this fetch already covered), in
	// the same step as the completion and before its Links. A URL seen
	// before is left as it is (and not counted as a duplicate); a new one
	// counts in Stats.Seen.
	Seen []string
}

// Stats is a snapshot of a frontier's counters.
type Stats struct {
	Queued int64 // requests waiting in host queues
	Leased int64 // requests handed out and not yet completed
	Done   int64 // completions with Status Done
	Failed int64 // completions with Status Failed
	Hosts  int64 // hosts with queued or leased requests
	// Seen counts the distinct fingerprints ever marked seen: requests
	// added, and URLs marked by Outcome.Seen.
	Seen int64
	// Duplicates counts requests offered to Add or Complete whose
	// fingerprint had been seen before.
	Duplicates int64
}

// Frontier is the contract every backend implements (memory, disk, Redis),
// and the frontiertest suite checks. All methods are safe for concurrent
// use. The rules:
//
//   - One place. A request is always in exactly one place: its host's
//     queue or one lease. Nothing is lost and nothing is handed out twice
//     at once; after a crash a persistent backend queues its leased
//     requests again.
//   - Dedup. Add and Complete's Links drop every request whose fingerprint
//     (Fingerprint of its canonical URL) was seen before, and mark the rest,
//     in one step: two concurrent calls offering one URL queue it once.
//     Callers pass canonical URLs; backends normalize nothing.
//   - Politeness lives with the host, in the backend (so a shared backend
//     holds it across processes). A host is leased only when it is under its
//     in-flight cap (Options.PerHostInFlight) and its next-allowed time has
//     come: the later of the latest RetryAt of its completions, and its last
//     lease plus the longer of the Scheduler's HostDelay and the longest
//     Crawl-delay (Outcome.HostDelay) it reported. Every request to a host,
//     whatever its Kind, counts against its cap and delay.
//   - Fencing. A lease that expired (or was completed) is no longer held:
//     Renew and Complete skip it and report it with an error wrapping
//     ErrLeaseExpired, and apply the rest. Its request went back to its old
//     place in its host's queue when it expired.
//   - No slice kept. A backend keeps no reference to a slice a caller passes
//     (the requests of Add, the outcomes of Complete with their Links and
//     Seen, the leases of Renew) once the call returns, however it commits:
//     callers reuse them.
//   - Requests come back as they went in: URL, Depth, Parent and Kind
//     unchanged; Attempts counts the retries.
type Frontier interface {
	// Add enqueues the requests whose fingerprints were not seen before and
	// returns how many it added; the others count in Stats.Duplicates. It
	// is idempotent: adding a request again adds nothing. A persistent
	// backend may return once the requests are durable; it returns when ctx
	// ends first, with ctx's error (the requests may still be added).
	Add(ctx context.Context, reqs []Request) (added int, err error)
	// Lease hands out up to max (at least 1) requests from ready hosts,
	// blocking until at least one is ready; each expires LeaseTTL from now
	// unless renewed or completed. It returns ErrDrained when nothing is
	// queued and nothing is leased (the crawl is over), ErrClosed once the
	// frontier is closed, and ctx.Err() when ctx ends first. It returns
	// leases or an error, never both: a backend that fails part way gives
	// back what it had leased.
	Lease(ctx context.Context, max int) ([]Lease, error)
	// Renew extends leases still held to a full lease time from now, so a
	// worker held up (a slow handler, a long render) keeps what it holds.
	// Leases that already expired are skipped and reported by an error
	// wrapping ErrLeaseExpired; the others are renewed. A renewal is as
	// durable as the lease it renews.
	Renew(ctx context.Context, leases []Lease) error
	// Complete finishes leases: it is the only way to finish one. Each
	// outcome is applied in one step: the request done, failed, or queued
	// again (Status), the host held until RetryAt and slowed by HostDelay,
	// the Seen URLs marked seen (not queued; counted in Stats.Seen as new
	// fingerprints, and not as Duplicates when seen already), then the
	// Links added as by Add (a link to a URL just marked Seen is a
	// duplicate). Outcomes for expired leases are skipped and reported by
	// an error wrapping ErrLeaseExpired; the others are applied. Complete
	// returns when ctx ends, with ctx's error, even while a persistent
	// backend waits for its commit: the outcomes may then be applied or not,
	// and a lease not completed expires and is handed out again.
	Complete(ctx context.Context, outcomes []Outcome) error
	// Stats returns the current counters.
	Stats(ctx context.Context) (Stats, error)
	// Close releases the backend's resources; blocked Lease calls return
	// ErrClosed, and so do later calls. Leases still out stay recorded
	// (persistent backends re-queue them on the next open).
	Close() error
}

// Scheduler is a crawl policy: the priority of each request (lower is
// leased first within its host) and the minimum delay between two requests
// to one host. Implementations must be safe for concurrent use and cheap.
type Scheduler interface {
	// Priority orders a host's queue: lower first; equal priorities go in
	// arrival order.
	Priority(r Request) float64
	// HostDelay is the minimum time between two leases on host. Zero means
	// no delay.
	HostDelay(host string) time.Duration
}

// Options configures a backend. The zero value is usable.
type Options struct {
	// Scheduler orders requests and spaces requests to a host. Nil means
	// BreadthFirst{} with no delay.
	Scheduler Scheduler
	// PerHostInFlight caps the leases outstanding on one host. Zero means 2;
	// negative means no cap.
	PerHostInFlight int
	// LeaseTTL is how long a lease lasts, from Lease or the last Renew,
	// before its request is handed out again. Zero means 5 minutes.
	LeaseTTL time.Duration
	// Strict makes the order global instead of per host: Lease hands out
	// no request while one of lower priority is queued or leased anywhere.
	// A breadth-first crawl with a depth limit needs it to reach every page
	// within the limit at its shortest depth; it costs throughput at each
	// level. Backends that cannot honour it say so in their Open.
	//
	// One exception keeps a host from trapping the crawl: when no request
	// of the lowest priority is leased and each of them waits on its host
	// for StrictStall or more (Retry-After, Crawl-delay, backoff), the
	// other requests are handed out meanwhile. Pages found only through
	// such a host may then be reached at a greater depth.
	Strict bool
}

// StrictStall is how long the lowest priority's requests must all wait on
// their hosts before Strict lets other requests go ahead of them: longer
// than the spacing of an ordinary rate limit, shorter than a Retry-After.
const StrictStall = time.Second

// WithDefaults returns o with zero fields replaced by their defaults.
func (o Options) WithDefaults() Options {
	if o.Scheduler == nil {
		o.Scheduler = BreadthFirst{}
	}
	if o.PerHostInFlight == 0 {
		o.PerHostInFlight = 2
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 5 * time.Minute
	}
	return o
}
