package crawler_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
)

// TestSummaryCountsRecordsByError checks that the Summary counts what the
// records say (issue 12 §3.2): every record with an error is a failure,
// counted by class, 4xx and 5xx answers included; robots.txt's refusals are
// blocked, not done and not failed; only records without an error are done.
func TestSummaryCountsRecordsByError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			io.WriteString(w, "User-agent: *\nDisallow: /private\n")
		case "/":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<a href="/ok">ok</a> <a href="/gone">gone</a> <a href="/missing">missing</a>
				<a href="/broken">broken</a> <a href="/private">private</a>`)
		case "/ok":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<p>ok</p>")
		case "/broken":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	cfg := crawler.DefaultConfig()
	cfg.Rate, cfg.Retries = 0, 0
	c, err := crawler.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(context.Background(), srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Done != 2 || sum.Failed != 3 || sum.Blocked != 1 {
		t.Errorf("summary done %d, failed %d, blocked %d; want 2, 3, 1", sum.Done, sum.Failed, sum.Blocked)
	}
	if got := sum.FailedBy[fetch.ClassHTTP4xx]; got != 2 {
		t.Errorf("FailedBy[http_4xx] = %d, want 2 (%v)", got, sum.FailedBy)
	}
	if got := sum.FailedBy[fetch.ClassHTTP5xx]; got != 1 {
		t.Errorf("FailedBy[http_5xx] = %d, want 1 (%v)", got, sum.FailedBy)
	}
	if p := c.Progress(); p.Done != sum.Done || p.Failed != sum.Failed || p.Blocked != sum.Blocked {
		t.Errorf("Progress %+v disagrees with the summary %+v", p, sum)
	}
	// The frontier's counters (what crawl status shows) agree: a record
	// with an error is a failure there too.
	st, err := c.FrontierStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Done != sum.Done+sum.Blocked || st.Failed != sum.Failed {
		t.Errorf("frontier done %d, failed %d; want %d, %d", st.Done, st.Failed, sum.Done+sum.Blocked, sum.Failed)
	}
	const want = "done 2, failed 3 (http_4xx 2, http_5xx 1), blocked by robots.txt 1"
	if got := sum.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestSummaryString checks the summary's wording, classes by count then
// name, for the cases the command line prints.
func TestSummaryString(t *testing.T) {
	tests := []struct {
		sum  crawler.Summary
		want string
	}{
		{crawler.Summary{}, "done 0, failed 0"},
		{crawler.Summary{Done: 7}, "done 7, failed 0"},
		{crawler.Summary{Done: 1, Failed: 3, FailedBy: map[string]int64{"timeout": 1, "http_4xx": 1, "connect": 1}},
			"done 1, failed 3 (connect 1, http_4xx 1, timeout 1)"},
		{crawler.Summary{Failed: 3, FailedBy: map[string]int64{"timeout": 1, "http_4xx": 2}, Blocked: 4},
			"done 0, failed 3 (http_4xx 2, timeout 1), blocked by robots.txt 4"},
	}
	for _, tt := range tests {
		if got := tt.sum.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}
