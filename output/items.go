package output

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hivecrawl/crawl/crawler"
)

// JSONItems writes every item of every page as one JSON object per line:
// "url", "rule", then the rule's fields in order. Lines are whole (see
// JSONLines). It is safe for concurrent use.
type JSONItems struct {
	lines   *JSONLines
	through bool
	n       atomic.Int64
}

// NewJSONItems returns a JSONItems writing to w. The caller owns w and must
// call Flush before closing it.
func NewJSONItems(w io.Writer) *JSONItems {
	return &JSONItems{lines: NewJSONLines(w)}
}

// SetFlushEvery sets how long a written line may sit in the buffer before
// the next write flushes it (JSONLines.FlushEvery). Call it before
// the crawl starts.
func (j *JSONItems) SetFlushEvery(d time.Duration) { j.lines.FlushEvery = d }

// SetWriteThrough makes HandlePage hand every line of a page to the
// writer (flush the buffer) before it returns, so that a process killed
// once the page is handled loses none of its items; a resumable crawl
// needs this, as it commits the URL's completion after its handler. Off
// (the default), lines wait in a buffer for as long as SetFlushEvery
// allows. Call it before the crawl starts.
func (j *JSONItems) SetWriteThrough(on bool) { j.through = on }

// HandlePage implements crawler.Handler.
func (j *JSONItems) HandlePage(_ context.Context, p *crawler.Page) error {
	for _, it := range p.Items {
		if err := j.lines.writeValue(it); err != nil {
			return fmt.Errorf("output: items: %w", err)
		}
		j.n.Add(1)
	}
	if j.through && len(p.Items) > 0 {
		if err := j.lines.Flush(); err != nil {
			return fmt.Errorf("output: items: %w", err)
		}
	}
	return nil
}

// Items returns the number of items written.
func (j *JSONItems) Items() int64 { return j.n.Load() }

// Flush writes every buffered line.
func (j *JSONItems) Flush() error { return j.lines.Flush() }

// BorrowsPages implements crawler.Borrower: the items are written before
// HandlePage returns, and nothing of the Page is kept.
func (j *JSONItems) BorrowsPages() bool { return true }

// CSVItems writes every item as one CSV row (RFC 4180) under a fixed
// header: the columns given to NewCSVItems, such as
// parse.Extractor.Columns. A field the header lacks is left out; a column
// the item lacks is empty, as is a null value. Numbers are written in the
// shortest form that reads back exactly; lists and nested records are
// written as JSON in their cell. Rows are written whole: the buffer is
// flushed between rows, never inside one. It is safe for concurrent use.
type CSVItems struct {
	mu      sync.Mutex
	w       *bufio.Writer
	through bool
	row     bytes.Buffer
	enc     *csv.Writer
	columns []string
	index   map[string]int
	cells   []string
	n       int64
}

// NewCSVItems returns a CSVItems writing to w, and writes the header row
// unless header is false (appending to a file that has one). The caller
// owns w and must call Flush before closing it.
func NewCSVItems(w io.Writer, columns []string, header bool) (*CSVItems, error) {
	c := &CSVItems{
		w:       bufio.NewWriterSize(w, 64<<10),
		columns: append([]string(nil), columns...),
		index:   make(map[string]int, len(columns)),
		cells:   make([]string, len(columns)),
	}
	c.enc = csv.NewWriter(&c.row)
	for i, col := range columns {
		c.index[col] = i
	}
	if header {
		if err := c.writeRow(c.columns); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// SetWriteThrough makes HandlePage hand every row of a page to the writer
// (flush the buffer) before it returns, so that a process killed once the
// page is handled loses none of its rows; a resumable crawl needs this, as
// it commits the URL's completion after its handler. Off (the default),
// rows wait in a 64 KiB buffer until it fills or Flush is called. Call it
// before the crawl starts.
func (c *CSVItems) SetWriteThrough(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.through = on
}

// HandlePage implements crawler.Handler.
func (c *CSVItems) HandlePage(_ context.Context, p *crawler.Page) error {
	if len(p.Items) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, it := range p.Items {
		clear(c.cells)
		c.set("url", it.URL)
		c.set("rule", it.Rule)
		for _, f := range it.Fields {
			cell, err := cellOf(f.Value)
			if err != nil {
				return fmt.Errorf("output: csv: %s: field %s: %w", it.URL, f.Name, err)
			}
			c.set(f.Name, cell)
		}
		if err := c.writeRow(c.cells); err != nil {
			return err
		}
		c.n++
	}
	if c.through {
		if err := c.w.Flush(); err != nil {
			return fmt.Errorf("output: csv: %w", err)
		}
	}
	return nil
}

func (c *CSVItems) set(col, v string) {
	if i, ok := c.index[col]; ok {
		c.cells[i] = v
	}
}

// writeRow encodes one row in full, then hands it to the buffer, flushing
// the buffer first if the row would not fit: a row never straddles a
// flush.
func (c *CSVItems) writeRow(cells []string) error {
	c.row.Reset()
	if err := c.enc.Write(cells); err != nil {
		return fmt.Errorf("output: csv: %w", err)
	}
	c.enc.Flush()
	if err := c.enc.Error(); err != nil {
		return fmt.Errorf("output: csv: %w", err)
	}
	if c.w.Available() < c.row.Len() {
		if err := c.w.Flush(); err != nil {
			return fmt.Errorf("output: csv: %w", err)
		}
	}
	if _, err := c.w.Write(c.row.Bytes()); err != nil {
		return fmt.Errorf("output: csv: %w", err)
	}
	return nil
}

// Items returns the number of rows written, header excluded.
func (c *CSVItems) Items() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// Flush writes every buffered row.
// BorrowsPages implements crawler.Borrower: the rows are written before
// HandlePage returns, and nothing of the Page is kept.
func (c *CSVItems) BorrowsPages() bool { return true }

func (c *CSVItems) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("output: csv: %w", err)
	}
	return nil
}

// cellOf renders one value for a CSV cell.
func cellOf(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	default: // lists and nested records
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", err
		}
		return string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), nil
	}
}

// Interface guards.
var (
	_ crawler.Handler = (*JSONItems)(nil)
	_ crawler.Handler = (*CSVItems)(nil)
)
