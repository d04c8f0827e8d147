package disk

import (
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/hivecrawl/crawl/frontier"
)

// TestRequestEncoding round-trips every kind, and reads a record written
// before kinds existed as a page.
func TestRequestEncoding(t *testing.T) {
	tests := []frontier.Request{
		{URL: "http://a.test/"},
		{URL: "http://a.test/x", Depth: 3, Parent: "http://a.test/", Attempts: 2},
		{URL: "http://a.test/i.png", Depth: 1, Kind: frontier.KindAsset},
		{URL: "http://a.test/sitemap.xml", Kind: frontier.KindSitemap},
		{URL: "http://a.test/neg", Depth: -1},
		{URL: "http://a.test/neg", Depth: -5, Kind: frontier.KindAsset},
		{URL: "http://a.test/k", Kind: 200},
	}
	for _, r := range tests {
		got, err := decodeRequest(appendRequest(nil, r))
		if err != nil || got != r {
			t.Errorf("decodeRequest(appendRequest(%+v)) = %+v, %v", r, got, err)
		}
	}
	// The encoding of format version 1 as it was written: depth, attempts,
	// parent with its length, URL.
	var old []byte
	old = binary.AppendVarint(old, 4)
	old = binary.AppendVarint(old, 1)
	old = binary.AppendUvarint(old, uint64(len("http://p.test/")))
	old = append(old, "http://p.test/http://p.test/a"...)
	want := frontier.Request{URL: "http://p.test/a", Depth: 4, Attempts: 1, Parent: "http://p.test/"}
	if got, err := decodeRequest(old); err != nil || got != want {
		t.Errorf("decodeRequest(old record) = %+v, %v; want %+v", got, err, want)
	}
	if _, err := decodeRequest([]byte{kindMarker}); err == nil {
		t.Errorf("decodeRequest(marker alone) = nil error; want errCorrupt")
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add(appendRequest(nil, frontier.Request{URL: "http://a.test/", Kind: frontier.KindAsset, Depth: 2}))
	f.Add(appendRequest(nil, frontier.Request{URL: "http://a.test/", Parent: "http://b.test/"}))
	f.Add([]byte{kindMarker})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRequest(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to a record that decodes the same.
		if again, err := decodeRequest(appendRequest(nil, r)); err != nil || again != r {
			t.Fatalf("round trip of %+v = %+v, %v", r, again, err)
		}
	})
}

// TestKindSurvivesRestart checks that a request's kind is stored with it,
// queued and leased, across a restart.
func TestKindSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	opts := Options{Options: frontier.Options{PerHostInFlight: -1}}
	d := openTest(t, dir, opts)
	reqs := []frontier.Request{
		{URL: "http://a.test/", Kind: frontier.KindPage},
		{URL: "http://a.test/i.png", Kind: frontier.KindAsset},
		{URL: "http://a.test/sitemap.xml", Kind: frontier.KindSitemap},
	}
	if _, err := d.Add(ctx, reqs); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Lease(ctx, 1); err != nil { // one leased at the restart
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = openTest(t, dir, opts)
	defer d.Close()
	ls, err := d.Lease(ctx, 10)
	if err != nil || len(ls) != len(reqs) {
		t.Fatalf("Lease after reopening = %v, %v; want %d leases", urlsOf(ls), err, len(reqs))
	}
	got := map[string]frontier.Kind{}
	for _, l := range ls {
		got[l.Request.URL] = l.Request.Kind
	}
	for _, r := range reqs {
		if got[r.URL] != r.Kind {
			t.Errorf("%s: kind %d after a restart; want %d", r.URL, got[r.URL], r.Kind)
		}
	}
}

// TestLeaseFailureGivesNoLeases makes the reservation of lease IDs fail in
// the middle of a Lease call: the call returns the error and no leases, and
// the requests leased before the failure are queued again.
func TestLeaseFailureGivesNoLeases(t *testing.T) {
	d := openTest(t, t.TempDir(), Options{Options: frontier.Options{PerHostInFlight: -1}})
	defer d.Close()
	ctx := t.Context()
	if _, err := d.Add(ctx, []frontier.Request{{URL: "http://a.test/1"}, {URL: "http://b.test/1"}, {URL: "http://c.test/1"}}); err != nil {
		t.Fatal(err)
	}
	errDisk := errors.New("disk full")
	d.mu.Lock()
	d.nextID = d.idLimit - 1 // one ID left before a reservation
	reserve := d.reserveIDs
	d.reserveIDs = func(uint64) error { return errDisk }
	d.mu.Unlock()

	ls, err := d.Lease(ctx, 10)
	if !errors.Is(err, errDisk) || len(ls) != 0 {
		t.Fatalf("Lease with a failing reservation = %v, %v; want no leases and the error", urlsOf(ls), err)
	}
	if s, err := d.Stats(ctx); err != nil || s.Queued != 3 || s.Leased != 0 {
		t.Fatalf("Stats after the failed Lease = %+v, %v; want 3 queued, 0 leased", s, err)
	}
	d.mu.Lock()
	d.reserveIDs = reserve
	d.mu.Unlock()
	if ls, err := d.Lease(ctx, 10); err != nil || len(ls) != 3 {
		t.Fatalf("Lease after the failure = %v, %v; want all 3", urlsOf(ls), err)
	}
	checkInvariants(t, d)
}

