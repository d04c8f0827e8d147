package render

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"

	"github.com/hivecrawl/crawl/fetch"
)

// Wait modes (Options.Wait); any other value is a CSS selector to wait for.
const (
	// WaitIdle waits for the load event, then for no request in flight
	// for IdleTime, so that content that comes a little later (a fetch()
	// then a render, a timer that adds a link) is there.
	WaitIdle = "idle"
	// WaitLoad waits for the load event only.
	WaitLoad = "load"
)

// IdleTime is how long the network must stay quiet for WaitIdle.
const IdleTime = 500 * time.Millisecond

// Resource kinds Options.Block takes, and the browser's resource types
// each blocks.
var blockTypes = map[string][]string{
	"images": {"Image"},
	"media":  {"Media"},
	"fonts":  {"Font"},
}

// DefaultBlock is what Options.Block means when nil.
var DefaultBlock = []string{"images", "media", "fonts"}

// Options configures a Browser. The zero value starts the first of
// Candidates found on PATH, with 4 tabs, waiting for network idle, and
// blocking images, media and fonts.
type Options struct {
	// Exec is the browser's executable. Empty means the first of
	// Candidates found on PATH (see Find).
	Exec string
	// URL, when set, is the DevTools endpoint of a browser that runs
	// already ("ws://host:9222/devtools/browser/…", or "ws://host:9222/"),
	// used instead of starting one; Exec is then ignored.
	URL string
	// Tabs is how many pages render at once. Zero means 4.
	Tabs int
	// Wait is WaitIdle, WaitLoad or a CSS selector to wait for after the
	// load event. Empty means WaitIdle. Waiting is bounded by Timeout: a
	// page still busy then is taken as it is.
	Wait string
	// Timeout bounds the rendering of one page, waiting for a tab aside.
	// Zero means 30s.
	Timeout time.Duration
	// Block lists the kinds of resource never fetched: "images", "media",
	// "fonts". Nil means DefaultBlock; an empty, non-nil slice blocks
	// none.
	Block []string
	// PagesPerTab is how many pages a tab renders before it is closed
	// and a new one opened, so that memory stays flat. Zero means 50.
	PagesPerTab int
	// Screenshots makes Render capture a PNG of each page
	// (Rendered.Screenshot).
	Screenshots bool
	// UserAgent is what the page's scripts see as navigator.userAgent; the
	// crawl's client sends its own User-Agent header. Empty leaves the
	// browser's.
	UserAgent string
	// Logf, when not nil, is told about browser restarts.
	Logf func(format string, args ...any)
}

// Candidates are the executables Find looks for on PATH, in order.
var Candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// ErrNoBrowser is returned by Find (and New) when no browser is found.
var ErrNoBrowser = errors.New("render: no browser found on PATH (looked for " + strings.Join(Candidates, ", ") + "); install chromium or name one with --browser")

