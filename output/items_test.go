package output

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/parse"
)

func itemPage(items ...parse.Item) *crawler.Page { return &crawler.Page{Items: items} }

func TestCSVItems(t *testing.T) {
	var buf bytes.Buffer
	c, err := NewCSVItems(&buf, []string{"url", "rule", "name", "price", "tags", "variants"}, true)
	if err != nil {
		t.Fatal(err)
	}
	err = c.HandlePage(context.Background(), itemPage(
		parse.Item{URL: "https://a.test/1", Rule: "p", Fields: parse.Record{
			{Name: "name", Value: "Salt, \"fine\"\nground"},
			{Name: "price", Value: 1299.5},
			{Name: "tags", Value: []any{"a<b", 2.0}},
			{Name: "variants", Value: []parse.Record{{{Name: "size", Value: "S"}, {Name: "n", Value: nil}}}},
			{Name: "not_a_column", Value: "x"},
		}},
		parse.Item{URL: "https://a.test/2", Rule: "q", Fields: parse.Record{{Name: "price", Value: nil}}},
	))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"url", "rule", "name", "price", "tags", "variants"},
		{"https://a.test/1", "p", "Salt, \"fine\"\nground", "1299.5", `["a<b",2]`, `[{"size":"S","n":null}]`},
		{"https://a.test/2", "q", "", "", "", ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %q", rows)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d: %q, want %q", i, rows[i], want[i])
		}
	}
	if c.Items() != 2 {
		t.Errorf("Items() = %d", c.Items())
	}
}

// chunkWriter records the size of every Write.
type chunkWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	chunks []int
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.chunks = append(w.chunks, len(p))
	return w.buf.Write(p)
}

func TestItemWritersWriteWholeLines(t *testing.T) {
	long := strings.Repeat("x", 10_000)
	var jw, cw chunkWriter
	j := NewJSONItems(&jw)
	c, err := NewCSVItems(&cw, []string{"url", "rule", "v"}, false)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				p := itemPage(parse.Item{URL: "https://a.test/", Rule: "r", Fields: parse.Record{{Name: "v", Value: long[:1000*(g+i%3)]}}})
				if err := j.HandlePage(context.Background(), p); err != nil {
					t.Error(err)
				}
				if err := c.HandlePage(context.Background(), p); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := j.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	for name, w := range map[string]*chunkWriter{"json": &jw, "csv": &cw} {
		data, off := w.buf.Bytes(), 0
		for _, n := range w.chunks {
			off += n
			if data[off-1] != '\n' {
				t.Errorf("%s: a write ends inside a line", name)
			}
		}
		if got := bytes.Count(data, []byte("\n")); got != 400 {
			t.Errorf("%s: %d lines, want 400", name, got)
		}
	}
	if j.Items() != 400 || c.Items() != 400 {
		t.Errorf("counted %d json and %d csv items", j.Items(), c.Items())
	}
}

// TestItemWritersWriteThrough checks that with SetWriteThrough every row
// of a page reaches the writer before HandlePage returns, with no Flush,
// and that without it rows stay in the buffer.
func TestItemWritersWriteThrough(t *testing.T) {
	page := itemPage(
		parse.Item{URL: "https://a.test/1", Rule: "r", Fields: parse.Record{{Name: "v", Value: "one\ntwo"}}},
		parse.Item{URL: "https://a.test/2", Rule: "r", Fields: parse.Record{{Name: "v", Value: 2.0}}},
	)
	tests := []struct {
		name    string
		new     func(w *bytes.Buffer) throughWriter
		through bool
		want    string // what w holds after HandlePage
	}{
		{"csv", newCSV, true, "url,rule,v\nhttps://a.test/1,r,\"one\ntwo\"\nhttps://a.test/2,r,2\n"},
		{"csv buffered", newCSV, false, ""},
		{"json", newJSON, true, `{"url":"https://a.test/1","rule":"r","v":"one\ntwo"}` + "\n" + `{"url":"https://a.test/2","rule":"r","v":2}` + "\n"},
		{"json buffered", newJSON, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := tt.new(&buf)
			w.SetWriteThrough(tt.through)
			if err := w.HandlePage(context.Background(), page); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tt.want {
				t.Errorf("after HandlePage the writer holds %q, want %q", buf.String(), tt.want)
			}
		})
	}
}

// throughWriter is what JSONItems and CSVItems have in common.
type throughWriter interface {
	crawler.Handler
	SetWriteThrough(bool)
}

func newCSV(w *bytes.Buffer) throughWriter {
	c, err := NewCSVItems(w, []string{"url", "rule", "v"}, true)
	if err != nil {
		panic(err) // a bytes.Buffer does not fail
	}
	return c
}

func newJSON(w *bytes.Buffer) throughWriter {
	j := NewJSONItems(w)
	j.SetFlushEvery(time.Hour) // only write-through may flush
	return j
}
