package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/hivecrawl/crawl/internal/testproc"
	"github.com/hivecrawl/crawl/testsite"
)

// Runners of the render scenarios.
const (
	runRenderLoop  = "chromedp loop" // the naive reference loop, in a child
	runCrawlAlways = "crawl always"  // crawl --render always, beside auto
	childRender    = "render-loop"
)

// renderApp returns the site of a render scenario: for "always", an app
// of about sc.Pages routes; for "auto", sc.Pages pages of which about 80%
// are server-rendered.
func renderApp(sc scenario) *testsite.App {
	if sc.Render == "auto" {
		return testsite.NewApp(testsite.AppOptions{Items: max(1, sc.Pages/10), Pages: max(1, sc.Pages*8/10)})
	}
	return testsite.NewApp(testsite.AppOptions{Items: max(1, sc.Pages/2), Pages: 1})
}

// benchRender runs a render scenario: crawl with --render always against
// the naive chromedp loop at the same tab count, or crawl with --render
// auto against --render always on the mixed site. Memory is the peak PSS
// of the runner's whole process tree (crawl or the loop, and Chromium's
// processes), sampled every 100 ms: plain RSS would count Chromium's
// shared pages once per process.
func benchRender(ctx context.Context, e *env, sc scenario, reps int, stdout io.Writer) error {
	app := renderApp(sc)
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	pages := append(app.AppRoutes(), app.ServerPages()...)
	runners := []string{runCrawl, runRenderLoop}
	if sc.Render == "auto" {
		runners = []string{runCrawl, runCrawlAlways}
	}
	results := map[string][]renderMeasurement{}
	for rep := 1; rep <= reps; rep++ {
		for _, name := range runners {
			if err := ctx.Err(); err != nil {
				return err
			}
			app.Reset()
			m := runRender(ctx, e, sc, name, base+"/")
			hits := app.Hits()
			for _, p := range pages {
				if hits[p] > 0 {
					m.unique++
					m.dups += hits[p] - 1
				}
			}
			m.violations = len(app.Disallowed())
			m.media = len(app.Media())
			if m.recordsFile != "" {
				m.serverRendered = countRendered(m.recordsFile, base, app.ServerPages())
			}
			results[name] = append(results[name], m)
			fmt.Fprintf(e.log, "  %-14s rep %d: %s\n", name, rep, m)
		}
	}
	fmt.Fprintf(stdout, "\n%s: %d pages (%d app routes, %d server-rendered), tabs %d (medians of %d)\n",
		sc.Name, len(pages), len(app.AppRoutes()), len(app.ServerPages()), sc.Concurrency, reps)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "runner\tpages\tdup\trobots viol\timg/font req\tserver pages rendered\twall s\tpages/s\tpeak PSS MB (tree)\tcrawl ×\t")
	med := map[string]renderMeasurement{}
	for _, name := range runners {
		med[name] = medianRender(results[name])
	}
	for _, name := range runners {
		m := med[name]
		ratio := "-"
		if p := m.pps(); p > 0 {
			ratio = fmt.Sprintf("%.2f", med[runCrawl].pps()/p)
		}
		sr := "-"
		if m.recordsFile != "" {
			sr = fmt.Sprintf("%d/%d", m.serverRendered, len(app.ServerPages()))
		}
		note := ""
		if m.err != nil {
			note = "FAILED: " + m.err.Error()
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%d\t%d\t%d\t%s\t%.2f\t%.1f\t%.0f\t%s\t%s\n", name, m.unique, len(pages), m.dups, m.violations,
			m.media, sr, m.wall.Seconds(), m.pps(), float64(m.pssKB)/1024, ratio, note)
	}
	tw.Flush()
	crawl := med[runCrawl]
	if sc.Render == "auto" {
		always := med[runCrawlAlways]
		fmt.Fprintf(stdout, "target: auto ≥ 3× the pages/s of always: %.2f× (%s); same pages reached: %v\n",
			crawl.pps()/always.pps(), metOr(crawl.pps() >= 3*always.pps()), crawl.unique == always.unique)
	} else {
		loop := med[runRenderLoop]
		fmt.Fprintf(stdout, "target: crawl ≥ 1.0× the loop's pages/s: %.2f× (%s); peak PSS ≤ the loop's: %.0f MB vs %.0f MB (%s)\n",
			crawl.pps()/loop.pps(), metOr(crawl.pps() >= loop.pps()), float64(crawl.pssKB)/1024, float64(loop.pssKB)/1024, metOr(crawl.pssKB <= loop.pssKB))
	}
	if crawl.err != nil || crawl.unique != len(pages) || crawl.dups > 0 || crawl.violations > 0 {
		return fmt.Errorf("crawl was not correct in %s: %s", sc.Name, crawl)
	}
	return nil
}