// Find returns the path of the first of Candidates on PATH.
func Find() (string, error) {
	for _, name := range Candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// Validate reports options New would refuse.
func (o Options) Validate() error {
	switch {
	case o.Tabs < 0:
		return fmt.Errorf("render: tabs must not be negative (got %d)", o.Tabs)
	case o.Timeout < 0:
		return fmt.Errorf("render: negative timeout %v", o.Timeout)
	case o.PagesPerTab < 0:
		return fmt.Errorf("render: pages per tab must not be negative (got %d)", o.PagesPerTab)
	case strings.TrimSpace(o.Wait) != o.Wait:
		return fmt.Errorf("render: wait %q has spaces around it", o.Wait)
	}
	for _, k := range o.Block {
		if _, ok := blockTypes[k]; !ok {
			return fmt.Errorf("render: cannot block %q: want images, media or fonts", k)
		}
	}
	if o.URL != "" && !strings.HasPrefix(o.URL, "ws://") && !strings.HasPrefix(o.URL, "wss://") &&
		!strings.HasPrefix(o.URL, "http://") && !strings.HasPrefix(o.URL, "https://") {
		return fmt.Errorf("render: browser URL %q is not a ws:// DevTools endpoint", o.URL)
	}
	return nil
}

// Browser renders pages in one Chromium, at most Options.Tabs at once. It
// is safe for concurrent use. Close it to stop the browser.
type Browser struct {
	opts    Options
	blocked map[string]bool // resource types not fetched
	slots   chan struct{}   // a token per tab that may render
	idle    chan *tab       // tabs free for the next page
	cache   cache           // scripts and style sheets, for the next pages

	mu     sync.Mutex
	cur    *instance // the browser running, or nil
	closed bool
	starts int // browsers started, for tests and logs
}

// instance is one run of the browser: restarting makes another.
type instance struct {
	ctx    context.Context // the browser's chromedp context
	cancel func()          // stops it, and waits for its process to end
}

// dead reports whether the browser is gone (crashed, killed, closed).
func (in *instance) dead() bool { return in.ctx.Err() != nil }

// New checks opts and returns a Browser; the browser itself starts on the
// first Render. Without Options.URL, the executable must exist: New
// returns ErrNoBrowser, or an error naming the missing Exec, otherwise.
func New(opts Options) (*Browser, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.URL == "" {
		if opts.Exec == "" {
			p, err := Find()
			if err != nil {
				return nil, err
			}
			opts.Exec = p
		} else if p, err := exec.LookPath(opts.Exec); err != nil {
			return nil, fmt.Errorf("render: browser %q: %w", opts.Exec, err)
		} else {
			opts.Exec = p
		}
	}
	if opts.Tabs == 0 {
		opts.Tabs = 4
	}
	if opts.Wait == "" {
		opts.Wait = WaitIdle
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.PagesPerTab == 0 {
		opts.PagesPerTab = 50
	}
	if opts.Block == nil {
		opts.Block = DefaultBlock
	}
	b := &Browser{
		opts:    opts,
		blocked: make(map[string]bool),
		slots:   make(chan struct{}, opts.Tabs),
		idle:    make(chan *tab, opts.Tabs),
	}
	for _, k := range opts.Block {
		for _, t := range blockTypes[k] {
			b.blocked[t] = true
		}
	}
	return b, nil
}

// ErrClosed is returned by Render after Close.
var ErrClosed = errors.New("render: browser closed")

// retryError is a failure worth another attempt of the page: the browser
// or the tab failed, not the page's own content.
type retryError struct{ err error }

func (e *retryError) Error() string   { return "render: " + e.err.Error() }
func (e *retryError) Unwrap() error   { return e.err }
func (e *retryError) Temporary() bool { return true }

// instance returns the running browser, starting one if none runs (or
// the last one died).
func (b *Browser) instance() (*instance, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	if b.cur != nil && !b.cur.dead() {
		return b.cur, nil
	}
	if b.cur != nil {
		b.cur.cancel()
		if b.opts.Logf != nil {
			b.opts.Logf("render: the browser stopped; starting it again")
		}
	}
	in, err := b.start()
	if err != nil {
		b.cur = nil
		return nil, err
	}
	b.cur = in
	b.starts++
	return in, nil
}

// startTimeout bounds the start of the browser.
const startTimeout = 30 * time.Second

// start starts (or connects to) a browser.
func (b *Browser) start() (*instance, error) {
	var actx context.Context
	var acancel context.CancelFunc
	if b.opts.URL != "" {
		actx, acancel = remote.NewAllocator(context.Background(), b.opts.URL)
	} else {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(b.opts.Exec),
			chromedp.DisableGPU,
			// Every request is answered through the Fetch domain; one it
			// does not see goes to a proxy that is not there, never to
			// the network. <-loopback makes loopback no exception.
			chromedp.Flag("proxy-server", "http://127.0.0.1:9"),
			chromedp.Flag("proxy-bypass-list", "<-loopback>"),
			chromedp.Flag("mute-audio", true),
			// The back-forward cache would keep each tab's previous pages
			// alive, and a spare renderer process waits for a tab that
			// the pool does not open: memory a crawl never uses.
			chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,OptimizationHints,MediaRouter,DialMediaRouteProvider,BackForwardCache,SpareRendererForSitePerProcess"),
		)
		actx, acancel = chromedp.NewExecAllocator(context.Background(), opts...)
	}
	bctx, bcancel := chromedp.NewContext(actx)
	timer := time.AfterFunc(startTimeout, bcancel)
	err := chromedp.Do(bctx)
	if !timer.Stop() && err == nil {
		err = errors.New("start timed out")
	}
	if err == nil {
		err = b.setupBrowser(bctx)
	}
	if err != nil {
		bcancel()
		acancel()
		return nil, fmt.Errorf("render: start the browser: %w", err)
	}
	if c := chromedp.FromContext(bctx); c != nil && c.Browser != nil {
		// A browser that dies ends its context at once, so that the pages
		// it held fail now rather than at their timeout.
		lost := c.Browser.LostConnection
		go func() {
			select {
			case <-lost:
				bcancel()
			case <-bctx.Done():
			}
		}()
	}
	return &instance{ctx: bctx, cancel: func() {
		bcancel()
		acancel()
	}}, nil
}

// Starts returns how many times a browser was started (or connected to):
// 1 for a crawl whose browser never failed, 0 when none was needed.
func (b *Browser) Starts() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.starts
}

// Close stops the browser and waits for its processes to end. Render
// calls that follow fail with ErrClosed.
func (b *Browser) Close() error {
	b.mu.Lock()
	in := b.cur
	b.cur, b.closed = nil, true
	b.mu.Unlock()
	for {
		select {
		case t := <-b.idle:
			t.close()
			continue
		default:
		}
		break
	}
	if in != nil {
		in.cancel()
	}
	return nil
}

// Render renders req.Document in a tab: it waits (under ctx) for a free
// one, serves the document, answers the page's requests, waits as
// Options.Wait says within Options.Timeout, and returns the DOM.
func (b *Browser) Render(ctx context.Context, req *fetch.RenderRequest) (*fetch.Rendered, error) {
	if req == nil || req.Document == nil {
		return nil, errors.New("render: no document")
	}
	select {
	case b.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-b.slots }()
	t, err := b.tab()
	if err != nil {
		return nil, &retryError{err}
	}
	rd, err := t.render(ctx, req)
	switch {
	case err == nil:
		t.pages++
		if t.pages >= b.opts.PagesPerTab {
			t.close()
		} else {
			b.idle <- t // room is kept by slots
		}
		return rd, nil
	case ctx.Err() != nil:
		t.close()
		return nil, ctx.Err()
	default:
		// The tab failed (a crash, a hang past the timeout): it is not
		// used again, and a dead browser is restarted by the next tab().
		t.close()
		return nil, &retryError{err}
	}
}

// tab returns an idle tab of the running browser, or opens one.
func (b *Browser) tab() (*tab, error) {
	for {
		select {
		case t := <-b.idle:
			if t.in.dead() {
				t.close()
				continue
			}
			return t, nil
		default:
		}
		break
	}
	in, err := b.instance()
	if err != nil {
		return nil, err
	}
	t, err := b.openTab(in)
	if err != nil && !in.dead() {
		// A browser that cannot open a tab hangs: it is restarted.
		b.mu.Lock()
		if b.cur == in {
			in.cancel()
		}
		b.mu.Unlock()
	}
	return t, err
}
