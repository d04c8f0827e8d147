package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/metrics"
	"github.com/hivecrawl/crawl/testsite"
)

// The Prometheus integration test runs the real thing (Debian package
// prometheus) against a crawl of the synthetic site with provoked failures,
// and checks through Prometheus's HTTP API that the counters it scraped
// match what the server saw, and that every PromQL expression of the
// Grafana dashboard parses and returns data.

const dashboardPath = "../../configs/grafana/crawl.json"

// prometheusBinary finds prometheus at /usr/bin/prometheus or on PATH. In
// CI (CI=true) a missing binary fails the test: CI must install it.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/prometheus"); err == nil {
		return "/usr/bin/prometheus"
	}
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("prometheus not found at /usr/bin/prometheus or on PATH; CI must install the Debian package prometheus")
	}
	t.Skip("prometheus not installed (apt-get install prometheus); skipping the Prometheus integration test")
	return ""
}

// freeLoopbackAddr returns a loopback address with a port free a moment ago.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// promServer is a running Prometheus.
type promServer struct {
	base string // http://127.0.0.1:port
	logs *lockedBuffer
}

// startPrometheus starts prometheus on listen, scraping target every 200ms
// with a fresh storage directory, waits until it is ready, and kills it when
// the test ends.
func startPrometheus(t *testing.T, bin, listen, target string) *promServer {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 200ms
  scrape_timeout: 200ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: crawl
    static_configs:
      - targets: [%q]
`, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &promServer{base: "http://" + listen, logs: &lockedBuffer{}}
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen,
	)
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	// A test binary killed before its cleanup takes Prometheus with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Error("prometheus did not exit 10s after SIGKILL")
		}
		if t.Failed() {
			t.Logf("prometheus log (tail):\n%s", tail(p.logs.String(), 3000))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("prometheus exited before it was ready:\n%s", tail(p.logs.String(), 3000))
		default:
		}
		if resp, err := http.Get(p.base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("prometheus not ready after 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// promSample is a series of a query result: its labels and values (one for
// an instant query, many for a range query).
type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
	Values [][]any           `json:"values"`
}

// api calls a Prometheus query endpoint and returns the result series, or
// an error for a failed request or an error status (such as a PromQL parse
// error).
func (p *promServer) api(path string, params url.Values) ([]promSample, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.PostForm(p.base+path, params)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Status    string          `json:"status"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%s: %d %q", path, resp.StatusCode, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s: %s", path, r.ErrorType, r.Error)
	}
	var data struct {
		Result []promSample `json:"result"`
	}
	if err := json.Unmarshal(r.Data, &data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data.Result, nil
}

// query runs an instant query and returns each series' value by the given
// label's value ("" for a query whose series have no such label).
func (p *promServer) query(t *testing.T, q, label string) map[string]float64 {
	t.Helper()
	res, err := p.api("/api/v1/query", url.Values{"query": {q}})
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	out := make(map[string]float64)
	for _, s := range res {
		if len(s.Value) == 2 {
			out[s.Metric[label]] = parseSampleValue(s.Value[1])
		}
	}
	return out
}

