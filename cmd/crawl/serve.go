package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/metrics"
	"github.com/hivecrawl/crawl/serve"
)

// serveCommand is crawl serve: the job service (package serve) over this
// command's own option parsing and wiring, so that a job is validated and
// wired as `crawl --config FILE --state DIR URL...` would be.
func serveCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, help := subcommandFlags("crawl serve")
	addr := fs.String("addr", "127.0.0.1:8080", "listen on `host:port` (an empty host is 127.0.0.1)")
	data := fs.String("data", "", "keep the jobs in `dir` (created if missing)")
	maxRunning := fs.Int("max-running", 2, "run at most `n` jobs at once; the others wait as pending")
	keep := fs.Duration("keep-metrics", time.Hour, "keep an ended job's metrics on /metrics this `long`")
	tokenFile := fs.String("token-file", "", "require Authorization: Bearer <the token in `file`> on the API and /metrics")
	front := fs.String("frontier", "", "list the jobs in Redis at `url` for crawl worker processes to run, instead of running them here")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: serve: %v", errUsage, flagError(fs, err))
	}
	if *help {
		printSubcommandHelp(stdout, "crawl serve --data DIR [--addr HOST:PORT] [--max-running N] [--token-file FILE]", fs)
		return nil
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: serve: "+format, append([]any{errUsage}, a...)...)
	}
	switch {
	case fs.NArg() > 0:
		return bad("takes no arguments (got %q)", fs.Args())
	case *data == "":
		return bad("--data DIR is required")
	case *maxRunning < 1:
		return bad("--max-running must be 1 or more (got %d)", *maxRunning)
	case *keep <= 0:
		return bad("--keep-metrics must be positive (got %s)", *keep)
	}
	listen, err := metricsListenAddr(*addr)
	if err != nil {
		return bad("--addr: %v", err)
	}
	var token string
	if *tokenFile != "" {
		if token, err = readToken(*tokenFile); err != nil {
			return bad("--token-file: %v", err)
		}
	}
	if host, _, _ := net.SplitHostPort(listen); token == "" && !loopbackHost(host) {
		return bad("--addr %s is not a loopback address: anyone who reaches it could run crawls; set --token-file, or listen on 127.0.0.1", listen)
	}
	var crawls serve.Crawls = jobCrawls{}
	if *front != "" {
		if err := checkRedisURL(*front); err != nil {
			return bad("--frontier: %v", err)
		}
		reg, err := openRegistry(*front)
		if err != nil {
			return bad("%v", err)
		}
		defer reg.c.Close()
		crawls = fleetCrawls{url: *front, reg: reg}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	// Listen first: New resumes the jobs, which a server that cannot
	// listen must not start.
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv, err := serve.New(crawls, serve.Options{
		Dir: *data, MaxRunning: *maxRunning, KeepMetrics: *keep, Token: token, Log: log, Version: crawler.Version,
	})
	if err != nil {
		ln.Close()
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	log.Info("serving", "addr", "http://"+ln.Addr().String(), "data", *data, "max_running", *maxRunning)

	select {
	case <-ctx.Done():
	case err = <-served:
	}
	// Running jobs are stopped as paused crawls, recorded as running:
	// the next server on the directory resumes them. A second signal
	// quits at once (interrupt.watch).
	log.Info("stopping: running jobs let their requests in flight finish and resume at the next start")
	serr := srv.Shutdown(context.Background())
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx) // streams ended with the server; what is left is cut
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return serr
}

// readToken reads a token file: its first line, which must not be empty.
func readToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	token := strings.TrimSpace(line)
	if token == "" {
		return "", errors.New("the file is empty")
	}
	return token, nil
}

// loopbackHost reports whether host (an IP address or a name) is on the
// loopback interface only.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// jobCrawls builds the jobs' crawls with the command's options and wiring.
type jobCrawls struct{}

var _ serve.Crawls = jobCrawls{}

// Check implements serve.Crawls.
func (jobCrawls) Check(spec serve.Spec, dir string) error {
	_, err := jobOptions(spec, dir)
	return err
}

// Open implements serve.Crawls: wire, as run does, with the job's
// frontier a --state store in dir.
func (jobCrawls) Open(ctx context.Context, spec serve.Spec, dir string, m *metrics.Metrics, obs crawler.Observer, log *slog.Logger) (*serve.Run, error) {
	o, err := jobOptions(spec, dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, serve.FilesDir), 0o700); err != nil {
		return nil, err
	}
	w, err := wire(ctx, o, io.Discard, log)
	if err != nil {
		return nil, err
	}
	closeWiring := func() error {
		var err error
		w.close(&err)
		return err
	}
	if w.finished != "" {
		return &serve.Run{Finished: w.finished, Close: closeWiring}, nil
	}
	// As run does: the proxies and the frontier report to the job's m.
	c, cfg, err := w.newCrawler(&o, m, obs, log)
	if err != nil {
		_ = closeWiring()
		return nil, err
	}
	return &serve.Run{
		Crawl: serve.Local(c, w.seeds), Resuming: w.resuming, MaxPages: o.MaxPages,
		Close: func() error {
			// As run does once the crawl is over.
			errs := []error{o.requestOptions.saveCookies(w.jar)}
			errs = append(errs, o.pipelineOptions.convertLinks(context.WithoutCancel(ctx), cfg.Normalizer, io.Discard))
			errs = append(errs, closeWiring())
			return errors.Join(errs...)
		},
	}, nil
}

