package adjoint

import (
	"math"
	"slices"

	"github.com/adjointkit/adjointkit/internal/kernel"
)

type sumAxisOp struct {
	axis int
	keep bool
}

func (sumAxisOp) name() string { return "sum_axis" }
func (s sumAxisOp) vjp(g *Var, in []*Var, _ *Var, _ []bool) []*Var {
	return []*Var{BroadcastTo(keepDims(g, in[0].Shape(), s.axis, s.keep), in[0].Shape())}
}
func (s sumAxisOp) jvp(t []*Var, _ []*Var, _ *Var) *Var { return SumAxis(t[0], s.axis, s.keep) }

// keepDims reshapes a reduced value back to rank of shape with a 1 at axis.
func keepDims(g *Var, shape []int, axis int, kept bool) *Var {
	if kept {
		return g
	}
	s := slices.Clone(shape)
	s[axis] = 1
	return Reshape(g, s...)
}

func reducedShape(shape []int, axis int, keep bool) []int {
	if keep {
		s := slices.Clone(shape)
		s[axis] = 1
		return s
	}
	return slices.Delete(slices.Clone(shape), axis, axis+1)
}

// SumAxis sums x along axis (negative counts from the end). With keepDims
// the reduced axis stays with size 1, so the result broadcasts against x.
func SumAxis(x *Var, axis int, keepDims bool) *Var {
	a := normAxis(axis, len(x.Shape()), "SumAxis")
	outer, n, inner := axisSplit(x.Shape(), a)
	out := New(reducedShape(x.Shape(), a, keepDims)...)
	xd, od := x.val.Data, out.Data
	for o := range outer {
		dst := od[o*inner : (o+1)*inner]
		for k := range n {
			src := xd[(o*n+k)*inner : (o*n+k+1)*inner]
			for j, v := range src {
				dst[j] += v
			}
		}
	}
	return newVar1(out, sumAxisOp{a, keepDims}, x)
}

// MeanAxis averages x along axis.
func MeanAxis(x *Var, axis int, keepDims bool) *Var {
	a := normAxis(axis, len(x.Shape()), "MeanAxis")
	return Scale(SumAxis(x, a, keepDims), 1/float64(x.Shape()[a]))
}

// Sum returns the sum of all elements as a 0-D value.
func Sum(x *Var) *Var { return SumTo(Reshape(x, -1), []int{}) }

// Mean returns the mean of all elements as a 0-D value.
func Mean(x *Var) *Var { return Scale(Sum(x), 1/float64(x.Size())) }

// Dot returns Σ aᵢbᵢ over all elements (with broadcasting) as a 0-D value.
func Dot(a, b *Var) *Var { return Sum(Mul(a, b)) }

// MaxAxis returns the maximum of x along axis. The gradient goes entirely to
// the position of the maximum; on ties, to the first (lowest index) one.
// NaN compares as larger than any number, so a NaN is propagated.
func MaxAxis(x *Var, axis int, keepDims bool) *Var {
	a := normAxis(axis, len(x.Shape()), "MaxAxis")
	outer, n, inner := axisSplit(x.Shape(), a)
	if n == 0 {
		panic("adjoint: MaxAxis over an empty axis")
	}
	pos := make([]int, outer*inner)
	xd := x.val.Data
	for o := range outer {
		for j := range inner {
			best := o*n*inner + j
			for k := 1; k < n; k++ {
				i := (o*n+k)*inner + j
				if xd[i] > xd[best] || (math.IsNaN(xd[i]) && !math.IsNaN(xd[best])) {
					best = i
				}
			}
			pos[o*inner+j] = best
		}
	}
	// The maximum is a gather of the winning elements, so its derivatives
	// are those of a gather: exact to every order, and the backward pass
	// touches only the winners.
	return pick(x, pos, reducedShape(x.Shape(), a, keepDims))
}

type pickOp struct{ pos []int }

func (pickOp) name() string { return "pick" }
func (p pickOp) vjp(g *Var, in []*Var, _ *Var, need []bool) []*Var {
	if !need[0] {
		return nil
	}
	return []*Var{place(g, p.pos, in[0].Shape())}
}

// Without a recorded graph the reverse pass adds a pick's cotangent
// straight into its input's: a vector field written with Elements picks
// every component, and each would otherwise make a full-size vector and
// a sum. The positions of a pick are distinct (Index, Elements and the
// maximum's winners), so adding them one by one rounds as place does.
func (pickOp) accumulates(int) bool { return true }
func (pickOp) fromZero(int) bool    { return true }
func (p pickOp) vjpAdd(dst *Tensor, _ int, g *Var, _ []*Var, _ *Var) {
	for i, q := range p.pos {
		dst.Data[q] += g.val.Data[i]
	}
}

var _ accumulatingVJP = pickOp{}

func (p pickOp) jvp(t []*Var, _ []*Var, out *Var) *Var { return pick(t[0], p.pos, out.Shape()) }

// pick gathers the elements of x at the flat positions pos into a value of
// the given shape.
func pick(x *Var, pos []int, shape []int) *Var {
	out := newResultOp1(shape, nil, pickOp{pos}, x)
	od := out.val.Data
	for i, p := range pos {
		od[i] = x.val.Data[p]
	}
	return out
}

