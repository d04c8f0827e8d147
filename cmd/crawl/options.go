package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/parse"
	"github.com/hivecrawl/crawl/urlnorm"
)

// errUsage marks errors in flags, config or seeds: exit status 2.
var errUsage = errors.New("usage")

// options is everything the command line and the YAML config can say. YAML
// keys are the flag names.
type options struct {
	Seeds           []string      `yaml:"seeds"`
	Concurrency     int           `yaml:"concurrency"`
	PerHost         int           `yaml:"per-host"`
	Rate            float64       `yaml:"rate"`
	UserAgent       string        `yaml:"user-agent"`
	IgnoreRobots    bool          `yaml:"ignore-robots"`
	Scope           string        `yaml:"scope"`
	Include         []string      `yaml:"include"`
	Exclude         []string      `yaml:"exclude"`
	MaxDepth        int           `yaml:"max-depth"`
	MaxPages        int           `yaml:"max-pages"`
	MaxPagesPerHost int           `yaml:"max-pages-per-host"`
	Timeout         time.Duration `yaml:"timeout"`
	MaxBody         byteSize      `yaml:"max-body"`
	Retries         int           `yaml:"retries"`
	Grace           time.Duration `yaml:"grace"`
	Output          string        `yaml:"output"`
	MetricsAddr     string        `yaml:"metrics-addr"`
	MetricsLinger   time.Duration `yaml:"metrics-linger"`
	FailOnError     bool          `yaml:"fail-on-error"`
	Quiet           bool          `yaml:"quiet"`
	StripParams     []string      `yaml:"strip-param"`
	StripParamsAlt  []string      `yaml:"strip-params"` // also accepted; decodeConfig moves it to StripParams
	MaxLinks        int           `yaml:"max-links"`
	MaxURLLength    int           `yaml:"max-url-length"`
	DenyPrivate     *bool         `yaml:"deny-private"` // nil: decided from the seeds
	Order           string        `yaml:"order"`
	CPUProfile      string        `yaml:"-"`
	MemProfile      string        `yaml:"-"`
	State           string        `yaml:"state"`

	pipelineOptions `yaml:",inline"` // rules and outputs: pipeline.go
	fleetOptions    `yaml:",inline"` // a crawl shared in Redis: fleet.go
}

func defaultOptions() options {
	return options{
		Concurrency:  16,
		PerHost:      2,
		Rate:         5,
		UserAgent:    crawler.DefaultUserAgent,
		Scope:        crawler.ScopeHost,
		Timeout:      30 * time.Second,
		MaxBody:      10 << 20,
		Retries:      2,
		Grace:        10 * time.Second,
		Order:        "bfs",
		MaxLinks:     parse.DefaultMaxLinks,
		MaxURLLength: urlnorm.DefaultMaxLength,
	}
}

// parseArgs turns the command line (and the config file it names) into
// options. Every error wraps errUsage.
func parseArgs(args []string, stderr io.Writer) (options, error) {
	o := defaultOptions()
	if path := configPath(args); path != "" {
		if err := loadConfig(path, &o); err != nil {
			return o, err
		}
	}
	fs := flag.NewFlagSet("crawl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String("config", "", "YAML config `file` (keys are the flag names; flags override it)")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "number of fetch workers")
	fs.IntVar(&o.PerHost, "per-host", o.PerHost, "max requests in flight per host")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "requests per second per host (0 = unlimited)")
	fs.StringVar(&o.UserAgent, "user-agent", o.UserAgent, "User-Agent header, matched against robots.txt")
	fs.BoolVar(&o.IgnoreRobots, "ignore-robots", o.IgnoreRobots, "do not fetch or obey robots.txt")
	fs.StringVar(&o.Scope, "scope", o.Scope, "which hosts to follow: host, domain or any")
	fs.Func("include", "follow only URLs matching `regex` (repeatable)", appendTo(&o.Include))
	fs.Func("exclude", "never follow URLs matching `regex` (repeatable)", appendTo(&o.Exclude))
	fs.Func("strip-param", "remove query parameter `name` (or prefix*) from URLs (repeatable)", appendTo(&o.StripParams))
	fs.IntVar(&o.MaxLinks, "max-links", o.MaxLinks, "max links followed from one page (0 = unlimited)")
	fs.IntVar(&o.MaxURLLength, "max-url-length", o.MaxURLLength, "drop URLs longer than this many bytes")
	fs.Var(triBool{&o.DenyPrivate}, "deny-private", "refuse private, loopback and link-local addresses (default: on unless a seed is on one)")
	fs.IntVar(&o.MaxDepth, "max-depth", o.MaxDepth, "max link depth from a seed (0 = unlimited)")
	fs.IntVar(&o.MaxPages, "max-pages", o.MaxPages, "stop after this many URLs (0 = unlimited)")
	fs.IntVar(&o.MaxPagesPerHost, "max-pages-per-host", o.MaxPagesPerHost, "max URLs per host (0 = unlimited)")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "whole-request timeout")
	fs.Var(&o.MaxBody, "max-body", "max decompressed body `size` (bytes, or with KiB/MiB/GiB)")
	fs.IntVar(&o.Retries, "retries", o.Retries, "retries for network errors, 429 and 5xx")
	fs.DurationVar(&o.Grace, "grace", o.Grace, "on Ctrl-C, how long requests in flight may finish")
	fs.StringVar(&o.Output, "o", o.Output, "write JSON lines to `file` instead of stdout")
	fs.StringVar(&o.Output, "output", o.Output, "same as -o")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", o.MetricsAddr, "serve /metrics and /healthz on `addr` (\":9090\" means 127.0.0.1:9090)")
	fs.DurationVar(&o.MetricsLinger, "metrics-linger", o.MetricsLinger, "keep serving /metrics this long after the crawl ends")
	fs.BoolVar(&o.FailOnError, "fail-on-error", o.FailOnError, "exit 1 when any URL failed")
	fs.BoolVar(&o.Quiet, "quiet", o.Quiet, "no progress output")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the crawl to `file`")
	fs.StringVar(&o.MemProfile, "memprofile", "", "write an allocation profile to `file` at the end")
	fs.StringVar(&o.Order, "order", o.Order, "scheduling order: bfs, dfs or best (shallow, short paths first)")
	fs.StringVar(&o.State, "state", o.State, "keep the frontier in `dir` on disk: survives a crash, resumes when run again")
	o.pipelineOptions.addFlags(fs)
	o.fleetOptions.addFlags(fs)
	// The flag package would print the usage on every error; errors are
	// one line here, and the usage is printed only for -h.
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "usage: crawl [flags] URL...\n\nflags:\n")
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return o, fmt.Errorf("%w: help requested", errUsage)
		}
		return o, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		o.Seeds = fs.Args()
	}
	return o, o.validate()
}

