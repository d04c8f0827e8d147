package fetch_test

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/fetch"
)

// Client.Get must satisfy robots.Getter, which this package may not import.
var _ interface {
	Get(ctx context.Context, rawURL string) (int, []byte, error)
} = (*fetch.Client)(nil)

// classedError is how the crawler's checks report their class.
type classedError struct{ class string }

func (e classedError) Error() string { return e.class }
func (e classedError) Class() string { return e.class }

var errOutOfScope = classedError{"out_of_scope"}

// newMux serves the pages the table tests fetch.
func newMux(t *testing.T) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<html><title>ok</title></html>")
	})
	mux.HandleFunc("/hop/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		if n == 0 {
			io.WriteString(w, "done")
			return
		}
		http.Redirect(w, r, "/hop/"+strconv.Itoa(n-1), http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://127.0.0.1/file", http.StatusFound)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(64<<10))
		w.Write(make([]byte, 64<<10))
	})
	mux.HandleFunc("/big-chunked", func(w http.ResponseWriter, r *http.Request) {
		for range 64 {
			w.Write(make([]byte, 1<<10))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/gzip-bomb", func(w http.ResponseWriter, r *http.Request) {
		// 100 MB of zeros, about 100 KB compressed. The handler stops as
		// soon as the client hangs up.
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "text/html")
		gz := gzip.NewWriter(w)
		zeros := make([]byte, 1<<20)
		for range 100 {
			if r.Context().Err() != nil {
				return
			}
			if _, err := gz.Write(zeros); err != nil {
				return
			}
			gz.Flush()
			w.(http.Flusher).Flush()
		}
		gz.Close()
	})
	mux.HandleFunc("/drip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.(http.Flusher).Flush()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for range 100 {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
			w.Write([]byte{'x'})
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	mux.HandleFunc("/retry", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/no-location", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("/reset", func(w http.ResponseWriter, r *http.Request) {
		conn := hijack(t, w)
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
		conn.Write(make([]byte, 1000))
		conn.(*net.TCPConn).SetLinger(0) // close sends RST
		conn.Close()
	})
	mux.HandleFunc("/short", func(w http.ResponseWriter, r *http.Request) {
		conn := hijack(t, w)
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
		conn.Write(make([]byte, 50))
		conn.Close()
	})
	return mux
}

func hijack(t *testing.T, w http.ResponseWriter) net.Conn {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return nil
	}
	buf.Flush()
	return conn
}

func newServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// silentServer accepts connections, reads nothing and writes nothing until
// the test ends.
func silentServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String() + "/"
}

// closedPort returns a URL on a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/"
}

