package testsite

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServeMultiHost(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	site := New(Options{Pages: 50, Latency: time.Minute})
	urls, err := Serve(ctx, site, []string{"127.0.0.2:0", "127.0.0.3:0"})
	if err != nil {
		t.Skipf("no second loopback address here: %v", err)
	}
	if len(urls) != 2 || !strings.HasPrefix(urls[0], "http://127.0.0.2:") || !strings.HasPrefix(urls[1], "http://127.0.0.3:") {
		t.Fatalf("Serve returned %q", urls)
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	holdRequests(t, site, client, map[string]int{urls[0]: 3, urls[1]: 5})
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"MaxInFlight", site.MaxInFlight(), 8},
		{"MaxInFlightHost(a)", site.MaxInFlightHost(urls[0]), 3},
		{"MaxInFlightHost(b)", site.MaxInFlightHost(strings.TrimPrefix(urls[1], "http://")), 5},
		{"FetchesHost(a, 1)", site.FetchesHost(urls[0], 1), 3},
		{"DuplicatesHost(b)", site.DuplicatesHost(urls[1]), 4},
		{"Fetches(1)", site.Fetches(1), 8},
		{"Unique", site.Unique(), 2},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if hosts := site.Hosts(); len(hosts) != 2 {
		t.Errorf("Hosts() = %q, want two", hosts)
	}
	cancel()
	// After ctx ends the servers refuse connections.
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := client.Get(urls[0] + "/robots.txt")
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still answering after ctx ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServeHostsAreSeparateSites(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	site := New(Options{Pages: 40, Seed: 4})
	urls, err := Serve(ctx, site, []string{"127.0.0.2:0", "127.0.0.3:0"})
	if err != nil {
		t.Skipf("no second loopback address here: %v", err)
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for _, base := range urls {
		depth := bfs(t, client, base)
		if len(depth) != 40 {
			t.Errorf("%s: crawl reached %d pages, want 40", base, len(depth))
		}
		host := strings.TrimPrefix(base, "http://")
		for n := range 40 {
			if got := site.FetchesHost(base, n); got != 1 {
				t.Errorf("%s: page %d fetched %d times, want 1", base, n, got)
			}
			for _, h := range site.LinksFor(host, n) {
				if strings.Contains(h, "//") && !strings.Contains(strings.ToLower(h), "//"+host+"/") && !strings.HasPrefix(h, DefaultOffsiteURL) {
					t.Errorf("%s: page %d links to another host: %q", base, n, h)
				}
			}
		}
	}
	if got := site.Unique(); got != 80 {
		t.Errorf("Unique = %d, want 80 (40 pages on each of two hosts)", got)
	}
	if got := site.Duplicates(); got != 0 {
		t.Errorf("Duplicates = %d, want 0", got)
	}
}

func TestServeListenError(t *testing.T) {
	site := New(Options{})
	if _, err := Serve(context.Background(), site, []string{"127.0.0.1:0", "256.0.0.1:0"}); err == nil {
		t.Fatal("Serve on an invalid address: nil error")
	}
}
