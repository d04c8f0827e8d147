package redis

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/redis/redistest"
)

// TestReplay runs the lease and complete scripts twice with one token, as
// a retry after a lost reply does: the second run answers like the first
// and changes nothing.
func TestReplay(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	f, err := Open(ctx, srv.URL(0), "replay", Options{Options: frontier.Options{PerHostInFlight: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var reqs []frontier.Request
	for i := range 3 {
		reqs = append(reqs, frontier.Request{URL: fmt.Sprintf("http://r.test/%d", i)})
	}
	if _, err := f.Add(ctx, reqs); err != nil {
		t.Fatal(err)
	}

	lease := f.newArgs()
	lease.out = append(lease.out, 2, time.Hour.Microseconds(), f.id)
	first, err := f.run(ctx, f.s.lease, lease.out)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.run(ctx, f.s.lease, lease.out)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, again) {
		t.Errorf("replayed lease = %v; want the first reply %v", again, first)
	}
	if st, _ := f.Stats(ctx); st.Leased != 2 || st.Queued != 1 {
		t.Errorf("after a replayed lease: %+v; want 2 leased, 1 queued", st)
	}

	arr := first.([]any)
	comp := f.newArgs()
	comp.appendInt(2)
	for i := 2; i < len(arr); i += 2 {
		id, err := intAt(arr, i)
		if err != nil {
			t.Fatal(err)
		}
		comp.outcome(frontier.Outcome{Lease: frontier.Lease{ID: uint64(id)}}, time.Now(), 0, 0)
	}
	for run := range 2 {
		v, err := f.run(ctx, f.s.complete, comp.out)
		if err != nil {
			t.Fatal(err)
		}
		if expired, _ := v.([]any); len(expired) != 0 {
			t.Errorf("complete run %d reported expired leases %v", run, expired)
		}
	}
	if st, _ := f.Stats(ctx); st.Done != 2 || st.Leased != 0 {
		t.Errorf("after a replayed complete: %+v; want 2 done", st)
	}
}

func TestMemberCodec(t *testing.T) {
	for _, r := range []frontier.Request{
		{URL: "http://a.test/x?y=1|2", Depth: 3, Parent: "http://a.test/", Attempts: 2},
		{URL: "http://a.test/", Depth: -1},
		{URL: "http://a.test/a.png", Depth: 2, Parent: "http://a.test/", Kind: frontier.KindAsset},
		{URL: "http://a.test/sitemap.xml|x", Kind: frontier.KindSitemap, Attempts: 1},
		{URL: "http://a.test/", Kind: 255},
	} {
		got, err := decodeMember("SEQSEQ" + encodeRequest(r))
		if err != nil || got != r {
			t.Errorf("round trip of %+v = %+v, %v", r, got, err)
		}
	}
	// A page is encoded as layout 3 encoded every request, so a job of
	// layout 3 reads as it was.
	if got, want := encodeRequest(frontier.Request{URL: "http://a.test/", Depth: 1, Parent: "p", Attempts: 2}), "2|1|http://a.test/\x00p"; got != want {
		t.Errorf("encodeRequest(page) = %q; want the layout 3 encoding %q", got, want)
	}
	for _, bad := range []string{"short", "SEQSEQ1|2:|u\x00", "SEQSEQ1|2:0|u\x00", "SEQSEQ1|2:256|u\x00", "SEQSEQ1|2:x|u\x00", "SEQSEQ1|2|u"} {
		if r, err := decodeMember(bad); err == nil {
			t.Errorf("decodeMember(%q) = %+v; want an error", bad, r)
		}
	}
}
