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
	order, index := topoIndex(y)
	t := pushForward(order, index, xs, xdots, createGraph)
	index.release()
	return t
}

// pushForward runs the tangent rules over order (a topological order ending
// with the output; index gives each value's position in it) and returns the
// output's tangent.
//
// Tangents are kept by position, so the pass looks values up in index but
// never grows a map of its own; the tangent lists handed to the rules share
// one buffer (each rule gets its own stretch of it). Without createGraph the
// rules see constant copies of the recorded values, made once per value
// however many operations read it, in one array allocated once (a value's
// copy as an input serves as its copy as an output too when it has no
// scope).
func pushForward(order []*Var, index *varIndex, xs []*Var, xdots []*Var, createGraph bool) *Var {
	// One buffer holds the tangents, the rules' tangent lists and, without
	// createGraph, their input lists of constant copies.
	nIn := 0
	for _, v := range order {
		if v.op != nil {
			nIn += len(v.in)
		}
	}
	n := len(order)
	size := n + nIn
	if !createGraph {
		size += nIn
	}
	vars := make([]*Var, size)
	tan, ts := vars[:n:n], vars[n:n:n+nIn]
	seeded := make([]bool, n)
	for i, x := range xs {
		if !equalInts(x.Shape(), xdots[i].Shape()) {
			panic(fmt.Sprintf("adjoint: tangent shape %v does not match input shape %v", xdots[i].Shape(), x.Shape()))
		}
		k, ok := index.get(x)
		if !ok {
			continue // y does not depend on x
		}
		t := xdots[i]
		if !createGraph && t.tracked {
			t = Detach(t)
		}
		if prev := tan[k]; prev != nil {
			t = Add(prev, t)
		}
		tan[k], seeded[k] = t, true
	}
	var posBuf [4]int
	pos := posBuf[:0]
	var det []Var
	var detIn []*Var
	if !createGraph {
		det = make([]Var, n)
		detIn = vars[n+nIn : n+nIn]
	}
	for i, v := range order {
		if seeded[i] || v.op == nil {
			continue
		}
		pos = pos[:0]
		any := false
		for _, x := range v.in {
			k := index.at(x)
			pos = append(pos, k)
			any = any || tan[k] != nil
		}
		if !any {
			continue
		}
		start := len(ts)
		for _, k := range pos {
			ts = append(ts, tan[k])
		}
		in, out := v.in, v
		if !createGraph {
			start := len(detIn)
			for _, k := range pos {
				d := &det[k]
				if d.val == nil {
					d.val = order[k].val
				}
				detIn = append(detIn, d)
			}
			in = detIn[start:len(detIn):len(detIn)]
			if v.scope == nil {
				// The same constant as v's copy as an input: a copy
				// without a scope, like Detach(v).
				out = &det[i]
				if out.val == nil {
					out.val = v.val
				}
			} else {
				out = Detach(v)
			}
		}
		tan[i] = v.op.jvp(ts[start:len(ts):len(ts)], in, out)
	}
	if t := tan[n-1]; t != nil {
		return t
	}
	return Const(New(order[n-1].Shape()...))
}

// JVP evaluates f at x and returns f(x) and the Jacobian-vector product
// J(x)·v by forward mode.
func JVP(f func(*Var) *Var, x, v *Tensor) (y, ydot *Tensor) {
	xp := Param(x)
	out := f(xp)
	return out.val, Tangent(out, []*Var{xp}, []*Var{Const(v)}, false).val
}
