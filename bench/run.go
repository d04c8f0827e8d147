package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hivecrawl/crawl/testsite"
)

// options is the command line of the parent process.
type options struct {
	scenarios []scenario
	reps      int
	smoke     bool
	crawlBin  string
	baseline  string
	repo      string
	timeout   time.Duration
	profile   string
}

// run is the whole command: the benchmark, or one child mode when args
// start with the hidden -child flag.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && strings.HasPrefix(args[0], childFlag+"=") {
		return runChild(ctx, strings.TrimPrefix(args[0], childFlag+"="), args[1:], stdout, stderr)
	}
	o, err := parseArgs(args, stderr)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "crawlbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	e := &env{tmp: tmp, timeout: o.timeout, log: stderr, baseline: o.baseline}
	defer e.dbs.close()
	if e.self, err = os.Executable(); err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	if e.wget, err = exec.LookPath("wget"); err != nil {
		e.wget = ""
	}
	e.crawl = o.crawlBin
	if e.crawl == "" {
		fmt.Fprintf(stderr, "building crawl from %s/cmd/crawl\n", o.repo)
		if e.crawl, err = buildCrawl(ctx, o.repo, tmp); err != nil {
			return err
		}
	}
	for _, bin := range []string{e.crawl, e.baseline} {
		if bin != "" {
			if err := cold(bin); err != nil {
				return err
			}
		}
	}

	var failures []string
	crawlPPS := map[string]float64{}
	for _, sc := range o.scenarios {
		fmt.Fprintf(stderr, "== %s\n", sc)
		if sc.Render != "" {
			if err := benchRender(ctx, e, sc, o.reps, stdout); err != nil {
				failures = append(failures, err.Error())
			}
			continue
		}
		rows, err := benchScenario(ctx, e, sc, o.reps, o.profile)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\n%s (medians of %d)\n", sc, o.reps)
		printTable(stdout, sc, rows)
		if !o.smoke {
			printTargets(stdout, sc, rows, crawlPPS)
			printDBTargets(stdout, rows)
		}
		failures = append(failures, crawlFailures(sc, rows)...)
	}
	if len(failures) > 0 {
		return fmt.Errorf("crawl was not correct:\n  %s", strings.Join(failures, "\n  "))
	}
	return nil
}