func TestFetch(t *testing.T) {
	srv := newServer(t, newMux(t))
	other := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "other host")
	}))
	srv.Config.Handler.(*http.ServeMux).HandleFunc("/to-other", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/page", http.StatusFound)
	})
	tlsSrv := httptest.NewTLSServer(newMux(t))
	t.Cleanup(tlsSrv.Close)
	silent := silentServer(t)
	closed := closedPort(t)

	sameHost := func(ctx context.Context, u *url.URL) error {
		if u.Host != strings.TrimPrefix(srv.URL, "http://") {
			return fmt.Errorf("check %s: %w", u, errOutOfScope)
		}
		return nil
	}
	const small = 16 << 10

	tests := []struct {
		name          string
		opts          fetch.Options
		url           string
		check         func(context.Context, *url.URL) error
		cancel        time.Duration // >0: cancel the context after this; <0: before the fetch
		wantClass     string
		wantErrIs     error
		wantStatus    int // checked when the Response is non-nil
		wantBody      string
		wantBodyLen   int
		wantRedirects int
		wantRetry     time.Duration
	}{
		{name: "200 html", url: srv.URL + "/html", wantStatus: 200, wantBody: "<html><title>ok</title></html>"},
		{name: "503 is a response", url: srv.URL + "/retry", wantStatus: 503, wantRetry: 2 * time.Minute},
		{name: "3xx without Location is a response", url: srv.URL + "/no-location", wantStatus: 302},
		{name: "redirect chain within limit", url: srv.URL + "/hop/3", check: sameHost, wantStatus: 200, wantBody: "done", wantRedirects: 3},
		{name: "10 hops is the default limit", url: srv.URL + "/hop/10", wantStatus: 200, wantBody: "done", wantRedirects: 10},
		{name: "11 hops", url: srv.URL + "/hop/11", wantClass: fetch.ClassRedirectLimit},
		{name: "redirect loop", url: srv.URL + "/loop", wantClass: fetch.ClassRedirectLimit},
		{name: "custom limit", opts: fetch.Options{MaxRedirects: 2}, url: srv.URL + "/hop/3", wantClass: fetch.ClassRedirectLimit},
		{name: "negative limit returns the redirect", opts: fetch.Options{MaxRedirects: -1}, url: srv.URL + "/hop/3", wantStatus: 302},
		{name: "redirect rejected by check", url: srv.URL + "/to-other", check: sameHost, wantClass: "out_of_scope", wantErrIs: errOutOfScope},
		{name: "redirect to other host without check", url: srv.URL + "/to-other", wantStatus: 200, wantBody: "other host", wantRedirects: 1},
		{name: "redirect to ftp", url: srv.URL + "/ftp", check: sameHost, wantClass: fetch.ClassBadRedirect},
		{name: "too large with Content-Length", opts: fetch.Options{MaxBodyBytes: small}, url: srv.URL + "/big", wantClass: fetch.ClassTooLarge, wantStatus: 200, wantBodyLen: small},
		{name: "too large chunked", opts: fetch.Options{MaxBodyBytes: small}, url: srv.URL + "/big-chunked", wantClass: fetch.ClassTooLarge, wantStatus: 200, wantBodyLen: small},
		{name: "exactly the cap", opts: fetch.Options{MaxBodyBytes: 64 << 10}, url: srv.URL + "/big", wantStatus: 200, wantBodyLen: 64 << 10},
		{name: "exactly the cap chunked", opts: fetch.Options{MaxBodyBytes: 64 << 10}, url: srv.URL + "/big-chunked", wantStatus: 200, wantBodyLen: 64 << 10},
		{name: "gzip bomb", opts: fetch.Options{MaxBodyBytes: 1 << 20}, url: srv.URL + "/gzip-bomb", wantClass: fetch.ClassTooLarge, wantStatus: 200, wantBodyLen: 1 << 20},
		{name: "dripping body", opts: fetch.Options{Timeout: 500 * time.Millisecond}, url: srv.URL + "/drip", wantClass: fetch.ClassTimeout},
		{name: "no response headers", opts: fetch.Options{HeaderTimeout: 200 * time.Millisecond}, url: silent, wantClass: fetch.ClassTimeout},
		{name: "reset mid-body", url: srv.URL + "/reset", wantClass: fetch.ClassReset},
		{name: "body shorter than Content-Length", url: srv.URL + "/short", wantClass: fetch.ClassReset},
		{name: "closed port", url: closed, wantClass: fetch.ClassConnect},
		{name: "untrusted certificate", url: tlsSrv.URL + "/html", wantClass: fetch.ClassTLS},
		{name: "canceled before", url: srv.URL + "/html", cancel: -1, wantClass: fetch.ClassCanceled, wantErrIs: context.Canceled},
		{name: "canceled while waiting", url: srv.URL + "/hang", cancel: 100 * time.Millisecond, wantClass: fetch.ClassCanceled, wantErrIs: context.Canceled},
		{name: "ftp URL", url: "ftp://127.0.0.1/", wantClass: fetch.ClassInvalidURL},
		{name: "relative URL", url: "/html", wantClass: fetch.ClassInvalidURL},
		{name: "unparseable URL", url: "http://[::1", wantClass: fetch.ClassInvalidURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := fetch.New(tt.opts)
			defer c.CloseIdleConnections()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			switch {
			case tt.cancel < 0:
				cancel()
			case tt.cancel > 0:
				time.AfterFunc(tt.cancel, cancel)
			}
			// The class says which limit ended the fetch (a timeout, not
			// the end of a dripping body); wall time is left to benchmarks.
			resp, err := c.Fetch(ctx, tt.url, tt.check)

			if got := fetch.ClassOf(err); got != tt.wantClass {
				t.Fatalf("Fetch error class = %q (%v), want %q", got, err, tt.wantClass)
			}
			if err != nil {
				var fe *fetch.Error
				if !errors.As(err, &fe) {
					t.Fatalf("Fetch error %T is not a *fetch.Error", err)
				}
				if fe.URL != tt.url {
					t.Errorf("Error.URL = %q, want %q", fe.URL, tt.url)
				}
			}
			if tt.wantErrIs != nil && !errors.Is(err, tt.wantErrIs) {
				t.Errorf("Fetch error %v is not %v", err, tt.wantErrIs)
			}
			if (resp != nil) != (tt.wantStatus != 0) {
				t.Fatalf("Fetch response = %v, want one: %v", resp, tt.wantStatus != 0)
			}
			if resp == nil {
				return
			}
			if resp.Status != tt.wantStatus {
				t.Errorf("Status = %d, want %d", resp.Status, tt.wantStatus)
			}
			if tt.wantBody != "" && string(resp.Body) != tt.wantBody {
				t.Errorf("Body = %q, want %q", resp.Body, tt.wantBody)
			}
			if tt.wantBodyLen != 0 && len(resp.Body) != tt.wantBodyLen {
				t.Errorf("len(Body) = %d, want %d", len(resp.Body), tt.wantBodyLen)
			}
			if resp.Bytes != int64(len(resp.Body)) {
				t.Errorf("Bytes = %d, want len(Body) = %d", resp.Bytes, len(resp.Body))
			}
			if resp.Redirects != tt.wantRedirects {
				t.Errorf("Redirects = %d, want %d", resp.Redirects, tt.wantRedirects)
			}
			if resp.RetryAfter != tt.wantRetry {
				t.Errorf("RetryAfter = %v, want %v", resp.RetryAfter, tt.wantRetry)
			}
			if resp.URL != tt.url {
				t.Errorf("URL = %q, want %q", resp.URL, tt.url)
			}
			if resp.Duration <= 0 {
				t.Errorf("Duration = %v, want > 0", resp.Duration)
			}
		})
	}
}

