package crawler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/output"
	"github.com/hivecrawl/crawl/robots"
	"github.com/hivecrawl/crawl/testsite"
	"github.com/hivecrawl/crawl/urlnorm"
)

// Each test here crawls one case of the hostile server from its entry page
// and asserts on both sides: what the server was asked for, how often and
// when, and what the crawler recorded.

const (
	onMain   = testsite.HostileMain
	onOther  = testsite.HostileOther
	onSilent = testsite.HostileSilent
)

// startHostile serves a fresh hostile server until the test ends.
func startHostile(t *testing.T, opts testsite.HostileOptions) (*testsite.Hostile, testsite.HostileURLs) {
	t.Helper()
	h := testsite.NewHostile(opts)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	urls, err := testsite.ServeHostile(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	return h, urls
}

// hostileConfig is what the hostile tests start from: no rate limit, fast
// retries, short timeouts, a 1 MiB body cap.
func hostileConfig() crawler.Config {
	return crawler.Config{
		Concurrency:  4,
		PerHost:      2,
		Rate:         -1,
		Timeout:      2 * time.Second,
		Retries:      2,
		RetryBackoff: 20 * time.Millisecond,
		MaxBodyBytes: 1 << 20,
		Grace:        time.Second,
	}
}

// crawlResult is a finished crawl: its records by URL, in JSON lines as
// the record writer wrote them, and its summary.
type crawlResult struct {
	recs    map[string]crawler.Result
	raw     []byte
	sum     crawler.Summary
	elapsed time.Duration
}

// crawlHostile crawls seeds with cfg, failing the test if the crawl does
// not end within limit or writes two records for one URL.
func crawlHostile(t *testing.T, h *testsite.Hostile, cfg crawler.Config, limit time.Duration, seeds ...string) crawlResult {
	t.Helper()
	var out bytes.Buffer
	cfg.Handler = output.NewJSONLines(&out)
	c, err := crawler.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	start := time.Now()
	sum, err := c.Run(ctx, seeds...)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("Run: %v after %v", err, elapsed)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	if err := h.WaitIdle(wctx); err != nil {
		t.Fatalf("hostile server still busy after the crawl: %v", err)
	}
	res := crawlResult{recs: map[string]crawler.Result{}, raw: out.Bytes(), sum: sum, elapsed: elapsed}
	dec := json.NewDecoder(bytes.NewReader(out.Bytes()))
	for dec.More() {
		var r crawler.Result
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("output is not JSON lines: %v", err)
		}
		if _, dup := res.recs[r.URL]; dup {
			t.Errorf("two records for %s", r.URL)
		}
		if r.Error != "" && !slices.Contains(fetch.Classes(), r.Error) {
			t.Errorf("%s recorded with class %q, not one of fetch.Classes", r.URL, r.Error)
		}
		res.recs[r.URL] = r
	}
	return res
}

// rec returns the record of url, failing the test if there is none.
func (c crawlResult) rec(t *testing.T, url string) crawler.Result {
	t.Helper()
	r, ok := c.recs[url]
	if !ok {
		var have []string
		for u := range c.recs {
			have = append(have, u)
		}
		t.Fatalf("no record for %s; have %q", url, have)
	}
	return r
}

// wantRecord checks a record's error class, status and attempts.
func wantRecord(t *testing.T, r crawler.Result, class string, status, attempts int) {
	t.Helper()
	if r.Error != class || r.Status != status || r.Attempts != attempts {
		t.Errorf("%s: error %q status %d attempts %d (%s), want %q, %d, %d",
			r.URL, r.Error, r.Status, r.Attempts, r.Detail, class, status, attempts)
	}
}

// wantCount checks how often host was asked for path.
func wantCount(t *testing.T, h *testsite.Hostile, host, path string, want int) {
	t.Helper()
	if got := h.Count(host, path); got != want {
		t.Errorf("%s %s requested %d times, want %d", host, path, got, want)
	}
}

// wantNever checks that nothing under /t/never/ or /private/ was requested,
// on either host: links a crawler must not follow lead there.
func wantNever(t *testing.T, h *testsite.Hostile) {
	t.Helper()
	for _, host := range []string{onMain, onOther} {
		for _, prefix := range []string{"/t/never/", "/private/"} {
			if n := h.CountPrefix(host, prefix); n != 0 {
				t.Errorf("%s: %d requests under %s: %v", host, n, prefix, h.Paths(host))
			}
		}
	}
}

// pages returns the paths host was asked for, robots.txt left out.
func pages(h *testsite.Hostile, host string) map[string]int {
	p := h.Paths(host)
	delete(p, "/robots.txt")
	return p
}

// --- Traps ---

