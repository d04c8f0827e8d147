package main

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/hivecrawl/crawl/fetch"
)

// seedLookupTimeout bounds the DNS lookup of each seed host that decides
// --deny-private's default.
const seedLookupTimeout = 2 * time.Second

// denyPrivate decides --deny-private: as given (flag not nil), or else on
// unless a seed's host is on a non-public address (an IP literal such as 127.0.0.1 or
// 10.0.0.5, localhost, or a name that resolves to such an address). A crawl
// that starts inside a private network means to crawl it; one that starts
// on the public web must not be steered into the network it runs in.
func denyPrivate(ctx context.Context, flag *bool, seeds []string) bool {
	if flag != nil {
		return *flag
	}
	for _, s := range seeds {
		if !publicSeed(ctx, s) {
			return false
		}
	}
	return true
}

// publicSeed reports whether the host of seed is on public addresses only.
// A name that does not resolve counts as public: its fetch fails anyway.
func publicSeed(ctx context.Context, seed string) bool {
	u, err := url.Parse(seed)
	if err != nil {
		return true
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if a, err := netip.ParseAddr(host); err == nil {
		return fetch.PublicAddr(a)
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, seedLookupTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return true
	}
	for _, a := range addrs {
		if !fetch.PublicAddr(a) {
			return false
		}
	}
	return true
}