// configPath finds --config's value without parsing the other flags, so
// that the file can supply their defaults.
func configPath(args []string) string {
	for i, a := range args {
		if a == "--" {
			break
		}
		for _, p := range []string{"-config", "--config"} {
			if a == p && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, p+"="); ok {
				return v
			}
		}
	}
	return ""
}

// loadConfig reads a YAML file over o. Unknown keys are errors.
func loadConfig(path string, o *options) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: config: %v", errUsage, err)
	}
	return decodeConfig(data, o)
}

// decodeConfig decodes YAML over o, refusing unknown keys and trailing
// documents. The key strip-params (the spelling of the example configs) is
// taken as strip-param, the flag's name: both may be given, and their
// lists are joined.
func decodeConfig(data []byte, o *options) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(o); err != nil && !errors.Is(err, io.EOF) {
		// yaml lists each problem on its own line; keep the error to one.
		msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
		return fmt.Errorf("%w: config: %s", errUsage, msg)
	}
	o.StripParams = append(o.StripParams, o.StripParamsAlt...)
	o.StripParamsAlt = nil
	return nil
}

func appendTo(list *[]string) func(string) error {
	return func(v string) error {
		*list = append(*list, v)
		return nil
	}
}

func (o *options) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
	}
	switch {
	case o.Concurrency <= 0:
		return bad("--concurrency must be at least 1 (got %d)", o.Concurrency)
	case o.PerHost <= 0:
		return bad("--per-host must be at least 1 (got %d)", o.PerHost)
	case o.Rate < 0:
		return bad("--rate must not be negative (got %g)", o.Rate)
	case o.MaxDepth < 0 || o.MaxPages < 0 || o.MaxPagesPerHost < 0:
		return bad("--max-depth, --max-pages and --max-pages-per-host must not be negative")
	case o.Timeout <= 0:
		return bad("--timeout must be positive (got %s)", o.Timeout)
	case o.MaxBody <= 0:
		return bad("--max-body must be positive (got %d)", o.MaxBody)
	case o.Retries < 0:
		return bad("--retries must not be negative (got %d)", o.Retries)
	case o.MaxLinks < 0:
		return bad("--max-links must not be negative (got %d)", o.MaxLinks)
	case o.MaxURLLength <= 0:
		return bad("--max-url-length must be positive (got %d)", o.MaxURLLength)
	case o.MetricsLinger < 0:
		return bad("--metrics-linger must not be negative (got %s)", o.MetricsLinger)
	case o.MetricsLinger > 0 && o.MetricsAddr == "":
		return bad("--metrics-linger needs --metrics-addr")
	case o.Grace < 0:
		return bad("--grace must not be negative (got %s)", o.Grace)
	case o.UserAgent == "":
		return bad("--user-agent must not be empty")
	}
	if o.MetricsAddr != "" {
		if _, err := metricsListenAddr(o.MetricsAddr); err != nil {
			return bad("--metrics-addr: %v", err)
		}
	}
	switch o.Scope {
	case crawler.ScopeHost, crawler.ScopeDomain, crawler.ScopeAny:
	default:
		return bad("--scope %q: want host, domain or any", o.Scope)
	}
	switch o.Order {
	case "bfs", "dfs", "best":
	default:
		return bad("--order %q: want bfs, dfs or best", o.Order)
	}
	if err := o.pipelineOptions.validate(o.Output); err != nil {
		return err
	}
	if err := o.fleetOptions.validate(o.State); err != nil {
		return err
	}
	if len(o.Seeds) == 0 && o.State == "" && o.Frontier == "" {
		return bad("no URL to crawl (usage: crawl [flags] URL...)")
	}
	norm := o.normalizer()
	if err := norm.Validate(); err != nil {
		return bad("--strip-param: %v", err)
	}
	for _, s := range o.Seeds {
		if _, err := norm.Canonical(s); err != nil {
			return bad("seed %q: %v", s, err)
		}
	}
	for _, list := range [][]string{o.Include, o.Exclude} {
		for _, re := range list {
			if _, err := regexp.Compile(re); err != nil {
				return bad("bad regex %q: %v", re, err)
			}
		}
	}
	return nil
}

