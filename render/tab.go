package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdpfetch "github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/hivecrawl/crawl/fetch"
)

// pageScript runs before any script of each page: pop-ups open nothing,
// and window.__crawlQuiet keeps the page-clock time of the last change to
// the DOM, for WaitIdle.
const pageScript = `window.open = function () { return null; };
(function () {
  var mark = function () { window.__crawlQuiet = performance.now(); };
  mark();
  new MutationObserver(mark).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
})();`

// quietScript is how long ago, in the page's clock, the DOM last changed.
const quietScript = `performance.now() - (window.__crawlQuiet || 0)`

// tab is one browser tab, used by one Render at a time.
type tab struct {
	b      *Browser
	in     *instance
	ctx    context.Context // the tab's chromedp context
	cancel func()
	frame  cdp.FrameID // the main frame: the target's id
	pages  int
}

// setupBrowser applies what holds for the whole browser.
func (b *Browser) setupBrowser(ctx context.Context) error {
	_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorDeny,
	})
	return err
}

// openTabTimeout bounds opening and setting up a tab.
const openTabTimeout = 15 * time.Second

// openTab opens a tab in the browser in and sets up its interception.
func (b *Browser) openTab(in *instance) (*tab, error) {
	ctx, cancel := chromedp.NewContext(in.ctx)
	t := &tab{b: b, in: in, ctx: ctx, cancel: cancel}
	// The tab lives as long as ctx: the first Do binds it to it, so the
	// time limit is a timer, not a deadline on ctx.
	timer := time.AfterFunc(openTabTimeout, cancel)
	defer timer.Stop()
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		t.frame = cdp.FrameID(tg.TargetID)
		if _, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: pageScript}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, tg, network.SetBypassServiceWorker, network.SetBypassServiceWorkerParams{Bypass: true}); err != nil {
			return err
		}
		if b.opts.UserAgent != "" {
			if _, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: b.opts.UserAgent}); err != nil {
				return err
			}
		}
		_, err := cdp.Call(ctx, tg, cdpfetch.Enable, cdpfetch.EnableParams{
			Patterns: []*cdpfetch.RequestPattern{{URLPattern: "*"}},
		})
		return err
	}))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("open a tab: %w", err)
	}
	return t, nil
}

// close closes the tab.
func (t *tab) close() { t.cancel() }

// pageRun is the state of one page being rendered.
type pageRun struct {
	t   *tab
	req *fetch.RenderRequest

	mu        sync.Mutex
	subs      []fetch.Subrequest
	inFlight  int
	lastQuiet time.Time // when inFlight last fell to zero
	docServed bool
	navTo     string        // a navigation the page started
	changed   chan struct{} // closed and replaced on every change above
	work      sync.WaitGroup
}

// note runs f under the lock and wakes the waiters.
func (p *pageRun) note(f func()) {
	p.mu.Lock()
	f()
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// render renders req in the tab.
func (t *tab) render(ctx context.Context, req *fetch.RenderRequest) (*fetch.Rendered, error) {
	start := time.Now()
	opts := t.b.opts
	// The page's time runs on the tab's context, cut by ctx or the timeout.
	pctx, cancel := context.WithTimeout(t.ctx, opts.Timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	// The wait ends a little before the page's time, so that what the
	// page shows then can still be read.
	waitCtx, cancelWait := context.WithTimeout(pctx, opts.Timeout-min(opts.Timeout/5, 2*time.Second))
	defer cancelWait()

	p := &pageRun{t: t, req: req, changed: make(chan struct{}), lastQuiet: time.Now()}
	paused := chromedp.Events(pctx, cdpfetch.RequestPaused)
	loads := chromedp.Events(pctx, page.LoadEventFired)
	dialogs := chromedp.Events(pctx, page.JavascriptDialogOpening)
	var loops sync.WaitGroup
	loops.Go(func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			p.note(func() { p.inFlight++ })
			p.work.Go(func() { p.answer(pctx, ev) })
		}
	})
	loops.Go(func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(pctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	})
	defer func() {
		cancel()
		loops.Wait()
		p.work.Wait()
	}()

	target := req.Document.FinalURL
	if target == "" {
		target = req.Document.URL
	}
	nav, err := chromedp.Call(pctx, page.Navigate, page.NavigateParams{URL: target})
	if err != nil {
		return nil, fmt.Errorf("navigate: %w", err)
	}
	if nav.ErrorText != "" {
		return nil, fmt.Errorf("navigate: %s", nav.ErrorText)
	}
	loaded := false
	for _, err := range loads {
		loaded = err == nil
		break
	}
	_ = loaded // a page that never loads is read as it stands
	if waitCtx.Err() == nil {
		p.wait(waitCtx)
	}
	if t.in.dead() {
		return nil, errors.New("the browser stopped")
	}

	p.mu.Lock()
	navTo := p.navTo
	p.mu.Unlock()
	rd := &fetch.Rendered{NavigatedTo: navTo}
	if navTo == "" {
		doc, err := chromedp.Run(pctx, chromedp.Evaluate[[]string](domScript))
		if err != nil {
			return nil, fmt.Errorf("read the DOM: %w", err)
		}
		if len(doc) != 2 {
			return nil, errors.New("read the DOM: unexpected answer")
		}
		rd.FinalURL, rd.Body = doc[0], []byte(doc[1])
		if opts.Screenshots {
			shot, err := chromedp.Call(pctx, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatPng})
			if err != nil {
				return nil, fmt.Errorf("screenshot: %w", err)
			}
			rd.Screenshot = shot.Data
		}
	}
	// Requests still paused are dropped with the page: stop answering
	// before the list is read.
	cancel()
	loops.Wait()
	p.work.Wait()
	p.mu.Lock()
	rd.Subrequests = p.subs
	p.mu.Unlock()
	rd.Duration = time.Since(start)
	return rd, nil
}

