package main

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Runner names, in the order they run.
const (
	runCrawl      = "crawl"
	runColly      = "colly"
	runWget       = "wget"
	runFetch      = "fetch"
	runFetchParse = "fetch+parse"
	// runBaseline is crawl built from other code (-baseline-bin), run with
	// crawl's flags: an A/B comparison of two builds in one invocation.
	runBaseline = "baseline"
)

var allRunners = []string{runCrawl, runBaseline, runColly, runWget, runFetch, runFetchParse}

// scenario is one benchmark configuration: the site's shape and the
// crawlers' settings.
type scenario struct {
	Name string
	// Pages is the number of pages on each host; a crawl fetches
	// Pages × Hosts pages.
	Pages        int
	LinksPerPage int
	PageBytes    int
	// Hosts is the number of loopback addresses (127.0.0.2, 127.0.0.3, ...)
	// the site is served on; each is a site of its own.
	Hosts   int
	Latency time.Duration
	// Concurrency is the crawlers' worker count (crawl --concurrency,
	// Colly's parallelism, the loops' goroutines).
	Concurrency int
	// PerHost caps requests in flight per host (crawl --per-host, Colly's
	// LimitRule per host, the loops' connections per host).
	PerHost int
	Runners []string
	// Render, when set, makes a render scenario (bench/render.go): the
	// testsite App of about Pages pages, crawl --render Render with
	// Concurrency tabs against a reference ("always": the naive chromedp
	// loop; "auto": crawl --render always).
	Render string
}

// Expected is the number of distinct pages a complete crawl fetches.
func (s scenario) Expected() int { return s.Pages * s.Hosts }

// PoliteLimit is the pages/s that per-host caps and latency allow
// (hosts × per-host ÷ latency), or 0 when there is no latency.
func (s scenario) PoliteLimit() float64 {
	if s.Latency <= 0 {
		return 0
	}
	return float64(s.Hosts*s.PerHost) / s.Latency.Seconds()
}

func (s scenario) String() string {
	lat := "none"
	if s.Latency > 0 {
		lat = s.Latency.String()
	}
	return fmt.Sprintf("%s: %d hosts × %d pages × %d links × %d B, latency %s, concurrency %d, per-host %d",
		s.Name, s.Hosts, s.Pages, s.LinksPerPage, s.PageBytes, lat, s.Concurrency, s.PerHost)
}

// presets are the scenarios of issue 8. big leaves Colly out by default: it
// parks a goroutine per discovered link and would need gigabytes and many
// minutes for 200,000 pages; -runners brings it back.
var presets = map[string]scenario{
	"cpu": {
		Pages: 20_000, LinksPerPage: 20, PageBytes: 8 << 10, Hosts: 1,
		Concurrency: 64, PerHost: 64, Runners: allRunners,
	},
	"large": {
		Pages: 5_000, LinksPerPage: 100, PageBytes: 100 << 10, Hosts: 1,
		Concurrency: 64, PerHost: 64, Runners: allRunners,
	},
	// wget, one request at a time, needs hosts × pages × latency
	// (6,400 × 20 ms = 128 s) per repetition here.
	"polite": {
		Pages: 200, LinksPerPage: 20, PageBytes: 8 << 10, Hosts: 32, Latency: 20 * time.Millisecond,
		Concurrency: 64, PerHost: 1, Runners: allRunners,
	},
	"big": {
		Pages: 200_000, LinksPerPage: 20, PageBytes: 8 << 10, Hosts: 1,
		Concurrency: 64, PerHost: 64, Runners: []string{runCrawl, runWget, runFetch, runFetchParse},
	},
	// render and auto run headless Chromium: a few hundred app routes with
	// 4 tabs; auto on a site of 80% server-rendered pages.
	"render": {Pages: 300, Hosts: 1, Concurrency: 4, PerHost: 4, Render: "always"},
	"auto":   {Pages: 300, Hosts: 1, Concurrency: 4, PerHost: 4, Render: "auto"},
	// smoke is small and quick: it checks that every runner still works and
	// that crawl is complete, never a timing.
	"smoke": {
		Pages: 300, LinksPerPage: 20, PageBytes: 4 << 10, Hosts: 3,
		Concurrency: 8, PerHost: 4, Runners: allRunners,
	},
}

func presetNames() string {
	var names []string
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, "|")
}

// parseRunners checks a comma-separated list of runner names and returns
// them in the canonical order.
func parseRunners(list string) ([]string, error) {
	want := map[string]bool{}
	for _, r := range strings.Split(list, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		known := false
		for _, a := range knownRunners() {
			known = known || a == r
		}
		if !known {
			return nil, fmt.Errorf("unknown runner %q (want some of %s)", r, strings.Join(knownRunners(), ","))
		}
		want[r] = true
	}
	var out []string
	for _, a := range knownRunners() {
		if want[a] {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no runner in %q", list)
	}
	return out, nil
}
