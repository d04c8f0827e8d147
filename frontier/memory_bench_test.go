package frontier_test

import (
	"context"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier"
)

const benchHost = "http://127.0.0.2:8080"

// pageURLs returns the canonical URLs of pages 0..n-1 of one host, built
// before the timer starts so that the benchmarks count the frontier's
// allocations only.
func pageURLs(n int) []string {
	urls := make([]string, n)
	for i := range urls {
		urls[i] = benchHost + "/p/" + strconv.Itoa(i)
	}
	return urls
}

// BenchmarkFingerprintLinks fingerprints and finds the host of one page's
// 20 links, as Add does for each.
func BenchmarkFingerprintLinks(b *testing.B) {
	urls := pageURLs(20)
	b.ReportAllocs()
	var sink uint64
	for b.Loop() {
		for _, u := range urls {
			sink += frontier.Fingerprint(u)
			sink += uint64(len(frontier.HostOf(u)))
		}
	}
	_ = sink
	b.ReportMetric(20, "links/op")
}

// BenchmarkMemoryCycle is one page's trip through the memory frontier as
// a crawl of the synthetic site makes it: lease one request, complete it
// with the page's 20 links, of which 2 are new (its children 2k+1 and 2k+2)
// and 18 were seen before. One op is one page.
func BenchmarkMemoryCycle(b *testing.B) {
	ctx := context.Background()
	m := frontier.NewMemory(frontier.Options{PerHostInFlight: 64})
	urls := pageURLs(2*b.N + 3)
	if _, err := m.Add(ctx, []frontier.Request{{URL: urls[0]}}); err != nil {
		b.Fatal(err)
	}
	links := make([]frontier.Request, 20)
	outcome := make([]frontier.Outcome, 1)
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, cpuTime(b))
	for range b.N {
		leases, err := m.Lease(ctx, 1)
		if err != nil {
			b.Fatal(err)
		}
		l := leases[0]
		k, _ := strconv.Atoi(l.Request.URL[strings.LastIndexByte(l.Request.URL, '/')+1:])
		links[0] = frontier.Request{URL: urls[2*k+1], Depth: l.Request.Depth + 1, Parent: l.Request.URL}
		links[1] = frontier.Request{URL: urls[2*k+2], Depth: l.Request.Depth + 1, Parent: l.Request.URL}
		for i := 2; i < len(links); i++ {
			links[i] = frontier.Request{URL: urls[(k*7+i*13)%(k+1)], Depth: l.Request.Depth + 1, Parent: l.Request.URL}
		}
		outcome[0] = frontier.Outcome{Lease: l, Status: frontier.Done, Links: links}
		if err := m.Complete(ctx, outcome); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryAdd adds 20 new URLs per op: fingerprint, seen-set insert
// and host-queue push.
func BenchmarkMemoryAdd(b *testing.B) {
	ctx := context.Background()
	m := frontier.NewMemory(frontier.Options{})
	urls := pageURLs(20 * b.N)
	reqs := make([]frontier.Request, 20)
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, cpuTime(b))
	for i := range b.N {
		for j := range reqs {
			reqs[j] = frontier.Request{URL: urls[20*i+j], Depth: 1}
		}
		if _, err := m.Add(ctx, reqs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryAddSeen offers 20 URLs per op that were all seen before,
// the common case on a real site (navigation links on every page).
func BenchmarkMemoryAddSeen(b *testing.B) {
	ctx := context.Background()
	m := frontier.NewMemory(frontier.Options{})
	reqs := make([]frontier.Request, 20)
	for j, u := range pageURLs(20) {
		reqs[j] = frontier.Request{URL: u, Depth: 1}
	}
	if _, err := m.Add(ctx, reqs); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, cpuTime(b))
	for range b.N {
		if _, err := m.Add(ctx, reqs); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime returns the CPU time the process has used (user and system), all
// goroutines included: a measure of the work done that depends less on
// what else the machine runs than the wall time does.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per op since start (a cpuTime reading).
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}