// domScript returns the page's URL and its DOM serialized, doctype
// included.
const domScript = `(() => {
	const dt = document.doctype;
	const head = dt ? "<!DOCTYPE " + dt.name + (dt.publicId ? ' PUBLIC "' + dt.publicId + '"' : "") + (dt.systemId ? ' "' + dt.systemId + '"' : "") + ">\n" : "";
	return [location.href, head + document.documentElement.outerHTML];
})()`

// wait waits as Options.Wait says, or until ctx ends.
func (p *pageRun) wait(ctx context.Context) {
	switch p.t.b.opts.Wait {
	case WaitLoad:
		return
	case WaitIdle:
		for {
			p.mu.Lock()
			busy, navTo, quietFor := p.inFlight > 0, p.navTo, time.Since(p.lastQuiet)
			changed := p.changed
			p.mu.Unlock()
			if navTo != "" {
				return
			}
			var timer <-chan time.Time
			if !busy {
				if quietFor >= IdleTime {
					// The network is quiet; the DOM must be too, in the
					// page's own clock: a script that renders what a
					// request brought, then adds to it on a timer, runs
					// late on a busy machine.
					ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](quietScript))
					if err != nil || ms >= float64(IdleTime.Milliseconds()) {
						return
					}
					quietFor = time.Duration(ms * float64(time.Millisecond))
				}
				tm := time.NewTimer(IdleTime - quietFor)
				defer tm.Stop()
				timer = tm.C
			}
			select {
			case <-ctx.Done():
				return
			case <-changed:
			case <-timer:
			}
		}
	default:
		sel := p.t.b.opts.Wait
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			found, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf("!!document.querySelector(%q)", sel)))
			if err == nil && found {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}
}

