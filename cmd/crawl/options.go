package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/urlnorm"
)

// errUsage marks errors in flags, config or seeds: exit status 2.
var errUsage = errors.New("usage")

// errHelp and errVersion are what parseArgs returns for --help and
// --version: run prints the help or the version and exits 0.
var (
	errHelp    = errors.New("help requested")
	errVersion = errors.New("version requested")
)

// Output formats of the page records (--format).
const (
	formatJSON = "json" // one JSON object per URL
	formatURL  = "url"  // one canonical URL per line
)

// options is everything the command line and the YAML config can say. YAML
// keys are the flag names.
type options struct {
	Seeds           []string      `yaml:"seeds"`
	Input           []string      `yaml:"input"`
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
	Format          string        `yaml:"format"`
	MetricsAddr     string        `yaml:"metrics-addr"`
	MetricsLinger   time.Duration `yaml:"metrics-linger"`
	FailOnError     bool          `yaml:"fail-on-error"`
	Quiet           bool          `yaml:"quiet"`
	StripParams     []string      `yaml:"strip-param"`
	StripParamsAlt  []string      `yaml:"strip-params"` // also accepted; decodeConfig moves it to StripParams
	KeepParams      []string      `yaml:"keep-param"`
	KeepQueryOrder  bool          `yaml:"keep-query-order"`
	MaxLinks        int           `yaml:"max-links"`
	MaxURLLength    int           `yaml:"max-url-length"`
	DenyPrivate     *bool         `yaml:"deny-private"` // nil: decided from the seeds
	Order           string        `yaml:"order"`
	CPUProfile      string        `yaml:"-"`
	MemProfile      string        `yaml:"-"`
	State           string        `yaml:"state"`
	Help            bool          `yaml:"-"`
	Version         bool          `yaml:"-"`

	pipelineOptions `yaml:",inline"` // rules and outputs: pipeline.go
	requestOptions  `yaml:",inline"` // headers and credentials: request.go
	proxyOptions    `yaml:",inline"` // proxies: proxy.go
	fleetOptions    `yaml:",inline"` // a crawl shared in Redis: fleet.go
	renderOptions   `yaml:",inline"` // headless rendering: render.go
	loginOptions    `yaml:",inline"` // a form login: login.go
	dbOptions       `yaml:",inline"` // the database sink: db.go
}

// defaultOptions are the options before the config file and the flags:
// the library's defaults (crawler.DefaultConfig), and the command's own.
func defaultOptions() options {
	d := crawler.DefaultConfig()
	return options{
		Concurrency:  d.Concurrency,
		PerHost:      d.PerHost,
		Rate:         d.Rate,
		UserAgent:    d.UserAgent,
		Scope:        d.Scope,
		Timeout:      d.Timeout,
		MaxBody:      byteSize(d.MaxBodyBytes),
		Retries:      d.Retries,
		Grace:        d.Grace,
		MaxLinks:     d.MaxLinks,
		MaxURLLength: d.Normalizer.MaxLength,
		Order:        "bfs",
		Format:       formatJSON,

		renderOptions: defaultRenderOptions(),
	}
}

// flagGroups are the flags by topic, as --help shows them. A flag is
// defined in its group; all holds every flag, for parsing.
type flagGroups struct {
	all                                                   *pflag.FlagSet
	proxy                                                 *pflag.FlagSet
	input, scope, polite, request, output, fleet, metrics *pflag.FlagSet
	render                                                *pflag.FlagSet
	db                                                    *pflag.FlagSet
}

// titled lists the groups in --help's order.
func (g *flagGroups) titled() []struct {
	title string
	fs    *pflag.FlagSet
} {
	return []struct {
		title string
		fs    *pflag.FlagSet
	}{
		{"Input", g.input}, {"Scope", g.scope}, {"Politeness and limits", g.polite},
		{"Headers and authentication", g.request}, {"Proxies", g.proxy}, {"Output", g.output}, {"Database", g.db}, {"Rendering", g.render}, {"Resume and fleet", g.fleet}, {"Metrics", g.metrics},
	}
}

