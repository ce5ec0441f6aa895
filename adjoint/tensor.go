package adjoint

import (
	"fmt"
	"math"
	"strings"
)

// Tensor is a dense, row-major, N-dimensional array of float64.
//
// Data holds the elements in row-major order, so the last index varies
// fastest; len(Data) is always the product of Shape. A Tensor with an empty
// Shape is a scalar holding one element. Tensors are plain values: the
// automatic differentiation in this package never mutates a Tensor it was
// given.
type Tensor struct {
	Shape []int
	Data  []float64
}

// New returns a zero-filled tensor of the given shape. It panics if a
// dimension is negative.
func New(shape ...int) *Tensor {
	t := newShaped(shape)
	t.Data = make([]float64, shapeSize(shape))
	return t
}

// newShaped returns a tensor with a copy of shape and no data. For ranks up
// to four the tensor and its shape are one allocation.
func newShaped(shape []int) *Tensor {
	if len(shape) > 4 {
		return &Tensor{Shape: cloneInts(shape)}
	}
	b := &struct {
		t Tensor
		s [4]int
	}{}
	copy(b.s[:], shape)
	b.t.Shape = b.s[:len(shape):len(shape)]
	return &b.t
}

// FromData returns a tensor of the given shape that uses data as its
// backing store (it is not copied). It panics if len(data) does not match
// the shape.
func FromData(data []float64, shape ...int) *Tensor {
	if n := shapeSize(shape); n != len(data) {
		panic(fmt.Sprintf("adjoint: FromData: %d elements do not fill shape %v (%d)", len(data), shape, n))
	}
	return &Tensor{Shape: cloneInts(shape), Data: data}
}

// Vector returns a 1-D tensor holding a copy of v.
func Vector(v ...float64) *Tensor {
	return &Tensor{Shape: []int{len(v)}, Data: append([]float64(nil), v...)}
}

// Scalar returns a 0-D tensor holding v.
func Scalar(v float64) *Tensor {
	b := &struct {
		t Tensor
		d [1]float64
	}{}
	b.d[0] = v
	b.t = Tensor{Shape: []int{}, Data: b.d[:]}
	return &b.t
}

// Full returns a tensor of the given shape with every element set to v.
func Full(v float64, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.Data {
		t.Data[i] = v
	}
	return t
}

// Size returns the number of elements.
func (t *Tensor) Size() int { return len(t.Data) }

// Rank returns the number of dimensions.
func (t *Tensor) Rank() int { return len(t.Shape) }

// Item returns the single element of a one-element tensor. It panics
// otherwise.
func (t *Tensor) Item() float64 {
	if len(t.Data) != 1 {
		panic(fmt.Sprintf("adjoint: Item of a tensor with shape %v", t.Shape))
	}
	return t.Data[0]
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: cloneInts(t.Shape), Data: append([]float64(nil), t.Data...)}
}

// Reshaped returns a tensor sharing t's data with a new shape of the same
// size. One dimension may be -1 and is then inferred.
func (t *Tensor) Reshaped(shape ...int) *Tensor {
	return &Tensor{Shape: resolveShape(shape, len(t.Data)), Data: t.Data}
}

// At returns the element at the given multi-index.
func (t *Tensor) At(idx ...int) float64 { return t.Data[t.offset(idx)] }

// Set sets the element at the given multi-index.
func (t *Tensor) Set(v float64, idx ...int) { t.Data[t.offset(idx)] = v }

func (t *Tensor) offset(idx []int) int {
	if len(idx) != len(t.Shape) {
		panic(fmt.Sprintf("adjoint: index %v into shape %v", idx, t.Shape))
	}
	off := 0
	for i, k := range idx {
		if k < 0 || k >= t.Shape[i] {
			panic(fmt.Sprintf("adjoint: index %v out of range for shape %v", idx, t.Shape))
		}
		off = off*t.Shape[i] + k
	}
	return off
}

// Norm returns the Euclidean norm of all elements.
func (t *Tensor) Norm() float64 {
	var s, scale float64
	// Scaled sum of squares avoids overflow for large gradients, which is
	// exactly where gradient-flow plots need an honest number.
	for _, v := range t.Data {
		if v == 0 {
			continue
		}
		a := math.Abs(v)
		if a > scale {
			s = 1 + s*(scale/a)*(scale/a)
			scale = a
		} else {
			s += (a / scale) * (a / scale)
		}
	}
	return scale * math.Sqrt(s)
}

// String formats small tensors in full and large ones by shape.
func (t *Tensor) String() string {
	if len(t.Data) > 64 {
		return fmt.Sprintf("Tensor%v", t.Shape)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v%v", t.Shape, t.Data)
	return b.String()
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b *Tensor) bool { return equalInts(a.Shape, b.Shape) }

func shapeSize(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			// A copy in the message, so that shape itself does not escape
			// and callers' variadic shapes stay on the stack.
			panic(fmt.Sprintf("adjoint: negative dimension in shape %v", cloneInts(shape)))
		}
		n *= d
	}
	return n
}

func resolveShape(shape []int, size int) []int {
	return resolveShapeTo(make([]int, 0, len(shape)), shape, size)
}

// resolveShapeTo is resolveShape appending the shape to dst (a buffer of
// the caller's, which may then need no allocation).
func resolveShapeTo(dst, shape []int, size int) []int {
	out := append(dst, shape...)
	infer := -1
	known := 1
	for i, d := range out {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			panic(fmt.Sprintf("adjoint: invalid shape %v", shape))
		default:
			known *= d
		}
	}
	if infer >= 0 {
		if known == 0 || size%known != 0 {
			panic(fmt.Sprintf("adjoint: cannot infer shape %v for %d elements", shape, size))
		}
		out[infer] = size / known
	}
	if shapeSize(out) != size {
		panic(fmt.Sprintf("adjoint: shape %v does not hold %d elements", shape, size))
	}
	return out
}

func cloneInts(s []int) []int {
	if s == nil {
		return []int{}
	}
	return append([]int{}, s...)
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