// answer answers one paused request: the document from the crawl's
// response, a blocked or refused one with an error, the others with the
// crawl's own fetch of them.
func (p *pageRun) answer(ctx context.Context, ev cdpfetch.EventRequestPaused) {
	defer p.note(func() {
		p.inFlight--
		if p.inFlight == 0 {
			p.lastQuiet = time.Now()
		}
	})
	r := ev.Request
	sub := fetch.Subrequest{URL: redact(r.URL), Method: r.Method, Type: string(ev.ResourceType)}
	fail := func(result string, reason network.ErrorReason) {
		sub.Result = result
		p.add(sub)
		_, _ = chromedp.Call(ctx, cdpfetch.FailRequest, cdpfetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: reason})
	}
	if ev.ResourceType == network.ResourceTypeDocument && ev.FrameID == p.t.frame {
		p.mu.Lock()
		first := !p.docServed
		p.docServed = true
		p.mu.Unlock()
		if first {
			doc := p.req.Document
			_, _ = chromedp.Call(ctx, cdpfetch.FulfillRequest, cdpfetch.FulfillRequestParams{
				RequestID: ev.RequestID, ResponseCode: int64(doc.Status),
				ResponseHeaders: headerEntries(doc.Header), Body: nonNil(doc.Body),
			})
			return
		}
		// The page navigates away by itself: not followed, reported.
		p.note(func() {
			if p.navTo == "" {
				p.navTo = r.URL
			}
		})
		_, _ = chromedp.Call(ctx, cdpfetch.FailRequest, cdpfetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonAborted})
		return
	}
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		// data:, blob: and the like reach no network.
		_, _ = chromedp.Call(ctx, cdpfetch.ContinueRequest, cdpfetch.ContinueRequestParams{RequestID: ev.RequestID})
		return
	}
	if ev.ResourceType == network.ResourceTypeOther && u.Path == "/favicon.ico" {
		// The favicon headless Chromium asks for on every page is the
		// browser's, not the page's, and a request a host need not pay
		// for: refused, not listed.
		_, _ = chromedp.Call(ctx, cdpfetch.FailRequest, cdpfetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
		return
	}
	if p.t.b.blocked[string(ev.ResourceType)] {
		fail(fetch.SubBlockedType, network.ErrorReasonBlockedByClient)
		return
	}
	if p.req.Check != nil {
		if err := p.req.Check(ctx, u); err != nil {
			if fetch.ClassOf(err) == fetch.ClassDenied {
				fail(fetch.SubBlockedPrivate, network.ErrorReasonBlockedByClient)
			} else {
				fail(fetch.SubBlockedRobots, network.ErrorReasonBlockedByClient)
			}
			return
		}
	}
	if p.req.Subfetch == nil {
		fail(fetch.SubBlockedType, network.ErrorReasonBlockedByClient)
		return
	}
	keep := cacheable(string(ev.ResourceType), r.Method)
	if keep {
		if c, ok := p.t.b.cache.get(r.URL); ok {
			// Served from the crawl's cache: no request, no bytes.
			sub.Result, sub.Status = fetch.SubAllowed, http.StatusOK
			p.add(sub)
			_, _ = chromedp.Call(ctx, cdpfetch.FulfillRequest, cdpfetch.FulfillRequestParams{
				RequestID: ev.RequestID, ResponseCode: http.StatusOK,
				ResponseHeaders: headerEntries(c.header), Body: nonNil(c.body),
			})
			return
		}
	}
	var body []byte
	for _, e := range r.PostDataEntries {
		body = append(body, e.Bytes...)
	}
	hreq, err := http.NewRequestWithContext(ctx, r.Method, r.URL, bytes.NewReader(body))
	if err != nil {
		fail(fetch.SubFailed, network.ErrorReasonFailed)
		return
	}
	for k, v := range r.Headers {
		if s, ok := v.(string); ok {
			hreq.Header.Set(k, s)
		}
	}
	resp, err := p.req.Subfetch(ctx, hreq)
	if resp == nil {
		if fetch.ClassOf(err) == fetch.ClassDenied {
			fail(fetch.SubBlockedPrivate, network.ErrorReasonBlockedByClient)
		} else {
			fail(fetch.SubFailed, network.ErrorReasonFailed)
		}
		return
	}
	sub.Result, sub.Status, sub.Bytes = fetch.SubAllowed, resp.Status, resp.Bytes
	if err != nil {
		sub.Result = fetch.SubFailed // cut at the body cap: given as it is
	} else if keep {
		p.t.b.cache.put(r.URL, resp.Status, resp.Header, resp.Body)
	}
	p.add(sub)
	_, _ = chromedp.Call(ctx, cdpfetch.FulfillRequest, cdpfetch.FulfillRequestParams{
		RequestID: ev.RequestID, ResponseCode: int64(resp.Status),
		ResponseHeaders: headerEntries(resp.Header), Body: nonNil(resp.Body),
	})
}

// add records a subrequest.
func (p *pageRun) add(s fetch.Subrequest) {
	p.mu.Lock()
	p.subs = append(p.subs, s)
	p.mu.Unlock()
}

// headerEntries turns a response header into the Fetch domain's form,
// without the headers that describe the body as it was on the wire (it is
// given decompressed and whole) and without Content-Disposition, so that
// no response starts a download.
func headerEntries(h http.Header) []*cdpfetch.HeaderEntry {
	out := make([]*cdpfetch.HeaderEntry, 0, len(h))
	for k, vv := range h {
		switch k {
		case "Content-Encoding", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive":
			continue
		case "Content-Disposition":
			continue // an attachment would be a download, not a page
		}
		for _, v := range vv {
			out = append(out, &cdpfetch.HeaderEntry{Name: k, Value: v})
		}
	}
	return out
}

// nonNil returns b, or an empty slice for nil: an absent body means "the
// original one" to the Fetch domain.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// redact drops the user info of a URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
