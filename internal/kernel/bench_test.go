package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Run with
//
//	GOMAXPROCS=1 go test ./internal/kernel -run '^$' -bench Gemm -benchmem
//
// GFLOP/s counts 2·m·n·k floating-point operations per product.

func benchGemm(b *testing.B, mk *microKernel, tA, tB bool, m, n, k int) {
	rng := rand.New(rand.NewPCG(1, 1))
	g := newCase(rng, tA, tB, m, n, k, 1, 0, false, false)
	b.ReportAllocs()
	for b.Loop() {
		gemmUsing(mk, 0, g.tA, g.tB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.ldc)
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkGemm multiplies square matrices with the kernel in use.
func BenchmarkGemm(b *testing.B) {
	for _, n := range []int{64, 256, 512} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchGemm(b, active, false, false, n, n, n) })
	}
}

// BenchmarkGemmKernels multiplies 256×256 matrices with every kernel this
// machine has.
func BenchmarkGemmKernels(b *testing.B) {
	for _, mk := range available() {
		b.Run(mk.name, func(b *testing.B) { benchGemm(b, mk, false, false, 256, 256, 256) })
	}
}

// BenchmarkGemmShapes runs the products of workloads W1 (MLP
// 784-256-256-10, batch 64: forward, and the weight and input gradients of
// the backward pass), W2 (1-40-40-1, batch 10) and W4 (the convolutions'
// patch products, per batch of 32).
func BenchmarkGemmShapes(b *testing.B) {
	for _, s := range []struct {
		name    string
		tA, tB  bool
		m, n, k int
	}{
		{"W1/fwd1-64x784x256", false, false, 64, 256, 784},
		{"W1/fwd2-64x256x256", false, false, 64, 256, 256},
		{"W1/fwd3-64x256x10", false, false, 64, 10, 256},
		{"W1/dW1-784x64x256", true, false, 784, 256, 64},
		{"W1/dW2-256x64x256", true, false, 256, 256, 64},
		{"W1/dX2-64x256x256", false, true, 64, 256, 256},
		{"W1/dX3-64x10x256", false, true, 64, 256, 10},
		{"W2/fwd2-10x40x40", false, false, 10, 40, 40},
		{"W2/dX2-10x40x40", false, true, 10, 40, 40},
		{"W2/dW2-40x10x40", true, false, 40, 40, 10},
		{"W4/conv1-8x9x21632", false, false, 8, 21632, 9},
		{"W4/conv2-16x72x3872", false, false, 16, 3872, 72},
	} {
		b.Run(s.name, func(b *testing.B) { benchGemm(b, active, s.tA, s.tB, s.m, s.n, s.k) })
	}
}