func parseArgs(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	names := fs.String("scenario", "cpu", "comma-separated presets, run in order: "+presetNames())
	smoke := fs.Bool("smoke", false, "small site, one repetition, no timing: fail unless crawl is complete, with no duplicate fetch or robots violation")
	reps := fs.Int("reps", 3, "repetitions of each run (the table shows medians)")
	pages := fs.Int("pages", 0, "pages per host (overrides the preset)")
	links := fs.Int("links", 0, "links per page (overrides the preset)")
	pageBytes := fs.Int("page-bytes", 0, "approximate page size in bytes (overrides the preset)")
	hosts := fs.Int("hosts", 0, "number of hosts, served on 127.0.0.2, 127.0.0.3, ... (overrides the preset)")
	latency := fs.Duration("latency", 0, "server latency per request (overrides the preset)")
	conc := fs.Int("concurrency", 0, "crawler concurrency (overrides the preset)")
	perHost := fs.Int("per-host", 0, "requests in flight per host (overrides the preset)")
	runners := fs.String("runners", "", "comma-separated subset of "+strings.Join(allRunners, ",")+" (default: the preset's)")
	crawlBin := fs.String("crawl-bin", "", "crawl binary to run (default: go build ../cmd/crawl)")
	baseline := fs.String("baseline-bin", "", "another crawl `binary` (say, built from an earlier commit) to run as runner \"baseline\" with crawl's flags, for an A/B comparison in the same invocation")
	repo := fs.String("repo", "..", "the crawl repository, to build cmd/crawl from")
	timeout := fs.Duration("timeout", 15*time.Minute, "limit on one run; a run cut off is reported as failed")
	profile := fs.String("profile", "", "after each scenario, crawl it once more in process with the crawler library under pprof and write `DIR`/<scenario>.cpu.pprof and .mem.pprof")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o := options{reps: *reps, smoke: *smoke, crawlBin: *crawlBin, baseline: *baseline, repo: *repo, timeout: *timeout, profile: *profile}
	list := strings.Split(*names, ",")
	if o.smoke {
		list, o.reps = []string{"smoke"}, 1
	}
	if o.reps < 1 {
		return o, fmt.Errorf("-reps must be at least 1")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range list {
		sc, ok := presets[strings.TrimSpace(name)]
		if !ok {
			return o, fmt.Errorf("unknown scenario %q (want %s)", name, presetNames())
		}
		sc.Name = strings.TrimSpace(name)
		if set["pages"] {
			sc.Pages = *pages
		}
		if set["links"] {
			sc.LinksPerPage = *links
		}
		if set["page-bytes"] {
			sc.PageBytes = *pageBytes
		}
		if set["hosts"] {
			sc.Hosts = *hosts
		}
		if set["latency"] {
			sc.Latency = *latency
		}
		if set["concurrency"] {
			sc.Concurrency = *conc
		}
		if set["per-host"] {
			sc.PerHost = *perHost
		}
		if set["runners"] {
			r, err := parseRunners(*runners)
			if err != nil {
				return o, err
			}
			sc.Runners = r
		}
		if o.baseline != "" && !slices.Contains(sc.Runners, runBaseline) {
			sc.Runners = slices.Insert(slices.Clone(sc.Runners), 1, runBaseline)
		}
		switch {
		case sc.Pages < 1, sc.Hosts < 1, sc.Hosts > 250, sc.Concurrency < 1, sc.PerHost < 1, sc.Latency < 0:
			return o, fmt.Errorf("scenario %s: need pages, concurrency, per-host ≥ 1, hosts in [1, 250], latency ≥ 0", sc.Name)
		}
		if err := (testsite.Options{Pages: sc.Pages, LinksPerPage: sc.LinksPerPage, PageBytes: sc.PageBytes}).Validate(); err != nil {
			return o, fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
		o.scenarios = append(o.scenarios, sc)
	}
	return o, nil
}

// env is what every run needs: the binaries and limits.
type env struct {
	crawl string // the crawl binary
	// baseline is the binary of runner "baseline"; "" leaves it out.
	baseline string
	self     string // this binary, for child modes
	wget     string // "" when not installed
	tmp      string
	timeout  time.Duration
	log      io.Writer
	dbs      dbEnv // the servers of the database runners: db.go
}

// cold drops the binary bin from the page cache (fsync, then
// POSIX_FADV_DONTNEED), so that its first run reads it back from disk,
// the way an installed binary is read after a reboot or once the cache has
// let it go. A binary just written (by the Go linker, by write(2)) sits in
// the page cache in large folios, which a process maps whole: run from
// there, crawl showed about 10 MB more peak RSS (crawl version: 34 MB
// against 22 MB) than the same file read back, an artifact of how recently
// the file was written, not of crawl.
func cold(bin string) error {
	f, err := os.Open(bin)
	if err != nil {
		return fmt.Errorf("drop %s from the page cache: %w", bin, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("drop %s from the page cache: %w", bin, err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("drop %s from the page cache: %w", bin, err)
	}
	return nil
}

// buildCrawl builds repo/cmd/crawl into dir with the repository's own
// module, so that the bench module needs none of its dependencies.
func buildCrawl(ctx context.Context, repo, dir string) (string, error) {
	bin := filepath.Join(dir, "crawl")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/crawl")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/crawl in %s: %w\n%s", repo, err, out)
	}
	return bin, nil
}

// offsite counts requests to the site's off-site links, which a crawler
// that stays in scope never sends. It listens on loopback so that no
// request ever leaves the machine, not even a DNS query.
type offsite struct {
	hits atomic.Int64
}

func (o *offsite) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	o.hits.Add(1)
	http.NotFound(w, nil)
}

// benchScenario serves the scenario's site and runs every runner reps times,
// interleaved (crawl, colly, ..., crawl, colly, ...) so that noise from the
// shared machine spreads evenly. With profileDir set, it then crawls the
// site once more with the crawler library in a child process under pprof.
func benchScenario(ctx context.Context, e *env, sc scenario, reps int, profileDir string) ([]row, error) {
	siteCtx, stop := context.WithCancel(ctx)
	defer stop()
	off := &offsite{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	offSrv := &http.Server{Handler: off, ReadHeaderTimeout: 10 * time.Second}
	go offSrv.Serve(ln)
	defer offSrv.Close()

	site := testsite.New(testsite.Options{
		Pages:        sc.Pages,
		LinksPerPage: sc.LinksPerPage,
		PageBytes:    sc.PageBytes,
		Latency:      sc.Latency,
		OffsiteURL:   "http://" + ln.Addr().String(),
	})
	addrs := make([]string, sc.Hosts)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("127.0.0.%d:0", i+2)
	}
	urls, err := testsite.Serve(siteCtx, site, addrs)
	if err != nil {
		return nil, err
	}
	seeds := make([]string, len(urls))
	for i, u := range urls {
		seeds[i] = u + "/"
	}

	results := map[string][]measurement{}
	for rep := 1; rep <= reps; rep++ {
		for _, name := range sc.Runners {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if (name == runWget && e.wget == "") || (name == runBaseline && e.baseline == "") {
				continue
			}
			// Let the previous run's connections close before counting.
			time.Sleep(200 * time.Millisecond)
			site.Reset()
			off.hits.Store(0)
			m := runOnce(ctx, e, sc, name, seeds)
			m.unique, m.dups, m.violations = site.Unique(), site.Duplicates(), site.Violations()
			m.offsite = int(off.hits.Load())
			m.service = site.MeanServiceTime()
			m.maxInFlightHost = maxInFlightHost(site, urls)
			results[name] = append(results[name], m)
			fmt.Fprintf(e.log, "  %-12s rep %d: %s\n", name, rep, m)
		}
	}
	if profileDir != "" {
		time.Sleep(200 * time.Millisecond)
		site.Reset()
		m := profileCrawl(ctx, e, sc, seeds, profileDir)
		m.unique, m.dups, m.violations = site.Unique(), site.Duplicates(), site.Violations()
		m.maxInFlightHost = maxInFlightHost(site, urls)
		fmt.Fprintf(e.log, "  %-12s profiled: %s\n", "crawler lib", m)
	}
	var rows []row
	for _, name := range sc.Runners {
		if name == runWget && e.wget == "" {
			rows = append(rows, row{name: name, note: "not installed"})
			continue
		}
		if name == runBaseline && e.baseline == "" {
			continue
		}
		rows = append(rows, summarize(name, results[name]))
	}
	return rows, nil
}

func maxInFlightHost(site *testsite.Site, urls []string) int {
	m := 0
	for _, u := range urls {
		m = max(m, site.MaxInFlightHost(u))
	}
	return m
}

// command returns the subprocess of one runner.
func command(ctx context.Context, e *env, sc scenario, name string, seeds []string) (*exec.Cmd, error) {
	c, p := fmt.Sprint(sc.Concurrency), fmt.Sprint(sc.PerHost)
	switch name {
	case runCrawl, runBaseline:
		bin := e.crawl
		if name == runBaseline {
			bin = e.baseline
		}
		args := []string{"--rate", "0", "--per-host", p, "--concurrency", c, "--quiet", "-o", os.DevNull}
		return exec.CommandContext(ctx, bin, append(args, seeds...)...), nil
	case runCrawlSQLite, runCrawlPostgres, runCrawlMariaDB:
		return dbCommand(ctx, e, sc, name, seeds)
	case runColly:
		args := []string{childFlag + "=" + childColly, "-per-host", p, "-concurrency", c}
		return exec.CommandContext(ctx, e.self, append(args, seeds...)...), nil
	case runFetch, runFetchParse:
		args := []string{childFlag + "=" + childFetch, "-pages", fmt.Sprint(sc.Pages), "-per-host", p, "-concurrency", c,
			fmt.Sprintf("-parse=%t", name == runFetchParse)}
		return exec.CommandContext(ctx, e.self, append(args, seeds...)...), nil
	case runWget:
		dir, err := os.MkdirTemp(e.tmp, "wget-")
		if err != nil {
			return nil, err
		}
		// -l inf: wget's default depth of 5 would stop short of the site.
		args := []string{"-r", "-l", "inf", "-np", "-nd", "--delete-after", "-q", "-e", "robots=on"}
		cmd := exec.CommandContext(ctx, e.wget, append(args, seeds...)...)
		cmd.Dir = dir
		return cmd, nil
	}
	return nil, fmt.Errorf("unknown runner %q", name)
}

// profileCrawl crawls the site with the crawler library in a child
// process that writes a CPU profile and an allocation profile into dir.
func profileCrawl(ctx context.Context, e *env, sc scenario, seeds []string, dir string) measurement {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return measurement{err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	base := filepath.Join(dir, sc.Name)
	args := []string{childFlag + "=" + childCrawlLib, "-per-host", fmt.Sprint(sc.PerHost), "-concurrency", fmt.Sprint(sc.Concurrency),
		"-cpuprofile", base + ".cpu.pprof", "-memprofile", base + ".mem.pprof"}
	return measure(ctx, e, runCrawl, exec.CommandContext(ctx, e.self, append(args, seeds...)...))
}

// runOnce runs one subprocess and measures its wall time, CPU time and peak
// RSS. The site's counters are read by the caller.
func runOnce(ctx context.Context, e *env, sc scenario, name string, seeds []string) measurement {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	cmd, err := command(ctx, e, sc, name, seeds)
	if err != nil {
		return measurement{err: err}
	}
	return measure(ctx, e, name, cmd)
}

// measure runs cmd, built under ctx, and measures it.
func measure(ctx context.Context, e *env, name string, cmd *exec.Cmd) measurement {
	var out tail
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	m := measurement{wall: time.Since(start)}
	if ps := cmd.ProcessState; ps != nil {
		m.cpu = ps.UserTime() + ps.SystemTime()
		m.rssKB = maxRSSKB(ps)
	}
	if err != nil {
		var ee *exec.ExitError
		// wget exits 8 when a server answered an error, which the site's
		// 404s for spelling variants it does not decode cause: not a
		// failure of the crawl itself.
		if name == runWget && errors.As(err, &ee) && ee.ExitCode() == 8 {
			m.note = "wget exit 8 (server error responses)"
		} else {
			if ctx.Err() == context.DeadlineExceeded {
				err = fmt.Errorf("cut off after %s: %w", e.timeout, err)
			}
			m.err = fmt.Errorf("%w; output: %s", err, out.String())
		}
	}
	return m
}

// tail keeps the last 2 KiB written to it.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 2048 {
		t.b = append(t.b[:0], t.b[len(t.b)-2048:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { return strings.TrimSpace(string(t.b)) }
