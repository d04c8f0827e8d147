package dbsink

import (
	"fmt"
	"slices"
	"time"

	"github.com/hivecrawl/crawl/crawler"
)

// itemRow is one row of <prefix>items.
type itemRow struct {
	url, rule   string
	idx         int
	page        int    // the index in its batch's pages of the page it came from
	data        []byte // the item's fields as one JSON object
	extractedAt time.Time
}

// linkRow is one row of <prefix>links.
type linkRow struct{ from, to string }

// bodyRow is one row of <prefix>bodies.
type bodyRow struct {
	url, contentType string
	size             int64 // before compression
	gz               []byte
}

// batch is the rows of one or more pages, committed together. done is
// closed once err is set: nil when the rows are committed.
type batch struct {
	pages  []crawler.Result
	items  []itemRow
	links  []linkRow
	bodies []bodyRow
	size   int64     // bytes of item data and bodies
	since  time.Time // when the first row was queued
	full   bool      // a HandlePage waits for the writer to take it
	// replaced lists, after dedupe, the item URLs whose items of
	// tables.rules the batch replaces: those of the pages fetched
	// without an error.
	replaced []string
	done     chan struct{}
	err      error
}

func newBatch() *batch { return &batch{done: make(chan struct{})} }

func (b *batch) rows() int { return len(b.pages) + len(b.items) + len(b.links) + len(b.bodies) }

// pageRows are one page's rows, before they join a batch. page is
// borrowed: add copies it.
type pageRows struct {
	page   *crawler.Result
	items  []itemRow
	links  []linkRow
	bodies []bodyRow
	size   int64 // bytes of item data and bodies
}

func (r *pageRows) rows() int { return 1 + len(r.items) + len(r.links) + len(r.bodies) }

func (b *batch) add(r *pageRows) {
	for i := range r.items {
		r.items[i].page = len(b.pages)
	}
	b.pages = append(b.pages, *r.page)
	b.items = append(b.items, r.items...)
	b.links = append(b.links, r.links...)
	b.bodies = append(b.bodies, r.bodies...)
	b.size += r.size
}

// recycle empties b's rows and returns a batch that reuses their memory:
// after a commit nothing reads them again.
func (b *batch) recycle() *batch {
	clear(b.pages[:cap(b.pages)])
	clear(b.items[:cap(b.items)])
	clear(b.links[:cap(b.links)])
	clear(b.bodies[:cap(b.bodies)])
	clear(b.replaced[:cap(b.replaced)])
	return &batch{pages: b.pages[:0], items: b.items[:0], links: b.links[:0], bodies: b.bodies[:0],
		replaced: b.replaced[:0]}
}

// dedupe keeps the last row of each key, in place: a statement that
// upserts a key twice is an error on PostgreSQL. A page fetched twice in
// the batch keeps the items of its last fetch without an error only. With
// replace, it lists b.replaced.
func (b *batch) dedupe(replace bool) {
	b.replaced = b.replaced[:0]
	if replace || (len(b.pages) > 1 && len(b.items) > 0) {
		last := make(map[string]int, len(b.pages)) // item URL: its last page fetched without an error
		for i := range b.pages {
			if b.pages[i].Error == "" {
				u := itemURL(&b.pages[i])
				if _, ok := last[u]; !ok && replace {
					b.replaced = append(b.replaced, u)
				}
				last[u] = i
			}
		}
		b.items = slices.DeleteFunc(b.items, func(r itemRow) bool {
			i, ok := last[r.url]
			return ok && i != r.page
		})
	}
	b.pages = lastOf(b.pages, func(r crawler.Result) string { return r.URL })
	b.items = lastOf(b.items, func(r itemRow) itemKey { return itemKey{r.url, r.rule, r.idx} })
	b.links = lastOf(b.links, func(r linkRow) linkRow { return r })
	b.bodies = lastOf(b.bodies, func(r bodyRow) string { return r.url })
}

// itemURL is the URL a page's items carry: where it was fetched from,
// after redirects.
func itemURL(r *crawler.Result) string {
	if r.FinalURL != "" {
		return r.FinalURL
	}
	return r.URL
}

type itemKey struct {
	url, rule string
	idx       int
}

// lastOf removes from rows each row whose key a later row has, keeping
// the order of the others. Without duplicates it allocates only a map.
func lastOf[R any, K comparable](rows []R, key func(R) K) []R {
	if len(rows) < 2 {
		return rows
	}
	last := make(map[K]int, len(rows))
	for i, r := range rows {
		last[key(r)] = i
	}
	if len(last) == len(rows) {
		return rows
	}
	out := rows[:0]
	for i, r := range rows {
		if last[key(r)] == i {
			out = append(out, r)
		}
	}
	return out
}

// rowsOf fills b with p's rows, copying what it keeps of p but the
// Result, which b borrows.
func (s *Sink) rowsOf(p *crawler.Page, b *pageRows) error {
	b.page = p.Result
	if len(p.Items) > 0 {
		now := time.Now().UTC()
		b.items = make([]itemRow, len(p.Items))
		var seen map[string]int // items so far per rule
		for i, it := range p.Items {
			data, err := it.Fields.MarshalJSON()
			if err != nil {
				return fmt.Errorf("dbsink: item of %s: %w", it.URL, err)
			}
			if seen == nil {
				seen = make(map[string]int, 2)
			}
			idx := seen[it.Rule]
			seen[it.Rule] = idx + 1
			b.items[i] = itemRow{url: it.URL, rule: it.Rule, idx: idx, data: data, extractedAt: now}
			b.size += int64(len(data))
		}
	}
	if s.opts.Links && p.Parsed != nil && len(p.Parsed.Links) > 0 {
		b.links = make([]linkRow, len(p.Parsed.Links))
		for i, to := range p.Parsed.Links {
			b.links[i] = linkRow{from: p.Result.URL, to: to}
		}
	}
	if s.opts.Bodies && p.Body != nil {
		gz, err := s.gzipBody(p.Body)
		if err != nil {
			return fmt.Errorf("dbsink: compress body of %s: %w", p.Result.URL, err)
		}
		b.bodies = []bodyRow{{url: p.Result.URL, contentType: p.Result.ContentType, size: int64(len(p.Body)), gz: gz}}
		b.size += int64(len(gz))
	}
	return nil
}
