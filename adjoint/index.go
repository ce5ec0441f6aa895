package adjoint

import "fmt"

// Element access: small vector fields and losses are most naturally written
// component by component, y₁' = −p₁ y₁² − y₃ and so on.

// Index returns the element of x at the multi-index idx as a 0-D value,
// differentiable like any operation (its adjoint places the cotangent back
// at that position). It panics if idx does not fit x's shape.
func Index(x *Var, idx ...int) *Var {
	return pick(x, []int{x.val.offset(idx)}, []int{})
}

// Elements returns every element of x, in row-major order, as 0-D values.
// Each element's adjoint is a value of x's full size, so the reverse pass
// through Elements costs O(size²): it is meant for the handful of
// components of a small state vector; use Slice or Take for large ones.
func Elements(x *Var) []*Var {
	n := x.Size()
	out := make([]*Var, n)
	// One allocation holds every element with its tensor, position and
	// recorded edge: the same values pick would make one by one.
	es := make([]element, n)
	for i := range es {
		e := &es[i]
		e.d[0], e.pos[0] = x.val.Data[i], i
		e.t = Tensor{Shape: []int{}, Data: e.d[:]}
		e.v = Var{val: &e.t, scope: x.scope}
		if x.tracked {
			e.op.pos, e.in[0] = e.pos[:], x
			e.v.op, e.v.in, e.v.tracked = &e.op, e.in[:], true
		}
		out[i] = &e.v
	}
	return out
}

// element is one 0-D value of Elements and everything it refers to.
type element struct {
	v   Var
	t   Tensor
	d   [1]float64
	pos [1]int
	op  pickOp
	in  [1]*Var
}

// Stack joins values of one shape along a new leading axis: k values of
// shape s give one of shape [k, s...], so stacking 0-D values makes a
// vector. It panics if the shapes differ or xs is empty.
func Stack(xs ...*Var) *Var {
	if len(xs) == 0 {
		panic("adjoint: Stack of nothing")
	}
	s := xs[0].Shape()
	shape := append([]int{1}, s...)
	parts := make([]*Var, len(xs))
	for i, x := range xs {
		if !equalInts(x.Shape(), s) {
			panic(fmt.Sprintf("adjoint: Stack: shapes %v and %v differ", s, x.Shape()))
		}
		parts[i] = Reshape(x, shape...)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return Concat(0, parts...)
}
