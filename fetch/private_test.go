package fetch_test

import (
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/fetch"
)

func TestPublicAddr(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"2606:4700:4700::1111", true},
		{"93.184.215.14", true},
		{"127.0.0.1", false},
		{"127.1.2.3", false},
		{"::1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false},
		{"fe80::1", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"::", false},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"ff02::1", false},
		{"100.64.0.1", false},
		{"198.18.0.1", false},
		{"240.0.0.1", false},
		{"255.255.255.255", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"::ffff:8.8.8.8", true},
		{"172.32.0.1", true},
	}
	for _, tt := range tests {
		if got := fetch.PublicAddr(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("PublicAddr(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if fetch.PublicAddr(netip.Addr{}) {
		t.Error("the zero Addr is public")
	}
}

// TestDenyPrivate checks that DenyPrivate refuses loopback and the cloud
// metadata address before connecting, and that the refusal has its class.
// Nothing is sent anywhere: the dialer's control function runs before
// connect(2).
func TestDenyPrivate(t *testing.T) {
	var hits atomic.Int32
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/to-metadata" {
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		}
	}))
	deny := fetch.New(fetch.Options{DenyPrivate: true, Timeout: 2 * time.Second})
	for _, u := range []string{
		srv.URL + "/",
		strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::ffff:127.0.0.1]:1/",
		"http://0.0.0.0:1/",
		"http://10.0.0.1:1/",
	} {
		start := time.Now()
		resp, err := deny.Fetch(t.Context(), u, nil)
		if got := fetch.ClassOf(err); got != fetch.ClassDenied || resp != nil {
			t.Errorf("Fetch(%s) with DenyPrivate: class %q (%v), want %q", u, got, err, fetch.ClassDenied)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Fetch(%s) took %v: the refusal should be immediate", u, d)
		}
		if err != nil && !strings.Contains(err.Error(), "non-public address") {
			t.Errorf("error %q does not say why", err)
		}
	}
	if _, _, err := deny.Get(t.Context(), srv.URL+"/robots.txt"); fetch.ClassOf(err) != fetch.ClassDenied {
		t.Errorf("Get with DenyPrivate: %v, want class %q", err, fetch.ClassDenied)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server got %d requests through DenyPrivate", n)
	}

	// Without it, loopback is reached, and the redirect is returned as is.
	allow := fetch.New(fetch.Options{MaxRedirects: -1})
	resp, err := allow.Fetch(t.Context(), srv.URL+"/to-metadata", nil)
	if err != nil || resp.Status != http.StatusFound {
		t.Fatalf("without DenyPrivate: %v, %v", resp, err)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("server got %d requests, want 1", n)
	}
}
