package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// measurement is one run of one runner.
type measurement struct {
	unique, dups, violations int
	offsite                  int // requests to the off-site server
	maxInFlightHost          int
	wall, cpu                time.Duration
	rssKB                    int64
	// service is the site's mean time per request in its handler, latency
	// included (testsite.Site.MeanServiceTime).
	service time.Duration
	err     error
	note    string
}

func (m measurement) pps() float64 {
	if m.wall <= 0 {
		return 0
	}
	return float64(m.unique) / m.wall.Seconds()
}

func (m measurement) String() string {
	s := fmt.Sprintf("%d pages, %d dup, %d viol, %.2fs, %.0f pages/s, cpu %.2fs, %.1f MB, max %d in flight/host",
		m.unique, m.dups, m.violations, m.wall.Seconds(), m.pps(), m.cpu.Seconds(), float64(m.rssKB)/1024, m.maxInFlightHost)
	if m.offsite > 0 {
		s += fmt.Sprintf(", %d off-site", m.offsite)
	}
	if m.note != "" {
		s += " (" + m.note + ")"
	}
	if m.err != nil {
		s += "; FAILED: " + m.err.Error()
	}
	return s
}

// maxRSSKB returns the peak resident set size of an exited process in KiB.
func maxRSSKB(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss) / 1024 // bytes there
	}
	return int64(ru.Maxrss)
}

// row is one line of the table: the medians of a runner's measurements.
type row struct {
	name                     string
	runs, failed             int
	unique, dups, violations int
	offsite                  int
	wall, cpu                time.Duration
	pps                      float64
	rssKB                    int64
	service                  time.Duration
	note                     string
	all                      []measurement
}

func median[T int | int64 | float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func summarize(name string, ms []measurement) row {
	r := row{name: name, runs: len(ms), all: ms}
	var uniq, dups, viol, off []int
	var wall, cpu, service []time.Duration
	var pps []float64
	var rss []int64
	notes := map[string]bool{}
	for _, m := range ms {
		if m.err != nil {
			r.failed++
		}
		uniq, dups, viol, off = append(uniq, m.unique), append(dups, m.dups), append(viol, m.violations), append(off, m.offsite)
		wall, cpu, pps, rss = append(wall, m.wall), append(cpu, m.cpu), append(pps, m.pps()), append(rss, m.rssKB)
		service = append(service, m.service)
		if m.note != "" {
			notes[m.note] = true
		}
	}
	r.unique, r.dups, r.violations, r.offsite = median(uniq), median(dups), median(viol), median(off)
	r.wall, r.cpu, r.pps, r.rssKB = median(wall), median(cpu), median(pps), median(rss)
	r.service = median(service)
	var ns []string
	for n := range notes {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	if r.failed > 0 {
		ns = append(ns, fmt.Sprintf("%d of %d runs failed", r.failed, r.runs))
	}
	r.note = strings.Join(ns, "; ")
	return r
}

func findRow(rows []row, name string) (row, bool) {
	for _, r := range rows {
		if r.name == name && r.runs > 0 {
			return r, true
		}
	}
	return row{}, false
}

// printTable writes the medians and crawl's pages/s ratio to each runner.
func printTable(w io.Writer, sc scenario, rows []row) {
	crawl, haveCrawl := findRow(rows, runCrawl)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "runner\tpages\tdup\tviol\twall s\tpages/s\tCPU s\tRSS MB\tcrawl ×\t")
	for _, r := range rows {
		if r.runs == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t-\t%s\n", r.name, r.note)
			continue
		}
		ratio := "-"
		if haveCrawl && r.pps > 0 {
			ratio = fmt.Sprintf("%.2f", crawl.pps/r.pps)
		}
		pages := fmt.Sprint(r.unique)
		if r.unique < sc.Expected() {
			pages += "/" + fmt.Sprint(sc.Expected())
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f\t%.0f\t%.2f\t%.1f\t%s\t%s\n",
			r.name, pages, r.dups, r.violations, r.wall.Seconds(), r.pps, r.cpu.Seconds(), float64(r.rssKB)/1024, ratio, r.note)
	}
	tw.Flush()
}

