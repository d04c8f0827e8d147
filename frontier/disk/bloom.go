package disk

import "math/bits"

// seenFilter is an in-memory Bloom filter over the seen set's
// fingerprints. It only ever answers "not seen" for certain; a "maybe" is
// settled by a lookup in the store. It grows in stages, each twice the
// size of the one before, at about 14 bits per fingerprint (a 0.2% false
// positive rate per stage) until maxBytes; past that the last stage keeps filling,
// its false-positive rate rises and more Adds pay a lookup, but memory stays
// bounded. Not safe for concurrent use.
type seenFilter struct {
	stages   []*filterStage
	maxBytes int
	total    int // bytes allocated
}

type filterStage struct {
	words []uint64
	mask  uint64 // bit count - 1; the bit count is a power of two
	cap   int    // fingerprints this stage is sized for
	n     int
}

const (
	filterBitsPerKey = 14
	filterProbes     = 10
	filterMinKeys    = 1 << 21
)

func newSeenFilter(expected, maxBytes int) *seenFilter {
	f := &seenFilter{maxBytes: maxBytes}
	f.grow(max(2*expected, filterMinKeys))
	return f
}

// grow adds a stage for about keys fingerprints, or a smaller one when the
// budget does not allow it. It returns false when nothing can be added.
func (f *seenFilter) grow(keys int) bool {
	nbits := uint64(1) << bits.Len64(uint64(keys*filterBitsPerKey-1))
	for f.total+int(nbits/8) > f.maxBytes && nbits > 1<<16 {
		nbits /= 2
	}
	if len(f.stages) > 0 && f.total+int(nbits/8) > f.maxBytes {
		return false
	}
	s := &filterStage{words: make([]uint64, nbits/64), mask: nbits - 1, cap: int(nbits / filterBitsPerKey)}
	f.stages = append(f.stages, s)
	f.total += int(nbits / 8)
	return true
}

// probes returns the first probe position and the stride of fp's probes
// (double hashing; the stride is odd, so all probes differ in a
// power-of-two table).
func probes(fp uint64) (h, delta uint64) {
	delta = (fp>>32 | fp<<32) * 0x9e3779b97f4a7c15
	return fp, delta | 1
}

func (f *seenFilter) add(fp uint64) {
	s := f.stages[len(f.stages)-1]
	if s.n >= s.cap && f.grow(2*s.cap) {
		s = f.stages[len(f.stages)-1]
	}
	h, delta := probes(fp)
	for range filterProbes {
		i := h & s.mask
		s.words[i/64] |= 1 << (i % 64)
		h += delta
	}
	s.n++
}

func (f *seenFilter) mayContain(fp uint64) bool {
	for _, s := range f.stages {
		h, delta := probes(fp)
		hit := true
		for range filterProbes {
			i := h & s.mask
			if s.words[i/64]&(1<<(i%64)) == 0 {
				hit = false
				break
			}
			h += delta
		}
		if hit {
			return true
		}
	}
	return false
}
