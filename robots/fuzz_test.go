package robots

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/temoto/robotstxt"
)

// staticGetter answers every Get with one status and body, without a
// network.
type staticGetter struct {
	status int
	body   []byte
}

func (g staticGetter) Get(context.Context, string) (int, []byte, error) {
	return g.status, g.body, nil
}

// FuzzRobots feeds arbitrary robots.txt bodies, statuses and paths through
// a Cache. It checks that nothing panics, that what lenient keeps the
// library accepts (a file it still rejects would be read as "allow
// everything"), that the status is honoured as RFC 9309 says, and that
// decisions are stable and never disallow /robots.txt. Its seed corpus is
// in testdata/fuzz/FuzzRobots.
func FuzzRobots(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, path string, code uint16) {
		status := 100 + int(code)%500
		u, err := url.Parse("http://example.com/" + path)
		if err != nil {
			return
		}
		if _, err := robotstxt.FromBytes(lenient(body)); err != nil {
			t.Fatalf("the library rejects what lenient kept (%v): the whole file would be ignored", err)
		}
		c := New(Options{Getter: staticGetter{status, body}})
		ctx := context.Background()
		d, err := c.Check(ctx, u)
		again, err2 := c.Check(ctx, u)
		if d != again || (err == nil) != (err2 == nil) {
			t.Fatalf("unstable: %+v, %v then %+v, %v", d, err, again, err2)
		}
		if d.CrawlDelay < 0 {
			t.Fatalf("crawl delay %v", d.CrawlDelay)
		}
		switch {
		case status >= 300 && status < 500 && status != 429:
			if err != nil || !d.Allowed {
				t.Fatalf("status %d: %+v, %v: want everything allowed", status, d, err)
			}
		case status < 200 || status >= 300: // 1xx, 429, 5xx
			if !errors.Is(err, ErrUnavailable) || d.Allowed || d.RetryAt.IsZero() {
				t.Fatalf("status %d: %+v, %v: want unavailable", status, d, err)
			}
		default:
			if err != nil {
				t.Fatalf("status %d: %v", status, err)
			}
			if !d.Allowed && !bytes.Contains(bytes.ToLower(body), []byte("disallow")) {
				t.Fatalf("%q disallowed by a file without a Disallow line", u)
			}
		}
		if d, err := c.Check(ctx, mustParseURL(t, "http://example.com/robots.txt")); err != nil || !d.Allowed {
			t.Fatalf("/robots.txt: %+v, %v", d, err)
		}
		sm, err := c.Sitemaps(ctx, u)
		if len(sm) > 0 && (err != nil || !bytes.Contains(bytes.ToLower(body), []byte("sitemap"))) {
			t.Fatalf("sitemaps %q from a file without a Sitemap line", sm)
		}
	})
}

func mustParseURL(t *testing.T, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
