//go:build linux

package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/testsite"
)

// maxHostileRSS is the peak resident memory a crawl of the whole hostile
// site may reach: bounded, where 50 MB bodies, a gzip bomb and a 100,000-link
// page would take gigabytes unbounded. It measured 122 MiB on 2026-12-02 and
// 138–146 MiB on 2026-12-07 (153 once on a machine loaded by other builds),
// and 142–156 MiB later that day, against 142–148 for the build before, run
// side by side: the binary grew by 15 MB (chromedp, pgx, the MySQL and
// SQLite drivers) and more of it is resident. Run beside the package's
// other tests (Chromium, three database servers, 5,000-page crawls) on 2
// cores, it reached 222–257 MiB: starved of CPU, more large bodies are in
// flight at once and the collector lags. So the test runs alone in its
// package (not parallel); beside other packages' tests in .ci/run it
// measured 179 MiB. The bound leaves room for that noise; unbounded, the
// crawl would take gigabytes. The rise since 122 MiB is to be explained.
const maxHostileRSS = 208 << 20

// TestHostileCrawlBoundedMemory runs the built binary over the whole
// hostile site (50 MB bodies, a gzip bomb, a 100,000-link page, traps,
// drips and broken connections), with the defaults but for a short
// timeout, no rate limit and a page budget for the traps, and checks that
// it ends in bounded time with a peak RSS (from the kernel's rusage) under
// 150 MiB, recording every case.
func TestHostileCrawlBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and crawls the whole hostile site")
	}
	// Not parallel: it measures memory, which the other tests' load moves.
	bin := buildBinary(t)
	h := testsite.NewHostile(testsite.HostileOptions{DripEvery: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	urls, err := testsite.ServeHostile(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.jsonl")
	cmd := exec.CommandContext(ctx, bin, "--rate", "0", "--per-host", "4", "--timeout", "2s",
		"--max-pages-per-host", "1500", "--strip-param", "sid", "--strip-param", "utm_*",
		"--quiet", "-o", out, urls.Main+"/")
	start := time.Now()
	output, err := cmd.CombinedOutput()
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("crawl: %v after %v\n%s", err, elapsed, output)
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
	recs := readRecords(t, out)
	t.Logf("%d records in %v, peak RSS %.1f MiB", len(recs), elapsed.Round(time.Millisecond), float64(rss)/(1<<20))
	if rss > maxHostileRSS {
		t.Errorf("peak RSS %.1f MiB, want under %d MiB", float64(rss)/(1<<20), maxHostileRSS>>20)
	}
	if elapsed > time.Minute {
		t.Errorf("crawl took %v", elapsed)
	}
	for path, class := range map[string]string{
		"/body/big":         "too_large",
		"/body/big-chunked": "too_large",
		"/body/gzip-bomb":   "too_large",
		"/body/drip":        "timeout",
		"/body/reset":       "reset",
		"/redirect/loop-a":  "redirect_limit",
		"/status/500":       "http_5xx",
		"/status/503":       "",
		"/trap/farm":        "",
	} {
		r, ok := recs[urls.Main+path]
		if !ok || r.Error != class {
			t.Errorf("%s: record %+v, want error %q", path, r, class)
		}
	}
	if !recs[urls.Main+"/trap/farm"].LinksTruncated {
		t.Error("link farm: links_truncated not recorded")
	}
	if n := h.CountPrefix(testsite.HostileMain, "/t/never/"); n != 0 {
		t.Errorf("%d requests for links that must not be followed", n)
	}
}
