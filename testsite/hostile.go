package testsite

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Defaults applied by NewHostile to zero fields of HostileOptions.
const (
	DefaultHostileBigBytes   = 50_000_000
	DefaultHostileBombBytes  = 1 << 30
	DefaultHostileDripEvery  = time.Second
	DefaultHostileDripBytes  = 3600
	DefaultHostileRetryAfter = time.Second
	DefaultHostileFarmLinks  = 100_000
	DefaultHostileMaxRecords = 200_000
	DefaultHostileOtherURL   = "http://other.invalid"
)

// Hosts of a Hostile's records: the hostile site itself, the second host
// that cross-host redirects lead to, and the raw listener that never
// answers.
const (
	HostileMain   = "main"
	HostileOther  = "other"
	HostileSilent = "silent"
)

// HostileOptions configures a Hostile. The zero value is valid: every zero
// field takes the default its comment states.
type HostileOptions struct {
	// BigBytes is the length of /body/big (sent with a Content-Length) and
	// /body/big-chunked (sent without). Zero means 50 MB.
	BigBytes int64
	// BombBytes is the decompressed length of /body/gzip-bomb, which sends
	// about a thousandth of it. Zero means 1 GiB.
	BombBytes int64
	// DripEvery is the pause before each byte of /body/drip. Zero means 1s.
	DripEvery time.Duration
	// DripBytes is the Content-Length of /body/drip. Zero means 3600.
	DripBytes int
	// RetryAfter is the Retry-After of /status/429's first answer, sent in
	// whole seconds (rounded up). Zero means 1s.
	RetryAfter time.Duration
	// FarmLinks is the number of links on /trap/farm. Zero means 100,000.
	FarmLinks int
	// MaxRecords bounds the requests kept in full (see Requests); past it
	// requests are still counted by path. Zero means 200,000.
	MaxRecords int
	// OtherURL is the base URL of the second host that cross-host redirects
	// and links point to, without a trailing slash. ServeHostile sets it to
	// the second host it serves. Empty means "http://other.invalid".
	OtherURL string
}

func (o HostileOptions) withDefaults() HostileOptions {
	if o.BigBytes == 0 {
		o.BigBytes = DefaultHostileBigBytes
	}
	if o.BombBytes == 0 {
		o.BombBytes = DefaultHostileBombBytes
	}
	if o.DripEvery == 0 {
		o.DripEvery = DefaultHostileDripEvery
	}
	if o.DripBytes == 0 {
		o.DripBytes = DefaultHostileDripBytes
	}
	if o.RetryAfter == 0 {
		o.RetryAfter = DefaultHostileRetryAfter
	}
	if o.FarmLinks == 0 {
		o.FarmLinks = DefaultHostileFarmLinks
	}
	if o.MaxRecords == 0 {
		o.MaxRecords = DefaultHostileMaxRecords
	}
	if o.OtherURL == "" {
		o.OtherURL = DefaultHostileOtherURL
	}
	o.OtherURL = strings.TrimRight(o.OtherURL, "/")
	return o
}

// Validate reports whether o, once its defaults are applied, describes a
// server NewHostile can build.
func (o HostileOptions) Validate() error {
	o = o.withDefaults()
	var errs []error
	if o.BigBytes < 0 || o.BombBytes < 0 || o.DripBytes < 0 || o.FarmLinks < 0 || o.MaxRecords < 0 {
		errs = append(errs, errors.New("testsite: negative size in HostileOptions"))
	}
	if o.DripEvery < 0 || o.RetryAfter < 0 {
		errs = append(errs, errors.New("testsite: negative duration in HostileOptions"))
	}
	if strings.ContainsAny(o.OtherURL, "\"<>&' ") || !strings.Contains(o.OtherURL, "://") {
		errs = append(errs, fmt.Errorf("testsite: OtherURL %q is not an absolute URL", o.OtherURL))
	}
	return errors.Join(errs...)
}

// HostileRequest is the server's record of one request (for the silent
// listener, of one accepted connection).
type HostileRequest struct {
	// Host is HostileMain, HostileOther or HostileSilent.
	Host string
	// Path is the decoded path (empty for the silent listener).
	Path string
	// RawQuery is the query as sent, without '?'.
	RawQuery string
	// URI is the request target as sent.
	URI string
	// Cookie and Authorization are the request's headers of those names.
	Cookie, Authorization string
	// Start is when the request arrived (the connection was accepted).
	Start time.Time
	// End is when the handler returned; zero for the silent listener.
	End time.Time
	// Status is the status sent; 0 when none was (a hijacked connection
	// that broke the response, or the silent listener).
	Status int
	// Bytes is the body bytes written (compressed bytes for the gzip bomb).
	Bytes int64
	// Aborted reports that the client went away, or a write failed, before
	// the handler was done: the crawler gave up on the response.
	Aborted bool
}

