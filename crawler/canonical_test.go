package crawler_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/testsite"
)

// TestHostileCanonicalVariants crawls a page linking to six variants of
// one page, each declaring the same canonical URL: the first variant to
// answer teaches the crawl that sort and sessid do not matter on that
// path, so the variants still queued are not fetched, the canonical URL is
// marked seen, and a variant of another item is fetched without them.
func TestHostileCanonicalVariants(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	res := crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/canonical/variants")

	byItem := map[string][]string{} // id → queries requested
	for _, r := range h.RequestsFor(onMain, "/canonical/item") {
		id := ""
		for p := range strings.SplitSeq(r.RawQuery, "&") {
			if v, ok := strings.CutPrefix(p, "id="); ok {
				id = v
			}
		}
		byItem[id] = append(byItem[id], r.RawQuery)
	}
	// PerHost 2: at most the two variants leased before the first answer.
	if n := len(byItem["7"]); n == 0 || n > 2 {
		t.Errorf("item 7 fetched %d times (%q), want 1 or 2", n, byItem["7"])
	}
	for _, q := range byItem["7"] {
		if q == "id=7" {
			t.Errorf("the canonical URL itself was fetched (%q): it should be marked seen", byItem["7"])
		}
	}
	if len(byItem["8"]) != 1 {
		t.Errorf("item 8 fetched %d times (%q), want once", len(byItem["8"]), byItem["8"])
	}
	canonical := u.Main + "/canonical/item?id=7"
	for url, r := range res.recs {
		if strings.Contains(url, "/canonical/item?") && strings.Contains(url, "id=7") && r.Canonical != canonical {
			t.Errorf("%s: canonical %q, want %q", url, r.Canonical, canonical)
		}
	}
	// Fetched variants are recorded; the others were dropped unrecorded.
	if n := len(res.recs) - 1 - len(byItem["8"]); n != len(byItem["7"]) {
		t.Errorf("%d item records besides item 8, want one per fetch (%d)", n, len(byItem["7"]))
	}
}

// TestHostileQueryOrder crawls links to one URL with its parameters in
// three orders, and to two URLs that differ only in the order of a
// repeated name: one fetch for each equivalence class.
func TestHostileQueryOrder(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/canonical/order")
	want := map[string]string{
		"/canonical/sorted/1": "a=1&b=2&c=3",
		"/canonical/sorted/2": "a=1&a=2",
		"/canonical/sorted/3": "a=2&a=1",
	}
	for path, query := range want {
		reqs := h.RequestsFor(onMain, path)
		if len(reqs) != 1 || reqs[0].RawQuery != query {
			var got []string
			for _, r := range reqs {
				got = append(got, r.RawQuery)
			}
			t.Errorf("%s requested with %q, want once with %q", path, got, query)
		}
	}

	// --keep-query-order: one fetch per spelling.
	h, u = startHostile(t, testsite.HostileOptions{})
	cfg := hostileConfig()
	cfg.Normalizer.KeepQueryOrder = true
	crawlHostile(t, h, cfg, 10*time.Second, u.Main+"/canonical/order")
	wantCount(t, h, onMain, "/canonical/sorted/1", 3)
}

// TestHostileCanonicalHeader checks the Link: rel="canonical" header: the
// record carries it, and its target, marked seen, is not fetched when a
// later page links to it. A Link header and a <link> that disagree are
// both ignored.
func TestHostileCanonicalHeader(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	res := crawlHostile(t, h, hostileConfig(), 10*time.Second, u.Main+"/canonical/header", u.Main+"/canonical/conflict")
	if r := res.rec(t, u.Main+"/canonical/header"); r.Canonical != u.Main+"/canonical/header-target" {
		t.Errorf("canonical %q, want the Link header's", r.Canonical)
	}
	wantCount(t, h, onMain, "/canonical/after", 1)
	wantCount(t, h, onMain, "/canonical/header-target", 0)
	if r := res.rec(t, u.Main+"/canonical/conflict"); r.Canonical != "" {
		t.Errorf("conflicting declarations: canonical %q, want none", r.Canonical)
	}
	if strings.Contains(string(res.raw), `"canonical":""`) {
		t.Error(`records carry an empty "canonical"`)
	}
}

// TestHostileRedirectExcludedOnceCanonical follows a redirect to
// "/t/%65xcluded?utm_source=mail#top", which --exclude '/t/excluded$'
// matches only in canonical form ("/t/excluded"): the hop is checked on
// the same string a link to it would be.
func TestHostileRedirectExcludedOnceCanonical(t *testing.T) {
	h, u := startHostile(t, testsite.HostileOptions{})
	cfg := hostileConfig()
	cfg.Exclude = []*regexp.Regexp{regexp.MustCompile(`/t/excluded$`)}
	res := crawlHostile(t, h, cfg, 10*time.Second, u.Main+"/redirect/tracked")
	wantRecord(t, res.rec(t, u.Main+"/redirect/tracked"), crawler.ClassOutOfScope, 0, 1)
	wantCount(t, h, onMain, "/t/excluded", 0)
}
