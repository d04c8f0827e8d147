package disk

import (
	"bytes"
	"context"
	"flag"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier"
)

// The benchmarks run each backend under the same load, memory first as the
// baseline: report the disk figures as ratios to it. Callers run in
// parallel (benchParallelism goroutines per CPU), as a crawler's workers do,
// so that the disk backend's callers share commits.

const (
	benchHosts       = 1000
	benchParallelism = 16
)

type benchBackend struct {
	name string
	open func(b *testing.B, opts frontier.Options) frontier.Frontier
}

var benchBackends = []benchBackend{
	{"memory", func(b *testing.B, opts frontier.Options) frontier.Frontier { return frontier.NewMemory(opts) }},
	{"disk", func(b *testing.B, opts frontier.Options) frontier.Frontier {
		return openTest(b, b.TempDir(), Options{Options: opts})
	}},
}

// benchURL returns a distinct URL for (worker, n) on one of benchHosts hosts.
func benchURL(buf []byte, worker, n int) string {
	buf = append(buf[:0], "http://host"...)
	buf = strconv.AppendInt(buf, int64(n%benchHosts), 10)
	buf = append(buf, ".test/page/"...)
	buf = strconv.AppendInt(buf, int64(worker), 10)
	buf = append(buf, '-')
	buf = strconv.AppendInt(buf, int64(n), 10)
	return string(buf)
}

// BenchmarkAdd adds batches of 100 new URLs; one op is one batch.
func BenchmarkAdd(b *testing.B) {
	const batch = 100
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			f := be.open(b, frontier.Options{})
			defer f.Close()
			var workers atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(benchParallelism)
			start, cpu0 := time.Now(), cpuTime(b)
			b.RunParallel(func(pb *testing.PB) {
				w := int(workers.Add(1))
				reqs := make([]frontier.Request, batch)
				var buf []byte
				for n := 0; pb.Next(); {
					for i := range reqs {
						reqs[i] = frontier.Request{URL: benchURL(buf, w, n)}
						n++
					}
					if _, err := f.Add(context.Background(), reqs); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "adds/s")
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N*batch), "cpu-ns/add")
		})
	}
}

// BenchmarkLeaseComplete leases up to 10 requests and completes them Done;
// one op is one Lease and one Complete.
func BenchmarkLeaseComplete(b *testing.B) {
	const batch = 10
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			f := be.open(b, frontier.Options{PerHostInFlight: -1})
			defer f.Close()
			ctx := context.Background()
			var buf []byte
			reqs := make([]frontier.Request, 0, 1000)
			for n := 0; n < b.N*batch; n++ {
				reqs = append(reqs, frontier.Request{URL: benchURL(buf, 0, n)})
				if len(reqs) == cap(reqs) || n == b.N*batch-1 {
					if _, err := f.Add(ctx, reqs); err != nil {
						b.Fatal(err)
					}
					reqs = reqs[:0]
				}
			}
			b.ReportAllocs()
			b.SetParallelism(benchParallelism)
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime(b)
			var leased atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				outs := make([]frontier.Outcome, 0, batch)
				for pb.Next() {
					ls, err := f.Lease(ctx, batch)
					if err != nil {
						b.Error(err)
						return
					}
					outs = outs[:0]
					for _, l := range ls {
						outs = append(outs, frontier.Outcome{Lease: l, Status: frontier.Done})
					}
					if err := f.Complete(ctx, outs); err != nil {
						b.Error(err)
						return
					}
					leased.Add(int64(len(ls)))
				}
			})
			b.ReportMetric(float64(leased.Load())/time.Since(start).Seconds(), "leases/s")
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(leased.Load()), "cpu-ns/lease")
		})
	}
}

// BenchmarkFiveMillion adds 5,000,000 URLs over 1,000 hosts, in batches of
// 100 from 32 goroutines, and reports adds/s and the process's peak RSS
// (VmHWM, reset before each backend). It runs only when -bench names it:
//
//	go test -run '^$' -bench FiveMillion -benchtime 1x ./frontier/disk/
func BenchmarkFiveMillion(b *testing.B) {
	if f := flag.Lookup("test.bench"); f == nil || !strings.Contains(f.Value.String(), "FiveMillion") {
		b.Skip("run with -bench FiveMillion")
	}
	const (
		total   = 5_000_000
		batch   = 100
		workers = 32
	)
	// Disk first: the memory backend's peak would hide it otherwise, and
	// its garbage is returned to the OS before the reset.
	for _, be := range []benchBackend{benchBackends[1], benchBackends[0]} {
		b.Run(be.name, func(b *testing.B) {
			for b.Loop() {
				runtime.GC()
				debug.FreeOSMemory()
				if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
					b.Logf("cannot reset the peak RSS: %v", err)
				}
				f := be.open(b, frontier.Options{})
				var next atomic.Int64
				var wg sync.WaitGroup
				start, cpu0 := time.Now(), cpuTime(b)
				for w := range workers {
					wg.Go(func() {
						reqs := make([]frontier.Request, batch)
						var buf []byte
						for {
							first := int(next.Add(batch)) - batch
							if first >= total {
								return
							}
							for i := range reqs {
								reqs[i] = frontier.Request{URL: benchURL(buf, w, first+i)}
							}
							if _, err := f.Add(context.Background(), reqs); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				elapsed := time.Since(start)
				s, err := f.Stats(context.Background())
				if err != nil || s.Queued != total {
					b.Errorf("Stats = %+v, %v; want %d queued", s, err, total)
				}
				b.ReportMetric(float64(total)/elapsed.Seconds(), "adds/s")
				b.ReportMetric(float64(cpuTime(b)-cpu0)/total, "cpu-ns/add")
				b.ReportMetric(float64(peakRSS(b))/(1<<20), "peak-RSS-MB")
				if d, ok := f.(*Disk); ok {
					// Reopening reads the seen set into the filter.
					if err := d.Close(); err != nil {
						b.Fatal(err)
					}
					start := time.Now()
					f = openTest(b, d.dir, Options{})
					b.ReportMetric(time.Since(start).Seconds(), "reopen-s")
				}
				if err := f.Close(); err != nil {
					b.Error(err)
				}
			}
		})
	}
}

// cpuTime returns the CPU time the process has used (user and system), all
// goroutines included: a measure of the work done that does not depend on
// what else the machine runs, as throughput does.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS returns the process's peak resident set size in bytes.
func peakRSS(b *testing.B) int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range bytes.Lines(status) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}