func parseSampleValue(v any) float64 {
	s, _ := v.(string)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// faultyServer serves the synthetic site with a few failing pages and
// counts what it answered. The failing pages' parents answer normally, so
// each is requested.
type faultyServer struct {
	site    *testsite.Site
	answers atomic.Int64 // requests answered in full, any status, robots.txt aside
	hits    map[string]*atomic.Int64
}

// What the failing pages do, and the failure class each provokes (with
// --retries 0 each is fetched once).
var faults = []struct{ path, class string }{
	{"/p/7", ""},           // 404: a response, so done
	{"/p/9", ""},           // 500: done
	{"/p/11", "timeout"},   // no answer until the client gives up
	{"/p/13", "reset"},     // half the body, then the connection closes
	{"/p/14", "too_large"}, // a body over --max-body
}

func newFaultyServer(opts testsite.Options) *faultyServer {
	f := &faultyServer{site: testsite.New(opts), hits: make(map[string]*atomic.Int64)}
	for _, fl := range faults {
		f.hits[fl.path] = new(atomic.Int64)
	}
	return f
}

func (f *faultyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c := f.hits[r.URL.Path]; c != nil {
		c.Add(1)
	}
	switch r.URL.Path {
	case "/robots.txt":
		f.site.ServeHTTP(w, r)
		return
	case "/p/7":
		http.NotFound(w, r)
	case "/p/9":
		http.Error(w, "boom", http.StatusInternalServerError)
	case "/p/11":
		<-r.Context().Done()
		return
	case "/p/13":
		w.Header().Set("Content-Length", "2000")
		w.WriteHeader(http.StatusOK)
		w.Write(bytes.Repeat([]byte("x"), 1000))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	case "/p/14":
		w.Header().Set("Content-Type", "text/html")
		w.Write(bytes.Repeat([]byte("<p>big</p>"), 20_000))
		return
	default:
		f.site.ServeHTTP(w, r)
	}
	f.answers.Add(1)
}

// dashboardExprs returns the PromQL of every panel target (rows' nested
// panels included) and the queries of the query variables.
func dashboardExprs(t *testing.T) (exprs, varQueries []string) {
	t.Helper()
	data, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string                  `json:"title"`
		Targets []struct{ Expr string } `json:"targets"`
		Panels  []json.RawMessage       `json:"panels"`
	}
	var dash struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Name, Type string
				Definition string
			}
		}
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	var walk func([]json.RawMessage)
	walk = func(raw []json.RawMessage) {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatal(err)
			}
			for _, tg := range p.Targets {
				if tg.Expr == "" {
					t.Errorf("panel %q has a target without an expression", p.Title)
				}
				exprs = append(exprs, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	vars := make(map[string]bool)
	for _, v := range dash.Templating.List {
		vars[v.Name] = true
		if v.Type == "query" {
			varQueries = append(varQueries, v.Definition)
		}
	}
	for _, want := range []string{"datasource", "job", "instance"} {
		if !vars[want] {
			t.Errorf("dashboard has no %q variable", want)
		}
	}
	return exprs, varQueries
}

func TestPrometheusScrapesCrawl(t *testing.T) {
	bin := prometheusBinary(t)
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("starts Prometheus and crawls for a few seconds")
	}
	if promtool, err := exec.LookPath(filepath.Join(filepath.Dir(bin), "promtool")); err == nil {
		if out, err := exec.Command(promtool, "check", "config", "../../configs/prometheus.yml").CombinedOutput(); err != nil {
			t.Errorf("promtool check config configs/prometheus.yml: %v\n%s", err, out)
		}
	}
	exprs, varQueries := dashboardExprs(t)

	f := newFaultyServer(testsite.Options{Pages: 400, PageBytes: 1024, Latency: 20 * time.Millisecond})
	srv := httptest.NewServer(f)
	defer srv.Close()
	target := freeLoopbackAddr(t)
	prom := startPrometheus(t, bin, freeLoopbackAddr(t), target)
	// Prometheus applies its targets up to 5s after it starts: crawl once
	// it scrapes (and finds nothing yet), so that it sees the whole crawl.
	if !eventually(20*time.Second, func() bool { return len(prom.query(t, `up{job="crawl"}`, "")) > 0 }) {
		t.Fatal("prometheus has not tried to scrape the target after 20s")
	}

	start := time.Now()
	_, stderr, stop := startMetricsCrawl(t, "--metrics-addr", target, "--metrics-linger", "2m",
		"--rate", "0", "--concurrency", "4", "--per-host", "4", "--retries", "0",
		"--timeout", "1s", "--max-body", "64KiB", srv.URL)
	if !eventually(90*time.Second, func() bool { return strings.Contains(stderr.String(), "crawl: done") }) {
		t.Fatalf("the crawl did not finish in 90s:\n%s", stderr.String())
	}
	for _, fl := range faults {
		if n := f.hits[fl.path].Load(); n != 1 {
			t.Fatalf("the server got %d requests for %s, want 1", n, fl.path)
		}
	}

	// The done counter equals the pages the server answered, once
	// Prometheus has scraped the final value (the endpoint lingers).
	answers := float64(f.answers.Load())
	sel := fmt.Sprintf(`{job="crawl", instance=%q}`, target)
	var done float64
	if !eventually(15*time.Second, func() bool {
		done = prom.query(t, "crawl_requests_done_total"+sel, "")[""]
		return done == answers
	}) {
		t.Fatalf("crawl_requests_done_total in Prometheus = %v, server answered %v", done, answers)
	}

	// Failures by class: exactly the provoked ones, and every class of the
	// closed set present (initialised at zero).
	failed := prom.query(t, "crawl_requests_failed_total"+sel, "class")
	for _, class := range metrics.FailureClasses {
		want := 0.0
		for _, fl := range faults {
			if fl.class == class {
				want++
			}
		}
		if got, ok := failed[class]; !ok || got != want {
			t.Errorf("crawl_requests_failed_total{class=%q} = %v (present %v), want %v", class, got, ok, want)
		}
	}
	codes := prom.query(t, "crawl_responses_total"+sel, "code")
	if codes["4xx"] != 1 || codes["5xx"] != 1 || codes["2xx"] != answers-2 {
		t.Errorf("responses by class %v, want 4xx 1, 5xx 1, 2xx %v", codes, answers-2)
	}

	// Every dashboard expression parses and returns data over the crawl.
	vars := strings.NewReplacer("$__rate_interval", "2s", "$job", "crawl", "$instance", target)
	end := time.Now()
	for _, raw := range exprs {
		expr := vars.Replace(raw)
		if strings.Contains(expr, "$") {
			t.Errorf("unknown dashboard variable in %q", raw)
			continue
		}
		res, err := prom.api("/api/v1/query_range", url.Values{
			"query": {expr},
			"start": {strconv.FormatInt(start.Unix(), 10)},
			"end":   {strconv.FormatInt(end.Unix()+1, 10)},
			"step":  {"0.5"},
		})
		if err != nil {
			t.Errorf("dashboard expression %q: %v", raw, err)
			continue
		}
		if !hasNumber(res) {
			t.Errorf("dashboard expression %q returned no data (%d series)", raw, len(res))
		}
	}
	// The variables' label_values(selector, label) queries find this crawl.
	lv := regexp.MustCompile(`^label_values\((.+), *(\w+)\)$`)
	for _, q := range varQueries {
		m := lv.FindStringSubmatch(vars.Replace(q))
		if m == nil {
			t.Errorf("variable query %q is not label_values(selector, label)", q)
			continue
		}
		vals, err := labelValues(prom.base, m[2], m[1])
		if err != nil || len(vals) == 0 {
			t.Errorf("variable query %q: %v, %v", q, vals, err)
		}
	}

	if err := stop(); err != nil {
		t.Errorf("crawl: %v", err)
	}
	t.Logf("prometheus test: crawl of %v pages plus faults, %s in all", answers, time.Since(start).Round(time.Millisecond))
}

// hasNumber reports whether a range query result holds a value that is
// not NaN.
func hasNumber(res []promSample) bool {
	for _, s := range res {
		for _, v := range s.Values {
			if len(v) == 2 && !math.IsNaN(parseSampleValue(v[1])) {
				return true
			}
		}
	}
	return false
}

// labelValues calls /api/v1/label/<label>/values?match[]=selector.
func labelValues(base, label, selector string) ([]string, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(base + "/api/v1/label/" + label + "/values?" + url.Values{"match[]": {selector}}.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string   `json:"status"`
		Error  string   `json:"error"`
		Data   []string `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s", r.Error)
	}
	return r.Data, nil
}