func TestHostileCalendarTrap(t *testing.T) {
	t.Run("max-depth", func(t *testing.T) {
		h, u := startHostile(t, testsite.HostileOptions{})
		cfg := hostileConfig()
		cfg.MaxDepth = 4
		res := crawlHostile(t, h, cfg, 10*time.Second, u.Main+"/trap/calendar/2024-01")
		// Two new months per level: 2023-09 … 2024-05, each once.
		for m := time.Date(2023, 9, 1, 0, 0, 0, 0, time.UTC); !m.After(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)); m = m.AddDate(0, 1, 0) {
			wantCount(t, h, onMain, "/trap/calendar/"+m.Format("2006-01"), 1)
		}
		if n := h.CountPrefix(onMain, "/trap/calendar/"); n != 9 {
			t.Errorf("%d calendar requests, want 9", n)
		}
		if len(res.recs) != 9 {
			t.Errorf("%d records, want 9", len(res.recs))
		}
	})
	t.Run("max-pages-per-host", func(t *testing.T) {
		h, u := startHostile(t, testsite.HostileOptions{})
		cfg := hostileConfig()
		cfg.MaxPagesPerHost = 25
		res := crawlHostile(t, h, cfg, 10*time.Second, u.Main+"/trap/calendar/2024-01")
		if n := h.CountPrefix(onMain, "/trap/calendar/"); n != 25 {
			t.Errorf("%d calendar requests, want exactly the budget of 25", n)
		}
		if len(res.recs) != 25 {
			t.Errorf("%d records, want 25", len(res.recs))
		}
	})
}

func TestHostileSessionIDTrap(t *testing.T) {
	t.Run("strip-param", func(t *testing.T) {
		h, u := startHostile(t, testsite.HostileOptions{})
		cfg := hostileConfig()
		cfg.Normalizer = urlnorm.Normalizer{StripParams: []string{"sid", "utm_*"}}
		res := crawlHostile(t, h, cfg, 10*time.Second, u.Main+"/trap/session?sid=1")
		wantCount(t, h, onMain, "/trap/session", 1)
		for _, r := range h.RequestsFor(onMain, "/trap/session") {
			if r.RawQuery != "" {
				t.Errorf("requested with query %q: the session id was not stripped", r.RawQuery)
			}
		}
		wantRecord(t, res.rec(t, u.Main+"/trap/session"), "", 200, 1)
	})
	t.Run("without it the page budget ends it", func(t *testing.T) {
		h, u := startHostile(t, testsite.HostileOptions{})
		cfg := hostileConfig()
		cfg.MaxPagesPerHost = 30
		crawlHostile(t, h, cfg, 10*time.Second, u.Main+"/trap/session?sid=1")
		if n := h.Count(onMain, "/trap/session"); n != 30 {
			t.Errorf("%d session variants fetched, want the budget of 30", n)
		}
	})
}

func TestHostileDeepPathTrap(t *testing.T) {
	t.Run("max-depth", func(t *testing.T) {
		h, u := startHostile(t, testsite.HostileOptions{})
		cfg := hostileConfig()
		cfg.MaxDepth = 6
		crawlHostile(t, h, cfg, 10*time.Second, u.Main+"/trap/deep/")
		path := "/trap/deep/"
		for range 7 {
			wantCount(t, h, onMain, path, 1)
			path += "a/"
		}
		if n := h.CountPrefix(onMain, "/trap/deep/"); n != 7 {
			t.Errorf("%d requests, want 7 (depth 0 to 6)", n)
		}
	})
	t.Run("url length cap", func(t *testing.T) {
		h, u := startHostile(t, testsite.HostileOptions{})
		cfg := hostileConfig()
		cfg.Normalizer = urlnorm.Normalizer{MaxLength: 120}
		crawlHostile(t, h, cfg, 10*time.Second, u.Main+"/trap/deep/")
		want := 0
		for path := "/trap/deep/"; len(u.Main+path) <= 120; path += "a/" {
			want++
		}
		if n := h.CountPrefix(onMain, "/trap/deep/"); n != want {
			t.Errorf("%d requests, want %d (every URL up to 120 bytes)", n, want)
		}
		for p := range pages(h, onMain) {
			if len(u.Main+p) > 120 {
				t.Errorf("requested %d-byte URL", len(u.Main+p))
			}
		}
	})
}

