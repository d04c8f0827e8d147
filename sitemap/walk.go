package sitemap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
)

// Getter fetches a URL: a GET following redirects, returning the final
// status and the body (which may be cut at the Getter's own cap). A
// response of any status is not an error. The crawler's fetcher implements
// it through package crawler.
type Getter interface {
	Get(ctx context.Context, rawURL string) (status int, body []byte, err error)
}

// ErrStatus is wrapped by the Error for a document that answered with a
// status other than 2xx.
var ErrStatus = errors.New("sitemap: status not 2xx")

// Error is a problem with one sitemap document. Walk yields it and goes on
// with the other documents.
type Error struct {
	// URL is the document's URL.
	URL string
	// Status is the HTTP status when one came, else 0.
	Status int
	// Err is the cause: ErrStatus, a limit (ErrTooLarge, ErrTooMany, or a
	// nesting or file count error), a parse error or the Getter's error.
	Err error
}

func (e *Error) Error() string {
	if e.Status != 0 && errors.Is(e.Err, ErrStatus) {
		return fmt.Sprintf("sitemap: %s: HTTP %d", e.URL, e.Status)
	}
	return fmt.Sprintf("sitemap: %s: %v", e.URL, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Read parses one sitemap document fetched from docURL, as Parse does,
// and resolves each entry's location against docURL: Entry.Loc is an
// absolute http(s) URL and Entry.Sitemap is docURL. Entries whose location
// is unparseable or not http(s) are skipped. The crawler reads each
// sitemap it fetches through the frontier with it; Walk does too.
func Read(docURL string, body []byte, lim Limits) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		base, err := url.Parse(docURL)
		if err != nil {
			yield(Entry{}, fmt.Errorf("sitemap: document url: %w", err))
			return
		}
		for e, err := range Parse(bytes.NewReader(body), lim) {
			if err != nil {
				yield(Entry{}, err)
				return
			}
			ref, err := url.Parse(e.Loc)
			if err != nil {
				continue
			}
			abs := base.ResolveReference(ref)
			if abs.Scheme != "http" && abs.Scheme != "https" || abs.Host == "" {
				continue
			}
			e.Loc, e.Sitemap = abs.String(), docURL
			if !yield(e, nil) {
				return
			}
		}
	}
}

// Walk fetches the sitemaps at starts with g, follows sitemap indexes
// breadth first, and yields the page URLs they list, each with the
// document it came from (Entry.Sitemap). Each document is fetched at most
// once per walk, one at a time; index entries are not yielded. Relative
// locations are resolved against their document's URL; those that are not
// http(s) are skipped.
//
// A document that cannot be fetched or parsed, answers with a status other
// than 2xx, or lies beyond Limits.MaxDepth or MaxFiles, is yielded as an
// *Error and the walk goes on. When ctx ends, Walk yields ctx.Err() and
// stops.
func Walk(ctx context.Context, g Getter, lim Limits, starts ...string) iter.Seq2[Entry, error] {
	lim = lim.withDefaults()
	return func(yield func(Entry, error) bool) {
		type doc struct {
			url   string
			depth int
		}
		seen := make(map[string]bool)
		var queue []doc
		for _, s := range starts {
			if !seen[s] {
				seen[s] = true
				queue = append(queue, doc{url: s})
			}
		}
		fetched := 0
		for len(queue) > 0 {
			d := queue[0]
			queue = queue[1:]
			if err := ctx.Err(); err != nil {
				yield(Entry{}, err)
				return
			}
			if fetched >= lim.MaxFiles {
				if !yield(Entry{}, &Error{URL: d.url, Err: fmt.Errorf("over %d sitemap files", lim.MaxFiles)}) {
					return
				}
				continue
			}
			fetched++
			if _, err := url.Parse(d.url); err != nil {
				if !yield(Entry{}, &Error{URL: d.url, Err: err}) {
					return
				}
				continue
			}
			status, body, err := g.Get(ctx, d.url)
			if err == nil && (status < 200 || status > 299) {
				err = ErrStatus
			}
			if err != nil {
				if ctx.Err() != nil {
					yield(Entry{}, ctx.Err())
					return
				}
				if !yield(Entry{}, &Error{URL: d.url, Status: status, Err: err}) {
					return
				}
				continue
			}
			for e, err := range Read(d.url, body, lim) {
				if err != nil {
					if !yield(Entry{}, &Error{URL: d.url, Status: status, Err: err}) {
						return
					}
					break
				}
				if !e.Index {
					if !yield(e, nil) {
						return
					}
					continue
				}
				if seen[e.Loc] {
					continue
				}
				seen[e.Loc] = true
				if d.depth+1 > lim.MaxDepth {
					if !yield(Entry{}, &Error{URL: e.Loc, Err: fmt.Errorf("sitemap indexes nested deeper than %d", lim.MaxDepth)}) {
						return
					}
					continue
				}
				queue = append(queue, doc{url: e.Loc, depth: d.depth + 1})
			}
		}
	}
}
