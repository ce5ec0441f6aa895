package adjoint

import (
	"fmt"
	"math"
	"slices"
)

type broadcastOp struct{}

func (broadcastOp) name() string { return "broadcast_to" }
func (broadcastOp) vjp(g *Var, in []*Var, _ *Var, _ []bool) []*Var {
	return []*Var{SumTo(g, in[0].Shape())}
}
func (broadcastOp) jvp(t []*Var, _ []*Var, out *Var) *Var { return BroadcastTo(t[0], out.Shape()) }

// BroadcastTo returns x broadcast to shape under NumPy rules. It returns x
// itself when the shape already matches and panics if x does not broadcast
// to shape.
func BroadcastTo(x *Var, shape []int) *Var {
	if equalInts(x.Shape(), shape) {
		return x
	}
	if !broadcastsTo(x.Shape(), shape) {
		panic(fmt.Sprintf("adjoint: BroadcastTo: shape %v does not broadcast to %v", x.Shape(), shape))
	}
	return newVar1(broadcastTensor(x.val, shape), broadcastOp{}, x)
}

type sumToOp struct{}

func (sumToOp) name() string { return "sum_to" }
func (sumToOp) vjp(g *Var, in []*Var, _ *Var, _ []bool) []*Var {
	return []*Var{BroadcastTo(g, in[0].Shape())}
}
func (sumToOp) jvp(t []*Var, _ []*Var, out *Var) *Var { return SumTo(t[0], out.Shape()) }

// SumTo sums x over the dimensions along which shape would be broadcast to
// x's shape: the adjoint of BroadcastTo. It returns x itself when the shape
// already matches.
func SumTo(x *Var, shape []int) *Var {
	if equalInts(x.Shape(), shape) {
		return x
	}
	if !broadcastsTo(shape, x.Shape()) {
		panic(fmt.Sprintf("adjoint: SumTo: shape %v does not broadcast to %v", shape, x.Shape()))
	}
	return newVar1(sumToTensor(x.val, shape), sumToOp{}, x)
}

type reshapeOp struct{}

func (reshapeOp) name() string { return "reshape" }
func (reshapeOp) vjp(g *Var, in []*Var, _ *Var, _ []bool) []*Var {
	return []*Var{Reshape(g, in[0].Shape()...)}
}
func (reshapeOp) jvp(t []*Var, _ []*Var, out *Var) *Var { return Reshape(t[0], out.Shape()...) }

// Reshape returns x with a new shape of the same size; one dimension may be
// −1 and is inferred. The data is shared, not copied.
func Reshape(x *Var, shape ...int) *Var {
	var buf [4]int
	s := resolveShapeTo(buf[:0], shape, x.Size())
	if equalInts(s, x.Shape()) {
		return x
	}
	return newResultOp1(s, x.val.Data, reshapeOp{}, x)
}

type permuteOp struct{ perm []int }

func (permuteOp) name() string { return "permute" }
func (p permuteOp) vjp(g *Var, _ []*Var, _ *Var, _ []bool) []*Var {
	inv := make([]int, len(p.perm))
	for i, a := range p.perm {
		inv[a] = i
	}
	return []*Var{Permute(g, inv...)}
}
func (p permuteOp) jvp(t []*Var, _ []*Var, _ *Var) *Var { return Permute(t[0], p.perm...) }

// Permute reorders the dimensions of x: dimension i of the result is
// dimension perm[i] of x.
func Permute(x *Var, perm ...int) *Var {
	r := len(x.Shape())
	if len(perm) != r {
		panic(fmt.Sprintf("adjoint: Permute: %d axes for shape %v", len(perm), x.Shape()))
	}
	seen := make([]bool, r)
	for _, a := range perm {
		if a < 0 || a >= r || seen[a] {
			panic(fmt.Sprintf("adjoint: Permute: %v is not a permutation of %d axes", perm, r))
		}
		seen[a] = true
	}
	in := x.Shape()
	shape := make([]int, r)
	for i, a := range perm {
		shape[i] = in[a]
	}
	out := New(shape...)
	// Strides of x, reordered to the output's dimension order.
	inStride := make([]int, r)
	s := 1
	for i := r - 1; i >= 0; i-- {
		inStride[i] = s
		s *= in[i]
	}
	st := make([]int, r)
	for i, a := range perm {
		st[i] = inStride[a]
	}
	xd, od := x.val.Data, out.Data
	if r == 2 {
		rows, cols := shape[0], shape[1]
		for i := range rows {
			for j := range cols {
				od[i*cols+j] = xd[i*st[0]+j*st[1]]
			}
		}
	} else {
		broadcastOffsets(shape, st, st, func(i, ix, _ int) { od[i] = xd[ix] })
	}
	return newVar1(out, permuteOp{slices.Clone(perm)}, x)
}