func TestHostileLinkFarm(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	cfg := hostileConfig()
	cfg.MaxLinks = 100
	cfg.MaxBodyBytes = 8 << 20 // the farm page is about 2.5 MB
	res := crawlHostile(t, h, cfg, 20*time.Second, u.Main+"/trap/farm")
	r := res.rec(t, u.Main+"/trap/farm")
	wantRecord(t, r, "", 200, 1)
	if r.Links != 100_000 || !r.LinksTruncated {
		t.Errorf("links %d, truncated %v: want 100000 found and the cap recorded", r.Links, r.LinksTruncated)
	}
	if !bytes.Contains(res.raw, []byte(`"links_truncated":true`)) {
		t.Error("no links_truncated field in the JSON output")
	}
	if n := h.CountPrefix(onMain, "/trap/farm/"); n != 100 {
		t.Errorf("%d farm pages fetched, want the cap of 100", n)
	}
	for i := range 100 {
		if h.Count(onMain, "/trap/farm/"+strconv.Itoa(i)) != 1 {
			t.Errorf("farm page %d (among the first 100 links) not fetched once", i)
		}
	}
}

func TestHostileLongURLs(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/trap/long", u.Main+"/trap/grow/x")
	if n := h.CountPrefix(onMain, "/t/long-ok/"); n != 1 {
		t.Errorf("the 1,500-byte link was requested %d times, want 1", n)
	}
	wantNever(t, h) // the 2,100 and 100,000-byte links
	want := 0
	for seg := "x"; len(u.Main+"/trap/grow/"+seg) <= urlnorm.DefaultMaxLength; seg += seg {
		want++
	}
	if n := h.CountPrefix(onMain, "/trap/grow/"); n != want {
		t.Errorf("%d growing URLs fetched, want %d (all up to %d bytes)", n, want, urlnorm.DefaultMaxLength)
	}
	for _, r := range h.Requests() {
		if len(u.Main+r.URI) > urlnorm.DefaultMaxLength {
			t.Errorf("requested a %d-byte URL", len(u.Main+r.URI))
		}
	}
}

// --- Redirects ---

func TestHostileRedirectLoop(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	res := crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/redirect/loop-a")
	wantRecord(t, res.rec(t, u.Main+"/redirect/loop-a"), fetch.ClassRedirectLimit, 0, 1)
	// The first request and ten redirects followed; never retried.
	a, b := h.Count(onMain, "/redirect/loop-a"), h.Count(onMain, "/redirect/loop-b")
	if a != 6 || b != 5 {
		t.Errorf("loop-a %d, loop-b %d requests, want 6 and 5", a, b)
	}
}

func TestHostileRedirectChain(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	res := crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/redirect/chain/15")
	wantRecord(t, res.rec(t, u.Main+"/redirect/chain/15"), fetch.ClassRedirectLimit, 0, 1)
	for n := 15; n >= 0; n-- {
		want := 0
		if n >= 5 {
			want = 1 // 15 … 5: the first request and ten hops
		}
		wantCount(t, h, onMain, "/redirect/chain/"+strconv.Itoa(n), want)
	}
}

func TestHostileRedirectToOtherHost(t *testing.T) {
	t.Run("out of scope", func(t *testing.T) {
		h, u := startHostile(t, testsite.HostileOptions{})
		res := crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/redirect/other")
		wantRecord(t, res.rec(t, u.Main+"/redirect/other"), crawler.ClassOutOfScope, 0, 1)
		if p := h.Paths(onOther); len(p) != 0 {
			t.Errorf("other host was asked for %v", p)
		}
	})
	// A redirect to another host in scope is not followed inline: the
	// record carries the redirect, and the target is a request of its own,
	// under the other host's lease, robots.txt and politeness.
	t.Run("in scope, robots.txt disallows the target", func(t *testing.T) {
		h, u := startHostile(t, testsite.HostileOptions{})
		cfg := hostileConfig()
		cfg.Scope = crawler.ScopeAny
		res := crawlHostile(t, h, cfg, 10*time.Second, u.Main+"/redirect/other-private")
		wantRedirect(t, res.rec(t, u.Main+"/redirect/other-private"), u.Other+"/private/landing")
		target := res.rec(t, u.Other+"/private/landing")
		wantRecord(t, target, crawler.ClassRobots, 0, 1)
		wantParent(t, target, u.Main+"/redirect/other-private", 0)
		wantCount(t, h, onOther, "/robots.txt", 1)
		wantNever(t, h)
	})
	t.Run("same host, robots.txt disallows the target", func(t *testing.T) {
		h, u := startHostile(t, testsite.HostileOptions{})
		res := crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/redirect/private")
		wantRecord(t, res.rec(t, u.Main+"/redirect/private"), crawler.ClassRobots, 0, 1)
		wantNever(t, h)
	})
	t.Run("in scope and allowed", func(t *testing.T) {
		h, u := startHostile(t, testsite.HostileOptions{})
		cfg := hostileConfig()
		cfg.Scope = crawler.ScopeAny
		res := crawlHostile(t, h, cfg, 10*time.Second, u.Main+"/redirect/other")
		r := res.rec(t, u.Main+"/redirect/other")
		wantRedirect(t, r, u.Other+"/t/landing")
		if r.FinalURL != u.Main+"/redirect/other" {
			t.Errorf("final URL %q, want the redirect's own %q", r.FinalURL, u.Main+"/redirect/other")
		}
		target := res.rec(t, u.Other+"/t/landing")
		wantRecord(t, target, "", 200, 1)
		wantParent(t, target, u.Main+"/redirect/other", 0)
		wantCount(t, h, onOther, "/t/landing", 1)
	})
}

