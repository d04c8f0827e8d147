package frontiertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier"
)

// Backend describes a backend under test.
type Backend struct {
	// New opens a fresh, empty frontier with opts. Cleanup is the caller's
	// (use t.Cleanup): the suite closes every frontier it opens. New may call
	// t.Skip for options the backend does not honour (Options.Strict).
	New func(t *testing.T, opts frontier.Options) frontier.Frontier
	// Reopen closes f and opens the same store again with opts; nil for
	// backends that do not persist. The suite closes the frontier it returns.
	Reopen func(t *testing.T, f frontier.Frontier, opts frontier.Options) frontier.Frontier
}

// Run runs every conformance test as subtests of t.
func Run(t *testing.T, b Backend) {
	if b.New == nil {
		t.Fatal("frontiertest: Backend.New is nil")
	}
	tests := []struct {
		name string
		run  func(*testing.T, Backend)
	}{
		{"AddDedup", testAddDedup},
		{"ConcurrentDedup", testConcurrentDedup},
		{"Ordering", testOrdering},
		{"Strict", testStrict},
		{"Politeness", testPoliteness},
		{"LeaseExpiry", testLeaseExpiry},
		{"Renew", testRenew},
		{"Release", testRelease},
		{"Drain", testDrain},
		{"CompleteLinks", testCompleteLinks},
		{"CompleteContext", testCompleteContext},
		{"NoRetention", testNoRetention},
		{"LeasesOrError", testLeasesOrError},
		{"Kind", testKind},
		{"Seen", testSeen},
		{"Stats", testStats},
		{"Close", testClose},
		{"Persistence", testPersistence},
		{"Randomized", testRandomized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, b) })
	}
}

const (
	// hangGuard bounds every blocking call, so a broken backend fails a test
	// instead of hanging it. It is never a performance expectation.
	hangGuard = 3 * time.Second
	// phaseGuard bounds a phase of many calls from many goroutines, as a
	// hang guard for slow (disk, network) backends too.
	phaseGuard = 30 * time.Second
	// blockWindow is how long a call must stay blocked to count as blocking.
	blockWindow = 30 * time.Millisecond
)

// harness wraps the frontier under test with helpers that fail the test on
// unexpected errors. Its methods must be called from the test goroutine.
type harness struct {
	t    *testing.T
	b    Backend
	opts frontier.Options
	f    frontier.Frontier
}

