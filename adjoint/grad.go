package adjoint

import "fmt"

// GradSettings configures a reverse-mode pass. A nil *GradSettings means the
// defaults described on each field.
type GradSettings struct {
	// Cotangent is the seed ȳ of the vector-Jacobian product ȳᵀ ∂y/∂x.
	// Nil means 1, which requires y to have exactly one element. It must
	// have y's shape.
	Cotangent *Var
	// CreateGraph records the backward pass itself as a differentiable
	// graph, so that the returned gradients can be differentiated again
	// (Hessian-vector products, MAML). False (the default) computes plain
	// values and records nothing.
	CreateGraph bool
	// Flow, when not nil, is overwritten with a record of the pass: the
	// norm of every value's cotangent and the local gain of every
	// operation (see Flow). The pass then computes the cotangent of every
	// tracked value y depends on, not only of those on the way to wrt,
	// and takes some more time and memory; the gradients it returns are
	// the same. Nil (the default) records nothing and costs nothing.
	Flow *Flow
}

// Backward is the general reverse-mode pass: it returns ȳᵀ ∂y/∂w for each w
// in wrt, in order. Any tracked Var may appear in wrt, leaves and
// intermediate values alike; a tracked w that y does not depend on gets
// zeros. Gradients are accumulated over every path, so values used several
// times are handled exactly.
//
// Every w must be tracked (a Param, or computed from one): the derivative
// with respect to a constant is not defined by the graph — a constant could
// have been computed from anything — so asking for it is a programmer error
// and panics with an "adjoint: " message instead of returning zeros that
// would silently be wrong wherever the constant stands for a variable.
func Backward(y *Var, wrt []*Var, s *GradSettings) []*Var {
	checkTracked("Backward", wrt)
	var seed *Var
	var flow *Flow
	create := false
	if s != nil {
		seed, create, flow = s.Cotangent, s.CreateGraph, s.Flow
	}
	if seed == nil {
		if y.Size() != 1 {
			panic(fmt.Sprintf("adjoint: gradient of a value with shape %v needs a cotangent", y.Shape()))
		}
		seed = Const(Full(1, y.Shape()...))
	} else if !equalInts(seed.Shape(), y.Shape()) {
		panic(fmt.Sprintf("adjoint: cotangent shape %v does not match value shape %v", seed.Shape(), y.Shape()))
	}
	if !create && seed.tracked {
		seed = Detach(seed)
	}

	sw := newSweep(y, wrt)
	if flow != nil {
		sw.rec = newFlowRecorder(flow, sw.order, sw.index)
		for i, v := range sw.order {
			sw.relevant[i] = v.tracked
		}
	}
	gs := sw.backward(seed, wrt, create)
	sw.index.release()
	return gs
}

// sweep is the part of a reverse pass that depends only on the graph and the
// set of wanted gradients, so that several passes over one graph (one per
// Jacobian row) share it.
type sweep struct {
	order    []*Var
	index    *varIndex
	relevant []bool // order[i] lies on a path from a wanted value to y
	keep     []bool // order[i]'s cotangent must survive the pass
	rec      *flowRecorder
}

func newSweep(y *Var, wrt []*Var) *sweep {
	order, index := topoIndex(y)
	relevant := make([]bool, len(order))
	keep := make([]bool, len(order))
	keep[len(order)-1] = true
	for _, w := range wrt {
		if i, ok := index.get(w); ok {
			relevant[i] = true
			keep[i] = true
		}
	}
	for i, v := range order {
		if relevant[i] {
			continue
		}
		for _, x := range v.in {
			if relevant[index.at(x)] {
				relevant[i] = true
				break
			}
		}
	}
	return &sweep{order: order, index: index, relevant: relevant, keep: keep}
}

