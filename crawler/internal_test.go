package crawler

import (
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier"
)

// TestBuiltInFrontierLeaseTime checks that the frontier New builds gives
// the ordinary lease time (Config.LeaseTTL), not a week: a worker held up
// by a slow Pages loop or Handler keeps its URL because the run renews its
// lease (TestPagesSlowerThanLeaseTime), and a lease that nobody renews
// comes back in ordinary time.
func TestBuiltInFrontierLeaseTime(t *testing.T) {
	c, err := New(Config{Timeout: time.Second, Grace: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f := c.cfg.Frontier
	if _, err := f.Add(t.Context(), []frontier.Request{{URL: "http://a.test/"}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ls, err := f.Lease(t.Context(), 1)
	if err != nil || len(ls) != 1 {
		t.Fatalf("Lease = %v, %v", ls, err)
	}
	if ttl, want := ls[0].Expires.Sub(start), c.cfg.LeaseTTL(); ttl < want || ttl > want+time.Minute {
		t.Errorf("a lease of the built-in frontier lasts %v; want Config.LeaseTTL() = %v", ttl, want)
	}
	if err := f.Renew(t.Context(), ls); err != nil {
		t.Errorf("Renew(a lease of the built-in frontier): %v", err)
	}
}