// Transpose swaps the last two dimensions of x (a matrix transpose for 2-D x).
func Transpose(x *Var) *Var {
	r := len(x.Shape())
	if r < 2 {
		panic(fmt.Sprintf("adjoint: Transpose of shape %v", x.Shape()))
	}
	perm := make([]int, r)
	for i := range perm {
		perm[i] = i
	}
	perm[r-1], perm[r-2] = perm[r-2], perm[r-1]
	return Permute(x, perm...)
}

// normAxis turns a possibly negative axis into an index.
func normAxis(axis, rank int, what string) int {
	a := axis
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= rank {
		panic(fmt.Sprintf("adjoint: %s: axis %d out of range for rank %d", what, axis, rank))
	}
	return a
}

// axisSplit returns the sizes before, along and after axis.
func axisSplit(shape []int, axis int) (outer, n, inner int) {
	outer, inner = 1, 1
	for i := 0; i < axis; i++ {
		outer *= shape[i]
	}
	for i := axis + 1; i < len(shape); i++ {
		inner *= shape[i]
	}
	return outer, shape[axis], inner
}

type sliceOp struct{ axis, from, n int }

func (sliceOp) name() string { return "slice" }
func (s sliceOp) vjp(g *Var, _ []*Var, _ *Var, _ []bool) []*Var {
	return []*Var{padAxis(g, s.axis, s.from, s.n)}
}
func (s sliceOp) jvp(t []*Var, _ []*Var, out *Var) *Var {
	return Slice(t[0], s.axis, s.from, s.from+out.Shape()[s.axis])
}

// Slice returns the elements of x with index in [from, to) along axis
// (negative axes count from the end).
func Slice(x *Var, axis, from, to int) *Var {
	a := normAxis(axis, len(x.Shape()), "Slice")
	n := x.Shape()[a]
	if from < 0 || to > n || from > to {
		panic(fmt.Sprintf("adjoint: Slice [%d, %d) out of range for axis %d of shape %v", from, to, axis, x.Shape()))
	}
	if from == 0 && to == n {
		return x
	}
	outer, _, inner := axisSplit(x.Shape(), a)
	var buf [4]int
	shape := append(buf[:0], x.Shape()...)
	shape[a] = to - from
	out := newResultOp1(shape, nil, sliceOp{a, from, n}, x)
	od := out.val.Data
	w := (to - from) * inner
	for o := range outer {
		copy(od[o*w:(o+1)*w], x.val.Data[(o*n+from)*inner:])
	}
	return out
}

type padOp struct{ axis, from, n int }

func (padOp) name() string { return "pad" }
func (p padOp) vjp(g *Var, in []*Var, _ *Var, _ []bool) []*Var {
	return []*Var{Slice(g, p.axis, p.from, p.from+in[0].Shape()[p.axis])}
}
func (p padOp) jvp(t []*Var, _ []*Var, _ *Var) *Var { return padAxis(t[0], p.axis, p.from, p.n) }

// padAxis embeds x into zeros of size n along axis, starting at from: the
// adjoint of Slice.
func padAxis(x *Var, axis, from, n int) *Var {
	outer, m, inner := axisSplit(x.Shape(), axis)
	shape := slices.Clone(x.Shape())
	shape[axis] = n
	out := New(shape...)
	w := m * inner
	for o := range outer {
		copy(out.Data[(o*n+from)*inner:], x.val.Data[o*w:(o+1)*w])
	}
	return newVar1(out, padOp{axis, from, n}, x)
}

type concatOp struct{ axis int }

