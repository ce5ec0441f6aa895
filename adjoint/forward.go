package adjoint

import "fmt"

// Forward mode. A traced program is pushed forward in tangent space by each
// primitive's JVP rule, visiting the recorded operations in evaluation
// order. Because the tangent rules are written with differentiable
// operations, a tangent can itself be differentiated (forward-over-reverse
// Hessian-vector products, reverse-over-forward), and forward mode nests.

// Tangent returns the directional derivative of y along the given input
// tangents: ẏ = Σᵢ ∂y/∂xᵢ · ẋᵢ, where ẋᵢ has xᵢ's shape. The xs may be any
// tracked Vars; one that y does not depend on contributes nothing. As in
// Backward, an untracked x (a constant) panics. With createGraph the result
// stays differentiable; otherwise it is a plain value.
func Tangent(y *Var, xs []*Var, xdots []*Var, createGraph bool) *Var {
	if len(xs) != len(xdots) {
		panic(fmt.Sprintf("adjoint: Tangent: %d inputs but %d tangents", len(xs), len(xdots)))
	}
	checkTracked("Tangent", xs)
	return pushForward(topoOrder(y), xs, xdots, createGraph)
}

// pushForward runs the tangent rules over order (a topological order ending
// with the output) and returns the output's tangent.
func pushForward(order []*Var, xs []*Var, xdots []*Var, createGraph bool) *Var {
	tan := make(map[*Var]*Var, len(xs))
	for i, x := range xs {
		if !equalInts(x.Shape(), xdots[i].Shape()) {
			panic(fmt.Sprintf("adjoint: tangent shape %v does not match input shape %v", xdots[i].Shape(), x.Shape()))
		}
		t := xdots[i]
		if !createGraph {
			t = Detach(t)
		}
		if prev, ok := tan[x]; ok {
			t = Add(prev, t)
		}
		tan[x] = t
	}
	ts := make([]*Var, 0, 4)
	for _, v := range order {
		if _, seeded := tan[v]; seeded || v.op == nil {
			continue
		}
		ts = ts[:0]
		any := false
		for _, x := range v.in {
			t := tan[x]
			ts = append(ts, t)
			any = any || t != nil
		}
		if !any {
			continue
		}
		in, out := v.in, v
		if !createGraph {
			in, out = detachAll(v.in), Detach(v)
		}
		tan[v] = v.op.jvp(append([]*Var(nil), ts...), in, out)
	}
	y := order[len(order)-1]
	if t, ok := tan[y]; ok {
		return t
	}
	return Const(New(y.Shape()...))
}

// JVP evaluates f at x and returns f(x) and the Jacobian-vector product
// J(x)·v by forward mode.
func JVP(f func(*Var) *Var, x, v *Tensor) (y, ydot *Tensor) {
	xp := Param(x)
	out := f(xp)
	return out.val, Tangent(out, []*Var{xp}, []*Var{Const(v)}, false).val
}
