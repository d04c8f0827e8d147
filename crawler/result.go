package crawler

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hivecrawl/crawl/fetch"
)

// Failure classes the crawler records besides the fetch's own. The set of
// every class a Result.Error or a metric label takes is closed, and kept in
// one place: package fetch (see fetch.Classes); these name its members the
// crawler reports.
const (
	// ClassRobots: robots.txt disallows the URL (or a redirect hop to it).
	ClassRobots = fetch.ClassRobots
	// ClassRobotsUnavailable: robots.txt answered 5xx or 429 for longer
	// than the retries allowed. A host that does not answer at all fails
	// its URLs with the fetch's class instead (dns, connect, tls, …).
	ClassRobotsUnavailable = fetch.ClassRobotsUnavailable
	// ClassOutOfScope: a redirect led out of the crawl's scope.
	ClassOutOfScope = fetch.ClassOutOfScope
	// ClassHTTP4xx: the server answered with a 4xx status.
	ClassHTTP4xx = fetch.ClassHTTP4xx
	// ClassHTTP5xx: the server answered with a 5xx status after all retries.
	ClassHTTP5xx = fetch.ClassHTTP5xx
	// ClassParse: the body could not be decoded or parsed.
	ClassParse = fetch.ClassParse
)

// Result is the record of one URL attempted: one JSON line of output.
type Result struct {
	URL string `json:"url"`
	// FinalURL is the URL of the last response, after the redirects
	// followed on the same host.
	FinalURL string `json:"final_url,omitempty"`
	// RedirectTo is the canonical target of a redirect to another host,
	// which is not followed in this fetch: the record carries the
	// redirect's 3xx Status, and the target is queued as a request of its
	// own (same Depth, Parent this URL) when a link to it would be.
	RedirectTo  string `json:"redirect,omitempty"`
	Status      int    `json:"status"`
	Depth       int    `json:"depth"`
	Parent      string `json:"parent,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Bytes       int64  `json:"bytes"`
	DurationMS  int64  `json:"duration_ms"`
	Title       string `json:"title,omitempty"`
	Links       int    `json:"links"`
	// LinksTruncated reports that the page had more links than the
	// Parser's cap (Config.MaxLinks): only the first ones were followed.
	LinksTruncated bool      `json:"links_truncated,omitempty"`
	Attempts       int       `json:"attempts"`
	FetchedAt      time.Time `json:"fetched_at"`
	// Error is a failure class from the closed set fetch.Classes
	// documents; empty on success.
	Error string `json:"error,omitempty"`
	// Detail explains Error in words; it is not stable.
	Detail string `json:"detail,omitempty"`
	// Asset reports a URL fetched as an embedded asset of its parent
	// (Config.Assets): not parsed, and counted in Summary.Assets.
	Asset bool `json:"asset,omitempty"`
	// Canonical is the canonical URL the page declares (a rel="canonical"
	// link or Link header), when it differs from URL.
	Canonical string `json:"canonical,omitempty"`
	// Rendered reports that a browser produced the DOM that was parsed
	// (Config.Render); RenderMS is how long rendering took.
	Rendered bool  `json:"rendered,omitempty"`
	RenderMS int64 `json:"render_ms,omitempty"`
	// Subrequests counts the requests the rendered page made, and
	// BlockedSubrequests those of them refused (robots.txt, a private
	// address, a blocked resource type) or failed.
	Subrequests        int `json:"subrequests,omitempty"`
	BlockedSubrequests int `json:"blocked,omitempty"`
	// XHR lists the URLs the rendered page's scripts fetched with fetch()
	// or XMLHttpRequest: data endpoints, not crawled.
	XHR []string `json:"xhr,omitempty"`
}

// Summary totals a crawl.
type Summary struct {
	// Done counts pages recorded without an error.
	Done int64
	// Failed counts pages recorded with an error (Result.Error), whatever
	// it is (an HTTP 404 as well as a timeout), except robots.txt's
	// refusals, counted in Blocked.
	Failed int64
	// FailedBy counts Failed by class (Result.Error); nil when none failed.
	FailedBy map[string]int64
	// Blocked counts pages robots.txt disallows (class ClassRobots).
	Blocked int64
	// Elapsed is the wall time of Run.
	Elapsed time.Duration

	// Assets counts asset URLs recorded (Config.Assets), whatever their
	// outcome; they are not in Done or Failed.
	Assets int64
	// SitemapURLs counts URLs from sitemaps added to the frontier
	// (Config.Sitemaps), after scope and de-duplication.
	SitemapURLs int64
}

// PagesPerSecond is the pages recorded (Done+Failed+Blocked) per second
// of Elapsed.
func (s Summary) PagesPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Done+s.Failed+s.Blocked) / s.Elapsed.Seconds()
}

// String gives the counts as the command line's summary prints them:
// "done 7, failed 3 (http_4xx 2, timeout 1), blocked by robots.txt 1", the
// classes by count then name, the last part only when some were blocked.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "done %d, failed %d", s.Done, s.Failed)
	if len(s.FailedBy) > 0 {
		classes := slices.Collect(maps.Keys(s.FailedBy))
		slices.SortFunc(classes, func(a, c string) int {
			return cmp.Or(cmp.Compare(s.FailedBy[c], s.FailedBy[a]), strings.Compare(a, c))
		})
		b.WriteString(" (")
		for i, c := range classes {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d", c, s.FailedBy[c])
		}
		b.WriteString(")")
	}
	if s.Blocked > 0 {
		fmt.Fprintf(&b, ", blocked by robots.txt %d", s.Blocked)
	}
	return b.String()
}
