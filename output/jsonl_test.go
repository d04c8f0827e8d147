package output_test

import (
	"bytes"
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