func TestFetchRequestAndResponseFields(t *testing.T) {
	var gotUA, gotAccept, gotEncoding string
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/start" {
			http.Redirect(w, r, "/final#frag", http.StatusMovedPermanently)
			return
		}
		gotUA, gotAccept, gotEncoding = r.UserAgent(), r.Header.Get("Accept"), r.Header.Get("Accept-Encoding")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "hi")
	}))
	c := fetch.New(fetch.Options{UserAgent: "crawl/0.1 (+https://example.com/bot)"})
	resp, err := c.Fetch(t.Context(), srv.URL+"/start", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ name, got, want string }{
		{"User-Agent", gotUA, "crawl/0.1 (+https://example.com/bot)"},
		{"Accept", gotAccept, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"},
		{"Accept-Encoding", gotEncoding, "gzip"},
		{"FinalURL", resp.FinalURL, srv.URL + "/final"},
		{"ContentType", resp.ContentType, "text/html; charset=utf-8"},
		{"Header", resp.Header.Get("Content-Type"), "text/html; charset=utf-8"},
	} {
		if f.got != f.want {
			t.Errorf("%s = %q, want %q", f.name, f.got, f.want)
		}
	}
}

func TestFetchChecksEveryHop(t *testing.T) {
	srv := newServer(t, newMux(t))
	var (
		mu   sync.Mutex
		seen []string
	)
	check := func(ctx context.Context, u *url.URL) error {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("check ran without the fetch deadline")
		}
		mu.Lock()
		seen = append(seen, u.Path)
		mu.Unlock()
		return nil
	}
	if _, err := fetch.New(fetch.Options{}).Fetch(t.Context(), srv.URL+"/hop/3", check); err != nil {
		t.Fatal(err)
	}
	want := []string{"/hop/2", "/hop/1", "/hop/0"}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("check saw %v, want %v", seen, want)
	}
}

