package redis_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/redis"
	"github.com/hivecrawl/crawl/frontier/redis/redistest"
)

func TestPhases2(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), DisableIdentity: true})
	f, err := redis.Open(ctx, srv.URL(0), "ph", redis.Options{Options: frontier.Options{PerHostInFlight: 4}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stats := func() {
		s, _ := c.Info(ctx, "commandstats").Result()
		var keep []string
		for _, l := range strings.Split(s, "\r\n") {
			if strings.Contains(l, "usec=") {
				keep = append(keep, strings.Split(l, ",rej")[0])
			}
		}
		t.Log(strings.Join(keep, "\n"))
		c.ConfigResetStat(ctx)
	}
	c.ConfigResetStat(ctx)
	start := time.Now()
	for j := 0; j < 40; j++ {
		reqs := []frontier.Request{}
		for i := j * 500; i < (j+1)*500; i++ {
			reqs = append(reqs, frontier.Request{URL: fmt.Sprintf("http://h%d.bench/page/%d", (i/20)%2000, i)})
		}
		f.Add(ctx, reqs)
	}
	t.Logf("add 20000: %v", time.Since(start))
	stats()
	start = time.Now()
	var all []frontier.Lease
	for k := 0; k < 8; k++ {
		ls, err := f.Lease(ctx, 500)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ls...)
	}
	t.Logf("lease %d: %v", len(all), time.Since(start))
	stats()
	start = time.Now()
	for k := 0; k < len(all); k += 500 {
		outs := []frontier.Outcome{}
		for _, l := range all[k:min(k+500, len(all))] {
			outs = append(outs, frontier.Outcome{Lease: l})
		}
		if err := f.Complete(ctx, outs); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("complete %d: %v", len(all), time.Since(start))
	stats()
}
