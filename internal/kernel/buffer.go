package kernel

import (
	"math/bits"
	"sync"
)

// Scratch buffers (packed panels, unfolded patches, temporary tiles) are
// recycled through pools by size class, so that a program that multiplies
// the same shapes over and over stops allocating and zeroing them. Pools
// drop their contents at garbage collections, so memory is returned when
// the program stops needing it.

const (
	minClass = 6  // 64 values
	maxClass = 26 // 64 Mi values (512 MiB); larger requests are not pooled
)

var pools [maxClass + 1]sync.Pool

// Buffer is a pooled scratch slice. Its contents are unspecified when it is
// obtained.
type Buffer struct{ s []float64 }

// GetBuffer returns a scratch slice of n values (contents unspecified);
// give it back with PutBuffer when done.
func GetBuffer(n int) *Buffer {
	c := class(n)
	if c > maxClass {
		return &Buffer{s: make([]float64, n)}
	}
	if b, ok := pools[c].Get().(*Buffer); ok {
		b.s = b.s[:n]
		return b
	}
	return &Buffer{s: make([]float64, n, 1<<c)}
}

// PutBuffer returns b to its pool; b must not be used afterwards.
func PutBuffer(b *Buffer) {
	c := class(cap(b.s))
	if cap(b.s) != 1<<c || c > maxClass {
		return
	}
	pools[c].Put(b)
}

// Data returns the slice.
func (b *Buffer) Data() []float64 { return b.s }

// class is the size class holding n values: the smallest power of two
// ≥ n, at least 2^minClass.
func class(n int) int {
	if n <= 1<<minClass {
		return minClass
	}
	return bits.Len(uint(n - 1))
}