func (concatOp) name() string { return "concat" }
func (c concatOp) vjp(g *Var, in []*Var, _ *Var, need []bool) []*Var {
	gs := make([]*Var, len(in))
	off := 0
	for i, x := range in {
		n := x.Shape()[c.axis]
		if need[i] {
			gs[i] = Slice(g, c.axis, off, off+n)
		}
		off += n
	}
	return gs
}
func (c concatOp) jvp(t []*Var, in []*Var, _ *Var) *Var {
	ts := make([]*Var, len(in))
	for i, x := range in {
		ts[i] = t[i]
		if ts[i] == nil {
			ts[i] = Const(New(x.Shape()...))
		}
	}
	return Concat(c.axis, ts...)
}

// Concat joins xs along axis; their other dimensions must agree.
func Concat(axis int, xs ...*Var) *Var {
	if len(xs) == 0 {
		panic("adjoint: Concat of nothing")
	}
	first := xs[0].Shape()
	a := normAxis(axis, len(first), "Concat")
	shape := slices.Clone(first)
	shape[a] = 0
	for _, x := range xs {
		s := x.Shape()
		if len(s) != len(first) {
			panic(fmt.Sprintf("adjoint: Concat: shapes %v and %v differ in rank", first, s))
		}
		for i := range s {
			if i != a && s[i] != first[i] {
				panic(fmt.Sprintf("adjoint: Concat along axis %d: shapes %v and %v", axis, first, s))
			}
		}
		shape[a] += s[a]
	}
	out := New(shape...)
	outer, n, inner := axisSplit(shape, a)
	off := 0
	for _, x := range xs {
		m := x.Shape()[a]
		w := m * inner
		for o := range outer {
			copy(out.Data[(o*n+off)*inner:], x.val.Data[o*w:(o+1)*w])
		}
		off += m
	}
	return newVar(out, concatOp{a}, xs...)
}

type takeOp struct {
	axis int
	idx  []int
	n    int // size of the source along axis
}

func (takeOp) name() string { return "take" }
func (t takeOp) vjp(g *Var, _ []*Var, _ *Var, _ []bool) []*Var {
	return []*Var{scatterAdd(g, t.axis, t.idx, t.n)}
}
func (t takeOp) jvp(tan []*Var, _ []*Var, _ *Var) *Var { return Take(tan[0], t.axis, t.idx) }

// Take gathers the slices of x at the given indices along axis (like
// NumPy's take): the result's axis has len(idx) entries, entry i being
// x's entry idx[i]. Indices may repeat; their gradients add up.
func Take(x *Var, axis int, idx []int) *Var {
	a := normAxis(axis, len(x.Shape()), "Take")
	outer, n, inner := axisSplit(x.Shape(), a)
	for _, k := range idx {
		if k < 0 || k >= n {
			panic(fmt.Sprintf("adjoint: Take: index %d out of range [0, %d)", k, n))
		}
	}
	shape := slices.Clone(x.Shape())
	shape[a] = len(idx)
	out := New(shape...)
	if inner == 1 {
		// Gathering single elements: a copy call per element would cost
		// more than the element.
		for o := range outer {
			src, dst := x.val.Data[o*n:(o+1)*n], out.Data[o*len(idx):(o+1)*len(idx)]
			for i, k := range idx {
				dst[i] = src[k]
			}
		}
	} else {
		for o := range outer {
			for i, k := range idx {
				copy(out.Data[(o*len(idx)+i)*inner:(o*len(idx)+i+1)*inner], x.val.Data[(o*n+k)*inner:])
			}
		}
	}
	return newVar1(out, takeOp{a, slices.Clone(idx), n}, x)
}

type scatterAddOp struct {
	axis int
	idx  []int
	n    int
}

func (scatterAddOp) name() string { return "scatter_add" }
func (s scatterAddOp) vjp(g *Var, _ []*Var, _ *Var, _ []bool) []*Var {
	return []*Var{Take(g, s.axis, s.idx)}
}
func (s scatterAddOp) jvp(t []*Var, _ []*Var, _ *Var) *Var {
	return scatterAdd(t[0], s.axis, s.idx, s.n)
}