// newFlags defines every flag over o, with o's values as the defaults.
func newFlags(o *options) *flagGroups {
	set := func(name string) *pflag.FlagSet {
		fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
		fs.SortFlags = false
		return fs
	}
	g := &flagGroups{all: set("crawl"), input: set("input"), scope: set("scope"), polite: set("politeness"),
		request: set("request"), proxy: set("proxy"), output: set("output"), fleet: set("fleet"), metrics: set("metrics"),
		render: set("render"), db: set("db")}

	g.input.BoolVarP(&o.Help, "help", "h", false, "print this help and exit")
	g.input.BoolVarP(&o.Version, "version", "V", false, "print the version and exit")
	g.input.String("config", "", "YAML config `file` (keys are the flag names; flags override it)")
	g.input.FuncP("input", "i", "read URLs to crawl from `file`, one a line, # comments (\"-\" or a URL \"-\" = standard input; repeatable)", appendTo(&o.Input))

	g.scope.StringVar(&o.Scope, "scope", o.Scope, "which hosts to follow: host, domain or any")
	g.scope.Func("include", "follow only URLs matching `regex` (repeatable)", appendTo(&o.Include))
	g.scope.Func("exclude", "never follow URLs matching `regex` (repeatable)", appendTo(&o.Exclude))
	g.scope.Func("strip-param", "remove query parameter `name` (or prefix*) from URLs (repeatable)", appendTo(&o.StripParams))
	g.scope.Func("keep-param", "keep query parameter `name` (or prefix*) that would be removed: a tracking one, or --strip-param's (repeatable)", appendTo(&o.KeepParams))
	g.scope.BoolVar(&o.KeepQueryOrder, "keep-query-order", o.KeepQueryOrder, "keep query parameters in their order instead of sorting them by name")
	g.scope.IntVar(&o.MaxDepth, "max-depth", o.MaxDepth, "max link depth from a seed (0 = unlimited)")
	g.scope.IntVar(&o.MaxPages, "max-pages", o.MaxPages, "stop after this many URLs (0 = unlimited)")
	g.scope.IntVar(&o.MaxPagesPerHost, "max-pages-per-host", o.MaxPagesPerHost, "max URLs per host (0 = unlimited)")
	g.scope.IntVar(&o.MaxLinks, "max-links", o.MaxLinks, "max links followed from one page (0 = unlimited)")
	g.scope.IntVar(&o.MaxURLLength, "max-url-length", o.MaxURLLength, "drop URLs longer than this many bytes")
	g.scope.VarPF(triBool{&o.DenyPrivate}, "deny-private", "", "refuse private, loopback and link-local addresses (default: on, unless a seed is on one; --deny-private=false allows them)").NoOptDefVal = "true"
	g.scope.StringVar(&o.Order, "order", o.Order, "scheduling order: bfs, dfs or best (shallow, short paths first)")

	g.polite.IntVar(&o.Concurrency, "concurrency", o.Concurrency, fmt.Sprintf("number of fetch workers (at most %d)", crawler.MaxConcurrency))
	g.polite.IntVar(&o.PerHost, "per-host", o.PerHost, "max requests in flight per host")
	g.polite.Float64Var(&o.Rate, "rate", o.Rate, "requests per second per host (0 = unlimited)")
	g.polite.StringVar(&o.UserAgent, "user-agent", o.UserAgent, "User-Agent header, matched against robots.txt")
	g.polite.BoolVar(&o.IgnoreRobots, "ignore-robots", o.IgnoreRobots, "do not fetch or obey robots.txt")
	g.polite.DurationVar(&o.Timeout, "timeout", o.Timeout, "whole-request timeout (with a unit: 30s, 2m)")
	g.polite.Var(&o.MaxBody, "max-body", "max decompressed body `size` (bytes, or with KiB/MiB/GiB)")
	g.polite.IntVar(&o.Retries, "retries", o.Retries, "retries for network errors, 429 and 5xx (0 = none)")
	g.polite.DurationVar(&o.Grace, "grace", o.Grace, "on Ctrl-C, how long requests in flight may finish")

	g.output.StringVarP(&o.Output, "output", "o", o.Output, "write the records to `file` instead of stdout")
	g.output.StringVar(&o.Format, "format", o.Format, "records as json (one object per URL) or url (one canonical URL per line)")
	g.output.BoolVarP(&o.Quiet, "quiet", "q", o.Quiet, "no progress output")
	g.output.BoolVar(&o.FailOnError, "fail-on-error", o.FailOnError, "exit 1 when any URL failed (an error record, 4xx and 5xx included)")
	g.output.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the crawl to `file`")
	g.output.StringVar(&o.MemProfile, "memprofile", "", "write an allocation profile to `file` at the end")

	g.fleet.StringVar(&o.State, "state", o.State, "keep the frontier in `dir` on disk: survives a crash, resumes when run again")

	g.metrics.StringVar(&o.MetricsAddr, "metrics-addr", o.MetricsAddr, "serve /metrics and /healthz on `addr` (\":2112\" means 127.0.0.1:2112)")
	g.metrics.DurationVar(&o.MetricsLinger, "metrics-linger", o.MetricsLinger, "keep serving /metrics this long after the crawl ends")

	o.pipelineOptions.addFlags(g)
	o.requestOptions.addFlags(g)
	o.proxyOptions.addFlags(g)
	o.fleetOptions.addFlags(g)
	o.renderOptions.addFlags(g)
	o.dbOptions.addFlags(g)
	for _, t := range g.titled() {
		g.all.AddFlagSet(t.fs)
	}
	g.all.SortFlags = false
	g.all.SetOutput(io.Discard)
	// pflag would print the usage on every error; errors are one line
	// here, and the help is printed only for --help.
	g.all.Usage = func() {}
	return g
}