// crawlerConfig maps options onto the library's Config.
func (o *options) crawlerConfig() crawler.Config {
	cfg := crawler.Config{
		Concurrency:     o.Concurrency,
		PerHost:         o.PerHost,
		Rate:            o.Rate,
		UserAgent:       o.UserAgent,
		IgnoreRobots:    o.IgnoreRobots,
		Scope:           o.Scope,
		MaxDepth:        o.MaxDepth,
		MaxPages:        o.MaxPages,
		MaxPagesPerHost: o.MaxPagesPerHost,
		Timeout:         o.Timeout,
		MaxBodyBytes:    int64(o.MaxBody),
		Retries:         o.Retries,
		Grace:           o.Grace,
		Normalizer:      o.normalizer(),
		MaxLinks:        o.MaxLinks,
	}
	if o.MaxLinks == 0 {
		cfg.MaxLinks = -1 // the flag's 0 means unlimited
	}
	if o.Rate == 0 {
		cfg.Rate = -1 // the flag's 0 means unlimited
	}
	if o.Retries == 0 {
		cfg.Retries = -1
	}
	if o.Grace == 0 {
		cfg.Grace = time.Nanosecond
	}
	cfg.Scheduler = scheduler(o.Order, cfg.HostDelay())
	for _, re := range o.Include {
		cfg.Include = append(cfg.Include, regexp.MustCompile(re)) // validated
	}
	for _, re := range o.Exclude {
		cfg.Exclude = append(cfg.Exclude, regexp.MustCompile(re))
	}
	return cfg
}

// normalizer is the URL canonicalization the options ask for.
func (o *options) normalizer() urlnorm.Normalizer {
	return urlnorm.Normalizer{StripParams: o.StripParams, MaxLength: o.MaxURLLength}
}

// triBool is a boolean flag that may also be left unset (nil): --name and
// --name=true set it, --name=false clears it.
type triBool struct{ p **bool }

func (b triBool) String() string {
	if b.p == nil || *b.p == nil {
		return "auto"
	}
	return strconv.FormatBool(**b.p)
}

// Set implements flag.Value.
func (b triBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*b.p = &v
	return nil
}

// IsBoolFlag lets the flag be given without a value.
func (b triBool) IsBoolFlag() bool { return true }

// byteSize is a size in bytes that accepts KiB/MiB/GiB (and KB/MB/GB)
// suffixes in flags and YAML.
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

// Set implements flag.Value.
func (b *byteSize) Set(s string) error {
	v, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(v)
	return nil
}

// UnmarshalYAML accepts a number or a string with a unit.
func (b *byteSize) UnmarshalYAML(n *yaml.Node) error { return b.Set(n.Value) }

func parseByteSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(v), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

// scheduler returns the policy --order names, spacing requests to a host by
// delay.
func scheduler(order string, delay time.Duration) frontier.Scheduler {
	switch order {
	case "dfs":
		return frontier.DepthFirst{Delay: delay}
	case "best":
		return frontier.BestFirst{Score: shortFirst, Delay: delay}
	default:
		return frontier.BreadthFirst{Delay: delay}
	}
}

// shortFirst is --order best's score: shallow pages with short paths and
// no query string first, a cheap stand-in for importance.
func shortFirst(r frontier.Request) float64 {
	path := r.URL
	if i := strings.Index(path, "://"); i >= 0 {
		path = path[i+3:]
	}
	score := -float64(r.Depth) - 0.25*float64(strings.Count(path, "/"))
	if strings.Contains(path, "?") {
		score -= 1
	}
	return score
}
