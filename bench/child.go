package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/gocolly/colly/v2"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/output"
	"github.com/hivecrawl/crawl/testsite"
)

// childFlag, as the first argument, makes the binary run one crawler
// instead of the benchmark, so that the parent can measure its RSS alone.
const childFlag = "-child"

// Child modes.
const (
	childColly    = "colly"
	childFetch    = "fetch"     // the fetch and fetch+parse loops (-parse)
	childCrawlLib = "crawl-lib" // the crawler library under pprof
)

func runChild(ctx context.Context, mode string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench "+childFlag+"="+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	conc := fs.Int("concurrency", 16, "workers")
	perHost := fs.Int("per-host", 2, "requests in flight per host")
	pages := fs.Int("pages", 0, "fetch: pages per host")
	parse := fs.Bool("parse", false, "fetch: parse each page and extract its links")
	cpuProfile := fs.String("cpuprofile", "", "crawl-lib: CPU profile `file`")
	memProfile := fs.String("memprofile", "", "crawl-lib: allocation profile `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	seeds := fs.Args()
	if len(seeds) == 0 {
		return fmt.Errorf("%s: no seed", mode)
	}
	switch mode {
	case childColly:
		return collyCrawl(ctx, seeds, *conc, *perHost, stderr)
	case childFetch:
		return fetchLoop(ctx, seeds, *pages, *conc, *perHost, *parse, stderr)
	case childRender:
		return renderLoop(ctx, seeds, *conc, stderr)
	case childCrawlLib:
		return libCrawl(ctx, seeds, *conc, *perHost, *cpuProfile, *memProfile, stderr)
	}
	return fmt.Errorf("unknown child mode %q", mode)
}

// collyCrawl is an idiomatic Colly v2 crawler: asynchronous, robots.txt
// obeyed, one LimitRule per host with Parallelism per-host (Colly has no
// global cap: concurrency bounds only the rules' parallelism), a visit for
// every a[href]. Its transport keeps per-host idle connections, as Colly's
// documentation shows with WithTransport; the default of 2 would open and
// close a connection per request and run loopback out of ports.
func collyCrawl(ctx context.Context, seeds []string, conc, perHost int, stderr io.Writer) error {
	var hostnames, hosts []string
	for _, s := range seeds {
		u, err := url.Parse(s)
		if err != nil {
			return err
		}
		hostnames, hosts = append(hostnames, u.Hostname()), append(hosts, u.Host)
	}
	c := colly.NewCollector(
		colly.Async(true),
		colly.AllowedDomains(hostnames...),
		colly.StdlibContext(ctx),
		colly.UserAgent("colly-bench"),
	)
	c.IgnoreRobotsTxt = false
	c.WithTransport(&http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConns:        len(hosts) * perHost,
		MaxIdleConnsPerHost: perHost,
		IdleConnTimeout:     90 * time.Second,
	})
	for _, h := range hosts {
		if err := c.Limit(&colly.LimitRule{DomainGlob: h, Parallelism: min(perHost, conc)}); err != nil {
			return err
		}
	}
	var pages, failed atomic.Int64
	c.OnResponse(func(*colly.Response) { pages.Add(1) })
	c.OnError(func(*colly.Response, error) { failed.Add(1) })
	c.OnHTML("a[href]", func(e *colly.HTMLElement) {
		_ = e.Request.Visit(e.Attr("href")) // visited, forbidden and robots errors are expected
	})
	for _, s := range seeds {
		if err := c.Visit(s); err != nil {
			return fmt.Errorf("colly: visit %s: %w", s, err)
		}
	}
	c.Wait()
	fmt.Fprintf(stderr, "colly: %d responses, %d errors\n", pages.Load(), failed.Load())
	return ctx.Err()
}

// fetchLoop GETs every page of every host once with conc goroutines over the
// known page list, hosts interleaved, at most perHost connections per host,
// no frontier. With parse, each body is parsed with goquery as it arrives
// and its links resolved against the page's URL. It is the speed of the
// network and HTML parsing alone, a bound for any crawler.
func fetchLoop(ctx context.Context, seeds []string, pages, conc, perHost int, parse bool, stderr io.Writer) error {
	if pages < 1 {
		return fmt.Errorf("fetch: -pages must be at least 1")
	}
	site := testsite.New(testsite.Options{Pages: pages})
	// Page i of the list is page i/len(seeds) of host i%len(seeds): hosts
	// interleaved, and no list held in memory.
	total := pages * len(seeds)
	pageURL := func(i int) string {
		return strings.TrimSuffix(seeds[i%len(seeds)], "/") + site.Path(i/len(seeds))
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConns:        len(seeds) * perHost,
		MaxIdleConnsPerHost: perHost,
		MaxConnsPerHost:     perHost,
	}}
	var next, links, failed atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			var buf bytes.Buffer
			for {
				i := int(next.Add(1)) - 1
				if i >= total || ctx.Err() != nil {
					return
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, pageURL(i), nil)
				if err != nil {
					failed.Add(1)
					continue
				}
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				buf.Reset()
				_, err = buf.ReadFrom(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
					continue
				}
				if !parse {
					continue
				}
				doc, err := goquery.NewDocumentFromReader(bytes.NewReader(buf.Bytes()))
				if err != nil {
					failed.Add(1)
					continue
				}
				doc.Find("a[href]").Each(func(_ int, s *goquery.Selection) {
					href, _ := s.Attr("href")
					if u, err := req.URL.Parse(href); err == nil {
						u.Fragment = ""
						_ = u.String()
						links.Add(1)
					}
				})
			}
		})
	}
	wg.Wait()
	fmt.Fprintf(stderr, "fetch: %d pages, %d links, %d failed\n", total, links.Load(), failed.Load())
	if err := ctx.Err(); err != nil {
		return err
	}
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("fetch: %d of %d pages failed", n, total)
	}
	return nil
}

// libCrawl crawls with the crawler library configured as cmd/crawl maps
// --rate 0 --per-host P --concurrency C (robots.txt obeyed, JSON lines
// encoded and discarded, no metrics observer), under the CPU profiler, and
// writes an allocation profile at the end.
func libCrawl(ctx context.Context, seeds []string, conc, perHost int, cpuProfile, memProfile string, stderr io.Writer) error {
	sink := output.NewJSONLines(io.Discard)
	c, err := crawler.New(crawler.Config{
		Concurrency: conc,
		PerHost:     perHost,
		Rate:        -1,
		Handler:     sink,
	})
	if err != nil {
		return err
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	sum, err := c.Run(ctx, seeds...)
	if err != nil {
		return err
	}
	if err := sink.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "crawl-lib: done %d, failed %d, %.0f pages/s\n", sum.Done, sum.Failed, sum.PagesPerSecond())
	if memProfile != "" {
		f, err := os.Create(memProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		runtime.GC()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
	}
	return nil
}
