package adjoint

import "fmt"

// BroadcastShape returns the shape that a and b broadcast to under NumPy
// rules (dimensions aligned from the right; a dimension of 1 stretches). It
// panics if the shapes are incompatible.
func BroadcastShape(a, b []int) []int {
	s, ok := broadcastShapes(a, b)
	if !ok {
		panic(fmt.Sprintf("adjoint: shapes %v and %v do not broadcast", a, b))
	}
	return s
}

func broadcastShapes(a, b []int) ([]int, bool) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := 1, 1
		if j := i - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, false
		}
	}
	return out, true
}

// broadcastsTo reports whether in broadcasts to out without changing out.
func broadcastsTo(in, out []int) bool {
	if len(in) > len(out) {
		return false
	}
	off := len(out) - len(in)
	for i, d := range in {
		if d != 1 && d != out[off+i] {
			return false
		}
	}
	return true
}

// bcastStrides returns the strides of a row-major tensor of shape in, seen as
// a tensor of shape out: broadcast dimensions get stride 0.
func bcastStrides(in, out []int) []int {
	st := make([]int, len(out))
	off := len(out) - len(in)
	s := 1
	for i := len(in) - 1; i >= 0; i-- {
		if in[i] != 1 {
			st[off+i] = s
		}
		s *= in[i]
	}
	return st
}

// suffixRepeat reports whether a tensor of shape in, broadcast to out, is a
// simple repetition of its data: leading dimensions are broadcast and the
// trailing ones match out exactly. Then element i of out reads in[i % size].
func suffixRepeat(in, out []int) bool {
	off := len(out) - len(in)
	lead := true
	for i := range out {
		d := 1
		if j := i - off; j >= 0 {
			d = in[j]
		}
		if lead {
			if d == 1 && out[i] != 1 {
				continue
			}
			lead = false
		}
		if d != out[i] {
			return false
		}
	}
	return true
}

// prefixRepeat reports whether a tensor of shape in, broadcast to out,
// repeats each of its elements r times in a row: its dimensions match out's
// up to some point and are 1 (or absent) after it, as a column [B, 1]
// against [B, F]. Then element i of out reads in[i / r].
func prefixRepeat(in, out []int) (r int, ok bool) {
	off := len(out) - len(in)
	for i := 0; i < off; i++ {
		if out[i] != 1 {
			return 0, false
		}
	}
	r = 1
	trailing := false
	for i := len(out) - 1; i >= off; i-- {
		d := in[i-off]
		switch {
		case !trailing && d == 1:
			r *= out[i]
		case d == out[i]:
			trailing = true
		default:
			return 0, false
		}
	}
	return r, true
}

// blockRepeat reports whether a tensor of shape in, broadcast to out, is
// constant along a block of leading and a block of trailing dimensions and
// matches out in between, as a per-channel bias [C, 1, 1] against
// [N, C, H, W]. Then out is outer × len(in) × inner and element
// (o, m, i) reads in[m].
func blockRepeat(in, out []int) (outer, inner int, ok bool) {
	off := len(out) - len(in)
	lo, hi := -1, -1 // the first and last dimension of out where in is not 1
	for i := range out {
		d := 1
		if j := i - off; j >= 0 {
			d = in[j]
		}
		if d != 1 {
			if lo < 0 {
				lo = i
			}
			hi = i
		}
	}
	if lo < 0 {
		return 0, 0, false
	}
	outer, inner = 1, 1
	for i := range out {
		d := 1
		if j := i - off; j >= 0 {
			d = in[j]
		}
		switch {
		case i < lo:
			outer *= out[i]
		case i > hi:
			inner *= out[i]
		case d != out[i]:
			return 0, 0, false
		}
	}
	return outer, inner, true
}

// broadcastOffsets calls fn(i, ia, ib) for every linear index i of out with
// the matching linear indices into a and b.
func broadcastOffsets(out, sa, sb []int, fn func(i, ia, ib int)) {
	n := shapeSize(out)
	if n == 0 {
		return
	}
	r := len(out)
	idx := make([]int, r)
	ia, ib := 0, 0
	for i := range n {
		fn(i, ia, ib)
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			ia += sa[d]
			ib += sb[d]
			if idx[d] < out[d] {
				break
			}
			ia -= sa[d] * out[d]
			ib -= sb[d] * out[d]
			idx[d] = 0
		}
	}
}