// parseArgs is parseArgsIn without standard input.
func parseArgs(args []string) (options, error) { return parseArgsIn(args, nil) }

// parseArgsIn turns the command line (and the config file it names) into
// options, reading the URLs of --input lists and of a "-" seed (from
// stdin; nil: none). Every error wraps errUsage, but for --help (errHelp)
// and --version (errVersion).
func parseArgsIn(args []string, stdin io.Reader) (options, error) {
	o := defaultOptions()
	args = longFlags(newFlags(&options{}).all, args)
	if path := configPath(args); path != "" {
		if err := loadConfig(path, &o); err != nil {
			return o, err
		}
	}
	fs := newFlags(&o).all
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("%w: %v", errUsage, flagError(fs, err))
	}
	switch {
	case o.Help:
		return o, errHelp
	case o.Version:
		return o, errVersion
	}
	if fs.NArg() > 0 {
		o.Seeds = fs.Args()
	}
	seeds, err := expandInputs(o.Seeds, o.Input, stdin, o.normalizer().Canonical)
	if err != nil {
		return o, fmt.Errorf("%w: %v", errUsage, err)
	}
	o.Seeds = seeds
	// validate fills o's parsed fields (headers, credentials): it runs
	// before o is returned.
	err = o.validate()
	return o, err
}

// longFlags returns args with the long flags written with one dash
// (-max-pages, as Go's flag package took them) given their second dash,
// so that pflag does not read them as a run of one-letter flags.
func longFlags(fs *pflag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if len(name) > 1 && fs.Lookup(name) != nil {
				a = "-" + a
			}
		}
		out = append(out, a)
	}
	return out
}

// flagError rewrites pflag's errors into ones a user can act on.
func flagError(fs *pflag.FlagSet, err error) error {
	var invalid *pflag.InvalidValueError
	if errors.As(err, &invalid) {
		f := invalid.GetFlag()
		if f.Value.Type() == "duration" {
			v := invalid.GetValue()
			if _, nerr := strconv.ParseFloat(v, 64); nerr == nil {
				return fmt.Errorf("--%s %s: a duration needs a unit, such as %ss, %sms or %sm", f.Name, v, v, v, v)
			}
			return fmt.Errorf("--%s %q: not a duration (want a number with a unit: 30s, 500ms, 2m, 1h)", f.Name, v)
		}
		return fmt.Errorf("--%s %q: %v", f.Name, invalid.GetValue(), errors.Unwrap(invalid))
	}
	var unknown *pflag.NotExistError
	if errors.As(err, &unknown) {
		name := unknown.GetSpecifiedName()
		if unknown.GetSpecifiedShortnames() != "" {
			return fmt.Errorf("unknown flag -%s in -%s (long flags take two dashes: --name)", name, unknown.GetSpecifiedShortnames())
		}
		var names []string
		fs.VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
		if s := closest(name, names); s != "" {
			return fmt.Errorf("unknown flag --%s (did you mean --%s?)", name, s)
		}
		return fmt.Errorf("unknown flag --%s (crawl --help lists them)", name)
	}
	return err
}

