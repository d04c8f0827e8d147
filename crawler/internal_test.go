package crawler

import (
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier"
)

// TestBuiltInFrontierKeepsLeases checks that the frontier New builds does
// not take a URL back from a worker that holds it for long, as one waiting
// on a slow Pages loop does: it would be fetched and recorded twice.
func TestBuiltInFrontierKeepsLeases(t *testing.T) {
	c, err := New(Config{Timeout: time.Second, Grace: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f := c.cfg.Frontier
	if _, err := f.Add(t.Context(), []frontier.Request{{URL: "http://a.test/"}}); err != nil {
		t.Fatal(err)
	}
	ls, err := f.Lease(t.Context(), 1)
	if err != nil || len(ls) != 1 {
		t.Fatalf("Lease = %v, %v", ls, err)
	}
	if left := time.Until(ls[0].Expires); left < 24*time.Hour {
		t.Errorf("a lease of the built-in frontier expires in %v; want a day or more, whatever Timeout and Grace", left)
	}
}