// TestCompleteReturnsWhenContextEnds holds the group commit back (an hour's
// commit interval) and checks that Add and Complete return their context's
// error instead of waiting for it.
func TestCompleteReturnsWhenContextEnds(t *testing.T) {
	d := openTest(t, t.TempDir(), Options{CommitInterval: time.Hour})
	defer d.Close()
	ctx := t.Context()
	// The committer's first commit is immediate; the next waits an hour.
	if _, err := d.Add(ctx, []frontier.Request{{URL: "http://a.test/1"}}); err != nil {
		t.Fatal(err)
	}
	ls, err := d.Lease(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"Add", func(ctx context.Context) error {
			_, err := d.Add(ctx, []frontier.Request{{URL: "http://a.test/2"}})
			return err
		}},
		{"Complete", func(ctx context.Context) error {
			return d.Complete(ctx, []frontier.Outcome{{Lease: ls[0], Seen: []string{"http://a.test/3"}}})
		}},
	}
	for _, c := range calls {
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		errc := make(chan error, 1)
		go func() { errc <- c.call(short) }()
		select {
		case err := <-errc:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s with a commit an hour away = %v; want context.DeadlineExceeded", c.name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not return when its context ended", c.name)
		}
		cancel()
	}
}

// TestRenewRecordsExpiry checks that Renew rewrites the lease record with
// the new expiry, committed like the lease itself.
func TestRenewRecordsExpiry(t *testing.T) {
	const ttl = time.Hour
	d := openTest(t, t.TempDir(), Options{Options: frontier.Options{LeaseTTL: ttl}})
	defer d.Close()
	ctx := t.Context()
	if _, err := d.Add(ctx, []frontier.Request{{URL: "http://a.test/1", Kind: frontier.KindAsset}}); err != nil {
		t.Fatal(err)
	}
	ls, err := d.Lease(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	if err := d.Renew(ctx, ls); err != nil {
		t.Fatalf("Renew: %v", err)
	}
	if _, err := d.commitOnce(); err != nil {
		t.Fatal(err)
	}
	v, closer, err := d.db.Get(leaseKey(nil, ls[0].ID))
	if err != nil {
		t.Fatalf("lease record: %v", err)
	}
	r, err := decodeLease(v)
	closer.Close()
	if err != nil {
		t.Fatal(err)
	}
	if r.expires.Before(before.Add(ttl)) || r.req != ls[0].Request {
		t.Errorf("stored lease = expires %v, %+v; want expiry at least %v, %+v", r.expires, r.req, before.Add(ttl), ls[0].Request)
	}
	if !ls[0].Expires.Before(r.expires) {
		t.Errorf("renewed expiry %v not after the first %v", r.expires, ls[0].Expires)
	}
}

// TestOpensVersion1 opens a store of format version 1 (pages only, encoded
// as version 2 encodes pages): its requests read back, and the store is
// upgraded to the current version.
func TestOpensVersion1(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	d := openTest(t, dir, Options{})
	want := frontier.Request{URL: "http://a.test/x", Depth: 2, Parent: "http://a.test/"}
	if _, err := d.Add(ctx, []frontier.Request{want}); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	setVersion := func(v uint64) uint64 {
		t.Helper()
		db, err := pebble.Open(filepath.Join(dir, dbDir), pebbleOptions(false))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		old, err := readUint(db, keyVersion)
		if err != nil {
			t.Fatal(err)
		}
		if v > 0 {
			if err := db.Set(keyVersion, binary.AppendUvarint(nil, v), pebble.Sync); err != nil {
				t.Fatal(err)
			}
		}
		return old
	}
	setVersion(1)
	if s, err := ReadStats(dir); err != nil || s.Queued != 1 {
		t.Errorf("ReadStats(version 1 store) = %+v, %v; want 1 queued", s, err)
	}
	d = openTest(t, dir, Options{})
	ls, err := d.Lease(ctx, 1)
	if err != nil || len(ls) != 1 || ls[0].Request != want {
		t.Errorf("Lease from a version 1 store = %v, %v; want %+v", ls, err, want)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if v := setVersion(0); v != formatVersion {
		t.Errorf("store version after opening = %d; want %d", v, formatVersion)
	}
}