// Hostile is a web server built to trap, bomb, stall and confuse crawlers,
// recording every request it gets. It is an http.Handler for the hostile
// site; Other is the handler of its second, well-behaved host. Serve both,
// and the silent listener, with ServeHostile. A Hostile is safe for
// concurrent use, and its records may be read while it serves.
//
// Every page is reachable from "/", which links to each case:
//
//	traps      /trap/calendar/2024-01   previous and next month, forever
//	           /trap/session?sid=1      itself with a new sid (and utm_*), forever
//	           /trap/deep/              "a/", so /trap/deep/a/a/a/…
//	           /trap/farm               FarmLinks links to /trap/farm/<i>
//	           /trap/long               links of 1,500, 2,100 and 100,000 bytes
//	           /trap/grow/x             itself with the last segment doubled
//	redirects  /redirect/loop-a         → /redirect/loop-b → /redirect/loop-a
//	           /redirect/chain/15       → /redirect/chain/14 … → /redirect/chain/0 (a page)
//	           /redirect/other          → OtherURL/t/landing
//	           /redirect/other-private  → OtherURL/private/landing (disallowed there)
//	           /redirect/private        → /private/secret (disallowed here)
//	           /redirect/ftp            → ftp://127.0.0.1/file
//	           /redirect/javascript     → javascript:alert(1)
//	           /redirect/tracked        → /t/%65xcluded?utm_source=mail#top (/t/excluded, once canonical)
//	bodies     /body/big                BigBytes with Content-Length
//	           /body/big-chunked        BigBytes without
//	           /body/gzip-bomb          BombBytes of zeros, gzip-encoded
//	           /body/drip               one byte every DripEvery
//	           /body/reset              connection reset after 1,000 of 100,000 bytes
//	           /body/short              Content-Length 100, 50 bytes, close
//	status     /status/429              429 with Retry-After once, then 200
//	           /status/503              503 twice, then 200
//	           /status/500              always 500
//	           /status/404              404
//	content    /content/malformed, /content/base/, /content/whitespace,
//	           /content/schemes, /content/protocol-relative,
//	           /content/dotdot/a/b/, /content/variants, /content/meta-nofollow,
//	           /content/rel-nofollow, /content/cp1251, /content/sjis,
//	           /content/pdf, /content/image, /content/octet
//	security   /security/cookie         sets a cookie, links to /security/redirect-other
//	           /security/redirect-other → OtherURL/t/landing-security
//	canonical  /canonical/variants, /canonical/order, /canonical/header,
//	           /canonical/conflict (see canonicalVariants)
//
// Pages under /t/ are small leaf pages. Links a crawler must not follow
// lead under /t/never/, so a crawl is correct only if no request path
// starts with it. robots.txt on both hosts disallows /private/.
type Hostile struct {
	opts HostileOptions

	bombOnce   sync.Once
	bombMember []byte // one gzip member of 1 MiB of zeros
	farmOnce   sync.Once
	farm       []byte // the /trap/farm page

	mu       sync.Mutex
	inFlight int    // handlers running
	other    string // base URL of the other host
	records  []HostileRequest
	counts   map[string]int // Host + " " + Path → requests
}

// NewHostile returns a Hostile configured by opts. It panics if
// opts.Validate reports an error: options are written by the test.
func NewHostile(opts HostileOptions) *Hostile {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	opts = opts.withDefaults()
	return &Hostile{opts: opts, other: opts.OtherURL, counts: make(map[string]int)}
}

// Options returns the server's options with their defaults applied.
func (h *Hostile) Options() HostileOptions { return h.opts }

// ServeHTTP serves the hostile site.
func (h *Hostile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.serve(HostileMain, w, r, h.serveMain)
}

// Other returns the handler of the second host: robots.txt disallowing
// /private/, and a leaf page at every other path.
func (h *Hostile) Other() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.serve(HostileOther, w, r, h.serveOther)
	})
}

// otherURL returns the base URL of the other host.
func (h *Hostile) otherURL() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.other
}

// serve records one request around handler fn.
func (h *Hostile) serve(host string, w http.ResponseWriter, r *http.Request, fn func(*recorder, *http.Request)) {
	rec := HostileRequest{
		Host:          host,
		Path:          r.URL.Path,
		RawQuery:      r.URL.RawQuery,
		URI:           r.RequestURI,
		Cookie:        r.Header.Get("Cookie"),
		Authorization: r.Header.Get("Authorization"),
		Start:         time.Now(),
	}
	h.mu.Lock()
	h.counts[host+" "+r.URL.Path]++
	h.inFlight++
	h.mu.Unlock()
	rw := &recorder{ResponseWriter: w}
	defer func() {
		rec.End = time.Now()
		rec.Status, rec.Bytes = rw.status, rw.bytes
		rec.Aborted = rw.failed || r.Context().Err() != nil
		h.mu.Lock()
		h.inFlight--
		h.mu.Unlock()
		h.record(rec)
	}()
	fn(rw, r)
}

