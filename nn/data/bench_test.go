package data

import "testing"

// BenchmarkLoaderBatch times one shuffled batch of 64 MNIST-sized images
// as a tensor (the per-step cost the loader adds to training).
func BenchmarkLoaderBatch(b *testing.B) {
	s := &Set{N: 60000, Rows: 28, Cols: 28, Classes: 10, Pixels: make([]uint8, 60000*784), Labels: make([]uint8, 60000)}
	l := NewLoader(s, 64, 1, nil)
	b.ReportAllocs()
	step := 0
	for b.Loop() {
		l.Batch(step)
		step++
	}
}
