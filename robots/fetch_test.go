package robots_test

import (
	"errors"
	"net"
	"net/url"
	"testing"

	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/robots"
)

// TestFetchErrorCarriesFetchClass checks, over the crawler's own Getter,
// that an unreachable host's robots.txt fails with an error from which
// fetch.ClassOf reads the host's failure class.
func TestFetchErrorCarriesFetchClass(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tests := []struct {
		name, url, class string
	}{
		{"connection refused", "http://" + addr + "/page", fetch.ClassConnect},
		// A name with an empty label is refused by the resolver before
		// any query is sent: no traffic leaves the machine.
		{"no such host", "http://robots..test/page", fetch.ClassDNS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := robots.New(robots.Options{Getter: fetch.New(fetch.Options{})})
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			d, err := c.Check(t.Context(), u)
			var fe *robots.FetchError
			if d.Allowed || !errors.As(err, &fe) || !errors.Is(err, robots.ErrUnavailable) {
				t.Fatalf("Check = %+v, %v; want disallowed, a *robots.FetchError", d, err)
			}
			if got := fetch.ClassOf(err); got != tt.class {
				t.Errorf("fetch.ClassOf(%v) = %q, want %q", err, got, tt.class)
			}
		})
	}
}