func metOr(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// renderMeasurement is one run of a render scenario's runner.
type renderMeasurement struct {
	unique, dups, violations, media int
	serverRendered                  int
	wall                            time.Duration
	pssKB                           int64
	recordsFile                     string
	err                             error
}

func (m renderMeasurement) pps() float64 {
	if m.wall <= 0 {
		return 0
	}
	return float64(m.unique) / m.wall.Seconds()
}

func (m renderMeasurement) String() string {
	s := fmt.Sprintf("%d pages, %d dup, %d robots viol, %d img/font, %.2fs, %.1f pages/s, peak PSS %.0f MB",
		m.unique, m.dups, m.violations, m.media, m.wall.Seconds(), m.pps(), float64(m.pssKB)/1024)
	if m.recordsFile != "" {
		s += fmt.Sprintf(", %d server pages rendered", m.serverRendered)
	}
	if m.err != nil {
		s += "; FAILED: " + m.err.Error()
	}
	return s
}

// medianRender returns the run of median pages/s (its figures together).
func medianRender(ms []renderMeasurement) renderMeasurement {
	if len(ms) == 0 {
		return renderMeasurement{}
	}
	s := append([]renderMeasurement(nil), ms...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j].pps() < s[i].pps() {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	m := s[len(s)/2]
	pss := make([]int64, len(ms))
	for i, x := range ms {
		pss[i] = x.pssKB
	}
	m.pssKB = median(pss)
	return m
}

// runRender runs one runner of a render scenario and measures it.
func runRender(ctx context.Context, e *env, sc scenario, name, seed string) renderMeasurement {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	tabs, conc, per := fmt.Sprint(sc.Concurrency), fmt.Sprint(max(sc.Concurrency*2, 8)), fmt.Sprint(sc.PerHost)
	var cmd *exec.Cmd
	var m renderMeasurement
	switch name {
	case runCrawl, runCrawlAlways:
		mode := sc.Render
		if name == runCrawlAlways {
			mode = "always"
		}
		m.recordsFile = filepath.Join(e.tmp, "render-records.jsonl")
		cmd = exec.CommandContext(ctx, e.crawl, "--render", mode, "--render-tabs", tabs, "--concurrency", conc,
			"--per-host", per, "--rate", "0", "--quiet", "-o", m.recordsFile, seed)
	case runRenderLoop:
		cmd = exec.CommandContext(ctx, e.self, childFlag+"="+childRender, "-concurrency", tabs, seed)
	}
	var out tail
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		m.err = err
		return m
	}
	done := make(chan struct{})
	var peak int64
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, treePSSKB(cmd.Process.Pid))
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	err := cmd.Wait()
	m.wall = time.Since(start)
	close(done)
	wg.Wait()
	m.pssKB = peak
	if err != nil {
		m.err = fmt.Errorf("%w; output: %s", err, out.String())
	}
	return m
}

// treePSSKB sums the proportional set size (kB) of pid and its
// descendants, from /proc/*/smaps_rollup.
func treePSSKB(root int) int64 {
	procs, err := testproc.Procs()
	if err != nil {
		return 0
	}
	var total int64
	for _, pid := range append(testproc.Descendants(procs, root), root) {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				total += kb
			}
		}
	}
	return total
}

// countRendered counts the server pages whose record says rendered.
func countRendered(path, base string, serverPages []string) int {
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	server := map[string]bool{}
	for _, p := range serverPages {
		server[base+p] = true
	}
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct {
			URL      string `json:"url"`
			Rendered bool   `json:"rendered"`
		}
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Rendered && server[r.URL] {
			n++
		}
	}
	return n
}

// renderLoop is the naive reference: chromedp on the machine's Chromium
// with tabs tabs, each navigating to the next URL of a breadth-first
// queue, waiting for network idle (the networkIdle lifecycle event),
// reading the outer HTML, and queueing the same-host links goquery finds.
// No robots.txt, no blocking: what a first chromedp crawler does.
func renderLoop(ctx context.Context, seeds []string, tabs int, stderr io.Writer) error {
	exe := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			exe = p
			break
		}
	}
	if exe == "" {
		return fmt.Errorf("no chromium on PATH")
	}
	actx, acancel := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe))...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	if err := chromedp.Do(bctx); err != nil {
		return err
	}
	host := ""
	if u, err := url.Parse(seeds[0]); err == nil {
		host = u.Host
	}
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	queue := append([]string(nil), seeds...)
	seen := map[string]bool{}
	for _, s := range seeds {
		seen[s] = true
	}
	busy := 0
	var wg sync.WaitGroup
	var firstErr error
	for range tabs {
		wg.Go(func() {
			tctx, cancel := chromedp.NewContext(bctx)
			defer cancel()
			if err := chromedp.Do(tctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
				_, err := cdp.Call(ctx, t, page.SetLifecycleEventsEnabled, page.SetLifecycleEventsEnabledParams{Enabled: true})
				return err
			})); err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
			for {
				mu.Lock()
				for len(queue) == 0 && busy > 0 {
					cond.Wait()
				}
				if len(queue) == 0 {
					mu.Unlock()
					cond.Broadcast()
					return
				}
				next := queue[0]
				queue = queue[1:]
				busy++
				mu.Unlock()

				links := loopPage(tctx, next, host)
				mu.Lock()
				for _, l := range links {
					if !seen[l] {
						seen[l] = true
						queue = append(queue, l)
					}
				}
				busy--
				mu.Unlock()
				cond.Broadcast()
			}
		})
	}
	wg.Wait()
	fmt.Fprintf(stderr, "%d pages\n", len(seen))
	return firstErr
}

// loopPage renders one page in the tab and returns its same-host links.
func loopPage(tctx context.Context, rawURL, host string) []string {
	pctx, cancel := context.WithTimeout(tctx, 30*time.Second)
	defer cancel()
	idle := chromedp.Events(pctx, page.LifecycleEvent)
	if err := chromedp.Do(pctx, chromedp.Navigate(rawURL)); err != nil {
		return nil
	}
	for ev, err := range idle {
		if err != nil || ev.Name == "networkIdle" {
			break
		}
	}
	html, err := chromedp.Run(pctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		return nil
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader([]byte(html)))
	if err != nil {
		return nil
	}
	base, _ := url.Parse(rawURL)
	var out []string
	doc.Find("a[href]").Each(func(_ int, s *goquery.Selection) {
		href, _ := s.Attr("href")
		u, err := base.Parse(href)
		if err != nil || u.Host != host || (u.Scheme != "http" && u.Scheme != "https") {
			return
		}
		u.Fragment = ""
		out = append(out, u.String())
	})
	return out
}
