package crawler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/output"
	"github.com/hivecrawl/crawl/testsite"
)

// readmeRun is the README's first library example, word for word between
// the markers but for the substitutions readmeCode makes.
func readmeRun(ctx context.Context, stdout, stderr io.Writer, seed string) error {
	// README begin
	cfg := crawler.DefaultConfig() // the command line's defaults (16 workers, 5 requests/s per host, robots.txt obeyed)
	cfg.MaxPages = 1000
	cfg.Handler = output.NewJSONLines(stdout) // one JSON line per URL, flushed before Run returns
	c, err := crawler.New(cfg)
	if err != nil {
		return err
	}
	summary, err := c.Run(ctx, seed)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, summary) // "done 7, failed 3 (http_4xx 2, timeout 1), blocked by robots.txt 1"
	// README end
	return nil
}

// readmePages is the README's second library example.
func readmePages(ctx context.Context, c *crawler.Crawler, stdout io.Writer, seed string) error {
	// README begin
	for page, err := range c.Pages(ctx, seed) {
		if err != nil {
			return err // the crawl failed, or ctx ended
		}
		// page.Result is the URL's record: URL (canonical, as queued), FinalURL (after
		// redirects), Status, ContentType, Title, Links, Depth, Parent, Error ("" or a class
		// such as "http_4xx" or "timeout") and Detail.
		// page.Header and page.Body are the response (nil when none came), page.Parsed the
		// parsed HTML page (nil unless a 2xx HTML page), and page.Items what Config.Extractor
		// (a *parse.Extractor built from rules) found on it.
		fmt.Fprintln(stdout, page.Result.Status, page.Result.URL, page.Result.Title, len(page.Items))
	}
	// README end
	return nil
}

// readmeSubstitutions turn the README's code into the test's: its output
// goes to the test's writers, its crawl to the test's site.
var readmeSubstitutions = strings.NewReplacer(
	"os.Stdout", "stdout",
	"os.Stderr", "stderr",
	"fmt.Println(", "fmt.Fprintln(stdout, ",
	`"https://example.com/"`, "seed",
)

// TestREADMEIsTested checks that the README's library examples are the
// code the tests below run.
func TestREADMEIsTested(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, lib, ok := strings.Cut(string(readme), "\n## Library\n")
	if !ok {
		t.Fatal(`README: no "## Library" section`)
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(lib, 2)
	src, err := os.ReadFile("readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	tested := regexp.MustCompile(`(?s)// README begin\n(.*?)\t// README end`).FindAllStringSubmatch(string(src), -1)
	if len(blocks) != 2 || len(tested) != 2 {
		t.Fatalf("%d README blocks, %d tested blocks; want 2 and 2", len(blocks), len(tested))
	}
	for i := range blocks {
		want := unindent(readmeSubstitutions.Replace(blocks[i][1]))
		if got := unindent(tested[i][1]); got != want {
			t.Errorf("README library example %d is not the tested code:\nREADME (substituted):\n%s\ntested:\n%s", i+1, want, got)
		}
	}
}

// unindent drops every line's leading tabs.
func unindent(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimLeft(l, "\t")
	}
	return strings.Join(lines, "\n")
}

// TestREADMERun runs the README's first example on a small site: every
// record reaches the output, though the example never flushes it.
func TestREADMERun(t *testing.T) {
	site := testsite.New(testsite.Options{Pages: 8, PageBytes: 256})
	srv := httptest.NewServer(site)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := readmeRun(ctx, &stdout, &stderr, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	var done, failed, blocked int
	if _, err := fmt.Sscanf(stderr.String(), "done %d, failed %d, blocked by robots.txt %d\n", &done, &failed, &blocked); err != nil {
		t.Fatalf("stderr %q: %v", stderr.String(), err)
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != done+failed+blocked || done < site.Unique() {
		t.Fatalf("%d records written, summary done %d failed %d blocked %d, site served %d pages", len(lines), done, failed, blocked, site.Unique())
	}
	for _, l := range lines {
		var r crawler.Result
		if err := json.Unmarshal([]byte(l), &r); err != nil || r.URL == "" {
			t.Fatalf("record %q: %v", l, err)
		}
	}
}

// TestREADMEPages runs the README's second example on a small site.
func TestREADMEPages(t *testing.T) {
	site := testsite.New(testsite.Options{Pages: 8, PageBytes: 256})
	srv := httptest.NewServer(site)
	defer srv.Close()
	c, err := crawler.New(crawler.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout bytes.Buffer
	if err := readmePages(ctx, c, &stdout, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stdout.String(), "\n200 "+srv.URL); n+1 < site.Unique() {
		t.Errorf("%d pages printed with status 200, the site served %d:\n%s", n, site.Unique(), stdout.String())
	}
}

// TestRunFlushesHandler checks that Run and Pages flush a buffering
// Handler before they return, whatever stopped the crawl.
func TestRunFlushesHandler(t *testing.T) {
	for _, pages := range []bool{false, true} {
		t.Run(fmt.Sprintf("pages=%v", pages), func(t *testing.T) {
			site := testsite.New(testsite.Options{Pages: 20, PageBytes: 256})
			srv := httptest.NewServer(site)
			defer srv.Close()
			var out bytes.Buffer
			w := output.NewJSONLines(&out)
			w.FlushEvery = time.Hour // nothing reaches out but by Flush
			cfg := crawler.DefaultConfig()
			cfg.Rate, cfg.Handler = 0, w
			c, err := crawler.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var n int64
			if pages {
				for _, err := range c.Pages(ctx, srv.URL+"/") {
					if err != nil {
						t.Fatal(err)
					}
					n++
				}
			} else {
				sum, err := c.Run(ctx, srv.URL+"/")
				if err != nil {
					t.Fatal(err)
				}
				n = sum.Done + sum.Failed + sum.Blocked
			}
			if got := int64(strings.Count(out.String(), "\n")); got != n || n == 0 {
				t.Errorf("%d lines written for %d records", got, n)
			}
		})
	}
}
