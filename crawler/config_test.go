package crawler_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/frontier"
)

func TestConfigValidateRate(t *testing.T) {
	tests := []struct {
		rate float64
		ok   bool
	}{
		{0, true},  // unlimited
		{-1, true}, // unlimited too
		{5, true},
		{crawler.MinRate, true},
		{crawler.MinRate / 2, false}, // a delay longer than a day
		{1e-300, false},              // would overflow the delay
		{math.NaN(), false},
		{math.Inf(1), false},
		{math.Inf(-1), false},
	}
	for _, tt := range tests {
		cfg := crawler.Config{Rate: tt.rate}
		err := cfg.Validate()
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, crawler.ErrConfig)) {
			t.Errorf("Rate %g: Validate() = %v; want ok %v", tt.rate, err, tt.ok)
		}
		if err == nil && cfg.HostDelay() < 0 {
			t.Errorf("Rate %g: HostDelay() = %v", tt.rate, cfg.HostDelay())
		}
	}
}

func TestConfigValidateNamesTheField(t *testing.T) {
	tests := []struct {
		cfg   crawler.Config
		field string
	}{
		{crawler.Config{Concurrency: -1}, "concurrency"},
		{crawler.Config{Concurrency: crawler.MaxConcurrency + 1}, "concurrency"},
		{crawler.Config{PerHost: -2}, "per-host"},
		{crawler.Config{MaxPagesPerHost: -1}, "max-pages-per-host"},
		{crawler.Config{Grace: -time.Second}, "grace"},
		{crawler.Config{MaxBodyBytes: -1}, "max-body"},
		{crawler.Config{MaxLinks: -1}, "max-links"},
		{crawler.Config{Scope: "planet"}, "scope"},
		{crawler.Config{Header: http.Header{"No Space": {"x"}}}, "header"},
		{crawler.Config{SecretHeaders: []string{"a:b"}}, "secret-header"},
		{crawler.Config{AuthHosts: []string{"ftp://example.com"}}, "auth-host"},
		{crawler.Config{AuthHosts: []string{"example.com/path"}}, "auth-host"},
		{crawler.Config{AuthHosts: []string{"example.com:port"}}, "auth-host"},
		{crawler.Config{BasicAuth: url.UserPassword("", "pw")}, "auth"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		var ce *crawler.ConfigError
		if !errors.As(err, &ce) || ce.Field != tt.field || !errors.Is(err, crawler.ErrConfig) {
			t.Errorf("%+v: Validate() = %v; want a *ConfigError for %q wrapping ErrConfig", tt.cfg, err, tt.field)
		}
	}
	cfg := crawler.DefaultConfig()
	cfg.Concurrency = crawler.MaxConcurrency
	if err := cfg.Validate(); err != nil {
		t.Errorf("MaxConcurrency workers: %v", err)
	}
}

// TestDefaultConfig checks that DefaultConfig holds the command line's
// defaults, and that each of them differs from the field's zero value
// where the zero value means something else.
func TestDefaultConfig(t *testing.T) {
	d := crawler.DefaultConfig()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.Concurrency != 16 || d.PerHost != 2 || d.Rate != 5 || d.Retries != 2 || d.Grace != 10*time.Second ||
		d.MaxLinks != 1000 || d.Timeout != 30*time.Second || d.MaxBodyBytes != 10<<20 || d.Scope != crawler.ScopeHost ||
		d.UserAgent != crawler.DefaultUserAgent || d.Normalizer.MaxLength != 2048 {
		t.Errorf("DefaultConfig() = %+v", d)
	}
	if got := d.HostDelay(); got != 200*time.Millisecond {
		t.Errorf("DefaultConfig().HostDelay() = %v, want 200ms", got)
	}
	if got := (crawler.Config{}).HostDelay(); got != 0 {
		t.Errorf("Config{}.HostDelay() = %v: a zero Rate is unlimited, as --rate 0 is", got)
	}
}

// TestHostDelayNeverExceedsRate checks that the delay is rounded up: r+1
// leases exactly HostDelay apart span at least a second, so a host never
// gets more than Rate requests in any second.
func TestHostDelayNeverExceedsRate(t *testing.T) {
	for _, rate := range []float64{3, 7, 0.3, 1000, 999_999} {
		d := crawler.Config{Rate: rate}.HostDelay()
		if n := int64(rate); n >= 1 && time.Duration(n)*d < time.Second {
			t.Errorf("Rate %g: HostDelay %v lets %d requests start within %v", rate, d, n+1, time.Duration(n)*d)
		}
		if float64(time.Second)/float64(d) > rate {
			t.Errorf("Rate %g: HostDelay %v is %g requests/s", rate, d, float64(time.Second)/float64(d))
		}
	}
}

func TestFrontierOptions(t *testing.T) {
	d := crawler.DefaultConfig()
	o := d.FrontierOptions()
	if o.PerHostInFlight != 2 || o.Strict || o.LeaseTTL != d.LeaseTTL() {
		t.Errorf("FrontierOptions() = %+v", o)
	}
	if bf, ok := o.Scheduler.(frontier.BreadthFirst); !ok || bf.Delay != 200*time.Millisecond {
		t.Errorf("scheduler %#v: want breadth first, 200ms apart", o.Scheduler)
	}
	d.MaxDepth, d.Scheduler = 3, frontier.DepthFirst{}
	if o := d.FrontierOptions(); !o.Strict || o.Scheduler != (frontier.DepthFirst{}) {
		t.Errorf("with MaxDepth and a scheduler: %+v", o)
	}
}

// TestZeroMeansNone crawls with the zero Retries and MaxLinks, which mean
// none and no cap, as --retries 0 and --max-links 0 do (they meant 2
// retries and 1,000 links before DefaultConfig).
func TestZeroMeansNone(t *testing.T) {
	const links = 1500
	var errorHits atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		var b strings.Builder
		b.WriteString("<html><body>")
		for i := range links {
			fmt.Fprintf(&b, `<a href="/p/%d">%d</a>`, i, i)
		}
		b.WriteString(`<a href="/error">e</a></body></html>`)
		w.Write([]byte(b.String()))
	})
	mux.HandleFunc("/error", func(w http.ResponseWriter, r *http.Request) {
		errorHits.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/p/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var seed atomic.Pointer[crawler.Result]
	c, err := crawler.New(crawler.Config{
		Concurrency: 4, PerHost: 4, IgnoreRobots: true, MaxPagesPerHost: 1, RetryBackoff: time.Millisecond,
		Handler: crawler.HandlerFunc(func(_ context.Context, p *crawler.Page) error {
			if p.Result.Depth == 0 {
				r := *p.Result
				seed.Store(&r)
			}
			return nil
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(t.Context(), srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	if r := seed.Load(); r == nil || r.Links != links+1 || r.LinksTruncated {
		t.Errorf("seed record %+v: want all %d links, not truncated", r, links+1)
	}

	c, err = crawler.New(crawler.Config{Concurrency: 1, IgnoreRobots: true, RetryBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(t.Context(), srv.URL+"/error"); err != nil {
		t.Fatal(err)
	}
	if n := errorHits.Load(); n != 1 {
		t.Errorf("/error requested %d times with Retries 0; want once", n)
	}
}
