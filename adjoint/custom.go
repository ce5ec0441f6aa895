package adjoint

import "fmt"

// Custom VJPs: a flat Func with hand-written derivatives used as one
// operation inside a traced program, and a traced program used as a Func.

type funcOp struct{ f Func }

func (funcOp) name() string { return "func" }
func (o funcOp) vjp(g *Var, in []*Var, _ *Var, _ []bool) []*Var {
	return []*Var{funcVJP(o.f, in[0], g)}
}
func (o funcOp) jvp(t []*Var, in []*Var, _ *Var) *Var { return funcJVP(o.f, in[0], t[0]) }

// Apply uses the flat function f as one operation on x (flattened; its
// size must be f's input length). The result is a 1-D value of f's output
// length. The reverse pass calls f.VJP; forward mode calls f.JVP when f is a
// JVPer and otherwise assembles J·v from one VJP per output.
//
// Gradients through Apply are exact to first order. The VJP may be
// differentiated again with respect to the cotangent (that is a JVP of f),
// but not with respect to x: f supplies no second derivatives, and asking
// for them panics. A *TracedFunc is inlined instead, so it keeps every
// order.
func Apply(f Func, x *Var) *Var {
	in, out := f.Dims()
	if x.Size() != in {
		panic(fmt.Sprintf("adjoint: Apply: %T takes %d inputs, got shape %v", f, in, x.Shape()))
	}
	if t, ok := f.(*TracedFunc); ok {
		return Reshape(t.F(Reshape(x, in)), out)
	}
	y := New(out)
	f.Eval(y.Data, x.val.Data)
	return newVar1(y, funcOp{f}, x)
}

type funcVJPOp struct{ f Func }

func (funcVJPOp) name() string { return "func_vjp" }
func (o funcVJPOp) vjp(h *Var, in []*Var, _ *Var, need []bool) []*Var {
	if need[0] {
		panic(noSecondOrder(o.f))
	}
	return []*Var{nil, funcJVP(o.f, in[0], h)}
}
func (o funcVJPOp) jvp(t []*Var, in []*Var, _ *Var) *Var {
	if t[0] != nil {
		panic(noSecondOrder(o.f))
	}
	return funcVJP(o.f, in[0], t[1])
}

// funcVJP is the value Jᵀg as an operation of (x, g).
func funcVJP(f Func, x, g *Var) *Var {
	xbar := New(x.Size())
	f.VJP(xbar.Data, x.val.Data, g.val.Data)
	return Reshape(newVar2(xbar, funcVJPOp{f}, x, g), x.Shape()...)
}

type funcJVPOp struct{ f Func }

func (funcJVPOp) name() string { return "func_jvp" }
func (o funcJVPOp) vjp(h *Var, in []*Var, _ *Var, need []bool) []*Var {
	if need[0] {
		panic(noSecondOrder(o.f))
	}
	return []*Var{nil, funcVJP(o.f, in[0], h)}
}
func (o funcJVPOp) jvp(t []*Var, in []*Var, _ *Var) *Var {
	if t[0] != nil {
		panic(noSecondOrder(o.f))
	}
	return funcJVP(o.f, in[0], t[1])
}

// funcJVP is the value J·u as an operation of (x, u).
func funcJVP(f Func, x, u *Var) *Var {
	_, m := f.Dims()
	y := New(m)
	if j, ok := f.(JVPer); ok {
		j.JVP(y.Data, x.val.Data, u.val.Data)
	} else {
		// Row i of J is the VJP with the i-th unit cotangent.
		e := make([]float64, m)
		row := make([]float64, x.Size())
		for i := range m {
			clear(row)
			e[i] = 1
			f.VJP(row, x.val.Data, e)
			e[i] = 0
			var s float64
			for k, r := range row {
				s += r * u.val.Data[k]
			}
			y.Data[i] = s
		}
	}
	return newVar2(y, funcJVPOp{f}, x, Reshape(u, -1))
}

func noSecondOrder(f Func) string {
	return fmt.Sprintf("adjoint: second derivatives of custom Func %T are not available: it supplies first derivatives only (write it with traced ops, or wrap a traced function in TracedFunc)", f)
}