// binOp names the arithmetic of the common binary operations, so that their
// hot loops are written out rather than calling a function per element.
type binOp uint8

const (
	binOther binOp = iota
	binAdd
	binSub
	binMul
	binDiv
)

// loop computes dst[i] = a[i] op b[i], with a or b of length 1 meaning a
// scalar repeated.
func (op binOp) loop(dst, a, b []float64, f func(x, y float64) float64) {
	switch {
	case len(a) == 1 && len(b) != 1:
		x := a[0]
		switch op {
		case binAdd:
			for i, y := range b[:len(dst)] {
				dst[i] = x + y
			}
		case binMul:
			for i, y := range b[:len(dst)] {
				dst[i] = x * y
			}
		default:
			for i, y := range b[:len(dst)] {
				dst[i] = f(x, y)
			}
		}
	case len(b) == 1 && len(a) != 1:
		y := b[0]
		switch op {
		case binAdd:
			for i, x := range a[:len(dst)] {
				dst[i] = x + y
			}
		case binSub:
			for i, x := range a[:len(dst)] {
				dst[i] = x - y
			}
		case binMul:
			for i, x := range a[:len(dst)] {
				dst[i] = x * y
			}
		default:
			for i, x := range a[:len(dst)] {
				dst[i] = f(x, y)
			}
		}
	default:
		a, b = a[:len(dst)], b[:len(dst)]
		switch op {
		case binAdd:
			for i := range dst {
				dst[i] = a[i] + b[i]
			}
		case binSub:
			for i := range dst {
				dst[i] = a[i] - b[i]
			}
		case binMul:
			for i := range dst {
				dst[i] = a[i] * b[i]
			}
		case binDiv:
			for i := range dst {
				dst[i] = a[i] / b[i]
			}
		default:
			for i := range dst {
				dst[i] = f(a[i], b[i])
			}
		}
	}
}

// binaryShape returns the shape a and b broadcast to: an operand's own
// shape whenever it is that (the usual case: a bias against a batch).
func binaryShape(a, b *Tensor) []int {
	switch {
	case equalInts(a.Shape, b.Shape), broadcastsTo(b.Shape, a.Shape):
		return a.Shape
	case broadcastsTo(a.Shape, b.Shape):
		return b.Shape
	}
	return BroadcastShape(a.Shape, b.Shape)
}

// binaryKernel computes f(a, b) elementwise with broadcasting; op, when
// not binOther, must be the arithmetic f performs.
func binaryKernel(a, b *Tensor, op binOp, f func(x, y float64) float64) *Tensor {
	shape := binaryShape(a, b)
	out := &Tensor{Shape: shape, Data: make([]float64, shapeSize(shape))}
	binaryInto(out, a, b, op, f)
	return out
}