func (h *Hostile) count(host, path string) {
	h.mu.Lock()
	h.counts[host+" "+path]++
	h.mu.Unlock()
}

func (h *Hostile) record(rec HostileRequest) {
	h.mu.Lock()
	if len(h.records) < h.opts.MaxRecords {
		h.records = append(h.records, rec)
	}
	h.mu.Unlock()
}

// WaitIdle waits until no request is being handled, so that the records
// of a finished crawl are complete: a handler may still be writing into a
// connection the crawler has given up on. It returns ctx.Err() if ctx ends
// first. The silent listener's connections do not count.
func (h *Hostile) WaitIdle(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		h.mu.Lock()
		n := h.inFlight
		h.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Requests returns the records of the requests that have completed, in
// the order they completed, up to MaxRecords of them.
func (h *Hostile) Requests() []HostileRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]HostileRequest(nil), h.records...)
}

// RequestsFor returns the records of host's requests for path (decoded,
// exact), in the order they completed.
func (h *Hostile) RequestsFor(host, path string) []HostileRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []HostileRequest
	for _, r := range h.records {
		if r.Host == host && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// Count returns how many requests host got for path (decoded, exact),
// counted on arrival, beyond MaxRecords too.
func (h *Hostile) Count(host, path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[host+" "+path]
}

// CountPrefix returns how many requests host got for paths starting with
// prefix, counted on arrival.
func (h *Hostile) CountPrefix(host, prefix string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for k, c := range h.counts {
		if rest, ok := strings.CutPrefix(k, host+" "); ok && strings.HasPrefix(rest, prefix) {
			n += c
		}
	}
	return n
}

// Paths returns every path host was asked for, with its count.
func (h *Hostile) Paths(host string) map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int)
	for k, c := range h.counts {
		if rest, ok := strings.CutPrefix(k, host+" "); ok {
			out[rest] = c
		}
	}
	return out
}

// recorder is the ResponseWriter handlers write through: it keeps the
// status, the body bytes and whether a write failed. Hijacking handlers
// set those themselves.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	failed bool
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	if err != nil {
		w.failed = true
	}
	return n, err
}

// Flush sends what is buffered; it reports failure like Write.
func (w *recorder) Flush() {
	if err := http.NewResponseController(w.ResponseWriter).Flush(); err != nil {
		w.failed = true
	}
}

// Unwrap lets http.ResponseController reach the connection (Hijack).
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// HostileURLs are the base URLs ServeHostile serves on, such as
// "http://127.0.0.1:41234".
type HostileURLs struct {
	Main   string // the hostile site (Hostile.ServeHTTP)
	Other  string // the second host (Hostile.Other)
	Silent string // a raw listener that accepts connections and never answers
}

// ServeHostile serves h on three loopback listeners until ctx ends: the
// hostile site, its second host (which it sets as h's OtherURL before
// serving), and a raw TCP listener that accepts every connection, records
// it, and neither reads nor writes until ctx ends. Call it once per
// Hostile.
func ServeHostile(ctx context.Context, h *Hostile) (HostileURLs, error) {
	var lc net.ListenConfig
	var lns []net.Listener
	for range 3 {
		ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			for _, l := range lns {
				_ = l.Close() // never served
			}
			return HostileURLs{}, fmt.Errorf("testsite: hostile: listen: %w", err)
		}
		lns = append(lns, ln)
	}
	urls := HostileURLs{
		Main:   "http://" + lns[0].Addr().String(),
		Other:  "http://" + lns[1].Addr().String(),
		Silent: "http://" + lns[2].Addr().String(),
	}
	h.mu.Lock()
	h.other = urls.Other
	h.mu.Unlock()
	for i, handler := range []http.Handler{h, h.Other()} {
		srv := &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return ctx },
		}
		context.AfterFunc(ctx, func() { _ = srv.Close() })
		go func() { _ = srv.Serve(lns[i]) }()
	}
	go h.silent(ctx, lns[2])
	return urls, nil
}

// maxSilentConns bounds the connections the silent listener holds; past
// it, new ones are closed at once (and still recorded).
const maxSilentConns = 1024

// silent accepts connections on ln and holds them, unanswered, until ctx
// ends.
func (h *Hostile) silent(ctx context.Context, ln net.Listener) {
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	context.AfterFunc(ctx, func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
		conns = nil
	})
	for {
		c, err := ln.Accept()
		if err != nil {
			return // closed by ctx
		}
		h.count(HostileSilent, "")
		h.record(HostileRequest{Host: HostileSilent, Start: time.Now()})
		mu.Lock()
		if ctx.Err() != nil || len(conns) >= maxSilentConns {
			_ = c.Close()
		} else {
			conns = append(conns, c)
		}
		mu.Unlock()
	}
}
