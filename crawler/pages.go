package crawler

import (
	"context"
	"iter"
)

// Pages crawls from seeds as Run does and yields every recorded URL as a
// Page, in the order the workers finish them, on the caller's goroutine:
//
//	for page, err := range c.Pages(ctx, "https://example.com/") {
//		if err != nil {
//			return err // the crawl failed or ctx ended
//		}
//		use(page.Result, page.Items)
//	}
//
// There is no queue between the workers and the loop: a worker that has
// finished a URL waits until the loop takes its Page, so a slow consumer
// slows the crawl down instead of piling pages up, and at most Concurrency
// pages are held at once. The run renews the leases of the URLs its
// workers hold, whatever the frontier, so a page the loop is slow to
// accept, however slow, is neither handed out again nor yielded twice.
// Config.Handler, if set, sees each Page first, and is flushed when
// Pages returns.
//
// Breaking out of the loop stops the crawl: leasing stops, requests in
// flight are canceled at once (there is no grace period, as nobody would
// take their pages), the URLs not yet yielded go back to the frontier for
// a later run, and Pages returns only after every worker has. When ctx ends
// or the crawl fails, the last pair yielded carries the error (wrapping
// ctx.Err() when ctx ended). Like Run, Pages must not be used twice at
// once, nor together with Run.
func (c *Crawler) Pages(ctx context.Context, seeds ...string) iter.Seq2[*Page, error] {
	return func(yield func(*Page, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		pages := make(chan *Page)
		send := HandlerFunc(func(hctx context.Context, p *Page) error {
			if h := c.cfg.Handler; h != nil {
				if err := h.HandlePage(hctx, p); err != nil {
					return err
				}
			}
			select {
			case pages <- p:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		done := make(chan struct{})
		var runErr error
		go func() {
			defer close(done)
			_, runErr = c.run(ctx, send, 0, seeds)
		}()
		// Whatever ends the loop (a break, the end, a panic in the loop's
		// body), the run stops and its workers are waited for.
		defer func() {
			cancel()
			<-done
		}()
		for {
			select {
			case p := <-pages:
				if !yield(p, nil) {
					return
				}
			case <-done:
				// Every worker has returned: no Page is left in flight.
				if runErr != nil {
					yield(nil, runErr)
				}
				return
			}
		}
	}
}