// wantRedirect checks the record of a redirect to another host: a 3xx
// status, no error, and its target.
func wantRedirect(t *testing.T, r crawler.Result, target string) {
	t.Helper()
	if r.Error != "" || r.Status < 300 || r.Status > 399 || r.RedirectTo != target {
		t.Errorf("%s: error %q status %d redirect %q, want a 3xx redirect to %s (%s)", r.URL, r.Error, r.Status, r.RedirectTo, target, r.Detail)
	}
}

// wantParent checks where a record's request came from.
func wantParent(t *testing.T, r crawler.Result, parent string, depth int) {
	t.Helper()
	if r.Parent != parent || r.Depth != depth {
		t.Errorf("%s: parent %q depth %d, want %q and %d", r.URL, r.Parent, r.Depth, parent, depth)
	}
}

func TestHostileRedirectToNonHTTP(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	res := crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/redirect/ftp", u.Main+"/redirect/javascript")
	for _, p := range []string{"/redirect/ftp", "/redirect/javascript"} {
		wantRecord(t, res.rec(t, u.Main+p), fetch.ClassBadRedirect, 0, 1)
		wantCount(t, h, onMain, p, 1)
	}
}

// --- Bodies ---

func TestHostileBigBodies(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	cfg := hostileConfig()
	res := crawlHostile(t, h, cfg, 20*time.Second, u.Main+"/body/big", u.Main+"/body/big-chunked")
	for _, p := range []string{"/body/big", "/body/big-chunked"} {
		r := res.rec(t, u.Main+p)
		wantRecord(t, r, fetch.ClassTooLarge, 200, 1)
		if r.Bytes != cfg.MaxBodyBytes || r.Links != 0 {
			t.Errorf("%s: %d bytes, %d links: want the cap, %d, and no parsing", p, r.Bytes, r.Links, cfg.MaxBodyBytes)
		}
		reqs := h.RequestsFor(onMain, p)
		if len(reqs) != 1 {
			t.Fatalf("%s requested %d times, want 1", p, len(reqs))
		}
		// The crawler hung up: the server could write little beyond the
		// cap (what socket buffers hold), far from the 50 MB.
		if s := reqs[0]; !s.Aborted || s.Bytes > 16<<20 {
			t.Errorf("%s: server wrote %d bytes, aborted %v: the crawler read on", p, s.Bytes, s.Aborted)
		}
	}
	wantNever(t, h)
}

func TestHostileGzipBomb(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	cfg := hostileConfig()
	res := crawlHostile(t, h, cfg, 20*time.Second, u.Main+"/body/gzip-bomb")
	r := res.rec(t, u.Main+"/body/gzip-bomb")
	wantRecord(t, r, fetch.ClassTooLarge, 200, 1)
	if r.Bytes != cfg.MaxBodyBytes {
		t.Errorf("%d decompressed bytes kept, want the cap %d", r.Bytes, cfg.MaxBodyBytes)
	}
	wantCount(t, h, onMain, "/body/gzip-bomb", 1)
}

func TestHostileDrip(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{DripEvery: 40 * time.Millisecond})
	cfg := hostileConfig()
	cfg.Timeout = 300 * time.Millisecond
	res := crawlHostile(t, h, cfg, 10*time.Second, u.Main+"/body/drip")
	wantRecord(t, res.rec(t, u.Main+"/body/drip"), fetch.ClassTimeout, 0, 3)
	reqs := h.RequestsFor(onMain, "/body/drip")
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 (two retries)", len(reqs))
	}
	for _, r := range reqs {
		// A byte every 40ms would keep a per-read deadline happy; the
		// whole-request timeout cut each attempt at 300ms.
		if d := r.End.Sub(r.Start); !r.Aborted || r.Bytes < 3 || d > 800*time.Millisecond {
			t.Errorf("attempt ran %v, %d bytes, aborted %v: want cut at the 300ms timeout after several bytes", d, r.Bytes, r.Aborted)
		}
	}
	if res.elapsed > 3*time.Second {
		t.Errorf("crawl took %v", res.elapsed)
	}
}