// configPath finds --config's value without parsing the other flags, so
// that the file can supply their defaults. args have been through
// longFlags.
func configPath(args []string) string {
	for i, a := range args {
		if a == "--" {
			break
		}
		if a == "--config" && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			return v
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
	return decodeConfig(path, data, o)
}

// unknownField finds the key in the yaml package's error for a field that
// is not in options.
var unknownField = regexp.MustCompile(`line (\d+): field (\S+) not found in type`)

// decodeConfig decodes the YAML file name's data over o, refusing unknown
// keys and trailing documents. The key strip-params (the spelling of the
// example configs) is taken as strip-param, the flag's name: both may be
// given, and their lists are joined.
func decodeConfig(name string, data []byte, o *options) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(o); err != nil && !errors.Is(err, io.EOF) {
		if m := unknownField.FindStringSubmatch(err.Error()); m != nil {
			msg := fmt.Sprintf("unknown key %q in %s (line %s)", m[2], name, m[1])
			if s := closest(m[2], configKeys()); s != "" {
				msg = fmt.Sprintf("unknown key %q in %s (line %s; did you mean %q?)", m[2], name, m[1], s)
			}
			return fmt.Errorf("%w: %s", errUsage, msg)
		}
		// yaml lists each problem on its own line; keep the error to one.
		msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
		return fmt.Errorf("%w: config %s: %s", errUsage, name, msg)
	}
	o.StripParams = append(o.StripParams, o.StripParamsAlt...)
	o.StripParamsAlt = nil
	return nil
}

// configKeys lists the keys a config file may have: the yaml names of
// options, inline structs included.
func configKeys() []string {
	var keys []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("yaml")
			name, rest, _ := strings.Cut(tag, ",")
			switch {
			case rest == "inline":
				walk(f.Type)
			case name != "" && name != "-":
				keys = append(keys, name)
			}
		}
	}
	walk(reflect.TypeFor[options]())
	return keys
}

// closest returns the candidate that word most likely misspells, or "".
// Case, '_' for '-' and a leading dash or two do not count as mistakes;
// beyond them, up to two edits (one for short words) do.
func closest(word string, candidates []string) string {
	fold := func(s string) string {
		return strings.ReplaceAll(strings.ToLower(strings.TrimLeft(s, "-")), "_", "-")
	}
	w := fold(word)
	best, bestDist := "", 3
	if len(w) <= 4 {
		bestDist = 2
	}
	for _, c := range candidates {
		if d := editDistance(w, fold(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func appendTo(list *[]string) func(string) error {
	return func(v string) error {
		*list = append(*list, v)
		return nil
	}
}

// validate checks what only the command knows (its outputs, metrics, the
// words given as URLs) and leaves the crawl's own settings to
// crawler.Config.Validate, whose errors it names by flag.
func (o *options) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
	}
	switch {
	case o.MetricsLinger < 0:
		return bad("--metrics-linger must not be negative (got %s)", o.MetricsLinger)
	case o.MetricsLinger > 0 && o.MetricsAddr == "":
		return bad("--metrics-linger needs --metrics-addr")
	}
	if o.MetricsAddr != "" {
		if _, err := metricsListenAddr(o.MetricsAddr); err != nil {
			return bad("--metrics-addr: %v", err)
		}
	}
	switch o.Order {
	case "bfs", "dfs", "best":
	default:
		return bad("--order %q: want bfs, dfs or best", o.Order)
	}
	switch o.Format {
	case formatJSON, formatURL:
	default:
		return bad("--format %q: want json or url", o.Format)
	}
	for _, list := range [][]string{o.Include, o.Exclude} {
		for _, re := range list {
			if _, err := regexp.Compile(re); err != nil {
				return bad("bad regex %q: %v", re, err)
			}
		}
	}
	if err := o.validateLogin(); err != nil { // before validateRequest: it implies --session
		return err
	}
	if err := o.validateRequest(); err != nil {
		return err
	}
	if err := o.proxyOptions.validate(); err != nil {
		return err
	}
	cfg := o.crawlerConfig()
	if err := cfg.Validate(); err != nil {
		var ce *crawler.ConfigError
		if errors.As(err, &ce) {
			return bad("--%s %s", ce.Field, ce.Problem)
		}
		return bad("%v", err)
	}
	if err := o.pipelineOptions.validate(o.Output); err != nil {
		return err
	}
	if err := o.fleetOptions.validate(o.State); err != nil {
		return err
	}
	if err := o.dbOptions.validate(); err != nil {
		return err
	}
	if err := o.renderOptions.validateRender(*o); err != nil {
		return err
	}
	if len(o.Seeds) == 0 && o.State == "" && o.Frontier == "" {
		return bad("no URL to crawl (usage: crawl [flags] URL...; crawl --help tells more)")
	}
	for _, s := range o.Seeds {
		if err := checkSeed(s, cfg.Normalizer.Canonical); err != nil {
			return bad("%v", err)
		}
	}
	return nil
}

// subcommands are the words run takes as commands, not URLs.
var subcommands = []string{"status", "purge", "serve", "version", "help"}

// redactAll returns urls without user info, for logs.
func redactAll(urls []string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		out[i] = urlnorm.Redact(u)
	}
	return out
}

// checkSeed reports why s cannot start a crawl, suggesting what was meant:
// a subcommand misspelt, or a host name without its scheme.
func checkSeed(s string, canonical func(string) (string, error)) error {
	s = urlnorm.Redact(s) // credentials are never shown
	u, err := url.Parse(s)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		if _, err := canonical(s); err != nil {
			return fmt.Errorf("seed %q: %v", s, err)
		}
		return nil
	}
	if !strings.Contains(s, "://") {
		if cmd := closest(s, subcommands); cmd != "" {
			return fmt.Errorf("seed %q is not a URL (did you mean \"crawl %s\"?)", s, cmd)
		}
		host, _, _ := strings.Cut(s, "/")
		name, _, _ := strings.Cut(host, ":")
		if (strings.Contains(name, ".") || name == "localhost") && !strings.ContainsAny(s, " \t") {
			guess := "https://" + s
			if name == "localhost" || net.ParseIP(name) != nil {
				guess = "http://" + s // a local or test server seldom has TLS
			}
			if !strings.Contains(s, "/") {
				guess += "/"
			}
			if _, err := canonical(guess); err == nil {
				return fmt.Errorf("seed %q is not a URL (did you mean %s?)", s, guess)
			}
		}
		return fmt.Errorf("seed %q is not a URL: give an http:// or https:// URL", s)
	}
	if err == nil && u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("seed %q: only http:// and https:// URLs can be crawled", s)
	}
	return fmt.Errorf("seed %q is not a URL: %v", s, err)
}

