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
	out := make([]*Var, x.Size())
	for i := range out {
		out[i] = pick(x, []int{i}, []int{})
	}
	return out
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
