package output

import (
	"context"
	"fmt"
	"os"
	"path"
	"sync/atomic"

	"github.com/hivecrawl/crawl/crawler"
)

// Screenshots writes the PNG screenshot of each rendered page
// (crawler.Page.Rendered.Screenshot, taken when the renderer is asked
// for screenshots) under a directory, at the page's --save path (see
// SavePath) with ".png" added: "DIR/host/app/item/1.png". Every file
// operation goes through an os.Root on the directory, so nothing is
// written outside it. It is safe for concurrent use.
type Screenshots struct {
	root  *os.Root
	files atomic.Int64
}

// NewScreenshots creates dir if needed and returns a Screenshots writing
// under it. Close releases the directory.
func NewScreenshots(dir string) (*Screenshots, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output: screenshots: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("output: screenshots: %w", err)
	}
	return &Screenshots{root: root}, nil
}

// HandlePage implements crawler.Handler: it writes the page's screenshot,
// if it has one.
func (s *Screenshots) HandlePage(_ context.Context, p *crawler.Page) error {
	if p.Rendered == nil || len(p.Rendered.Screenshot) == 0 || p.Result == nil {
		return nil
	}
	target := p.Result.FinalURL
	if target == "" {
		target = p.Result.URL
	}
	rel, err := SavePath(target)
	if err != nil {
		return fmt.Errorf("output: screenshots: %w", err)
	}
	rel += ".png"
	if err := s.root.MkdirAll(path.Dir(rel), 0o755); err != nil {
		return fmt.Errorf("output: screenshots: %w", err)
	}
	if err := s.root.WriteFile(rel, p.Rendered.Screenshot, 0o644); err != nil {
		return fmt.Errorf("output: screenshots: %w", err)
	}
	s.files.Add(1)
	return nil
}

// BorrowsPages implements crawler.Borrower: the file is written before
// HandlePage returns.
func (s *Screenshots) BorrowsPages() bool { return true }

// Files returns the number of screenshots written.
func (s *Screenshots) Files() int64 { return s.files.Load() }

// Close releases the directory.
func (s *Screenshots) Close() error { return s.root.Close() }