func TestFetchCredentialsStayOnOrigin(t *testing.T) {
	type hop struct{ auth, cookie string }
	var (
		mu   sync.Mutex
		hops map[string]hop
	)
	record := func(name string, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		hops[name] = hop{r.Header.Get("Authorization"), r.Header.Get("Cookie")}
	}
	var origin *httptest.Server
	other := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record("other"+r.URL.Path, r)
		if r.URL.Path == "/back" {
			http.Redirect(w, r, origin.URL+"/end", http.StatusFound)
		}
	}))
	origin = newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record("origin"+r.URL.Path, r)
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/end", http.StatusFound)
		case "/cross":
			http.Redirect(w, r, other.URL+"/end", http.StatusFound)
		case "/cross-and-back":
			http.Redirect(w, r, other.URL+"/back", http.StatusFound)
		case "/cross-with-userinfo":
			http.Redirect(w, r, strings.Replace(other.URL, "http://", "http://them:pw@", 1)+"/end", http.StatusFound)
		}
	}))
	header := http.Header{"Authorization": {"Bearer secret"}, "Cookie": {"session=secret"}}
	withCreds := hop{"Bearer secret", "session=secret"}
	userinfo := strings.Replace(origin.URL, "http://", "http://user:pass@", 1)
	basic := hop{auth: "Basic dXNlcjpwYXNz"}

	tests := []struct {
		name   string
		header http.Header
		url    string
		want   map[string]hop
	}{
		{"same host keeps them", header, origin.URL + "/same",
			map[string]hop{"origin/same": withCreds, "origin/end": withCreds}},
		{"other host gets none", header, origin.URL + "/cross",
			map[string]hop{"origin/cross": withCreds, "other/end": {}}},
		{"none after leaving, even back home", header, origin.URL + "/cross-and-back",
			map[string]hop{"origin/cross-and-back": withCreds, "other/back": {}, "origin/end": {}}},
		{"userinfo stays home", nil, userinfo + "/cross",
			map[string]hop{"origin/cross": basic, "other/end": {}}},
		{"no basic auth from a Location's userinfo", nil, origin.URL + "/cross-with-userinfo",
			map[string]hop{"origin/cross-with-userinfo": {}, "other/end": {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hops = map[string]hop{}
			c := fetch.New(fetch.Options{Header: tt.header})
			if _, err := c.Fetch(t.Context(), tt.url, nil); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(hops) != fmt.Sprint(tt.want) {
				t.Errorf("headers per hop = %v, want %v", hops, tt.want)
			}
		})
	}
}

func TestGet(t *testing.T) {
	srv := newServer(t, newMux(t))
	srv.Config.Handler.(*http.ServeMux).HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		for range 600 {
			w.Write([]byte(strings.Repeat("#", 1023) + "\n"))
		}
	})
	closed := closedPort(t)
	tests := []struct {
		name       string
		url        string
		wantStatus int
		wantLen    int
		wantClass  string
	}{
		{"body truncated without error", srv.URL + "/robots.txt", 200, 512 << 10, ""},
		{"5 redirects", srv.URL + "/hop/5", 200, 4, ""},
		{"sixth redirect returned", srv.URL + "/hop/6", 302, -1, ""},
		{"closed port", closed, 0, 0, fetch.ClassConnect},
	}
	// A small MaxBodyBytes must not shrink Get's cap.
	c := fetch.New(fetch.Options{MaxBodyBytes: 1024})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, err := c.Get(t.Context(), tt.url)
			if got := fetch.ClassOf(err); got != tt.wantClass {
				t.Fatalf("Get error class = %q (%v), want %q", got, err, tt.wantClass)
			}
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			if tt.wantLen >= 0 && len(body) != tt.wantLen {
				t.Errorf("len(body) = %d, want %d", len(body), tt.wantLen)
			}
		})
	}
}

