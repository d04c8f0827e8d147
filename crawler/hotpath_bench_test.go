package crawler_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/output"
	"github.com/hivecrawl/crawl/robots"
	"github.com/hivecrawl/crawl/testsite"
)

// sampleResult is a typical page record.
func sampleResult() *crawler.Result {
	return &crawler.Result{
		URL:         "http://127.0.0.2:8080/p/12345",
		FinalURL:    "http://127.0.0.2:8080/p/12345",
		Status:      200,
		Depth:       13,
		Parent:      "http://127.0.0.2:8080/p/6172",
		ContentType: "text/html; charset=utf-8",
		Bytes:       8192,
		DurationMS:  3,
		Title:       "Page 12345",
		Links:       14,
		Attempts:    1,
		FetchedAt:   time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC),
	}
}

// BenchmarkJSONLinesWrite encodes and buffers one typical record.
func BenchmarkJSONLinesWrite(b *testing.B) {
	sink := output.NewJSONLines(io.Discard)
	p := &crawler.Page{Result: sampleResult()}
	b.ReportAllocs()
	for b.Loop() {
		if err := sink.HandlePage(b.Context(), p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJSONLinesWriteParallel writes records from 64 goroutines, as a
// crawl's workers do: it measures contention on the sink.
func BenchmarkJSONLinesWriteParallel(b *testing.B) {
	sink := output.NewJSONLines(io.Discard)
	p := &crawler.Page{Result: sampleResult()}
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := sink.HandlePage(context.Background(), p); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// siteFetcher serves the synthetic site from memory: the crawl engine's
// cost without sockets (the page render is included; see
// testsite.BenchmarkServePage for it alone).
type siteFetcher struct{ site *testsite.Site }

// bodyWriter is the least ResponseWriter that keeps a body.
type bodyWriter struct {
	h    http.Header
	code int
	body []byte
}

func (w *bodyWriter) Header() http.Header         { return w.h }
func (w *bodyWriter) WriteHeader(code int)        { w.code = code }
func (w *bodyWriter) Write(p []byte) (int, error) { w.body = append(w.body, p...); return len(p), nil }

func (f siteFetcher) Fetch(ctx context.Context, rawURL string, _ func(context.Context, *url.URL) error) (*fetch.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	w := &bodyWriter{h: http.Header{}, code: http.StatusOK}
	f.site.ServeHTTP(w, req)
	return &fetch.Response{
		URL: rawURL, FinalURL: rawURL, Status: w.code, Header: w.h,
		ContentType: w.h.Get("Content-Type"), Body: w.body, Bytes: int64(len(w.body)),
	}, nil
}

// Get serves robots.txt to the robots cache.
func (f siteFetcher) Get(ctx context.Context, rawURL string) (int, []byte, error) {
	r, err := f.Fetch(ctx, rawURL, nil)
	if err != nil {
		return 0, nil, err
	}
	return r.Status, r.Body, nil
}

// BenchmarkCrawlInMemory crawls a 2,000-page synthetic site (20 links,
// ~8 KB a page) through the whole engine (frontier, parse, scope, JSON
// lines, robots.txt) with a fetcher that serves it from memory. One op is one crawl;
// pages/s and allocs/page are what to compare across changes.
func BenchmarkCrawlInMemory(b *testing.B) {
	const pages = 2000
	site := testsite.New(testsite.Options{Pages: pages})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	for b.Loop() {
		site.Reset()
		f := siteFetcher{site}
		c, err := crawler.New(crawler.Config{
			Concurrency: 8,
			PerHost:     8,
			Rate:        -1,
			Fetcher:     f,
			Robots:      robots.New(robots.Options{UserAgent: crawler.DefaultUserAgent, Getter: f}),
			Handler:     output.NewJSONLines(io.Discard),
		})
		if err != nil {
			b.Fatal(err)
		}
		sum, err := c.Run(context.Background(), "http://127.0.0.2:8080/")
		if err != nil {
			b.Fatal(err)
		}
		if site.Unique() != pages || site.Duplicates() != 0 || site.Violations() != 0 {
			b.Fatalf("%d of %d pages, %d duplicates, %d violations (%+v)",
				site.Unique(), pages, site.Duplicates(), site.Violations(), sum)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(pages*b.N)/b.Elapsed().Seconds(), "pages/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(pages*b.N), "allocs/page")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(pages*b.N), "B/page")
}