// open opens a fresh frontier and closes it when the test ends.
func open(t *testing.T, b Backend, opts frontier.Options) *harness {
	t.Helper()
	h := &harness{t: t, b: b, opts: opts, f: b.New(t, opts)}
	if h.f == nil {
		t.Fatal("Backend.New returned nil")
	}
	t.Cleanup(func() {
		if err := h.f.Close(); err != nil && !errors.Is(err, frontier.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

// reopen closes the frontier and opens its store again.
func (h *harness) reopen() {
	h.t.Helper()
	f := h.b.Reopen(h.t, h.f, h.opts)
	if f == nil {
		h.t.Fatal("Backend.Reopen returned nil")
	}
	h.f = f
}

// ctx returns a context that ends after hangGuard or with the test.
func (h *harness) ctx() context.Context { return h.ctxFor(hangGuard) }

// ctxFor returns a context that ends after d or with the test.
func (h *harness) ctxFor(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(h.t.Context(), d)
	h.t.Cleanup(cancel)
	return ctx
}

func (h *harness) add(reqs ...frontier.Request) int {
	h.t.Helper()
	n, err := h.f.Add(h.ctx(), reqs)
	if err != nil {
		h.t.Fatalf("Add(%d requests): %v", len(reqs), err)
	}
	return n
}

// leaseCtx calls Lease on another goroutine, so that a Lease ignoring its
// context fails the test instead of hanging it.
func (h *harness) leaseCtx(ctx context.Context, max int) ([]frontier.Lease, error) {
	h.t.Helper()
	r := h.await("Lease", h.leaseAsync(ctx, max))
	return r.leases, r.err
}

func (h *harness) lease(max int) []frontier.Lease {
	h.t.Helper()
	ls, err := h.leaseCtx(h.ctx(), max)
	if err != nil {
		h.t.Fatalf("Lease(%d): %v", max, err)
	}
	if len(ls) == 0 || len(ls) > max {
		h.t.Fatalf("Lease(%d) returned %d leases and no error; want 1..%d", max, len(ls), max)
	}
	return ls
}

// leaseOne leases with max 1 and returns the single lease.
func (h *harness) leaseOne() frontier.Lease {
	h.t.Helper()
	return h.lease(1)[0]
}

// leaseN leases until it holds exactly n leases, whatever the batch sizes.
func (h *harness) leaseN(n int) []frontier.Lease {
	h.t.Helper()
	var all []frontier.Lease
	for len(all) < n {
		all = append(all, h.lease(n-len(all))...)
	}
	return all
}

// leaseReady leases exactly n requests, then checks that Lease blocks: n
// is everything the frontier may hand out now. (Leasing until a call
// blocks would read a slow backend as a blocked one.)
func (h *harness) leaseReady(n int, what string) []frontier.Lease {
	h.t.Helper()
	ls := h.leaseN(n)
	h.wantLeaseBlocks(fmt.Sprintf("%s, after %s", what, describeLeases(ls)))
	return ls
}

func (h *harness) complete(outs ...frontier.Outcome) {
	h.t.Helper()
	if err := h.f.Complete(h.ctx(), outs); err != nil {
		h.t.Fatalf("Complete(%s): %v", describeOutcomes(outs), err)
	}
}

// completeErr completes outs and returns the error, for expected failures.
func (h *harness) completeErr(outs ...frontier.Outcome) error {
	return h.f.Complete(h.ctx(), outs)
}

// renewErr renews ls and returns the error.
func (h *harness) renewErr(ls ...frontier.Lease) error {
	return h.f.Renew(h.ctx(), ls)
}

func (h *harness) stats() frontier.Stats {
	h.t.Helper()
	s, err := h.f.Stats(h.ctx())
	if err != nil {
		h.t.Fatalf("Stats: %v", err)
	}
	return s
}

func (h *harness) wantStats(when string, want frontier.Stats) {
	h.t.Helper()
	if got := h.stats(); got != want {
		h.t.Errorf("%s: Stats = %+v; want %+v", when, got, want)
	}
}

// wantDrained checks that Lease reports the frontier drained.
func (h *harness) wantDrained(when string) {
	h.t.Helper()
	ls, err := h.leaseCtx(h.ctx(), 10)
	if !errors.Is(err, frontier.ErrDrained) {
		h.t.Fatalf("%s: Lease = %s, %v; want ErrDrained", when, describeLeases(ls), err)
	}
}

// drain leases and completes everything with Done until the frontier is
// drained, and returns the URLs in lease order.
func (h *harness) drain(max int) []string {
	h.t.Helper()
	var urls []string
	for {
		ls, err := h.leaseCtx(h.ctx(), max)
		if errors.Is(err, frontier.ErrDrained) {
			return urls
		}
		if err != nil {
			h.t.Fatalf("Lease(%d) after %d leases: %v", max, len(urls), err)
		}
		outs := make([]frontier.Outcome, len(ls))
		for i, l := range ls {
			urls = append(urls, l.Request.URL)
			outs[i] = done(l)
		}
		h.complete(outs...)
	}
}

// leaseResult is what an asynchronous Lease call returned, and when.
type leaseResult struct {
	leases []frontier.Lease
	err    error
	at     time.Time
}

// leaseAsync calls Lease on its own goroutine; the result arrives on the
// returned channel.
func (h *harness) leaseAsync(ctx context.Context, max int) <-chan leaseResult {
	ch := make(chan leaseResult, 1)
	go func() {
		ls, err := h.f.Lease(ctx, max)
		ch <- leaseResult{ls, err, time.Now()}
	}()
	return ch
}

// wantBlocked checks that nothing arrives on ch for blockWindow.
func (h *harness) wantBlocked(what string, ch <-chan leaseResult) {
	h.t.Helper()
	select {
	case r := <-ch:
		h.t.Fatalf("%s: Lease returned %s, %v; want it to block", what, describeLeases(r.leases), r.err)
	case <-time.After(blockWindow):
	}
}

// wantLeaseBlocks checks that a Lease call blocks for blockWindow, then
// cancels it; it must return context.Canceled and no leases.
func (h *harness) wantLeaseBlocks(what string) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(h.ctx())
	defer cancel()
	ch := h.leaseAsync(ctx, 100)
	h.wantBlocked(what, ch)
	cancel()
	if r := h.await(what, ch); !errors.Is(r.err, context.Canceled) || len(r.leases) > 0 {
		h.t.Fatalf("%s: canceled Lease returned %s, %v; want context.Canceled", what, describeLeases(r.leases), r.err)
	}
}

// await waits for an asynchronous Lease to return.
func (h *harness) await(what string, ch <-chan leaseResult) leaseResult {
	h.t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(hangGuard + time.Second):
		h.t.Fatalf("%s: Lease did not return within %v; it must return when its context ends", what, hangGuard+time.Second)
		return leaseResult{}
	}
}

// req returns a request for http://host/path at depth.
func req(host, path string, depth int) frontier.Request {
	return frontier.Request{URL: "http://" + host + "/" + path, Depth: depth}
}

func done(l frontier.Lease) frontier.Outcome {
	return frontier.Outcome{Lease: l, Status: frontier.Done}
}

func failed(l frontier.Lease) frontier.Outcome {
	return frontier.Outcome{Lease: l, Status: frontier.Failed}
}

func retry(l frontier.Lease, at time.Time) frontier.Outcome {
	return frontier.Outcome{Lease: l, Status: frontier.Retry, RetryAt: at}
}

// byURL indexes leases by their request's URL.
func byURL(ls []frontier.Lease) map[string]frontier.Lease {
	m := make(map[string]frontier.Lease, len(ls))
	for _, l := range ls {
		m[l.Request.URL] = l
	}
	return m
}

func urlsOf(ls []frontier.Lease) []string {
	urls := make([]string, len(ls))
	for i, l := range ls {
		urls[i] = l.Request.URL
	}
	return urls
}

// sorted returns a sorted copy of s.
func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func describeLeases(ls []frontier.Lease) string {
	return fmt.Sprintf("%d leases %v", len(ls), urlsOf(ls))
}

func describeOutcomes(outs []frontier.Outcome) string {
	s := make([]string, len(outs))
	for i, o := range outs {
		s[i] = fmt.Sprintf("%s:%s", o.Lease.Request.URL, statusName(o.Status))
	}
	return fmt.Sprint(s)
}

func statusName(s frontier.Status) string {
	switch s {
	case frontier.Done:
		return "Done"
	case frontier.Failed:
		return "Failed"
	case frontier.Retry:
		return "Retry"
	case frontier.Release:
		return "Release"
	}
	return fmt.Sprintf("Status(%d)", s)
}
