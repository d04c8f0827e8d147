package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/redis"
	"github.com/hivecrawl/crawl/frontier/redis/redistest"
	"github.com/hivecrawl/crawl/session"
)

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func newJar(t *testing.T, store session.Store) *session.Jar {
	t.Helper()
	j, err := session.New(session.Options{Store: store, OnError: func(err error) { t.Errorf("store: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// sent is the Cookie header jar sends to rawURL.
func sent(t *testing.T, j http.CookieJar, rawURL string) string {
	t.Helper()
	var parts []string
	for _, c := range j.Cookies(mustURL(t, rawURL)) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// TestFileStoreResume checks that a jar kept in a file is what the next
// run's jar sends: cookies set, replaced and deleted by responses, with
// their paths and flags, in a file only its owner can read.
func TestFileStoreResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cookies.txt")
	ctx := context.Background()
	first := newJar(t, session.NewFileStore(path))
	if n, err := first.Load(ctx); err != nil || n != 0 {
		t.Fatalf("Load of a missing file: %d, %v", n, err)
	}
	site := mustURL(t, "http://shop.example.com/login")
	first.SetCookies(site, []*http.Cookie{
		{Name: "sid", Value: "one", Path: "/", HttpOnly: true},
		{Name: "cart", Value: "3", Path: "/cart"},
		{Name: "tmp", Value: "x", Path: "/"},
	})
	first.SetCookies(site, []*http.Cookie{
		{Name: "sid", Value: "two", Path: "/", HttpOnly: true},
		{Name: "tmp", Path: "/", MaxAge: -1},
	})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}

	next := newJar(t, session.NewFileStore(path))
	n, err := next.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("restored %d cookies, want 2", n)
	}
	if got := sent(t, next, "http://shop.example.com/"); got != "sid=two" {
		t.Errorf("sent to /: %q, want sid=two", got)
	}
	if got := sent(t, next, "http://shop.example.com/cart/1"); got != "cart=3; sid=two" {
		t.Errorf("sent to /cart/1: %q", got)
	}
	if got := sent(t, next, "http://other.example.com/"); got != "" {
		t.Errorf("host-only cookies sent to another host: %q", got)
	}
	list := next.List()
	if len(list) != 2 || !list[0].HTTPOnly || list[0].Name != "sid" || list[1].Name != "cart" {
		t.Errorf("restored list %+v, want an HttpOnly sid and cart", list)
	}
}

// TestFileStoreDamaged checks that a damaged file is an error naming the
// file and line, not a silently empty session, and never shows a value.
func TestFileStoreDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cookies.txt")
	if err := os.WriteFile(path, []byte("example.com\tFALSE\t/\tFALSE\tnot-a-time\tsid\ts3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := newJar(t, session.NewFileStore(path)).Load(context.Background())
	if err == nil || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Load of a damaged file: %v", err)
	}
}

// TestHashStoreFleet checks that jars sharing a Redis hash, as the workers
// of a fleet do, share cookies: one set by a response to a worker reaches
// the other at its next Load, and so does its deletion; a cookie of the
// other worker's own that the store never had is not dropped.
func TestHashStoreFleet(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	open := func(name string) *session.Jar {
		f, err := redis.Open(ctx, srv.URL(0), "shop", redis.Options{Options: frontier.Options{}, Worker: name})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return newJar(t, session.HashStore(f.SessionHash()))
	}
	a, b := open("a"), open("b")
	site := mustURL(t, "https://shop.example.com/login")
	a.SetCookies(site, []*http.Cookie{{Name: "sid", Value: "s3ss", Path: "/", Secure: true, HttpOnly: true, MaxAge: 3600}})
	if n, err := b.Load(ctx); err != nil || n != 1 {
		t.Fatalf("b.Load: %d, %v; want 1 cookie", n, err)
	}
	if got := sent(t, b, "https://shop.example.com/page"); got != "sid=s3ss" {
		t.Errorf("b sends %q, want sid=s3ss", got)
	}
	if got := sent(t, b, "http://shop.example.com/page"); got != "" {
		t.Errorf("a Secure cookie sent over http: %q", got)
	}
	// b's own cookie, not stored because its store is another hash, stays.
	a.SetCookies(site, []*http.Cookie{{Name: "sid", Path: "/", Secure: true, MaxAge: -1}})
	if n, err := b.Load(ctx); err != nil || n != 1 {
		t.Fatalf("b.Load after a deleted sid: %d, %v; want 1 change", n, err)
	}
	if got := sent(t, b, "https://shop.example.com/page"); got != "" {
		t.Errorf("b still sends %q after a deleted it", got)
	}
}

// failing is a Store whose writes fail, as Redis down does.
type failing struct{ session.Store }

func (failing) Update(context.Context, []fetch.NetscapeCookie, []fetch.NetscapeCookie) error {
	return errors.New("connection refused")
}

// TestStoreDown checks that a cookie the store could not keep is still
// sent, the failure is reported without the cookie's value, and a later
// Load does not take the cookie for one another process deleted.
func TestStoreDown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cookies.txt")
	var reported []error
	j, err := session.New(session.Options{
		Store:   failing{session.NewFileStore(path)},
		OnError: func(err error) { reported = append(reported, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	j.SetCookies(mustURL(t, "http://shop.example.com/"), []*http.Cookie{{Name: "sid", Value: "s3cret", Path: "/"}})
	if len(reported) != 1 || strings.Contains(reported[0].Error(), "s3cret") {
		t.Fatalf("reported %v, want one error without the value", reported)
	}
	if _, err := j.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sent(t, j, "http://shop.example.com/"); got != "sid=s3cret" {
		t.Errorf("sends %q, want the cookie kept in memory", got)
	}
}

// TestAddKeepsRestored checks that Add, which loads a user's cookies.txt,
// does not replace a cookie the jar restored from its store (set since),
// and adds the others.
func TestAddKeepsRestored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cookies.txt")
	first := newJar(t, session.NewFileStore(path))
	first.SetCookies(mustURL(t, "http://shop.example.com/"), []*http.Cookie{{Name: "sid", Value: "new", Path: "/"}})

	next := newJar(t, session.NewFileStore(path))
	if _, err := next.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	next.Add([]fetch.NetscapeCookie{
		{Domain: "shop.example.com", Path: "/", Name: "sid", Value: "old"},
		{Domain: "shop.example.com", Path: "/", Name: "pref", Value: "1"},
	}, time.Now())
	if got := sent(t, next, "http://shop.example.com/"); got != "sid=new; pref=1" && got != "pref=1; sid=new" {
		t.Errorf("sends %q, want the restored sid=new and the added pref=1", got)
	}
}
