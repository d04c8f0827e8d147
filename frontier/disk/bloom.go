package disk

import "math/bits"

// seenFilter is an in-memory Bloom filter over the seen set's
// fingerprints. It only ever answers "not seen" for certain; a "maybe" is
// settled by a lookup in the store. It is blocked: all the probes of a
// fingerprint fall in one 64-byte block, one cache line, so a check costs
// one memory access. It grows in stages, each twice the size of the one
// before, at 14 bits per fingerprint (about 0.3% false positives per stage)
// until maxBytes; past that the last stage keeps filling, its false-positive
// rate rises and more Adds pay a lookup, but memory stays bounded. Not safe
// for concurrent use.
type seenFilter struct {
	stages   []*filterStage
	maxBytes int
	total    int // bytes allocated
}

type filterStage struct {
	words []uint64
	mask  uint64 // block count - 1; the block count is a power of two
	cap   int    // fingerprints this stage is sized for
	n     int
}

const (
	filterBitsPerKey = 14
	filterProbes     = 10
	filterMinKeys    = 1 << 21
	filterBlockBits  = 512
	filterBlockWords = filterBlockBits / 64
)

func newSeenFilter(expected, maxBytes int) *seenFilter {
	f := &seenFilter{maxBytes: maxBytes}
	f.grow(max(expected, filterMinKeys))
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
	s := &filterStage{
		words: make([]uint64, nbits/64),
		mask:  nbits/filterBlockBits - 1,
		cap:   int(nbits / filterBitsPerKey),
	}
	f.stages = append(f.stages, s)
	f.total += int(nbits / 8)
	return true
}

// probes returns fp's block in s, and the first bit and stride of its
// probes within the block (double hashing; the stride is odd, so the probes
// differ).
func (s *filterStage) probes(fp uint64) (block []uint64, h, delta uint32) {
	i := (fp >> 32) & s.mask * filterBlockWords
	return s.words[i : i+filterBlockWords], uint32(fp), uint32((fp*0x9e3779b97f4a7c15)>>32) | 1
}

func (f *seenFilter) add(fp uint64) {
	s := f.stages[len(f.stages)-1]
	if s.n >= s.cap && f.grow(2*s.cap) {
		s = f.stages[len(f.stages)-1]
	}
	block, h, delta := s.probes(fp)
	for range filterProbes {
		b := h % filterBlockBits
		block[b/64] |= 1 << (b % 64)
		h += delta
	}
	s.n++
}

func (f *seenFilter) mayContain(fp uint64) bool {
	for _, s := range f.stages {
		block, h, delta := s.probes(fp)
		hit := true
		for range filterProbes {
			b := h % filterBlockBits
			if block[b/64]&(1<<(b%64)) == 0 {
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
