package redis_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/redis"
	"github.com/hivecrawl/crawl/frontier/redis/redistest"
)

// cycle pushes n URLs on hosts hosts through f in batches of batch: Add,
// then Lease and Complete (Done, no links) until drained, and returns the
// time it took. Runs of run consecutive URLs share a host, as the links
// of one page mostly do; run 1 spreads every batch over as many hosts as
// it has URLs, the worst case for the Redis scripts.
func cycle(ctx context.Context, f frontier.Frontier, first, n, hosts, run, batch int) (time.Duration, error) {
	start := time.Now()
	reqs := make([]frontier.Request, 0, batch)
	for i := first; i < first+n; i++ {
		h := (i / run) % hosts
		reqs = append(reqs, frontier.Request{URL: fmt.Sprintf("http://h%d.bench/page/%d", h, i), Depth: 1,
			Parent: fmt.Sprintf("http://h%d.bench/", h)})
		if len(reqs) == batch || i == first+n-1 {
			if _, err := f.Add(ctx, reqs); err != nil {
				return 0, err
			}
			reqs = reqs[:0]
		}
	}
	outs := make([]frontier.Outcome, 0, batch)
	for {
		ls, err := f.Lease(ctx, batch)
		if errors.Is(err, frontier.ErrDrained) {
			return time.Since(start), nil
		}
		if err != nil {
			return 0, err
		}
		outs = outs[:0]
		for _, l := range ls {
			outs = append(outs, frontier.Outcome{Lease: l, Status: frontier.Done})
		}
		if err := f.Complete(ctx, outs); err != nil {
			return 0, err
		}
	}
}

// BenchmarkFrontierOps measures URLs per second through Add, Lease and
// Complete (three operations per URL), batched, on the memory backend and
// on a local Redis in the same run, and reports their ratio. Each
// iteration moves urlsPerOp URLs through each backend. redis-ops/cpu-s
// divides by the CPU time the Redis server used, which does not depend on
// how busy the machine is: the rate one core running Redis sustains.
func BenchmarkFrontierOps(b *testing.B) {
	for _, run := range []int{1, 20} {
		b.Run(fmt.Sprintf("hostrun=%d", run), func(b *testing.B) { benchOps(b, run) })
	}
}

func benchOps(b *testing.B, run int) {
	const (
		urlsPerOp = 20_000
		hosts     = 2_000
		batch     = 500
	)
	srv := redistest.Start(b)
	ctx := context.Background()
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), DisableIdentity: true})
	defer c.Close()
	opts := frontier.Options{PerHostInFlight: 4}
	mem := frontier.NewMemory(opts)
	defer mem.Close()
	rf, err := redis.Open(ctx, srv.URL(0), "bench", redis.Options{Options: opts})
	if err != nil {
		b.Fatal(err)
	}
	defer rf.Close()
	var memTime, redisTime time.Duration
	var redisCPU float64
	i := 0
	for b.Loop() {
		d, err := cycle(ctx, mem, i*urlsPerOp, urlsPerOp, hosts, run, batch)
		if err != nil {
			b.Fatal(err)
		}
		memTime += d
		cpu0 := serverCPU(b, c)
		d, err = cycle(ctx, rf, i*urlsPerOp, urlsPerOp, hosts, run, batch)
		if err != nil {
			b.Fatal(err)
		}
		redisCPU += serverCPU(b, c) - cpu0
		redisTime += d
		i++
	}
	urls := float64(i * urlsPerOp)
	b.ReportMetric(urls/memTime.Seconds(), "memory-urls/s")
	b.ReportMetric(urls/redisTime.Seconds(), "redis-urls/s")
	b.ReportMetric(3*urls/redisTime.Seconds(), "redis-ops/s")
	b.ReportMetric(3*urls/redisCPU, "redis-ops/cpu-s")
	b.ReportMetric(redisTime.Seconds()/memTime.Seconds(), "redis/memory-time")
}

// serverCPU returns the CPU seconds the Redis server has used.
func serverCPU(b testing.TB, c *goredis.Client) float64 {
	info, err := c.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for _, line := range strings.Split(info, "\r\n") {
		for _, k := range []string{"used_cpu_sys:", "used_cpu_user:"} {
			if v, ok := strings.CutPrefix(line, k); ok {
				n, _ := strconv.ParseFloat(v, 64)
				sum += n
			}
		}
	}
	return sum
}

// BenchmarkMemoryPerURL measures the Redis memory a job uses per queued
// URL and per seen URL (after every URL is done, only the seen set and the
// hosts' state are left), from INFO's used_memory and, for the seen set
// alone, MEMORY USAGE of its buckets. It runs its workload once, whatever
// b.N.
func BenchmarkMemoryPerURL(b *testing.B) {
	const (
		urls  = 200_000
		hosts = 1_000
		batch = 1_000
	)
	srv := redistest.Start(b)
	ctx := context.Background()
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), DisableIdentity: true})
	defer c.Close()
	used := func() float64 {
		info, err := c.Info(ctx, "memory").Result()
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
				n, _ := strconv.ParseFloat(v, 64)
				return n
			}
		}
		b.Fatal("no used_memory in INFO")
		return 0
	}
	// sumUsage adds up MEMORY USAGE (exact: SAMPLES 0) of the keys
	// matching pattern, and counts those not encoded as a listpack.
	sumUsage := func(pattern string) (bytes float64, keys, big int) {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			n, err := c.MemoryUsage(ctx, iter.Val(), 0).Result()
			if err != nil {
				b.Fatal(err)
			}
			if enc, _ := c.ObjectEncoding(ctx, iter.Val()).Result(); enc != "listpack" {
				big++
			}
			bytes += float64(n)
			keys++
		}
		return bytes, keys, big
	}
	f, err := redis.Open(ctx, srv.URL(0), "mem", redis.Options{Options: frontier.Options{PerHostInFlight: -1}})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for b.Loop() {
		if used() > 0 && b.N > 1 {
			break // measured once; later iterations add nothing
		}
		base := used()
		reqs := make([]frontier.Request, 0, batch)
		for i := range urls {
			reqs = append(reqs, frontier.Request{URL: fmt.Sprintf("http://h%d.bench/page/%d", i%hosts, i), Depth: 1,
				Parent: fmt.Sprintf("http://h%d.bench/", i%hosts)})
			if len(reqs) == batch {
				if _, err := f.Add(ctx, reqs); err != nil {
					b.Fatal(err)
				}
				reqs = reqs[:0]
			}
		}
		queued := used()
		qBytes, _, _ := sumUsage("crawl:{mem}:q:*")
		for {
			ls, err := f.Lease(ctx, batch)
			if errors.Is(err, frontier.ErrDrained) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			outs := make([]frontier.Outcome, len(ls))
			for j, l := range ls {
				outs[j] = frontier.Outcome{Lease: l, Status: frontier.Done}
			}
			if err := f.Complete(ctx, outs); err != nil {
				b.Fatal(err)
			}
		}
		// Let the reply cache (two minutes) not count: drop it.
		iter := c.Scan(ctx, 0, "crawl:{mem}:t:*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		seen := used()
		sBytes, buckets, big := sumUsage("crawl:{mem}:s:*")
		b.ReportMetric((queued-base)/urls, "B/queued-url")
		b.ReportMetric(qBytes/urls, "B/queued-url(queues)")
		b.ReportMetric((seen-base)/urls, "B/seen-url")
		b.ReportMetric(sBytes/urls, "B/seen-url(buckets)")
		b.ReportMetric(float64(urls)/float64(buckets), "urls/bucket")
		b.ReportMetric(float64(big), "non-listpack-buckets")
	}
}