func TestHostileNeverAnswers(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	cfg := hostileConfig()
	cfg.Timeout = 300 * time.Millisecond
	cfg.IgnoreRobots = true
	res := crawlHostile(t, h, cfg, 10*time.Second, u.Silent+"/")
	wantRecord(t, res.rec(t, u.Silent+"/"), fetch.ClassTimeout, 0, 3)
	if n := h.Count(onSilent, ""); n != 3 {
		t.Errorf("%d connections accepted, want 3 (two retries)", n)
	}
	if res.elapsed > 3*time.Second {
		t.Errorf("crawl took %v", res.elapsed)
	}
	if res.sum.Failed != 1 {
		t.Errorf("summary %+v, want 1 failed", res.sum)
	}
}

func TestHostileBrokenBodies(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	res := crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/body/reset", u.Main+"/body/short")
	for _, p := range []string{"/body/reset", "/body/short"} {
		wantRecord(t, res.rec(t, u.Main+p), fetch.ClassReset, 0, 3)
		reqs := h.RequestsFor(onMain, p)
		if len(reqs) != 3 {
			t.Fatalf("%s: %d requests, want 3 (two retries)", p, len(reqs))
		}
		wantBackoff(t, reqs, 20*time.Millisecond)
	}
}

// --- Status ---

// wantBackoff checks that each retry started at least half the doubled
// backoff (the jitter's low end) after the previous attempt ended.
func wantBackoff(t *testing.T, reqs []testsite.HostileRequest, backoff time.Duration) {
	t.Helper()
	for i := 1; i < len(reqs); i++ {
		least := (backoff << (i - 1)) / 2
		if gap := reqs[i].Start.Sub(reqs[i-1].End); gap < least {
			t.Errorf("retry %d came %v after the previous attempt, want at least %v", i, gap, least)
		}
	}
}

func TestHostile429RetryAfter(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{RetryAfter: time.Second})
	cfg := hostileConfig()
	cfg.PerHost = 1
	seeds := []string{u.Main + "/status/429"}
	for _, s := range []string{"a", "b", "c", "d"} {
		seeds = append(seeds, u.Main+"/t/"+s)
	}
	res := crawlHostile(t, h, cfg, 10*time.Second, seeds...)
	wantRecord(t, res.rec(t, u.Main+"/status/429"), "", 200, 2)
	reqs := h.RequestsFor(onMain, "/status/429")
	if len(reqs) != 2 || reqs[0].Status != http.StatusTooManyRequests {
		t.Fatalf("server records %+v: want a 429, then one retry", reqs)
	}
	quietUntil := reqs[0].End.Add(time.Second)
	if reqs[1].Start.Before(quietUntil) {
		t.Errorf("retried %v after the 429, before its Retry-After of 1s", reqs[1].Start.Sub(reqs[0].End))
	}
	// The whole host waits: nothing else was asked for meanwhile.
	for _, r := range h.Requests() {
		if r.Start.After(reqs[0].End) && r.Start.Before(quietUntil) {
			t.Errorf("%s requested %v after the 429, within its Retry-After", r.Path, r.Start.Sub(reqs[0].End))
		}
	}
	for _, s := range []string{"a", "b", "c", "d"} {
		wantCount(t, h, onMain, "/t/"+s, 1)
	}
}

func TestHostile503ThenOK(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	res := crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/status/503")
	wantRecord(t, res.rec(t, u.Main+"/status/503"), "", 200, 3)
	reqs := h.RequestsFor(onMain, "/status/503")
	if len(reqs) != 3 || reqs[0].Status != 503 || reqs[1].Status != 503 || reqs[2].Status != 200 {
		t.Fatalf("server records %+v: want 503, 503, 200", reqs)
	}
	wantBackoff(t, reqs, 20*time.Millisecond)
}

func TestHostile500Always(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	cfg := hostileConfig()
	cfg.RetryBackoff = 50 * time.Millisecond
	res := crawlHostile(t, h, cfg, 10*time.Second, u.Main+"/status/500")
	wantRecord(t, res.rec(t, u.Main+"/status/500"), crawler.ClassHTTP5xx, 500, 3)
	reqs := h.RequestsFor(onMain, "/status/500")
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3: one and two retries", len(reqs))
	}
	wantBackoff(t, reqs, 50*time.Millisecond)
}

// TestHostileRetriesWithinBudget checks that a retry is not counted
// against the host's page budget again, so the URL reaches its record.
func TestHostileRetriesWithinBudget(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	cfg := hostileConfig()
	cfg.MaxPagesPerHost = 1
	res := crawlHostile(t, h, cfg, 10*time.Second, u.Main+"/status/503")
	wantRecord(t, res.rec(t, u.Main+"/status/503"), "", 200, 3)
	wantCount(t, h, onMain, "/status/503", 3)
}

