package robots

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
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
// a Cache. It checks that nothing panics, that the status is honoured as
// RFC 9309 says, that the verdict is the one a plain reading of RFC 9309
// 2.2.2 gives (refAllowed), and that decisions are stable and never
// disallow /robots.txt. Its seed corpus is in testdata/fuzz/FuzzRobots.
func FuzzRobots(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, path string, code uint16) {
		status := 100 + int(code)%500
		u, err := url.Parse("http://example.com/" + path)
		if err != nil {
			return
		}
		c := New(Options{Getter: staticGetter{status, body}})
		ctx := context.Background()
		d, err := c.Check(ctx, u)
		again, err2 := c.Check(ctx, u)
		if d != again || (err == nil) != (err2 == nil) {
			t.Fatalf("unstable: %+v, %v then %+v, %v", d, err, again, err2)
		}
		if d.CrawlDelay < 0 || d.CrawlDelay > defaultMaxCrawlDelay {
			t.Fatalf("crawl delay %v", d.CrawlDelay)
		}
		switch {
		case status >= 300 && status < 500 && status != 429:
			if err != nil || !d.Allowed {
				t.Fatalf("status %d: %+v, %v: want everything allowed", status, d, err)
			}
		case status < 200 || status >= 300: // 1xx, 429, 5xx
			var fe *FetchError
			if !errors.Is(err, ErrUnavailable) || errors.As(err, &fe) || d.Allowed || d.RetryAt.IsZero() {
				t.Fatalf("status %d: %+v, %v: want unavailable", status, d, err)
			}
		default:
			if err != nil {
				t.Fatalf("status %d: %v", status, err)
			}
			if !d.Allowed && !bytes.Contains(bytes.ToLower(body), []byte("disallow")) {
				t.Fatalf("%q disallowed by a file without a Disallow line", u)
			}
			g, _ := parse(body, productToken(""))
			if want := g == nil || refAllowed(t, g, targetOf(u)); d.Allowed != want {
				t.Fatalf("%q: Allowed %v, the reference says %v", u, d.Allowed, want)
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

// FuzzMatch checks the matcher against regular expressions built from the
// same patterns, and normalize's contract: ASCII out, idempotent, and the
// rule's weight is its normalized pattern's length in octets.
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"/", "/"},
		{"/*.html", "/x/page.html"},
		{"/*.php$", "/filename.php"},
		{"/fish*.php", "/fishheads/catfish.php?parameters"},
		{"/foo/bar/ツ", "/foo/bar/%E3%83%84"},
		{"/a**b$*$", "/a$b$"},
		{"*", ""},
		{"/%7euser/%zz%", "/~user/%25zz%25"},
		{"/a*b*c*d", "/abcabdcd"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		if len(pattern) > 256 || len(path) > 1024 {
			return // longer inputs find nothing new, and slow minimizing down
		}
		np, nt := normalize(pattern), normalize(path)
		for _, s := range []string{np, nt} {
			for i := 0; i < len(s); i++ {
				if mustEscape(s[i]) {
					t.Fatalf("normalize left %q in %q", s[i], s)
				}
			}
			if normalize(s) != s {
				t.Fatalf("normalize(%q) = %q: not idempotent", s, normalize(s))
			}
		}
		r := newRule(false, pattern)
		if r.length != len(np) {
			t.Fatalf("weight %d, want %d", r.length, len(np))
		}
		if got, want := r.matches(nt), refMatch(t, np, nt); got != want {
			t.Fatalf("pattern %q, path %q: matches %v, regexp says %v", np, nt, got, want)
		}
	})
}

// refMatch matches a normalized pattern with a regular expression: "*" is
// any run of octets, a final "$" the end, and the pattern is anchored at
// the start.
func refMatch(t *testing.T, pattern, target string) bool {
	t.Helper()
	anchored := strings.HasSuffix(pattern, "$")
	pattern = strings.TrimSuffix(pattern, "$")
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	expr := `(?s)^` + strings.Join(parts, ".*")
	if anchored {
		expr += `$`
	}
	return regexp.MustCompile(expr).MatchString(target)
}

// refAllowed is group.allowed read straight from RFC 9309 2.2.2: among the
// matching rules, the longest pattern wins, Allow on a tie; none allows.
func refAllowed(t *testing.T, g *group, target string) bool {
	best, allow := -1, true
	for _, r := range g.rules {
		pattern := strings.Join(r.segs, "*")
		if r.anchored {
			pattern += "$"
		}
		if len(pattern) != r.length || !refMatch(t, pattern, target) {
			continue
		}
		if r.length > best || (r.length == best && r.allow) {
			best, allow = r.length, r.allow
		}
	}
	return allow
}

func mustParseURL(t *testing.T, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
