package output_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/output"
)

func TestJSONLinesFlushEvery(t *testing.T) {
	tests := []struct {
		name    string
		every   time.Duration
		through bool // each line reaches the writer before Write returns
	}{
		{"write-through", -1, true},
		{"buffered", time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			s := output.NewJSONLines(&out)
			s.FlushEvery = tt.every
			for i := 1; i <= 3; i++ {
				if err := s.HandlePage(t.Context(), &crawler.Page{Result: &crawler.Result{URL: "http://a.test/", Status: 200}}); err != nil {
					t.Fatal(err)
				}
				want := 0
				if tt.through {
					want = i
				}
				if got := strings.Count(out.String(), "\n"); got != want {
					t.Fatalf("after %d writes the writer holds %d lines; want %d", i, got, want)
				}
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(out.String(), "\n"); got != 3 {
				t.Errorf("after Flush the writer holds %d lines; want 3", got)
			}
		})
	}
}

// TestWritersBorrowPages checks that a chain of the writers that keep
// nothing of a Page lets the crawler recycle its pages, and that one
// Handler that may keep them is enough to stop it.
func TestWritersBorrowPages(t *testing.T) {
	keeps := crawler.HandlerFunc(func(context.Context, *crawler.Page) error { return nil })
	items := output.NewJSONItems(io.Discard)
	tests := []struct {
		name string
		h    crawler.Handler
		want bool
	}{
		{"records", output.NewJSONLines(io.Discard), true},
		{"records and items", crawler.Handlers(items, output.NewJSONLines(io.Discard)), true},
		{"and a handler of the caller's", crawler.Handlers(items, keeps), false},
	}
	for _, tt := range tests {
		b, ok := tt.h.(crawler.Borrower)
		if got := ok && b.BorrowsPages(); got != tt.want {
			t.Errorf("%s: borrows pages = %v, want %v", tt.name, got, tt.want)
		}
	}
}