func TestHostile404(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	res := crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/status/404")
	wantRecord(t, res.rec(t, u.Main+"/status/404"), crawler.ClassHTTP4xx, 404, 1)
	wantCount(t, h, onMain, "/status/404", 1)
}

// --- Content ---

func TestHostileMalformedHTML(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	res := crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/content/malformed")
	r := res.rec(t, u.Main+"/content/malformed")
	wantRecord(t, r, "", 200, 1)
	if r.Title != "Malformed <b>page" {
		t.Errorf("title %q", r.Title)
	}
	for i := 1; i <= 4; i++ {
		wantCount(t, h, onMain, "/t/malformed-"+strconv.Itoa(i), 1)
	}
	wantNever(t, h)
}

func TestHostileBaseHref(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/content/base/")
	wantCount(t, h, onMain, "/t/based/target", 1)
	wantCount(t, h, onMain, "/t/based-up", 1)
	if got := pages(h, onMain); len(got) != 3 {
		t.Errorf("requested %v, want the page and its two links", got)
	}
}

func TestHostileWhitespaceInHref(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/content/whitespace")
	for _, p := range []string{"/t/ws-1", "/t/ws-2", "/t/ws-3", "/t/ws-4 with space", "/t/ws-5"} {
		wantCount(t, h, onMain, p, 1)
	}
	for _, r := range h.Requests() {
		if strings.ContainsAny(r.URI, " \t\n") || strings.Contains(r.URI, "%0A") || strings.Contains(r.URI, "%09") || strings.HasPrefix(r.URI, "/%20") {
			t.Errorf("requested %q", r.URI)
		}
	}
}

func TestHostileNonHTTPSchemes(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	res := crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/content/schemes")
	if r := res.rec(t, u.Main+"/content/schemes"); r.Links != 1 {
		t.Errorf("%d links found, want 1: javascript:, mailto:, tel:, data:, file: and ftp: are not links to crawl", r.Links)
	}
	if got := pages(h, onMain); len(got) != 2 || got["/t/schemes-ok"] != 1 {
		t.Errorf("requested %v, want the page and /t/schemes-ok", got)
	}
	wantNever(t, h)
}

func TestHostileProtocolRelative(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/content/protocol-relative")
	wantCount(t, h, onMain, "/t/protorel", 1)
	if p := h.Paths(onOther); len(p) != 0 {
		t.Errorf("the other host (out of scope) was asked for %v", p)
	}
}

func TestHostileDotDotBeyondRoot(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/content/dotdot/a/b/")
	for _, p := range []string{"/t/dotdot-1", "/t/dotdot-2", "/t/dotdot-3/", "/t/dotdot-4", "/t/dotdot-5"} {
		wantCount(t, h, onMain, p, 1)
	}
	for _, r := range h.Requests() {
		if strings.Contains(r.URI, "..") || strings.Contains(strings.ToLower(r.URI), "%2e") {
			t.Errorf("requested %q", r.URI)
		}
	}
}

func TestHostileURLVariantsFetchedOnce(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	// With a host name the page's upper-case host link differs in case;
	// with a bare IP address it cannot.
	base := u.Main
	if addrs, err := net.LookupHost("localhost"); err == nil && slices.Contains(addrs, "127.0.0.1") {
		base = strings.Replace(u.Main, "127.0.0.1", "localhost", 1)
	} else {
		t.Logf("localhost does not resolve to 127.0.0.1: host case variants not exercised")
	}
	res := crawlHostile(t, h, hostileConfig(), 10*time.Second, base+"/content/variants")
	wantCount(t, h, onMain, "/t/~user/page", 1)
	wantCount(t, h, onMain, "/t/q", 1)
	if r := res.rec(t, base+"/content/variants"); r.Links != 2 {
		t.Errorf("%d distinct links, want 2", r.Links)
	}
	if got := pages(h, onMain); len(got) != 3 {
		t.Errorf("requested %v, want the page and two others", got)
	}
}

func TestHostileNofollow(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/content/meta-nofollow", u.Main+"/content/rel-nofollow")
	wantCount(t, h, onMain, "/t/rel-follow", 1)
	wantNever(t, h)
	if got := pages(h, onMain); len(got) != 3 {
		t.Errorf("requested %v, want the two pages and /t/rel-follow", got)
	}
}