// scatterAdd is the adjoint of Take: it adds the slices of x into zeros of
// size n along axis at the positions idx.
func scatterAdd(x *Var, axis int, idx []int, n int) *Var {
	outer, m, inner := axisSplit(x.Shape(), axis)
	shape := slices.Clone(x.Shape())
	shape[axis] = n
	out := New(shape...)
	for o := range outer {
		for i, k := range idx {
			src := x.val.Data[(o*m+i)*inner : (o*m+i+1)*inner]
			dst := out.Data[(o*n+k)*inner : (o*n+k+1)*inner]
			for j, v := range src {
				dst[j] += v
			}
		}
	}
	return newVar1(out, scatterAddOp{axis, idx, n}, x)
}

// OneHot returns a len(labels)×k constant tensor with a 1 in column
// labels[i] of row i. It panics if a label is outside [0, k).
func OneHot(labels []int, k int) *Tensor {
	t := New(len(labels), k)
	for i, l := range labels {
		if l < 0 || l >= k {
			panic(fmt.Sprintf("adjoint: OneHot: label %d outside [0, %d)", l, k))
		}
		t.Data[i*k+l] = 1
	}
	return t
}

// maskRule says which elements a mask keeps, judged by a reference tensor.
type maskRule uint8

const (
	keepNonZero  maskRule = iota // keep where the reference is non-zero
	keepPositive                 // keep where the reference is > 0
)

type maskOp struct {
	by   *Tensor
	rule maskRule
}

func (maskOp) name() string { return "mask" }
func (m maskOp) vjp(g *Var, _ []*Var, _ *Var, _ []bool) []*Var {
	return []*Var{maskWhere(g, m.by, m.rule)}
}
func (m maskOp) jvp(t []*Var, _ []*Var, _ *Var) *Var { return maskWhere(t[0], m.by, m.rule) }

// applyMask keeps the elements of x where keep is non-zero and sets the rest
// to exactly zero (even where x is Inf or NaN); keep has x's shape.
func applyMask(x *Var, keep *Tensor) *Var { return maskWhere(x, keep, keepNonZero) }

// maskWhere keeps the elements of x selected by rule applied to by, and
// zeroes the rest; by has x's shape.
func maskWhere(x *Var, by *Tensor, rule maskRule) *Var {
	out := &Tensor{Shape: x.val.Shape, Data: make([]float64, len(x.val.Data))}
	xd := x.val.Data
	od := out.Data[:len(by.Data)]
	xd = xd[:len(by.Data)]
	// Bit masks, not branches: the signs of activations are as good as
	// random, and a mispredicted branch costs more than the select.
	switch rule {
	case keepPositive:
		for i, v := range by.Data {
			od[i] = math.Float64frombits(math.Float64bits(xd[i]) & positiveMask(v))
		}
	default:
		for i, v := range by.Data {
			od[i] = math.Float64frombits(math.Float64bits(xd[i]) & nonZeroMask(v))
		}
	}
	return newVar1(out, maskOp{by, rule}, x)
}

// Where returns a where cond is non-zero and b elsewhere. cond, a and b
// broadcast together. The gradient flows only to the selected operand, so
// a NaN or Inf in the operand not chosen never reaches the other one.
func Where(cond *Tensor, a, b *Var) *Var {
	shape := BroadcastShape(BroadcastShape(cond.Shape, a.Shape()), b.Shape())
	c := broadcastTensor(cond, shape)
	notC := New(shape...)
	for i, v := range c.Data {
		if v == 0 {
			notC.Data[i] = 1
		}
	}
	return Add(applyMask(BroadcastTo(a, shape), c), applyMask(BroadcastTo(b, shape), notC))
}

// Pad surrounds x with before zeros and after zeros along axis (negative
// counts from the end). Its adjoint is Slice.
func Pad(x *Var, axis, before, after int) *Var {
	a := normAxis(axis, len(x.Shape()), "Pad")
	if before < 0 || after < 0 {
		panic(fmt.Sprintf("adjoint: Pad: negative padding %d, %d", before, after))
	}
	if before == 0 && after == 0 {
		return x
	}
	return padAxis(x, a, before, before+x.Shape()[a]+after)
}
