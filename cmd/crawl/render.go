package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/output"
	"github.com/hivecrawl/crawl/render"
)

// The Chromium renderer is the crawler's Renderer.
var _ crawler.Renderer = (*render.Browser)(nil)

// renderOptions are the options of headless rendering: whether pages are
// rendered in a browser, and how.
type renderOptions struct {
	Render      string `yaml:"render"`
	RenderWait  string `yaml:"render-wait"`
	RenderTabs  int    `yaml:"render-tabs"`
	RenderBlock string `yaml:"render-block"`
	Browser     string `yaml:"browser"`
	BrowserURL  string `yaml:"browser-url"`
	Screenshots string `yaml:"screenshots"`
}

// defaultRenderOptions are the rendering defaults: no browser.
func defaultRenderOptions() renderOptions {
	return renderOptions{
		Render: crawler.RenderNever, RenderWait: render.WaitIdle, RenderTabs: 4,
		RenderBlock: strings.Join(render.DefaultBlock, ","),
	}
}

func (o *renderOptions) addFlags(g *flagGroups) {
	fs := g.render
	fs.StringVar(&o.Render, "render", o.Render, "run pages' JavaScript in a headless browser: never, always, or auto (the pages that need it, learned per URL pattern)")
	fs.StringVar(&o.RenderWait, "render-wait", o.RenderWait, "with --render: wait for idle (no request for 500ms after load), load, or a CSS `selector`; bounded by --timeout")
	fs.IntVar(&o.RenderTabs, "render-tabs", o.RenderTabs, "with --render: pages rendered at once (browser tabs)")
	fs.StringVar(&o.RenderBlock, "render-block", o.RenderBlock, "with --render: resources never fetched, `list` of images, media, fonts, or none")
	fs.StringVar(&o.Browser, "browser", o.Browser, "with --render: the browser's `path` (default: chromium, chromium-browser or google-chrome on PATH)")
	fs.StringVar(&o.BrowserURL, "browser-url", o.BrowserURL, "with --render: use the running browser at this DevTools `url` (ws://host:9222/) instead of starting one")
	fs.StringVar(&o.Screenshots, "screenshots", o.Screenshots, "with --render: write a PNG of each rendered page under `dir`, named like --save's files")
}

// block returns --render-block as render.Options.Block.
func (o *renderOptions) block() []string {
	if strings.TrimSpace(o.RenderBlock) == "none" {
		return []string{}
	}
	var out []string
	for _, k := range strings.Split(o.RenderBlock, ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	if out == nil {
		return []string{}
	}
	return out
}

// browserOptions returns the render.Options the flags ask for.
func (o *renderOptions) browserOptions(opts options) render.Options {
	return render.Options{
		Exec: o.Browser, URL: o.BrowserURL, Tabs: o.RenderTabs, Wait: o.RenderWait,
		Timeout: opts.Timeout, Block: o.block(), UserAgent: opts.UserAgent,
		Screenshots: o.Screenshots != "",
	}
}

// validateRender checks the rendering flags; with --render set, it looks
// for the browser, so that a missing one is a usage error.
func (o *renderOptions) validateRender(opts options) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
	}
	switch o.Render {
	case crawler.RenderNever, crawler.RenderAlways, crawler.RenderAuto:
	default:
		return bad("--render %q: want never, always or auto", o.Render)
	}
	if o.RenderTabs < 1 {
		return bad("--render-tabs must be at least 1 (got %d)", o.RenderTabs)
	}
	if o.Render == crawler.RenderNever {
		if o.Screenshots != "" {
			return bad("--screenshots needs --render")
		}
		return nil
	}
	if _, err := render.New(o.browserOptions(opts)); err != nil {
		return bad("--render: %v", strings.TrimPrefix(err.Error(), "render: "))
	}
	return nil
}

// setupRender gives the crawl its renderer, when --render asks for one;
// the browser starts with the first page rendered and stops when the
// wiring closes.
func (o *renderOptions) setupRender(w *wiring, opts options, log *slog.Logger) error {
	if o.Render == crawler.RenderNever {
		return nil
	}
	bo := o.browserOptions(opts)
	bo.Logf = func(format string, a ...any) { log.Warn(fmt.Sprintf(format, a...)) }
	b, err := render.New(bo)
	if err != nil {
		return fmt.Errorf("--render: %w", err)
	}
	w.cfg.Render, w.cfg.Renderer = o.Render, b
	w.closers = append(w.closers, b.Close)
	if o.Screenshots != "" {
		s, err := output.NewScreenshots(o.Screenshots)
		if err != nil {
			return fmt.Errorf("--screenshots: %w", err)
		}
		w.closers = append(w.closers, s.Close)
		w.pipe.handlers = append(w.pipe.handlers, s)
	}
	return nil
}