// jobOptions turns a job's spec into the options of its crawl in folder
// dir, validated as the command line's: the config's keys are the YAML
// file's, and each error is the one the command prints. Outputs stay in
// dir: the page records go to serve.PagesFile, the items to
// serve.ItemsFile, and the other files a config names (relative paths
// only, and a sqlite: database's file) under serve.FilesDir; keys that
// belong to the server, read files on it or run programs are refused.
func jobOptions(spec serve.Spec, dir string) (options, error) {
	o := defaultOptions()
	if err := decodeJobConfig(spec.Config, &o); err != nil {
		return o, err
	}
	// The flags set their defaults over o, as parseArgsIn's do; none is
	// parsed.
	newFlags(&o)
	if err := confine(&o, dir); err != nil {
		return o, err
	}
	seeds, err := expandInputs(append(o.Seeds, spec.Seeds...), nil, nil, o.normalizer().Canonical)
	if err != nil {
		return o, fmt.Errorf("%w: %v", errUsage, err)
	}
	o.Seeds = seeds
	o.Output = filepath.Join(dir, serve.PagesFile)
	o.Quiet = true
	if err := o.validate(); err != nil {
		return o, err
	}
	// After validate, which asks a crawl without --state for its seeds.
	o.State = filepath.Join(dir, serve.StateDir)
	return o, nil
}

// decodeJobConfig decodes a job's config, a JSON object or a string of
// YAML, as decodeConfig decodes a config file (JSON is YAML).
func decodeJobConfig(raw json.RawMessage, o *options) error {
	data := []byte(strings.TrimSpace(string(raw)))
	if len(data) == 0 || string(data) == "null" {
		return nil
	}
	if data[0] == '"' {
		var text string
		if err := json.Unmarshal(data, &text); err != nil {
			return fmt.Errorf("%w: config: %v", errUsage, err)
		}
		data = []byte(text)
	}
	return decodeConfig("config", data, o)
}

// confine refuses the keys a job may not set and places the files a job
// writes under dir.
func confine(o *options, dir string) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
	}
	for _, k := range []struct {
		key, why string
		set      bool
	}{
		{"state", "the server keeps each job's state", o.State != ""},
		{"frontier", "the server decides where jobs run", o.Frontier != ""},
		{"job", "the server names the jobs", o.Job != defaultJob},
		{"output", "the page records are the job's (GET /api/v1/jobs/{id}/pages)", o.Output != ""},
		{"items", "the items are the job's (GET /api/v1/jobs/{id}/items)", o.Items != ""},
		{"metrics-addr", "the server serves every job's metrics on /metrics", o.MetricsAddr != ""},
		{"input", "it reads a file on the server: give the URLs as seeds", len(o.Input) > 0},
		{"auth-file", "it reads a file on the server: give auth instead", o.AuthFile != ""},
		{"cookies", "it reads a file on the server: give cookie instead", o.CookiesFile != ""},
		{"login: password-file", "it reads a file on the server: give the password in login's fields", o.Login != nil && o.Login.PasswordFile != ""},
		{"db-password-file", "it reads a file on the server: give the password in the db URL", o.DBPasswordFile != ""},
		{"browser", "it runs a program on the server", o.Browser != ""},
		{"browser-url", "the server decides which browser renders", o.BrowserURL != ""},
		{"proxy-file", "it reads a file on the server: give proxy instead", o.ProxyFile != ""},
	} {
		if k.set {
			return bad("config key %s is not allowed in a job: %s", k.key, k.why)
		}
	}
	if len(o.Rules) > 0 {
		o.Items = filepath.Join(dir, serve.ItemsFile)
	}
	for _, p := range []struct {
		key  string
		path *string
	}{{"items-csv", &o.ItemsCSV}, {"warc", &o.WARC}, {"save", &o.Save}, {"save-cookies", &o.SaveCookies}} {
		if *p.path == "" {
			continue
		}
		if !filepath.IsLocal(*p.path) {
			return bad("config key %s %q: a job writes only inside its folder: give a relative path without ..", p.key, *p.path)
		}
		*p.path = filepath.Join(dir, serve.FilesDir, *p.path)
		// The command checks that an output's folder exists.
		if err := os.MkdirAll(filepath.Dir(*p.path), 0o700); err != nil {
			return fmt.Errorf("config key %s: %w", p.key, err)
		}
	}
	if path, ok := strings.CutPrefix(o.DB, "sqlite:"); ok {
		if !filepath.IsLocal(path) {
			return bad("config key db %q: a job writes only inside its folder: give sqlite:FILE with a relative path without ..", o.DB)
		}
		o.DB = "sqlite:" + filepath.Join(dir, serve.FilesDir, path)
	}
	return nil
}
