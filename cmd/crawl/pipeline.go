package main

import (
	"errors"
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
	Convert  bool         `yaml:"convert-links"`
	Adjust   bool         `yaml:"adjust-extension"`
	Assets   bool         `yaml:"assets"`
	Sitemaps bool         `yaml:"sitemaps"`

	// tee, when set, returns the writer that the lines of the output file
	// f at path go to instead of f: crawl worker also publishes a job's
	// records and items for crawl serve to read.
	tee func(path string, f io.Writer) io.Writer
}

// teeOutput returns the writer of the output file f at path: o.tee's, or f.
func (o *pipelineOptions) teeOutput(path string, f io.Writer) io.Writer {
	if o.tee == nil {
		return f
	}
	return o.tee(path, f)
}

func (o *pipelineOptions) addFlags(g *flagGroups) {
	g.output.StringVar(&o.Items, "items", o.Items, "write extracted items as JSON lines to `file` (\"-\" = stdout); needs rules in --config")
	g.output.StringVar(&o.ItemsCSV, "items-csv", o.ItemsCSV, "write extracted items as CSV to `file`; needs rules in --config")
	g.output.StringVar(&o.WARC, "warc", o.WARC, "archive every response to `file` (WARC 1.1, gzip per record)")
	g.output.StringVar(&o.Save, "save", o.Save, "save every fetched body under `dir`/host/path, like wget -x")
	g.output.BoolVarP(&o.Convert, "convert-links", "k", o.Convert, "with --save, rewrite links in saved pages and style sheets to the saved files, so the tree browses offline (like wget -k)")
	g.output.BoolVarP(&o.Adjust, "adjust-extension", "E", o.Adjust, "with --save, add .html or .css to saved names that lack them (like wget -E)")
	g.scope.BoolVar(&o.Assets, "assets", o.Assets, "also fetch in-scope images, scripts, styles and media that pages embed")
	g.input.BoolVar(&o.Sitemaps, "sitemaps", o.Sitemaps, "seed the crawl from robots.txt Sitemap lines and /sitemap.xml")
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
	if o.Save == "" && (o.Convert || o.Adjust) {
		return bad("--convert-links and --adjust-extension work on the --save tree (set --save DIR)")
	}
	return nil
}

// pipeline is the set of writers the options ask for, for a
// crawler.Config's Extractor and Handler.
type pipeline struct {
	extractor crawler.Extractor // nil without rules
	handlers  []crawler.Handler // the writers, in the order they see a page
	json      *output.JSONItems
	csv       *output.CSVItems
	warc      *output.WARC
	tree      *output.Tree
	closers   []func() error
}

// setup builds the extractor and the writers. appendTo reopens existing
// files (a resumed crawl); log gets a warning for each body --save cannot
// store under its name; userAgent goes into the WARC file's header. The
// caller must call close when the crawl is over.
func (o *pipelineOptions) setup(stdout io.Writer, log *slog.Logger, appendTo bool, userAgent string) (*pipeline, error) {
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
			return nil, fmt.Errorf("--warc: %w", err)
		}
		p.closers = append(p.closers, f.Close)
		w, err := output.NewWARC(f, output.WARCOptions{UserAgent: userAgent, Filename: filepath.Base(o.WARC)})
		if err != nil {
			return nil, err
		}
		p.warc = w
		hs = append(hs, w)
	}
	if o.Save != "" {
		t, err := output.NewTree(o.Save, output.TreeOptions{AdjustExtension: o.Adjust, OnSkip: func(url string, err error) {
			log.Warn("--save: body not saved: the file system refuses its name", "url", url, "err", err)
		}})
		if err != nil {
			return nil, fmt.Errorf("--save: %w", err)
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
		p.extractor = ex
		if o.Items != "" {
			w := stdout
			if o.Items != "-" {
				f, err := openOutput(o.Items, appendTo, cutTornLine)
				if err != nil {
					return nil, fmt.Errorf("--items: %w", err)
				}
				p.closers = append(p.closers, f.Close)
				w = o.teeOutput(o.Items, f)
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
				return nil, fmt.Errorf("--items-csv: %w", err)
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
	p.handlers = hs
	ok = true
	return p, nil
}

// flush writes out what the item writers buffer.
func (p *pipeline) flush() error {
	var errs []error
	if p.json != nil {
		errs = append(errs, p.json.Flush())
	}
	if p.csv != nil {
		errs = append(errs, p.csv.Flush())
	}
	return errors.Join(errs...)
}

// close flushes the item writers and closes every file, returning the
// errors joined.
func (p *pipeline) close() error {
	errs := []error{p.flush()}
	for i := len(p.closers) - 1; i >= 0; i-- {
		errs = append(errs, p.closers[i]())
	}
	p.closers = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("outputs: %w", err)
	}
	return nil
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