func (s *sweep) backward(seed *Var, wrt []*Var, create bool) []*Var {
	order, index, relevant, rec := s.order, s.index, s.relevant, s.rec
	ct := make([]*Var, len(order))
	ct[len(order)-1] = seed
	need := make([]bool, 0, 4)
	// Without CreateGraph the rules see constant copies of the recorded
	// values, so that nothing they compute is recorded. Each value is
	// copied once however many operations read it, and the input lists
	// share one buffer.
	var det []Var
	var detIn []*Var
	detached := func(i int) *Var {
		d := &det[i]
		if d.val == nil {
			d.val = order[i].val
		}
		return d
	}
	if !create {
		det = make([]Var, len(order))
		n := 0
		for i, v := range order {
			if relevant[i] {
				n += len(v.in)
			}
		}
		detIn = make([]*Var, 0, n)
	}
	// Without CreateGraph, a value that collects several contributions
	// gets a buffer of its own at the second one (owned[k]), and later
	// contributions are added into it in place, some (matrix products)
	// straight from the operation; the buffer is never shared, and nothing
	// else sees it until it is returned.
	var owned []bool
	var direct []bool // per input of the current operation: added in place
	if !create {
		owned = make([]bool, len(order))
	}
	for i := len(order) - 1; i >= 0; i-- {
		v, g := order[i], ct[i]
		if g == nil || v.op == nil || !relevant[i] {
			continue
		}
		if rec != nil {
			rec.cotangent(i, g)
		}
		need = need[:0]
		any := false
		for _, x := range v.in {
			r := relevant[index.at(x)]
			need = append(need, r)
			any = any || r
		}
		if !any {
			continue
		}
		in, out := v.in, v
		if !create {
			start := len(detIn)
			for _, x := range v.in {
				detIn = append(detIn, detached(index.at(x)))
			}
			in, out = detIn[start:len(detIn):len(detIn)], detached(i)
		}
		direct = direct[:0]
		if acc, ok := v.op.(accumulatingVJP); ok && !create && rec == nil {
			for j, x := range v.in {
				k := index.at(x)
				d := need[j] && acc.accumulates(j)
				if d && !owned[k] {
					d = ct[k] == nil && acc.fromZero(j)
					if d {
						// The first contribution, added to zeros of the
						// input's shape in a buffer of its own.
						ct[k], owned[k] = new(result0).init(x.Shape()), true
					}
				}
				direct = append(direct, d)
				if d {
					need[j] = false
				}
			}
		}
		gs := v.op.vjp(g, in, out, need)
		if rec != nil {
			rec.contributions(i, index, gs)
		}
		for j, x := range direct {
			if x {
				need[j] = true
				v.op.(accumulatingVJP).vjpAdd(ct[index.at(v.in[j])].val, j, g, in, out)
			}
		}
		for j, x := range v.in {
			if !need[j] || (j < len(direct) && direct[j]) || gs[j] == nil {
				continue
			}
			k := index.at(x)
			switch {
			case ct[k] == nil:
				ct[k] = gs[j]
				if fr, ok := v.op.(freshVJP); ok && !create && rec == nil && fr.freshVJP(j) && SameShape(gs[j].val, x.val) {
					owned[k] = true // later contributions are added into it
				}
			case create || !SameShape(ct[k].val, gs[j].val):
				ct[k] = Add(ct[k], gs[j])
			case owned[k]:
				addInto(ct[k].val.Data, gs[j].val.Data)
			default:
				sum := &struct {
					v Var
					t Tensor
				}{t: Tensor{Shape: ct[k].val.Shape, Data: make([]float64, ct[k].Size())}}
				binAdd.loop(sum.t.Data, ct[k].val.Data, gs[j].val.Data, nil)
				sum.v.val = &sum.t
				ct[k], owned[k] = &sum.v, true
			}
		}
		if !create && !s.keep[i] {
			ct[i] = nil // free intermediate cotangents as soon as they are used
		}
	}

	if rec != nil {
		rec.finish(ct)
	}
	res := make([]*Var, len(wrt))
	for j, w := range wrt {
		if i, ok := index.get(w); ok && ct[i] != nil {
			res[j] = ct[i]
			if !create && res[j].tracked {
				res[j] = Detach(res[j]) // (cotangents of an unrecorded pass are constants already)
			}
		} else {
			res[j] = Const(New(w.Shape()...))
		}
	}
	return res
}