func TestHostileLegacyCharsets(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	res := crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/content/cp1251", u.Main+"/content/sjis")
	tests := []struct {
		page, title, link, query string
	}{
		// Paths are UTF-8; queries are encoded in the page's charset, as
		// browsers do.
		{"/content/cp1251", "Привет мир", "/t/cp1251/Привет", "q=%CF%F0%E8%E2%E5%F2"},
		{"/content/sjis", "日本語のページ", "/t/sjis/日本", "q=%8C%9F%8D%F5"},
	}
	for _, tt := range tests {
		r := res.rec(t, u.Main+tt.page)
		wantRecord(t, r, "", 200, 1)
		if r.Title != tt.title || r.Links != 1 {
			t.Errorf("%s: title %q, %d links; want %q, 1", tt.page, r.Title, r.Links, tt.title)
		}
		reqs := h.RequestsFor(onMain, tt.link)
		if len(reqs) != 1 || reqs[0].RawQuery != tt.query {
			t.Errorf("%s: requests for %s: %+v, want one with query %s", tt.page, tt.link, reqs, tt.query)
		}
	}
}

func TestHostileBinaryNotParsed(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	paths := []string{"/content/pdf", "/content/image", "/content/octet"}
	var seeds []string
	for _, p := range paths {
		seeds = append(seeds, u.Main+p)
	}
	res := crawlHostile(t, h, hostileConfig(), 10*time.Second, seeds...)
	for _, p := range paths {
		r := res.rec(t, u.Main+p)
		wantRecord(t, r, "", 200, 1)
		if r.Links != 0 || r.Title != "" {
			t.Errorf("%s parsed as HTML: %d links, title %q", p, r.Links, r.Title)
		}
	}
	wantNever(t, h)
}

// --- Security ---

func TestHostileCredentialsStayHome(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	cfg := hostileConfig()
	cfg.Scope = crawler.ScopeAny
	client := fetch.New(fetch.Options{
		Timeout:       cfg.Timeout,
		Header:        http.Header{"Authorization": {"Bearer home-only"}, "Cookie": {"login=home-only"}},
		HeaderOrigins: []string{u.Main},
	})
	cfg.Fetcher = client
	cfg.Robots = robots.New(robots.Options{Getter: client})
	res := crawlHostile(t, h, cfg, 10*time.Second, u.Main+"/security/cookie")

	// The redirect to the other host is a request of its own there, made
	// without the home host's credentials.
	r := res.rec(t, u.Main+"/security/redirect-other")
	wantRedirect(t, r, u.Other+"/t/landing-security")
	target := res.rec(t, u.Other+"/t/landing-security")
	wantRecord(t, target, "", 200, 1)
	wantParent(t, target, r.URL, r.Depth)
	wantCount(t, h, onOther, "/t/landing-security", 1)
	for _, q := range h.Requests() {
		switch q.Host {
		case onMain:
			// The configured credentials, and never the cookie the site set:
			// there is no cookie jar.
			if q.Authorization != "Bearer home-only" || q.Cookie != "login=home-only" {
				t.Errorf("main %s got Authorization %q, Cookie %q", q.Path, q.Authorization, q.Cookie)
			}
		case onOther:
			if q.Authorization != "" || q.Cookie != "" {
				t.Errorf("other host %s got Authorization %q, Cookie %q", q.Path, q.Authorization, q.Cookie)
			}
		}
	}
	if h.Count(onOther, "/robots.txt") != 1 {
		t.Errorf("other host's robots.txt not checked before fetching the redirect's target")
	}
}

func TestHostileDenyPrivate(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	cfg := hostileConfig()
	cfg.DenyPrivate = true
	res := crawlHostile(t, h, cfg, 10*time.Second, u.Main+"/", u.Silent+"/")
	for _, seed := range []string{u.Main + "/", u.Silent + "/"} {
		r := res.rec(t, seed)
		wantRecord(t, r, fetch.ClassDenied, 0, 1)
	}
	if n := len(h.Requests()); n != 0 {
		t.Errorf("%d requests reached the loopback server through DenyPrivate", n)
	}
	if res.elapsed > 2*time.Second {
		t.Errorf("took %v: a refused address is final, not retried", res.elapsed)
	}
	if res.sum.Failed != 2 {
		t.Errorf("summary %+v, want 2 failed", res.sum)
	}
}

// --- The whole site ---

