package kernel

import (
	"math/rand/v2"
	"testing"
)

// FuzzGemm multiplies random matrices of fuzzed shapes, transposes,
// padding and scalars with every kernel and compares with the naive triple
// loop. Seeds live in testdata/fuzz/FuzzGemm; run it with
//
//	go test ./internal/kernel -run '^$' -fuzz FuzzGemm -fuzztime 1m
func FuzzGemm(f *testing.F) {
	f.Add(uint16(1), uint16(1), uint16(1), uint8(0), uint64(1))
	f.Add(uint16(8), uint16(24), uint16(128), uint8(0), uint64(2))
	f.Add(uint16(9), uint16(25), uint16(129), uint8(3), uint64(3))
	f.Add(uint16(300), uint16(1), uint16(7), uint8(5), uint64(4))
	f.Add(uint16(0), uint16(5), uint16(3), uint8(14), uint64(5))
	f.Fuzz(func(t *testing.T, m, n, k uint16, flags uint8, seed uint64) {
		// Sizes up to 300, as the naive reference is cubic.
		mm, nn, kk := int(m%301), int(n%301), int(k%301)
		if mm*nn*kk > 4_000_000 {
			t.Skip("too large for the naive reference")
		}
		rng := rand.New(rand.NewPCG(seed, uint64(flags)))
		alphas := []float64{1, -0.5, 0, 3}
		betas := []float64{0, 1, -2, 0.25}
		beta := betas[flags>>4&3]
		g := newCase(rng, flags&1 != 0, flags&2 != 0, mm, nn, kk, alphas[flags>>2&3], beta, flags&64 != 0, beta == 0 && flags&128 != 0)
		for _, mk := range kernelsUnderTest() {
			g.check(t, mk.name+" "+g.String(), g.run(mk, 1+int(seed%3)), gemmTol)
		}
	})
}
