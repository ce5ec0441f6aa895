package adjoint

import "fmt"

// Layout maps a list of tensor shapes onto one flat []float64, so that a
// state made of several tensors (parameters and optimiser moments, positions
// and velocities, the weights of a recurrent cell) can be driven through the
// flat engine: Recurrence, ImplicitVJP and the Krylov solvers all work on
// flat vectors.
//
// Tensor i occupies the contiguous range Offset(i) ≤ j < Offset(i)+size_i of
// the flat vector, in row-major order, and the tensors follow each other in
// the order given. A Layout is immutable and safe for concurrent use; the
// zero Layout holds no tensors.
type Layout struct {
	shapes  [][]int
	offsets []int // len(shapes)+1 entries, offsets[0] = 0
}

// NewLayout returns the layout of tensors with the given shapes. It panics
// if a dimension is negative.
func NewLayout(shapes ...[]int) Layout {
	l := Layout{shapes: make([][]int, len(shapes)), offsets: make([]int, len(shapes)+1)}
	for i, s := range shapes {
		l.shapes[i] = cloneInts(s)
		l.offsets[i+1] = l.offsets[i] + shapeSize(s)
	}
	return l
}

// LayoutOf returns the layout of the given tensors' shapes.
func LayoutOf(ts ...*Tensor) Layout {
	shapes := make([][]int, len(ts))
	for i, t := range ts {
		shapes[i] = t.Shape
	}
	return NewLayout(shapes...)
}

// Len returns the number of tensors in the layout.
func (l Layout) Len() int { return len(l.shapes) }

// Size returns the length of the flat vector: the total number of elements.
func (l Layout) Size() int {
	if len(l.offsets) == 0 {
		return 0
	}
	return l.offsets[len(l.offsets)-1]
}

// Shape returns a copy of the shape of tensor i.
func (l Layout) Shape(i int) []int { return cloneInts(l.shapes[i]) }

// Offset returns the index in the flat vector of the first element of
// tensor i.
func (l Layout) Offset(i int) int { return l.offsets[i] }

// Part returns the sub-slice of the flat vector v that holds tensor i. It
// shares v's memory, so it can be read and written in place, which is what a
// Step implementation usually wants. It panics if len(v) != l.Size().
func (l Layout) Part(v []float64, i int) []float64 {
	l.checkFlat("Part", v)
	return v[l.offsets[i]:l.offsets[i+1]:l.offsets[i+1]]
}

// Views returns tensors that share the memory of the flat vector v, one per
// entry of the layout. It panics if len(v) != l.Size().
func (l Layout) Views(v []float64) []*Tensor {
	l.checkFlat("Views", v)
	ts := make([]*Tensor, len(l.shapes))
	for i, s := range l.shapes {
		ts[i] = &Tensor{Shape: cloneInts(s), Data: v[l.offsets[i]:l.offsets[i+1]:l.offsets[i+1]]}
	}
	return ts
}

// Pack copies the tensors into the flat vector dst and returns it. If dst is
// nil a new slice of length l.Size() is allocated. It panics if the number or
// shapes of the tensors do not match the layout, or if dst is non-nil with
// the wrong length.
func (l Layout) Pack(dst []float64, ts ...*Tensor) []float64 {
	if len(ts) != len(l.shapes) {
		panic(fmt.Sprintf("adjoint: Layout.Pack: %d tensors for a layout of %d", len(ts), len(l.shapes)))
	}
	if dst == nil {
		dst = make([]float64, l.Size())
	}
	l.checkFlat("Pack", dst)
	for i, t := range ts {
		if !equalInts(t.Shape, l.shapes[i]) {
			panic(fmt.Sprintf("adjoint: Layout.Pack: tensor %d has shape %v, layout wants %v", i, t.Shape, l.shapes[i]))
		}
		copy(dst[l.offsets[i]:l.offsets[i+1]], t.Data)
	}
	return dst
}

// Unpack returns new tensors holding copies of the parts of the flat vector
// v. It panics if len(v) != l.Size().
func (l Layout) Unpack(v []float64) []*Tensor {
	l.checkFlat("Unpack", v)
	ts := make([]*Tensor, len(l.shapes))
	for i, s := range l.shapes {
		ts[i] = &Tensor{Shape: cloneInts(s), Data: append([]float64(nil), v[l.offsets[i]:l.offsets[i+1]]...)}
	}
	return ts
}

func (l Layout) checkFlat(method string, v []float64) {
	if len(v) != l.Size() {
		panic(fmt.Sprintf("adjoint: Layout.%s: flat vector of length %d for a layout of size %d", method, len(v), l.Size()))
	}
}