// TracedFunc turns a traced program into a Func on the bridge (Record):
// every method records one run of F on a tracked leaf and answers from it.
// F takes a 1-D value of length In and must return a value of Out elements.
type TracedFunc struct {
	F       func(x *Var) *Var
	In, Out int
}

var (
	_ Func  = (*TracedFunc)(nil)
	_ JVPer = (*TracedFunc)(nil)
)

// Dims returns the input and output lengths.
func (t *TracedFunc) Dims() (in, out int) { return t.In, t.Out }

// Eval computes y = F(x).
func (t *TracedFunc) Eval(y, x []float64) { copy(y, t.record(x).Value()) }

// VJP accumulates xbar += J(x)ᵀ ybar.
func (t *TracedFunc) VJP(xbar, x, ybar []float64) { t.record(x).VJP([][]float64{xbar}, ybar) }

// JVP computes ydot = J(x)·xdot by forward mode.
func (t *TracedFunc) JVP(ydot, x, xdot []float64) { t.record(x).JVP(ydot, xdot) }

func (t *TracedFunc) record(x []float64) *Recording {
	if len(x) != t.In {
		panic(fmt.Sprintf("adjoint: TracedFunc takes %d inputs, got %d", t.In, len(x)))
	}
	return Record(func(in []*Var) *Var { return t.call(in[0]) }, vector(x))
}

func (t *TracedFunc) call(x *Var) *Var {
	y := t.F(x)
	if y.Size() != t.Out {
		panic(fmt.Sprintf("adjoint: TracedFunc declared %d outputs, F returned shape %v", t.Out, y.Shape()))
	}
	return Reshape(y, t.Out)
}

// Primitive is a differentiable operation defined outside this package: the
// extension point through which other packages add operations that compute
// their own values and derivatives (package ode's ODE solve is one). Custom
// puts it into a graph.
//
// Both rules receive and return Vars and must compute with this package's
// operations (other Primitives included), so that the rules can themselves
// be differentiated: that is what keeps GradGraph, Hessians and
// forward-over-reverse exact through the operation. During a plain pass
// (no CreateGraph) the rules receive constants, so nothing they compute is
// recorded.
type Primitive interface {
	// Name names the operation; Var.Op reports it.
	Name() string
	// VJP returns the cotangent of each input, with the input's shape,
	// given the output's cotangent g. The entry of an input whose need[i]
	// is false may be nil.
	VJP(g *Var, in []*Var, out *Var, need []bool) []*Var
	// JVP returns the output's tangent, with the output's shape, given
	// the inputs' tangents; a nil tangent is zero, and at least one is
	// non-nil.
	JVP(tan []*Var, in []*Var, out *Var) *Var
}

// Custom returns the value out as the result of the Primitive p applied to
// in. The caller has computed out from the inputs' values; Custom records
// the operation when some input is tracked, and otherwise returns a
// constant. out must not be modified afterwards.
func Custom(p Primitive, out *Tensor, in ...*Var) *Var {
	return newVar(out, customOp{p}, in...)
}

type customOp struct{ p Primitive }

func (c customOp) name() string { return c.p.Name() }

func (c customOp) vjp(g *Var, in []*Var, out *Var, need []bool) []*Var {
	gs := c.p.VJP(g, in, out, need)
	if len(gs) != len(in) {
		panic(fmt.Sprintf("adjoint: %s.VJP returned %d cotangents for %d inputs", c.p.Name(), len(gs), len(in)))
	}
	for i, x := range gs {
		if x != nil && !equalInts(x.Shape(), in[i].Shape()) {
			panic(fmt.Sprintf("adjoint: %s.VJP returned shape %v for input %d of shape %v", c.p.Name(), x.Shape(), i, in[i].Shape()))
		}
	}
	return gs
}

func (c customOp) jvp(t []*Var, in []*Var, out *Var) *Var {
	r := c.p.JVP(t, in, out)
	if !equalInts(r.Shape(), out.Shape()) {
		panic(fmt.Sprintf("adjoint: %s.JVP returned shape %v for an output of shape %v", c.p.Name(), r.Shape(), out.Shape()))
	}
	return r
}
