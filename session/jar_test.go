package session

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/hivecrawl/crawl/fetch"
)

// TestJarList checks what a Jar lists: cookies as the jar stored
// them (host-only or domain, default path, expiry from Max-Age), not
// those the jar refused (a Domain of another site, a public suffix), nor
// those later replaced or deleted.
func TestJarList(t *testing.T) {
	j, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	u := func(s string) *url.URL {
		v, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := time.Now().Truncate(time.Second)
	j.SetCookies(u("http://www.example.com/app/page"), []*http.Cookie{
		{Name: "host", Value: "1"},
		{Name: "dom", Value: "2", Domain: ".example.com", Path: "/", MaxAge: 60},
		{Name: "other", Value: "3", Domain: "other.com"}, // refused: not this host's
		{Name: "psl", Value: "4", Domain: "com"},         // refused: a public suffix
		{Name: "gone", Value: "5", Path: "/"},
		{Name: "swap", Value: "old", Path: "/"},
	})
	j.SetCookies(u("http://www.example.com/"), []*http.Cookie{
		{Name: "gone", Value: "", Path: "/", MaxAge: -1},
		{Name: "swap", Value: "new", Path: "/"},
	})
	got := j.List()
	var lines []string
	for _, c := range got {
		lines = append(lines, c.Domain+" "+c.Path+" "+c.Name+"="+c.Value)
	}
	want := "example.com / dom=2|www.example.com / swap=new|www.example.com /app host=1"
	if s := strings.Join(lines, "|"); s != want {
		t.Errorf("listed %s\nwant     %s", s, want)
	}
	for _, c := range got {
		switch c.Name {
		case "dom":
			if !c.IncludeSubdomains || c.Expires.Before(before.Add(60*time.Second)) || c.Expires.After(time.Now().Add(61*time.Second)) {
				t.Errorf("dom: %+v, want a domain cookie expiring in 60s", c)
			}
		case "host":
			if c.IncludeSubdomains || !c.Expires.IsZero() {
				t.Errorf("host: %+v, want a host-only session cookie", c)
			}
		}
	}
	// What it lists loads back into a fresh jar as it was.
	fresh, _ := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
	fetch.LoadCookies(fresh, got, time.Now())
	var names []string
	for _, c := range fresh.Cookies(u("http://www.example.com/app/x")) {
		names = append(names, c.Name+"="+c.Value)
	}
	if s := strings.Join(names, " "); s != "host=1 dom=2 swap=new" {
		t.Errorf("reloaded: %q", s)
	}
}