type placeOp struct{ pos []int }

func (placeOp) name() string { return "place" }
func (p placeOp) vjp(g *Var, in []*Var, _ *Var, _ []bool) []*Var {
	return []*Var{pick(g, p.pos, in[0].Shape())}
}
func (p placeOp) jvp(t []*Var, _ []*Var, out *Var) *Var { return place(t[0], p.pos, out.Shape()) }

// place adds the elements of g into zeros of the given shape at the flat
// positions pos: the adjoint of pick.
func place(g *Var, pos []int, shape []int) *Var {
	out := newResultOp1(shape, nil, placeOp{pos}, g)
	od := out.val.Data
	for i, p := range pos {
		od[p] += g.val.Data[i]
	}
	return out
}

type logSumExpOp struct {
	axis int
	keep bool
}

func (logSumExpOp) name() string { return "logsumexp" }
func (l logSumExpOp) vjp(g *Var, in []*Var, _ *Var, _ []bool) []*Var {
	s := in[0].Shape()
	return []*Var{Mul(keepDims(g, s, l.axis, l.keep), Softmax(in[0], l.axis))}
}
func (l logSumExpOp) jvp(t []*Var, in []*Var, _ *Var) *Var {
	return SumAxis(Mul(t[0], Softmax(in[0], l.axis)), l.axis, l.keep)
}

// LogSumExp returns log Σ exp(x) along axis, computed stably by shifting by
// the maximum.
func LogSumExp(x *Var, axis int, keepDims bool) *Var {
	a := normAxis(axis, len(x.Shape()), "LogSumExp")
	outer, n, inner := axisSplit(x.Shape(), a)
	out := New(reducedShape(x.Shape(), a, keepDims)...)
	xd := x.val.Data
	if inner == 1 && n > 0 {
		// Rows are contiguous: exponentiate each shifted row in one
		// vector loop.
		buf := kernel.GetBuffer(n)
		defer kernel.PutBuffer(buf)
		tmp := buf.Data()
		for o := range outer {
			row := xd[o*n : (o+1)*n]
			m := rowMax(row)
			if math.IsInf(m, 0) {
				out.Data[o] = m
				continue
			}
			out.Data[o] = m + math.Log(expShifted(tmp, row, m))
		}
		return newVar1(out, logSumExpOp{a, keepDims}, x)
	}
	for o := range outer {
		for j := range inner {
			m := math.Inf(-1)
			for k := range n {
				m = max(m, xd[(o*n+k)*inner+j])
			}
			if math.IsInf(m, 0) {
				out.Data[o*inner+j] = m
				continue
			}
			var s float64
			for k := range n {
				s += math.Exp(xd[(o*n+k)*inner+j] - m)
			}
			out.Data[o*inner+j] = m + math.Log(s)
		}
	}
	return newVar1(out, logSumExpOp{a, keepDims}, x)
}

type softmaxOp struct{ axis int }

func (softmaxOp) name() string { return "softmax" }
func (s softmaxOp) vjp(g *Var, _ []*Var, out *Var, _ []bool) []*Var {
	return []*Var{Mul(out, Sub(g, SumAxis(Mul(g, out), s.axis, true)))}
}
func (s softmaxOp) jvp(t []*Var, _ []*Var, out *Var) *Var {
	return Mul(out, Sub(t[0], SumAxis(Mul(t[0], out), s.axis, true)))
}

// Softmax returns exp(x) normalised to sum to one along axis, computed
// stably.
func Softmax(x *Var, axis int) *Var {
	a := normAxis(axis, len(x.Shape()), "Softmax")
	outer, n, inner := axisSplit(x.Shape(), a)
	out := New(x.Shape()...)
	xd, od := x.val.Data, out.Data
	if inner == 1 && n > 0 {
		for o := range outer {
			row, orow := xd[o*n:(o+1)*n], od[o*n:(o+1)*n]
			s := expShifted(orow, row, rowMax(row))
			for k := range orow {
				orow[k] /= s
			}
		}
		return newVar1(out, softmaxOp{a}, x)
	}
	for o := range outer {
		for j := range inner {
			m := math.Inf(-1)
			for k := range n {
				m = max(m, xd[(o*n+k)*inner+j])
			}
			var s float64
			for k := range n {
				i := (o*n+k)*inner + j
				od[i] = math.Exp(xd[i] - m)
				s += od[i]
			}
			for k := range n {
				od[(o*n+k)*inner+j] /= s
			}
		}
	}
	return newVar1(out, softmaxOp{a}, x)
}

// LogSoftmax returns x − LogSumExp(x) along axis.
func LogSoftmax(x *Var, axis int) *Var {
	return Sub(x, LogSumExp(x, axis, true))
}

// rowMax returns the largest element of row (−Inf for an empty row).
func rowMax(row []float64) float64 {
	m := math.Inf(-1)
	for _, v := range row {
		m = max(m, v)
	}
	return m
}

// expShifted sets dst = exp(row − m) with one vector loop and returns the
// sum of dst, added in order.
func expShifted(dst, row []float64, m float64) float64 {
	dst = dst[:len(row)]
	for k, v := range row {
		dst[k] = v - m
	}
	kernel.Exp(dst, dst)
	var s float64
	for _, e := range dst {
		s += e
	}
	return s
}