// accumulatingVJP is implemented by primitives that can add the
// contribution of their VJP for input j straight into a buffer:
// dst += (∂out/∂in[j])ᵀ g, with the rounding of computing the contribution
// and adding it. The reverse pass uses it, without CreateGraph, for values
// that collect several contributions.
type accumulatingVJP interface {
	// accumulates reports whether vjpAdd handles input j.
	accumulates(j int) bool
	// fromZero reports whether vjpAdd for input j into zeros gives
	// exactly what vjp returns, so that a first contribution may be
	// added into a fresh buffer too.
	fromZero(j int) bool
	vjpAdd(dst *Tensor, j int, g *Var, in []*Var, out *Var)
}

// freshVJP is implemented by primitives whose VJP, in a pass without
// CreateGraph, returns for input j a new buffer that nothing else refers
// to. The reverse pass then owns a first contribution as it is and adds
// later ones into it in place, instead of allocating a sum.
type freshVJP interface {
	freshVJP(j int) bool
}

var (
	_ freshVJP = scaleOp{}
	_ freshVJP = mulOp{}
	_ freshVJP = subOp{}
	_ freshVJP = unaryOp{}
)

func (scaleOp) freshVJP(int) bool { return true }   // Scale(g, c)
func (mulOp) freshVJP(int) bool   { return true }   // SumTo(Mul(g, ·)): a product, summed or not
func (subOp) freshVJP(j int) bool { return j == 1 } // SumTo(Neg(g)); input 0 gets g itself
func (unaryOp) freshVJP(int) bool { return true }   // a mask, a fused product or Mul(g, ·)

// addInto adds src to dst elementwise.
func addInto(dst, src []float64) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// Grad returns the gradient of the one-element value y with respect to each
// of wrt, as plain tensors.
func Grad(y *Var, wrt ...*Var) []*Tensor {
	return values(Backward(y, wrt, nil))
}

// GradGraph returns the gradient of the one-element value y with respect to
// each of wrt as differentiable values: the backward pass is recorded, so
// the result can be differentiated again exactly.
func GradGraph(y *Var, wrt ...*Var) []*Var {
	return Backward(y, wrt, &GradSettings{CreateGraph: true})
}

// VJP returns the vector-Jacobian products ybarᵀ ∂y/∂w for each w in wrt.
func VJP(y *Var, ybar *Tensor, wrt ...*Var) []*Tensor {
	return values(Backward(y, wrt, &GradSettings{Cotangent: Const(ybar)}))
}

// checkTracked panics unless every Var in vs is tracked.
func checkTracked(who string, vs []*Var) {
	for i, v := range vs {
		if !v.tracked {
			panic(fmt.Sprintf("adjoint: %s: derivative with respect to argument %d (shape %v), which is not tracked: "+
				"it is a constant or computed from constants only, so no derivative with respect to it exists; "+
				"make it a Param (or compute it from one)", who, i, v.Shape()))
		}
	}
}

func values(vs []*Var) []*Tensor {
	ts := make([]*Tensor, len(vs))
	for i, v := range vs {
		ts[i] = v.val
	}
	return ts
}

// topoOrder returns every Var that y depends on through recorded operations,
// inputs before the values computed from them, ending with y. It is
// iterative so that very long chains (recurrences of 10⁵ steps) cannot
// overflow the stack.
func topoOrder(y *Var) []*Var {
	order, _ := topoIndex(y)
	return order
}

// topoIndex is topoOrder together with each Var's position in the order.
// One index serves as both the visited set and the positions: −1 marks a
// Var whose inputs are still being visited.
func topoIndex(y *Var) ([]*Var, *varIndex) {
	// Room for a small graph from the start: growing the index and the
	// slices step by step cost more allocations than the pass's arithmetic
	// on small networks.
	const small = 48
	order := make([]*Var, 0, small)
	index := acquireVarIndex()
	index.set(y, -1)
	type frame struct {
		v    *Var
		next int
	}
	stack := make([]frame, 1, small/2)
	stack[0] = frame{v: y}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.next < len(f.v.in) {
			x := f.v.in[f.next]
			f.next++
			if _, seen := index.get(x); !seen {
				index.set(x, -1)
				stack = append(stack, frame{v: x})
			}
			continue
		}
		index.set(f.v, len(order))
		order = append(order, f.v)
		stack = stack[:len(stack)-1]
	}
	return order, index
}