// TestHostileWholeSite crawls every case at once, the silent listener
// included, with the defences a user would set, and checks that the crawl
// ends, every case gets its record and class, and nothing is fetched more
// often than its retries allow. The silent host's robots.txt times out, so
// its page fails as a timeout after the crawl's retries. The traps are
// ended by the per-host page budget rather than a depth limit, whose
// level-by-level order would make every level wait for the slowest URL in
// it.
func TestHostileWholeSite(t *testing.T) {
	if testing.Short() {
		t.Skip("crawls the whole hostile site")
	}
	h, u := startHostile(t, testsite.HostileOptions{DripEvery: 200 * time.Millisecond})
	cfg := crawler.Config{
		Concurrency:  8,
		PerHost:      2,
		Rate:         -1,
		Timeout:      1500 * time.Millisecond,
		Retries:      2,
		RetryBackoff: 50 * time.Millisecond,
		MaxLinks:     1000, // the link farm's cap
		// The site has about 1,050 pages besides its traps.
		MaxPagesPerHost: 1500,
		Normalizer:      urlnorm.Normalizer{StripParams: []string{"sid", "utm_*"}},
	}
	// A 4 MiB cap (the link farm is 3) meets the big bodies' too_large well within the timeout,
	// however loaded the machine: a first attempt cut off by the timeout
	// would be retried.
	client := fetch.New(fetch.Options{Timeout: cfg.Timeout, MaxBodyBytes: 4 << 20, MaxConnsPerHost: cfg.PerHost})
	cfg.Fetcher = client
	cfg.Robots = robots.New(robots.Options{Getter: client, RetryAfter: 200 * time.Millisecond})
	res := crawlHostile(t, h, cfg, 90*time.Second, u.Main+"/", u.Silent+"/")
	t.Logf("%d records in %v", len(res.recs), res.elapsed)

	want := map[string]struct {
		class    string
		attempts int
	}{
		"/trap/session":           {"", 1},
		"/trap/farm":              {"", 1},
		"/redirect/loop-a":        {fetch.ClassRedirectLimit, 1},
		"/redirect/chain/15":      {fetch.ClassRedirectLimit, 1},
		"/redirect/other":         {crawler.ClassOutOfScope, 1},
		"/redirect/other-private": {crawler.ClassOutOfScope, 1},
		"/redirect/private":       {crawler.ClassRobots, 1},
		"/redirect/ftp":           {fetch.ClassBadRedirect, 1},
		"/redirect/javascript":    {fetch.ClassBadRedirect, 1},
		"/body/big":               {fetch.ClassTooLarge, 1},
		"/body/big-chunked":       {fetch.ClassTooLarge, 1},
		"/body/gzip-bomb":         {fetch.ClassTooLarge, 1},
		"/body/drip":              {fetch.ClassTimeout, 3},
		"/body/reset":             {fetch.ClassReset, 3},
		"/body/short":             {fetch.ClassReset, 3},
		"/status/429":             {"", 2},
		"/status/503":             {"", 3},
		"/status/500":             {crawler.ClassHTTP5xx, 3},
		"/status/404":             {crawler.ClassHTTP4xx, 1},
		"/content/malformed":      {"", 1},
		"/content/cp1251":         {"", 1},
		"/content/sjis":           {"", 1},
		"/content/pdf":            {"", 1},
		"/security/cookie":        {"", 1},
	}
	for p, w := range want {
		r := res.rec(t, u.Main+p)
		if r.Error != w.class || r.Attempts != w.attempts {
			t.Errorf("%s: error %q after %d attempts (%s), want %q after %d", p, r.Error, r.Attempts, r.Detail, w.class, w.attempts)
		}
	}
	// Its host unreachable, the page fails as a timed-out fetch does.
	if r, w := res.rec(t, u.Silent+"/"), want["/body/drip"]; r.Error != w.class || r.Attempts != w.attempts {
		t.Errorf("silent host: %q after %d attempts (%s), want %q after %d", r.Error, r.Attempts, r.Detail, w.class, w.attempts)
	}
	if r := res.rec(t, u.Main+"/trap/farm"); !r.LinksTruncated {
		t.Error("link farm: cap not recorded")
	}

	wantNever(t, h)
	if p := h.Paths(onOther); len(p) != 0 {
		t.Errorf("other host (out of scope) was asked for %v", p)
	}
	// Nothing is fetched twice, but for the retries above.
	retried := map[string]int{}
	for p, w := range want {
		retried[p] = w.attempts
	}
	retried["/redirect/loop-a"], retried["/redirect/loop-b"] = 6, 5 // one fetch, ten hops
	// One path, several pages: at most two variants of item 7, and item 8.
	if n := h.Count(onMain, "/canonical/item"); n > 3 {
		t.Errorf("/canonical/item requested %d times, want at most 3", n)
	} else {
		retried["/canonical/item"] = n
	}
	for p, n := range h.Paths(onMain) {
		if n > 1 && n != retried[p] {
			t.Errorf("%s requested %d times", p, n)
		}
	}
	for _, r := range h.Requests() {
		if len(u.Main+r.URI) > urlnorm.DefaultMaxLength {
			t.Errorf("requested a %d-byte URL", len(u.Main+r.URI))
		}
	}
	if n := len(res.recs) - 1; n != cfg.MaxPagesPerHost { // the silent host's one
		t.Errorf("%d records for the main host, want the budget of %d", n, cfg.MaxPagesPerHost)
	}
}