// binaryInto sets out (of the broadcast shape, zero-filled) to f(a, b).
func binaryInto(out, a, b *Tensor, op binOp, f func(x, y float64) float64) {
	shape := out.Shape
	ad, bd, od := a.Data, b.Data, out.Data
	switch {
	case len(ad) == len(od) && len(bd) == len(od),
		len(bd) == 1 && len(ad) == len(od),
		len(ad) == 1 && len(bd) == len(od):
		op.loop(od, ad, bd, f)
	case len(ad) == len(od) && len(bd) > 0 && suffixRepeat(b.Shape, shape):
		m := len(bd)
		for i := 0; i < len(od); i += m {
			op.loop(od[i:i+m], ad[i:i+m], bd, f)
		}
	case len(bd) == len(od) && len(ad) > 0 && suffixRepeat(a.Shape, shape):
		m := len(ad)
		for i := 0; i < len(od); i += m {
			op.loop(od[i:i+m], ad, bd[i:i+m], f)
		}
	default:
		if r, ok := prefixRepeat(b.Shape, shape); ok && len(ad) == len(od) && r > 0 {
			for j := range bd {
				op.loop(od[j*r:(j+1)*r], ad[j*r:(j+1)*r], bd[j:j+1], f)
			}
			return
		}
		if r, ok := prefixRepeat(a.Shape, shape); ok && len(bd) == len(od) && r > 0 {
			for j := range ad {
				op.loop(od[j*r:(j+1)*r], ad[j:j+1], bd[j*r:(j+1)*r], f)
			}
			return
		}
		if outer, inner, ok := blockRepeat(b.Shape, shape); ok && len(ad) == len(od) {
			for o := range outer {
				for m := range bd {
					at := (o*len(bd) + m) * inner
					op.loop(od[at:at+inner], ad[at:at+inner], bd[m:m+1], f)
				}
			}
			return
		}
		if outer, inner, ok := blockRepeat(a.Shape, shape); ok && len(bd) == len(od) {
			for o := range outer {
				for m := range ad {
					at := (o*len(ad) + m) * inner
					op.loop(od[at:at+inner], ad[m:m+1], bd[at:at+inner], f)
				}
			}
			return
		}
		sa := bcastStrides(a.Shape, shape)
		sb := bcastStrides(b.Shape, shape)
		broadcastOffsets(shape, sa, sb, func(i, ia, ib int) {
			od[i] = f(ad[ia], bd[ib])
		})
	}
}

// broadcastTensor returns x broadcast to shape (a fresh tensor).
func broadcastTensor(x *Tensor, shape []int) *Tensor {
	out := New(shape...)
	xd, od := x.Data, out.Data
	switch {
	case len(xd) == len(od):
		copy(od, xd)
	case len(xd) == 1:
		for i := range od {
			od[i] = xd[0]
		}
	case suffixRepeat(x.Shape, shape):
		for i := 0; i < len(od); i += len(xd) {
			copy(od[i:], xd)
		}
	default:
		if r, ok := prefixRepeat(x.Shape, shape); ok {
			for j, v := range xd {
				row := od[j*r : (j+1)*r]
				for i := range row {
					row[i] = v
				}
			}
			return out
		}
		if outer, inner, ok := blockRepeat(x.Shape, shape); ok {
			for o := range outer {
				for m, v := range xd {
					row := od[(o*len(xd)+m)*inner : (o*len(xd)+m+1)*inner]
					for i := range row {
						row[i] = v
					}
				}
			}
			return out
		}
		sx := bcastStrides(x.Shape, shape)
		broadcastOffsets(shape, sx, sx, func(i, ia, _ int) { od[i] = xd[ia] })
	}
	return out
}

// sumToTensor sums x over its broadcast dimensions so that it has shape
// (the adjoint of broadcasting).
func sumToTensor(x *Tensor, shape []int) *Tensor {
	out := New(shape...)
	xd, od := x.Data, out.Data
	switch {
	case len(xd) == len(od):
		copy(od, xd)
	case len(od) == 1:
		var s float64
		for _, v := range xd {
			s += v
		}
		od[0] = s
	case suffixRepeat(shape, x.Shape):
		for i := 0; i < len(xd); i += len(od) {
			row := xd[i : i+len(od)]
			for j, v := range row {
				od[j] += v
			}
		}
	default:
		if r, ok := prefixRepeat(shape, x.Shape); ok {
			for j := range od {
				var acc float64
				for _, v := range xd[j*r : (j+1)*r] {
					acc += v
				}
				od[j] = acc
			}
			return out
		}
		if outer, inner, ok := blockRepeat(shape, x.Shape); ok {
			// The same order of additions as the general path below: x in
			// row-major order, each element added to its target in turn.
			for o := range outer {
				for m := range od {
					acc := od[m]
					for _, v := range xd[(o*len(od)+m)*inner : (o*len(od)+m+1)*inner] {
						acc += v
					}
					od[m] = acc
				}
			}
			return out
		}
		so := bcastStrides(shape, x.Shape)
		broadcastOffsets(x.Shape, so, so, func(i, io, _ int) { od[io] += xd[i] })
	}
	return out
}
