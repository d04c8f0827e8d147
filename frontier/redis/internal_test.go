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

// TestUnlease checks what a Lease call cut off by its context leaves: the
// leases of a call that ran go back where they were, and a call that had
// not run yet never runs.
func TestUnlease(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	f, err := Open(ctx, srv.URL(0), "unlease", Options{Options: frontier.Options{PerHostInFlight: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var reqs []frontier.Request
	for i := range 3 {
		reqs = append(reqs, frontier.Request{URL: fmt.Sprintf("http://u.test/%d", i)})
	}
	if _, err := f.Add(ctx, reqs); err != nil {
		t.Fatal(err)
	}
	stats := func(when string, want frontier.Stats) {
		t.Helper()
		if st, err := f.Stats(ctx); err != nil || st != want {
			t.Errorf("%s: Stats = %+v, %v; want %+v", when, st, err, want)
		}
	}

	// The call ran, its reply was lost.
	ran := f.newArgs()
	ran.out = append(ran.out, 2, time.Hour.Microseconds(), f.id)
	if _, err := f.run(ctx, f.s.lease, ran.out); err != nil {
		t.Fatal(err)
	}
	stats("after the lease", frontier.Stats{Queued: 1, Leased: 2, Hosts: 1, Seen: 3})
	f.unlease(ctx, ran.out[:3])
	stats("after the unlease", frontier.Stats{Queued: 3, Hosts: 1, Seen: 3})
	// In place: the order is as before.
	ls, err := f.Lease(ctx, 3)
	if err != nil || len(ls) != 3 {
		t.Fatalf("Lease = %v, %v; want 3 leases", ls, err)
	}
	for i, l := range ls {
		if l.Request.URL != reqs[i].URL {
			t.Errorf("lease %d is %s; want %s (handed back in place)", i, l.Request.URL, reqs[i].URL)
		}
	}
	var outs []frontier.Outcome
	for _, l := range ls[1:] {
		outs = append(outs, frontier.Outcome{Lease: l, Status: frontier.Release})
	}
	if err := f.Complete(ctx, outs); err != nil {
		t.Fatal(err)
	}

	// The call has not run: once unleased, it never does.
	late := f.newArgs()
	late.out = append(late.out, 2, time.Hour.Microseconds(), f.id)
	f.unlease(ctx, late.out[:3])
	v, err := f.run(ctx, f.s.lease, late.out)
	if err != nil {
		t.Fatal(err)
	}
	if arr, _ := v.([]any); len(arr) > 2 {
		t.Errorf("a Lease call run after its unlease leased %v; want nothing", arr[2:])
	}
	stats("after the late call", frontier.Stats{Queued: 2, Leased: 1, Hosts: 1, Seen: 3})
}