// crawlerConfig maps options onto the library's Config, starting from
// crawler.DefaultConfig: a flag's zero means what the field's zero means.
func (o *options) crawlerConfig() crawler.Config {
	cfg := crawler.DefaultConfig()
	cfg.Concurrency = o.Concurrency
	cfg.PerHost = o.PerHost
	cfg.Rate = o.Rate
	cfg.UserAgent = o.UserAgent
	cfg.IgnoreRobots = o.IgnoreRobots
	cfg.Scope = o.Scope
	cfg.MaxDepth = o.MaxDepth
	cfg.MaxPages = o.MaxPages
	cfg.MaxPagesPerHost = o.MaxPagesPerHost
	cfg.Timeout = o.Timeout
	cfg.MaxBodyBytes = int64(o.MaxBody)
	cfg.Retries = o.Retries
	cfg.Grace = o.Grace
	cfg.MaxLinks = o.MaxLinks
	cfg.Normalizer = o.normalizer()
	cfg.Assets, cfg.Sitemaps = o.Assets, o.Sitemaps
	cfg.Scheduler = scheduler(o.Order, cfg.HostDelay())
	o.requestOptions.apply(&cfg)
	for _, re := range o.Include {
		if r, err := regexp.Compile(re); err == nil { // validate reports the others
			cfg.Include = append(cfg.Include, r)
		}
	}
	for _, re := range o.Exclude {
		if r, err := regexp.Compile(re); err == nil {
			cfg.Exclude = append(cfg.Exclude, r)
		}
	}
	return cfg
}

// normalizer is the URL canonicalization the options ask for.
func (o *options) normalizer() urlnorm.Normalizer {
	n := crawler.DefaultConfig().Normalizer
	n.StripParams = o.StripParams
	n.KeepParams = o.KeepParams
	n.KeepQueryOrder = o.KeepQueryOrder
	n.MaxLength = o.MaxURLLength
	return n
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

// Set implements pflag.Value.
func (b triBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*b.p = &v
	return nil
}

// Type implements pflag.Value: a bool, given without a value.
func (b triBool) Type() string { return "bool" }

// byteSize is a size in bytes that accepts KiB/MiB/GiB (and KB/MB/GB)
// suffixes in flags and YAML.
type byteSize int64

// String writes the size with the largest binary unit that divides it.
func (b *byteSize) String() string {
	n := int64(*b)
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// Set implements pflag.Value.
func (b *byteSize) Set(s string) error {
	v, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(v)
	return nil
}

// Type implements pflag.Value.
func (b *byteSize) Type() string { return "size" }

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
		return 0, fmt.Errorf("bad size %q (want bytes, or a number with KiB, MiB or GiB)", s)
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
