package main

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/metrics"
	"github.com/hivecrawl/crawl/proxy"
)

// The pool is what the crawler's fetcher asks and tells, and the metrics
// count what it sees.
var (
	_ fetch.ProxyFeedback = (*proxy.Pool)(nil)
	_ proxy.Observer      = (*metrics.Metrics)(nil)
)

// proxyOptions route every request of the crawl through proxies.
type proxyOptions struct {
	Proxy     string `yaml:"proxy"`
	ProxyFile string `yaml:"proxy-file"`
	ProxyBan  string `yaml:"proxy-ban"`

	// proxies and ban are Proxy and ProxyFile's URLs and ProxyBan
	// compiled, by validate.
	proxies []*url.URL
	ban     *regexp.Regexp
}

func (o *proxyOptions) addFlags(g *flagGroups) {
	fs := g.proxy
	fs.StringVar(&o.Proxy, "proxy", o.Proxy, "send every request through the proxy at `url` (http://, https:// or socks5://, with user:pass@ if it asks)")
	fs.StringVar(&o.ProxyFile, "proxy-file", o.ProxyFile, "rotate over the proxies listed in `file` (one URL a line, # comments): each host keeps one, a failing one is benched")
	fs.StringVar(&o.ProxyBan, "proxy-ban", o.ProxyBan, "bench a proxy whose response body matches `regex` (a ban or captcha page)")
}

// validate parses the proxy URLs and the ban pattern. Its errors never
// show a proxy's password.
func (o *proxyOptions) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
	}
	o.proxies, o.ban = nil, nil
	if o.Proxy != "" {
		u, err := proxy.Parse(o.Proxy)
		if err != nil {
			return bad("--%v", err) // "--proxy "ftp://x": scheme ftp is not ..."
		}
		o.proxies = append(o.proxies, u)
	}
	if o.ProxyFile != "" {
		f, err := os.Open(o.ProxyFile)
		if err != nil {
			return bad("--proxy-file: %v", err)
		}
		defer f.Close()
		list, err := proxy.ParseList(f)
		if err != nil {
			return bad("--proxy-file %s: %v", o.ProxyFile, err)
		}
		o.proxies = append(o.proxies, list...)
	}
	if o.ProxyBan != "" {
		re, err := regexp.Compile(o.ProxyBan)
		if err != nil {
			return bad("--proxy-ban %q: %v", o.ProxyBan, err)
		}
		if len(o.proxies) == 0 {
			return bad("--proxy-ban needs --proxy or --proxy-file")
		}
		o.ban = re
	}
	return nil
}

// apply routes cfg's requests through a pool of the proxies, if any,
// logging to log and counting in m (nil: not counted).
func (o *proxyOptions) apply(cfg *crawler.Config, log *slog.Logger, m *metrics.Metrics) error {
	if len(o.proxies) == 0 {
		return nil
	}
	popts := proxy.Options{Proxies: o.proxies, Ban: o.ban, Log: log}
	if m != nil {
		popts.Observer = m
	}
	pool, err := proxy.New(popts)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg.Proxy, cfg.ProxyFeedback = pool.Proxy, pool
	if m != nil {
		m.SetProxiesBenched(pool.Benched)
	}
	names := make([]string, len(o.proxies))
	for i, u := range o.proxies {
		names[i] = proxy.Redact(u)
	}
	log.Info("requests go through proxies", "proxies", names)
	return nil
}
