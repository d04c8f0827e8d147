package dbsink

import "github.com/hivecrawl/crawl/crawler"

// WriteBatch commits pages' rows as one batch, the way the writer does
// (deduplicated, retried while the database is unavailable): a seam for
// tests that need rows of several pages in the same batch.
func (s *Sink) WriteBatch(pages ...*crawler.Page) error {
	b := newBatch()
	for _, p := range pages {
		var rows pageRows
		if err := s.rowsOf(p, &rows); err != nil {
			return err
		}
		b.add(&rows)
	}
	return s.commit(b)
}

// Commits returns the number of batches the writer committed.
func (s *Sink) Commits() int64 { return s.commits.Load() }
