package metrics_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/metrics"
)

// TestClassesAreOneSet ties the failure classes together: the records'
// (fetch.Classes, with the crawler's names for its own), the retry causes
// and the metrics' label values are one closed set.
func TestClassesAreOneSet(t *testing.T) {
	all := fetch.Classes()
	if len(all) != len(uniq(all)) {
		t.Fatalf("fetch.Classes has duplicates: %q", all)
	}
	judged := []string{fetch.ClassHTTP4xx, fetch.ClassHTTP5xx, fetch.ClassParse} // classes of a response
	for _, c := range all {
		if got := slices.Contains(metrics.FailureClasses, c); got == slices.Contains(judged, c) {
			t.Errorf("class %q: in the failed-fetch labels = %v", c, got)
		}
	}
	for _, c := range metrics.FailureClasses {
		if !slices.Contains(all, c) {
			t.Errorf("failed-fetch label %q is not a failure class", c)
		}
	}
	for _, c := range metrics.RetryClasses {
		if !slices.Contains(all, c) && c != fetch.ClassHTTP429 {
			t.Errorf("retry label %q is not a failure class", c)
		}
	}
	for _, c := range fetch.RetryClasses() {
		if !slices.Contains(metrics.RetryClasses, c) {
			t.Errorf("retry cause %q has no label", c)
		}
	}
	for _, c := range []string{
		crawler.ClassRobots, crawler.ClassRobotsUnavailable, crawler.ClassOutOfScope,
		crawler.ClassHTTP4xx, crawler.ClassHTTP5xx, crawler.ClassParse,
	} {
		if !slices.Contains(all, c) {
			t.Errorf("the crawler's class %q is not in fetch.Classes", c)
		}
	}
	for _, c := range all {
		if fetch.Retryable(c) && !slices.Contains(fetch.RetryClasses(), c) {
			t.Errorf("retryable class %q is not a retry cause", c)
		}
	}
	if c := fetch.ClassOf(errors.New("something else")); !slices.Contains(all, c) {
		t.Errorf("ClassOf an unknown error = %q, not a failure class", c)
	}
}

func uniq(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