// TestFetchReusesConnections checks that keep-alive works across fetches and
// across a redirect hop, so politeness does not cost a handshake per page.
func TestFetchReusesConnections(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(newMux(t))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := fetch.New(fetch.Options{})
	for _, path := range []string{"/html", "/hop/1", "/big", "/big-chunked", "/html"} {
		if _, err := c.Fetch(t.Context(), srv.URL+path, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("opened %d connections, want 1", n)
	}
}

func TestErrorString(t *testing.T) {
	c := fetch.New(fetch.Options{})
	_, err := c.Fetch(t.Context(), "http://[::1", nil)
	if err == nil || !strings.HasPrefix(err.Error(), "fetch http://[::1: invalid_url: ") {
		t.Errorf("unparseable URL: error = %v", err)
	}
	closed := closedPort(t)
	withPass := strings.Replace(closed, "http://", "http://user:secret@", 1)
	_, err = c.Fetch(t.Context(), withPass, nil)
	want := "fetch " + strings.Replace(closed, "http://", "http://user:xxxxx@", 1) + ": connect: "
	if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "secret") {
		t.Errorf("error = %v, want prefix %q and no password", err, want)
	}
}

func TestRedirectErrorsNameTheTarget(t *testing.T) {
	srv := newServer(t, newMux(t))
	_, err := fetch.New(fetch.Options{}).Fetch(t.Context(), srv.URL+"/ftp", nil)
	if err == nil || !strings.Contains(err.Error(), "ftp://127.0.0.1/file") {
		t.Errorf("error = %v, want it to name the target", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    fetch.Options
		wantErr bool
	}{
		{"zero", fetch.Options{}, false},
		{"no redirects", fetch.Options{MaxRedirects: -1}, false},
		{"negative timeout", fetch.Options{Timeout: -time.Second}, true},
		{"negative connect timeout", fetch.Options{ConnectTimeout: -1}, true},
		{"negative header timeout", fetch.Options{HeaderTimeout: -1}, true},
		{"negative body", fetch.Options{MaxBodyBytes: -1}, true},
		{"negative conns", fetch.Options{MaxConnsPerHost: -1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, want error: %v", err, tt.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "fetch: ") {
				t.Errorf("Validate() = %q, want a fetch: prefix", err)
			}
		})
	}
}

// TestReleaseReusesBodies checks that a released body's memory serves a
// later fetch, that each body holds its own response whatever was released
// before it (known and unknown lengths, growing and shrinking), and that
// Release is safe to call twice and on a Response Fetch did not make.
func TestReleaseReusesBodies(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		body := strings.Repeat(r.URL.Query().Get("c"), n)
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		io.WriteString(w, body)
	}))
	defer srv.Close()
	c := fetch.New(fetch.Options{})
	ctx := context.Background()
	tests := []struct {
		n       int
		c       string
		chunked bool
	}{
		{5000, "a", false},
		{100, "b", false},  // fits the released buffer
		{20000, "c", true}, // grows past it, unknown length
		{3000, "d", true},
		{0, "e", false},
		{9000, "f", false},
	}
	reused := false
	var last *byte
	// Three rounds: sync.Pool may drop what it is given (it does so at
	// random under the race detector).
	for _, tt := range append(append(tests, tests...), tests...) {
		u := fmt.Sprintf("%s/?n=%d&c=%s", srv.URL, tt.n, tt.c)
		if tt.chunked {
			u += "&chunked=1"
		}
		resp, err := c.Fetch(ctx, u, nil)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if want := strings.Repeat(tt.c, tt.n); string(resp.Body) != want {
			t.Fatalf("%s: body of %d bytes %.20q...; want %d bytes of %q", u, len(resp.Body), resp.Body, tt.n, tt.c)
		}
		if cap(resp.Body) > 0 {
			p := &resp.Body[:1][0]
			reused = reused || p == last
			last = p
		}
		resp.Release()
		if resp.Body != nil || resp.Bytes != int64(tt.n) {
			t.Errorf("%s: after Release, Body has %d bytes and Bytes is %d; want nil and %d", u, len(resp.Body), resp.Bytes, tt.n)
		}
		resp.Release()
	}
	if !reused {
		t.Error("no fetch reused a released body's memory")
	}
	(&fetch.Response{Body: []byte("x")}).Release() // not from Fetch: no-op
	var nilResp *fetch.Response
	nilResp.Release()
}
