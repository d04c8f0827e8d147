package testsite

import (
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func startHostileServer(t *testing.T, opts HostileOptions) (*Hostile, HostileURLs) {
	t.Helper()
	h := NewHostile(opts)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	urls, err := ServeHostile(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	return h, urls
}

// hostileClient is a client that returns redirects as they are and asks for
// no compression, so the tests see what the server sends.
var hostileClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{DisableCompression: true},
}

func hostileGet(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := hostileClient.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestHostileRoutes(t *testing.T) {
	h, u := startHostileServer(t, HostileOptions{BigBytes: 100_000, FarmLinks: 50})
	_, index := hostileGet(t, u.Main+"/")
	for _, e := range hostileIndex {
		if !strings.Contains(index, `href="`+strings.ReplaceAll(e, "&", "&amp;")+`"`) {
			t.Errorf("index does not link to %s", e)
		}
	}
	redirects := map[string]string{
		"/redirect/loop-a":         "/redirect/loop-b",
		"/redirect/chain/3":        "/redirect/chain/2",
		"/redirect/other":          u.Other + "/t/landing",
		"/redirect/ftp":            "ftp://127.0.0.1/file",
		"/redirect/javascript":     "javascript:alert(1)",
		"/security/redirect-other": u.Other + "/t/landing-security",
	}
	for path, want := range redirects {
		resp, _ := hostileGet(t, u.Main+path)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
			t.Errorf("%s: %d to %q, want 302 to %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	for _, want := range []int{429, 200, 200} {
		if resp, _ := hostileGet(t, u.Main+"/status/429"); resp.StatusCode != want {
			t.Errorf("/status/429: %d, want %d", resp.StatusCode, want)
		} else if want == 429 && resp.Header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After %q, want 1", resp.Header.Get("Retry-After"))
		}
	}
	for _, want := range []int{503, 503, 200, 200} {
		if resp, _ := hostileGet(t, u.Main+"/status/503"); resp.StatusCode != want {
			t.Errorf("/status/503: %d, want %d", resp.StatusCode, want)
		}
	}
	if resp, body := hostileGet(t, u.Main+"/body/big"); resp.ContentLength != 100_000 || len(body) != 100_000 {
		t.Errorf("/body/big: Content-Length %d, %d bytes", resp.ContentLength, len(body))
	}
	if _, body := hostileGet(t, u.Main+"/trap/farm"); strings.Count(body, "<a ") != 50 {
		t.Errorf("farm has %d links, want 50", strings.Count(body, "<a "))
	}
	if _, body := hostileGet(t, u.Main+"/content/cp1251"); !strings.Contains(body, "\xcf\xf0\xe8\xe2\xe5\xf2") {
		t.Errorf("cp1251 page does not hold Привет in windows-1251: %q", body)
	}
	if resp, _ := hostileGet(t, u.Other+"/robots.txt"); resp.StatusCode != 200 {
		t.Errorf("other robots.txt: %d", resp.StatusCode)
	}

	if err := h.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := h.Count(HostileMain, "/status/503"); n != 4 {
		t.Errorf("Count(/status/503) = %d, want 4", n)
	}
	if n := h.CountPrefix(HostileMain, "/redirect/"); n != 5 {
		t.Errorf("CountPrefix(/redirect/) = %d, want 5", n)
	}
	reqs := h.RequestsFor(HostileMain, "/status/429")
	if len(reqs) != 3 || reqs[0].Status != 429 || reqs[0].End.Before(reqs[0].Start) || reqs[1].Start.Before(reqs[0].Start) {
		t.Errorf("records of /status/429: %+v", reqs)
	}
	if n := h.Count(HostileOther, "/robots.txt"); n != 1 {
		t.Errorf("other host robots.txt counted %d times", n)
	}
}

func TestHostileGzipBombSize(t *testing.T) {
	_, u := startHostileServer(t, HostileOptions{BombBytes: 5 << 20})
	resp, err := hostileClient.Get(u.Main + "/body/gzip-bomb")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	compressed, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(strings.NewReader(string(compressed)))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, zr)
	if err != nil || n != 5<<20 || len(compressed) > 20<<10 {
		t.Errorf("bomb: %d compressed bytes inflate to %d (%v), want 5 MiB from a few KiB", len(compressed), n, err)
	}
}

func TestHostileSilentListener(t *testing.T) {
	h, u := startHostileServer(t, HostileOptions{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(u.Silent, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := conn.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("silent listener answered: %d bytes, %v", n, err)
	}
	if n := h.Count(HostileSilent, ""); n != 1 {
		t.Errorf("%d connections recorded, want 1", n)
	}
}

func TestHostileOptionsValidate(t *testing.T) {
	for _, o := range []HostileOptions{{BigBytes: -1}, {DripEvery: -time.Second}, {OtherURL: "not a url"}} {
		if o.Validate() == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	if err := (HostileOptions{}).Validate(); err != nil {
		t.Error(err)
	}
}
