package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/fetch"
)

// clock is a fake time for a Pool: now is set by the test, and the waits
// of after are released by advance.
type clock struct {
	mu      sync.Mutex
	t       time.Time
	waiters []waiter
	waiting chan time.Duration // each after's duration, as it is asked for
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), waiting: make(chan time.Duration, 16)}
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) after(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, waiter{c.t.Add(d), ch})
	c.mu.Unlock()
	c.waiting <- d
	return ch, func() bool { return true }
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.t) {
			w.ch <- c.t
			continue
		}
		kept = append(kept, w)
	}
	c.waiters = kept
}

// counter is an Observer.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) ProxyRequest(result string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[result]++
}

func (c *counter) get(result string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[result]
}

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func mustParse(t *testing.T, raws ...string) []*url.URL {
	t.Helper()
	var out []*url.URL
	for _, r := range raws {
		u, err := Parse(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

// newPool returns a Pool on a fake clock, logging to the returned buffer.
func newPool(t *testing.T, opts Options, raws ...string) (*Pool, *clock, *lockedBuffer, *counter) {
	t.Helper()
	logs := &lockedBuffer{}
	obs := &counter{}
	opts.Proxies = mustParse(t, raws...)
	opts.Log = slog.New(slog.NewTextHandler(logs, nil))
	opts.Observer = obs
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	p.now, p.after = clk.now, clk.after
	return p, clk, logs, obs
}

func req(ctx context.Context, target string) *http.Request {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		panic(err)
	}
	return r
}

func pick(t *testing.T, p *Pool, target string) *url.URL {
	t.Helper()
	u, err := p.Proxy(req(context.Background(), target))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestNewRejects(t *testing.T) {
	for _, opts := range []Options{
		{},
		{Proxies: []*url.URL{nil}},
		{Proxies: []*url.URL{{Scheme: "ftp", Host: "x"}}},
		{Proxies: mustParse(t, "http://a:1"), Bench: -time.Second},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("New(%+v) succeeded", opts)
		}
	}
	p, err := New(Options{Proxies: mustParse(t, "http://a:1", "http://a:1", "http://b:1")})
	if err != nil || p.Len() != 2 {
		t.Errorf("duplicates: %v proxies, %v; want 2", p.Len(), err)
	}
}

// TestPoolSticksHosts: hosts spread over the proxies, and each keeps its
// proxy.
func TestPoolSticksHosts(t *testing.T) {
	p, _, _, _ := newPool(t, Options{}, "http://p1:1", "http://p2:1")
	first := map[string]string{}
	for _, h := range []string{"a.test", "b.test", "c.test", "d.test"} {
		first[h] = pick(t, p, "http://"+h+"/").Host
	}
	per := map[string]int{}
	for _, v := range first {
		per[v]++
	}
	if per["p1:1"] != 2 || per["p2:1"] != 2 {
		t.Errorf("hosts per proxy %v, want 2 and 2", per)
	}
	for i := 0; i < 3; i++ {
		for h, want := range first {
			if got := pick(t, p, "http://"+strings.ToUpper(h)+"/x").Host; got != want {
				t.Errorf("%s moved from %s to %s", h, want, got)
			}
		}
	}
}

// TestPoolJudges: which results bench a proxy, and what the Observer and
// the error say.
func TestPoolJudges(t *testing.T) {
	refused := &url.Error{Op: "Get", URL: "http://x", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name   string
		res    fetch.ProxyResult
		result string
		bench  bool
	}{
		{"200", fetch.ProxyResult{Status: 200, Body: []byte("fine")}, ResultOK, false},
		{"404", fetch.ProxyResult{Status: 404}, ResultOK, false},
		{"500", fetch.ProxyResult{Status: 500}, ResultOK, false},
		{"407", fetch.ProxyResult{Status: 407}, ResultStatus407, true},
		{"403", fetch.ProxyResult{Status: 403}, ResultStatus403, true},
		{"429", fetch.ProxyResult{Status: 429}, ResultStatus429, true},
		{"ban page", fetch.ProxyResult{Status: 200, Body: []byte("<h1>Access denied: are you a robot?</h1>")}, ResultBanned, true},
		{"redirect hop", fetch.ProxyResult{Status: 302}, ResultOK, false},
		{"refused", fetch.ProxyResult{Err: refused, Class: fetch.ClassConnect}, ResultRefused, true},
		{"timeout", fetch.ProxyResult{Err: context.DeadlineExceeded, Class: fetch.ClassTimeout}, ResultTimeout, true},
		{"reset", fetch.ProxyResult{Err: io.ErrUnexpectedEOF, Class: fetch.ClassReset}, ResultError, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _, logs, obs := newPool(t, Options{Ban: regexp.MustCompile(`are you a robot`)}, "http://u:s3cret@p1:1")
			tt.res.Proxy = pick(t, p, "http://a.test/")
			err := p.ProxyResult(tt.res)
			if obs.get(tt.result) != 1 {
				t.Errorf("observer got %v, want one %s", obs.n, tt.result)
			}
			if got := p.Benched() == 1; got != tt.bench {
				t.Errorf("benched %v, want %v", got, tt.bench)
			}
			if (err != nil) != tt.bench {
				t.Errorf("error %v, want one: %v", err, tt.bench)
			}
			var pe *Error
			if tt.bench && (!errors.As(err, &pe) || pe.Result != tt.result || pe.Proxy != "http://p1:1") {
				t.Errorf("error %#v", err)
			}
			for _, s := range []string{logs.String(), errString(err)} {
				if strings.Contains(s, "s3cret") || strings.Contains(s, "u:") {
					t.Errorf("credentials shown: %s", s)
				}
			}
			if tt.bench && !strings.Contains(logs.String(), "why="+tt.result) {
				t.Errorf("no bench logged with its reason:\n%s", logs)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestPoolBackoff: each failure in a row doubles the bench time up to the
// cap; failures of requests already in flight while benched do not count;
// a success clears the count.
func TestPoolBackoff(t *testing.T) {
	p, clk, _, _ := newPool(t, Options{Bench: 10 * time.Second, MaxBench: 35 * time.Second}, "http://p1:1", "http://p2:1")
	u := pick(t, p, "http://a.test/")
	fail := fetch.ProxyResult{Proxy: u, Status: 429}
	benchedFor := func() time.Duration {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.entryLocked(u).until.Sub(clk.now())
	}
	for i, want := range []time.Duration{10 * time.Second, 20 * time.Second, 35 * time.Second, 35 * time.Second} {
		_ = p.ProxyResult(fail)
		_ = p.ProxyResult(fail) // in flight when benched: no second strike
		if got := benchedFor(); got != want {
			t.Fatalf("failure %d: benched for %v, want %v", i+1, got, want)
		}
		clk.advance(want)
	}
	_ = p.ProxyResult(fetch.ProxyResult{Proxy: u, Status: 200})
	_ = p.ProxyResult(fail)
	if got := benchedFor(); got != 10*time.Second {
		t.Errorf("after a success, benched for %v, want 10s", got)
	}
}

// TestPoolMovesHosts: a benched proxy's hosts go to another proxy and
// stay there once it is back.
func TestPoolMovesHosts(t *testing.T) {
	p, clk, _, _ := newPool(t, Options{}, "http://p1:1", "http://p2:1")
	a := pick(t, p, "http://a.test/")
	b := pick(t, p, "http://b.test/")
	if a == b {
		t.Fatal("two hosts on one proxy")
	}
	_ = p.ProxyResult(fetch.ProxyResult{Proxy: a, Err: errors.New("refused"), Class: fetch.ClassConnect})
	if got := pick(t, p, "http://a.test/"); got != b {
		t.Errorf("a.test after its proxy was benched: %v, want %v", got, b)
	}
	clk.advance(time.Hour)
	if got := pick(t, p, "http://a.test/"); got != b {
		t.Errorf("a.test moved back to %v", got)
	}
	if got := pick(t, p, "http://c.test/"); got != a {
		t.Errorf("a new host went to %v, not to the proxy with fewer hosts %v", got, a)
	}
}

// TestPoolWaitsWhenAllBenched: with every proxy benched, Proxy waits for
// the first back (logged once for all waiters) instead of failing; a
// canceled context ends the wait.
func TestPoolWaitsWhenAllBenched(t *testing.T) {
	p, clk, logs, _ := newPool(t, Options{Bench: time.Minute}, "http://p1:1", "http://p2:1")
	a := pick(t, p, "http://a.test/")
	b := pick(t, p, "http://b.test/")
	_ = p.ProxyResult(fetch.ProxyResult{Proxy: a, Status: 429})
	clk.advance(20 * time.Second)
	_ = p.ProxyResult(fetch.ProxyResult{Proxy: b, Status: 429})
	if p.Benched() != 2 {
		t.Fatalf("benched %d, want 2", p.Benched())
	}

	got := make(chan *url.URL, 2)
	for _, h := range []string{"a.test", "c.test"} {
		go func() {
			u, err := p.Proxy(req(context.Background(), "http://"+h+"/"))
			if err != nil {
				t.Error(err)
			}
			got <- u
		}()
	}
	for range 2 {
		if d := <-clk.waiting; d != 40*time.Second {
			t.Errorf("waits %v, want 40s (until the first proxy is back)", d)
		}
	}
	select {
	case u := <-got:
		t.Fatalf("Proxy returned %v while every proxy is benched", u)
	default:
	}
	clk.advance(40 * time.Second)
	for range 2 {
		if u := <-got; u != a {
			t.Errorf("after the wait: %v, want %v", u, a)
		}
	}
	if n := strings.Count(logs.String(), "every proxy is benched"); n != 1 {
		t.Errorf("wait logged %d times, want once:\n%s", n, logs)
	}

	_ = p.ProxyResult(fetch.ProxyResult{Proxy: a, Status: 429})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := p.Proxy(req(ctx, "http://a.test/"))
		done <- err
	}()
	<-clk.waiting
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled wait: %v", err)
	}
}
