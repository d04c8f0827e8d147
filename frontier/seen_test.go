package frontier

import (
	"math/rand/v2"
	"testing"
)

func TestSeenSetIsExact(t *testing.T) {
	var s seenSet
	ref := make(map[uint64]bool)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 60_000 {
		// Draw from a small range half the time so repeats are common, and
		// include 0 and 1, which share a slot value.
		fp := r.Uint64()
		if i%2 == 0 {
			fp = r.Uint64N(20_000)
		}
		want := !ref[fp] && !(fp <= 1 && (ref[0] || ref[1]))
		if got := s.add(fp); got != want {
			t.Fatalf("add(%d) = %v, want %v (after %d adds)", fp, got, want, i)
		}
		ref[fp] = true
	}
	if load := float64(s.n) / float64(len(s.slots)); load > seenMaxLoad {
		t.Errorf("load %.2f over %.2f", load, seenMaxLoad)
	}
}

// BenchmarkSeenSet adds b.N random fingerprints and reports the bytes the
// set holds per fingerprint (target: at most 16).
func BenchmarkSeenSet(b *testing.B) {
	var s seenSet
	r := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for range b.N {
		s.add(r.Uint64())
	}
	b.ReportMetric(float64(s.bytes())/float64(max(s.n, 1)), "bytes/url")
}

func TestSeenSetBytesPerURL(t *testing.T) {
	for _, n := range []int{50_000, 400_000} {
		var s seenSet
		r := rand.New(rand.NewPCG(3, uint64(n)))
		for range n {
			s.add(r.Uint64())
		}
		if per := float64(s.bytes()) / float64(n); per > 16 {
			t.Errorf("%d URLs: %.1f bytes per URL, want at most 16", n, per)
		}
	}
}
