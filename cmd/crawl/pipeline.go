package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/output"
	"github.com/hivecrawl/crawl/parse"
)

// pipelineOptions are the scraping options: extraction rules (YAML only)
// and what to write besides the page records.
type pipelineOptions struct {
	Rules    []parse.Rule `yaml:"rules"`
	Items    string       `yaml:"items"`
	ItemsCSV string       `yaml:"items-csv"`
	WARC     string       `yaml:"warc"`
	Save     string       `yaml:"save"`
	Assets   bool         `yaml:"assets"`
	Sitemaps bool         `yaml:"sitemaps"`
}

func (o *pipelineOptions) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Items, "items", o.Items, "write extracted items as JSON lines to `file` (\"-\" = stdout); needs rules in --config")
	fs.StringVar(&o.ItemsCSV, "items-csv", o.ItemsCSV, "write extracted items as CSV to `file`; needs rules in --config")
	fs.StringVar(&o.WARC, "warc", o.WARC, "archive every response to `file` (WARC 1.1, gzip per record)")
	fs.StringVar(&o.Save, "save", o.Save, "save every fetched body under `dir`/host/path, like wget -x")
	fs.BoolVar(&o.Assets, "assets", o.Assets, "also fetch in-scope images, scripts, styles and media that pages embed")
	fs.BoolVar(&o.Sitemaps, "sitemaps", o.Sitemaps, "seed the crawl from robots.txt Sitemap lines and /sitemap.xml")
}

// validate checks the rules (a bad selector or regex is a config error
// naming the rule) and the outputs; output is the -o file.
func (o *pipelineOptions) validate(output string) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
	}
	if _, err := parse.NewExtractor(o.Rules); err != nil {
		return bad("config: rules: %v", err)
	}
	if len(o.Rules) == 0 && (o.Items != "" || o.ItemsCSV != "") {
		return bad("--items and --items-csv need extraction rules (rules: in the --config file)")
	}
	if o.Items == "-" && output == "" {
		return bad("--items - and the page records cannot both go to stdout (set -o FILE)")
	}
	return nil
}

// pipeline is the set of writers the options ask for, wired into a
// crawler.Config as its Extractor and Handler.
type pipeline struct {
	json    *output.JSONItems
	csv     *output.CSVItems
	warc    *output.WARC
	tree    *output.Tree
	closers []func() error
}

// setup builds the extractor and the writers and sets them, and Assets and
// Sitemaps, on cfg. appendTo reopens existing files (a resumed crawl);
// log gets a warning for each body --save cannot store under its name.
// The caller must call close when the crawl is over.
func (o *pipelineOptions) setup(cfg *crawler.Config, stdout io.Writer, log *slog.Logger, appendTo bool) (*pipeline, error) {
	cfg.Assets, cfg.Sitemaps = o.Assets, o.Sitemaps
	p := &pipeline{}
	ok := false
	defer func() {
		if !ok {
			_ = p.close() // setup failed: nothing was written worth keeping
		}
	}()
	var hs []crawler.Handler
	if o.WARC != "" {
		f, err := openOutput(o.WARC, appendTo, cutTornGzip)
		if err != nil {
			return nil, fmt.Errorf("%w: --warc: %v", errUsage, err)
		}
		p.closers = append(p.closers, f.Close)
		w, err := output.NewWARC(f, output.WARCOptions{UserAgent: cfg.UserAgent, Filename: filepath.Base(o.WARC)})
		if err != nil {
			return nil, err
		}
		p.warc = w
		hs = append(hs, w)
	}
	if o.Save != "" {
		t, err := output.NewTree(o.Save, output.TreeOptions{OnSkip: func(url string, err error) {
			log.Warn("--save: body not saved: the file system refuses its name", "url", url, "err", err)
		}})
		if err != nil {
			return nil, fmt.Errorf("%w: --save: %v", errUsage, err)
		}
		p.tree = t
		p.closers = append(p.closers, t.Close)
		hs = append(hs, t)
	}
	if len(o.Rules) > 0 {
		ex, err := parse.NewExtractor(o.Rules)
		if err != nil {
			return nil, fmt.Errorf("%w: config: rules: %v", errUsage, err)
		}
		cfg.Extractor = ex
		if o.Items != "" {
			w := stdout
			if o.Items != "-" {
				f, err := openOutput(o.Items, appendTo, cutTornLine)
				if err != nil {
					return nil, fmt.Errorf("%w: --items: %v", errUsage, err)
				}
				p.closers = append(p.closers, f.Close)
				w = f
			}
			p.json = output.NewJSONItems(w)
			// A resumable crawl commits a URL's completion after its
			// handlers return, and fetches it no more: its items must be
			// in the file by then, or a killed process loses them.
			p.json.SetWriteThrough(appendTo)
			hs = append(hs, p.json)
		}
		if o.ItemsCSV != "" {
			f, err := openOutput(o.ItemsCSV, appendTo, cutTornCSV)
			if err != nil {
				return nil, fmt.Errorf("%w: --items-csv: %v", errUsage, err)
			}
			p.closers = append(p.closers, f.Close)
			header := true
			if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
				header = false // resuming: the file has its header
			}
			c, err := output.NewCSVItems(f, ex.Columns(), header)
			if err != nil {
				return nil, err
			}
			c.SetWriteThrough(appendTo) // as the JSON items
			p.csv = c
			hs = append(hs, c)
		}
	}
	if len(hs) > 0 {
		cfg.Handler = crawler.Handlers(hs...)
	}
	ok = true
	return p, nil
}

// close flushes the item writers and closes every file, returning the
// first error.
func (p *pipeline) close() error {
	var errs []error
	if p.json != nil {
		errs = append(errs, p.json.Flush())
	}
	if p.csv != nil {
		errs = append(errs, p.csv.Flush())
	}
	for i := len(p.closers) - 1; i >= 0; i-- {
		errs = append(errs, p.closers[i]())
	}
	return errors.Join(errs...)
}

// report prints what the pipeline wrote, after the crawl summary.
func (p *pipeline) report(w io.Writer, sum crawler.Summary, o *pipelineOptions) {
	if o.Assets {
		fmt.Fprintf(w, "crawl: assets %d\n", sum.Assets)
	}
	if o.Sitemaps {
		fmt.Fprintf(w, "crawl: sitemap URLs queued %d\n", sum.SitemapURLs)
	}
	switch {
	case p.json != nil:
		fmt.Fprintf(w, "crawl: items %d\n", p.json.Items())
	case p.csv != nil:
		fmt.Fprintf(w, "crawl: items %d\n", p.csv.Items())
	}
	if p.warc != nil {
		fmt.Fprintf(w, "crawl: warc records %d\n", p.warc.Records())
	}
	if p.tree != nil {
		fmt.Fprintf(w, "crawl: files saved %d\n", p.tree.Files())
		if n := p.tree.Skipped(); n > 0 {
			fmt.Fprintf(w, "crawl: files not saved %d (names the file system refused: see the warnings)\n", n)
		}
	}
}