// printTargets states issue 8's targets for the scenario and whether the
// medians meet them. They inform; only correctness fails the command.
func printTargets(w io.Writer, sc scenario, rows []row, crawlPPS map[string]float64) {
	crawl, ok := findRow(rows, runCrawl)
	if !ok {
		return
	}
	crawlPPS[sc.Name] = crawl.pps
	check := func(what string, got, want float64, atLeast bool) {
		met := got >= want
		if !atLeast {
			met = got <= want
		}
		verdict := "met"
		if !met {
			verdict = "MISSED"
		}
		op := "≥"
		if !atLeast {
			op = "≤"
		}
		fmt.Fprintf(w, "  target %-36s %s %-8.4g got %-8.4g %s\n", what, op, want, got, verdict)
	}
	ratio := func(name string, want float64) {
		if r, ok := findRow(rows, name); ok && r.pps > 0 {
			check("crawl ÷ "+name+" pages/s", crawl.pps/r.pps, want, true)
		}
	}
	rssMB := float64(crawl.rssKB) / 1024
	switch sc.Name {
	case "cpu":
		ratio(runFetchParse, 1.15)
		ratio(runColly, 30)
		ratio(runWget, 3.5)
		check("crawl peak RSS MB", rssMB, 40, false)
	case "large":
		ratio(runFetchParse, 1.0)
	case "polite":
		check("crawl pages/s (95% of politeness limit)", crawl.pps, 0.95*sc.PoliteLimit(), true)
		// The nominal limit assumes the site answers in exactly Latency;
		// its timers and writes take longer, and no crawler can beat what
		// the site serves. Say what it served, for reading the target.
		if crawl.service > 0 {
			served := float64(sc.Hosts*sc.PerHost) / crawl.service.Seconds()
			fmt.Fprintf(w, "  (the site took %.2f ms a request, not %v: at most %.0f pages/s as served; crawl reached %.1f%% of that)\n",
				float64(crawl.service)/1e6, sc.Latency, served, 100*crawl.pps/served)
		}
	case "big":
		check("crawl peak RSS MB", rssMB, 150, false)
		if cpu, ok := crawlPPS["cpu"]; ok {
			check("crawl pages/s ÷ cpu scenario's", crawl.pps/cpu, 0.9, true)
		} else {
			fmt.Fprintln(w, "  (run -scenario cpu,big to compare pages/s with the cpu scenario)")
		}
	}
}

// crawlFailures lists every crawl run that was not correct: it failed, was
// incomplete, fetched a page twice, broke robots.txt, left its scope or
// sent more requests at once to a host than per-host allows.
func crawlFailures(sc scenario, rows []row) []string {
	r, ok := findRow(rows, runCrawl)
	if !ok {
		return nil
	}
	var out []string
	for i, m := range r.all {
		var bad []string
		if m.err != nil {
			bad = append(bad, m.err.Error())
		}
		if m.unique != sc.Expected() {
			bad = append(bad, fmt.Sprintf("%d of %d pages", m.unique, sc.Expected()))
		}
		if m.dups > 0 {
			bad = append(bad, fmt.Sprintf("%d duplicate fetches", m.dups))
		}
		if m.violations > 0 {
			bad = append(bad, fmt.Sprintf("%d robots violations", m.violations))
		}
		if m.offsite > 0 {
			bad = append(bad, fmt.Sprintf("%d off-site requests", m.offsite))
		}
		if m.maxInFlightHost > sc.PerHost {
			bad = append(bad, fmt.Sprintf("%d requests in flight on one host (per-host %d)", m.maxInFlightHost, sc.PerHost))
		}
		if len(bad) > 0 {
			out = append(out, fmt.Sprintf("%s run %d: %s", sc.Name, i+1, strings.Join(bad, ", ")))
		}
	}
	return out
}
