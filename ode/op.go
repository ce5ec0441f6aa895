package ode

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Op is an ODE solve as one operation of a traced program (package
// adjoint): its inputs are the initial state y₀ and the parameters θ as
// Vars, its output the states at the requested times (and, optionally, the
// integral of a running cost) as one Var, so a solve can sit anywhere in a
// larger computation — a neural vector field inside a model, a loss of
// one's own on the solution, several solves in one objective.
//
// Derivatives through the op are those of the exact solution map, computed
// to the accuracy of the solves — for Discrete, exactly those of the
// computed solution with its steps held fixed, to every order:
//
//   - reverse mode (adjoint.Grad, Backward, VJP) runs Method, any of the
//     package's sensitivity methods, from what the forward solve kept (the
//     checkpoints of Interpolating, the steps of Discrete), so a gradient
//     costs one forward and one backward solve, as with Gradient;
//   - forward mode (adjoint.Tangent, JVP) integrates the forward
//     sensitivities along the one tangent direction, on the steps of the
//     forward solve when Method keeps them (Interpolating, Discrete);
//   - second order is exact: the op's VJP is itself an operation whose
//     derivatives solve the tangent system [y, s]' = [f, ∂f/∂y·s + ∂f/∂θ·θ̇]
//     forwards and its adjoint backwards (forward-over-adjoint, the method
//     of CVODES's cvsHessian_ASA_FSA), so adjoint.HVPArgs, HessianArgs,
//     GradGraph and HVP give Hessians of ODE functionals without finite
//     differences. Every rule is built from the same two operations on
//     derived systems, so higher orders follow the same way.
//
// Exactness of second derivatives needs second derivatives of f: a Traced
// system provides them to every order (its tangent system is again a
// Traced system). Any other System must implement VJPer and JVPer; its
// second derivatives then come from SecondOrderer when it has it and from
// central differences of its VJPs (about 1e-10 relative) otherwise.
//
// An Op is configured by its fields and must not be changed after its first
// use; it may then be used from several goroutines.
type Op struct {
	// System is the right-hand side f(t, y, p).
	System System
	// T0 and T1 are the initial and final times; T1 < T0 integrates
	// backwards.
	T0, T1 float64
	// Times lists the output times, in the direction of integration and
	// within [T0, T1]; they may repeat and include T0. Nil means T1 only.
	Times []float64
	// Integrand, if non-nil, is a running cost g(t, y, p) written with the
	// adjoint package's operations (t 0-D, y and p 1-D, one element
	// returned); SolveIntegral returns ∫_{T0}^{T1} g dt, integrated with
	// the solution under the same error control. Its derivatives are exact
	// to every order. Nil means none.
	Integrand func(t, y, p *adjoint.Var) *adjoint.Var
	// Integral is the running cost as a hand-written Integral instead, for
	// speed: exact first derivatives, second derivatives by central
	// differences of its gradient. At most one of Integrand and Integral
	// may be set. Nil means none.
	Integral *Integral
	// Solver integrates; nil means DP5.
	Solver Solver
	// Method computes the op's VJPs; nil means Interpolating{}. Its
	// OnAdjoint callback, if any, sees the first-order adjoint only.
	Method Sensitivity
	// Settings configures the solves; nil means defaults. SaveAt must be
	// nil: Times replaces it.
	Settings *Settings

	once sync.Once
	fam  *family

	mu    sync.Mutex
	err   error
	stats OpStats
}

// OpStats counts the work of an Op's solves since its creation.
type OpStats struct {
	// Solves counts forward solves and Adjoints backward passes (VJPs),
	// of the op and of the derived systems its second derivatives solve.
	Solves, Adjoints int
	// Forward and Backward add up the statistics of those solves; their
	// PeakStored is the largest of any one solve.
	Forward, Backward Stats
}

// Solve returns the states at Times as a Var of shape [len(Times), n]. y0
// may have any shape with n elements and theta any shape with np elements;
// a nil theta stands for no parameters. Both may be constants or tracked
// values.
//
// A failed solve returns an error (an *Error inside) together with a value
// filled with NaN, and records the error for Err as well, so that code
// running inside a function that cannot return errors (the f of
// adjoint.HessianArgs, say) may check Err afterwards instead.
func (o *Op) Solve(y0, theta *adjoint.Var) (*adjoint.Var, error) {
	states, _, err := o.solve(y0, theta)
	return states, err
}

// SolveIntegral is Solve that also returns the integral of the running
// cost (Integrand or Integral) over [T0, T1] as a 0-D value. It panics if
// the op has no running cost.
func (o *Op) SolveIntegral(y0, theta *adjoint.Var) (states, integral *adjoint.Var, err error) {
	if o.Integrand == nil && o.Integral == nil {
		panic("ode: Op.SolveIntegral needs an Integrand or an Integral")
	}
	return o.solve(y0, theta)
}

// Err returns the first error since the previous call of Err of a solve run
// for this op — by Solve, or by a derivative pass through its values (an
// adjoint or tangent solve that failed), whose results are then NaN — and
// clears it. Nil means every solve succeeded.
func (o *Op) Err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	err := o.err
	o.err = nil
	return err
}

// Stats returns the work done so far.
func (o *Op) Stats() OpStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stats
}

func (o *Op) fail(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err == nil {
		o.err = err
	}
}

func (o *Op) count(res *GradientResult, adjoints bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if adjoints {
		o.stats.Adjoints++
		o.stats.Backward.add(res.Backward)
	} else {
		o.stats.Solves++
	}
	o.stats.Forward.add(res.Forward)
}

func (o *Op) solve(y0, theta *adjoint.Var) (states, integral *adjoint.Var, err error) {
	f := o.family()
	if theta == nil {
		theta = adjoint.Const(adjoint.New(0))
	}
	if y0.Size() != f.n || theta.Size() != f.np {
		panic(fmt.Sprintf("ode: Op.Solve: y0 has %d elements and theta %d, the system wants %d and %d", y0.Size(), theta.Size(), f.n, f.np))
	}
	out, err := f.solveVar(y0, theta, nil)
	m := len(f.times)
	states = adjoint.Reshape(adjoint.Slice(out, 0, 0, m*f.n), m, f.n)
	if f.integFlat != nil {
		integral = adjoint.Reshape(adjoint.Slice(out, 0, m*f.n, m*f.n+1))
	}
	return states, integral, err
}

// family builds the op's family once, checking the configuration.
func (o *Op) family() *family {
	o.once.Do(func() {
		if o.System == nil {
			panic("ode: Op.System is nil")
		}
		if o.Settings != nil && o.Settings.SaveAt != nil {
			panic("ode: Op.Settings.SaveAt must be nil: Op.Times gives the output times")
		}
		if math.IsNaN(o.T0) || math.IsNaN(o.T1) || math.IsInf(o.T0, 0) || math.IsInf(o.T1, 0) {
			panic(fmt.Sprintf("ode: Op: invalid time interval [%v, %v]", o.T0, o.T1))
		}
		times := slices.Clone(o.Times)
		if times == nil {
			times = []float64{o.T1}
		}
		if len(times) == 0 {
			panic("ode: Op.Times is empty")
		}
		checkTimes("Op.Times", times, o.T0, o.T1)
		n, np := o.System.Dims()
		solver := o.Solver
		if solver == nil {
			solver = DP5
		}
		method := o.Method
		if method == nil {
			method = &Interpolating{}
		}
		var set Settings
		if o.Settings != nil {
			set = *o.Settings
		}
		o.fam = &family{op: o, sys: o.System, integ: o.Integrand, n: n, np: np, t0: o.T0, t1: o.T1,
			times: times, solver: solver, method: method, set: set}
		switch {
		case o.Integrand != nil && o.Integral != nil:
			panic("ode: Op has both an Integrand and an Integral")
		case o.Integrand != nil:
			o.fam.integFlat = TracedIntegral(o.Integrand)
		case o.Integral != nil:
			if o.Integral.G == nil || o.Integral.Grad == nil {
				panic("ode: Op.Integral needs G and Grad")
			}
			o.fam.integFlat = o.Integral
		}
	})
	return o.fam
}

// family is one ODE solve map (y₀, θ) ↦ (y(tᵢ)ᵢ, ∫g) and the operations on
// it: the solve, its adjoint (VJP) and, through the tangent family, their
// derivatives. The tangent family is the same construction for the tangent
// system, built on first use, so derivatives of any order unfold from the
// two operations.
type family struct {
	op        *Op // where errors and statistics go
	order     int // 0 for the op's own system, k for its k-th tangent system
	sys       System
	integ     func(t, y, p *adjoint.Var) *adjoint.Var // the traced running cost, if given so
	integFlat *Integral                               // the running cost (nil: none)
	n, np     int
	t0, t1    float64
	times     []float64
	solver    Solver
	method    Sensitivity
	set       Settings

	tanOnce sync.Once
	tan     *family

	mu    sync.Mutex
	cache *tape // the latest tape, for an adjoint at the inputs just solved
}

// tape is one forward solve: its inputs, what the sensitivity method kept,
// and the flat output.
type tape struct {
	y0, p []float64
	on    *stepTape // the steps the solve was told to take, or nil
	job   *gradJob
	tr    *fwdTrace
	rec   any
	out   []float64
}

// steps returns the steps the solve took, when its method kept them
// (Interpolating, Discrete), for the tangent system's solves to follow:
// the derivative of the solution is then that of the computed solution
// with its steps held fixed, exactly so for Discrete.
func (tp *tape) steps() *stepTape {
	if tp == nil {
		return nil
	}
	switch r := tp.rec.(type) {
	case *interpTape:
		return &stepTape{ts: r.ts, hs: r.hs}
	case *stepTape:
		return r
	}
	return nil
}

// nq is the number of integral outputs.
func (f *family) nq() int {
	if f.integFlat != nil {
		return 1
	}
	return 0
}

func (f *family) outSize() int { return len(f.times)*f.n + f.nq() }

func (f *family) name(what string) string {
	return "ode." + what + strings.Repeat("′", f.order)
}

// record solves at (y0, p), taking the given steps if on is non-nil, and
// keeps the tape.
func (f *family) record(y0, p []float64, on *stepTape) (*tape, error) {
	zero := func(int, []float64, []float64) float64 { return 0 }
	cost := Cost{Observations: &Observations{Times: f.times, G: zero, Grad: func(_, _ []float64, _ int, _, _ []float64) {}},
		Integral: f.integFlat}
	prob := Problem{System: f.sys, T0: f.t0, T1: f.t1, Y0: y0, P: p}
	j := newGradJob(prob, cost, f.solver, &f.set, f.n, f.np)
	j.steps = on
	tr, rec, err := f.method.record(j)
	f.op.count(j.res, false)
	if err != nil {
		return nil, fmt.Errorf("ode: solve op: %w", err)
	}
	tp := &tape{y0: y0, p: p, on: on, job: j, tr: tr, rec: rec, out: make([]float64, f.outSize())}
	for i, y := range tr.obsY {
		copy(tp.out[i*f.n:], y)
	}
	if f.integFlat != nil {
		tp.out[len(tp.out)-1] = tr.x[f.n]
	}
	f.mu.Lock()
	f.cache = tp
	f.mu.Unlock()
	return tp, nil
}

// tapeFor returns the tape of a solve at (y0, p) on the steps on: the
// latest one when its inputs are the same, otherwise a new solve.
func (f *family) tapeFor(y0, p []float64, on *stepTape) (*tape, error) {
	f.mu.Lock()
	c := f.cache
	f.mu.Unlock()
	if c != nil && c.on.same(on) && slices.Equal(c.y0, y0) && slices.Equal(c.p, p) {
		return c, nil
	}
	return f.record(slices.Clone(y0), slices.Clone(p), on)
}

// same reports whether two step sequences are the same slices.
func (s *stepTape) same(o *stepTape) bool {
	if s == nil || o == nil {
		return s == o
	}
	return len(s.ts) == len(o.ts) && (len(s.ts) == 0 || &s.ts[0] == &o.ts[0])
}

// adjoint returns [dG/dy₀, dG/dθ] for G = ⟨g, output⟩ from the tape.
func (f *family) adjoint(tp *tape, g []float64) ([]float64, error) {
	out := make([]float64, f.n+f.np)
	if !slices.ContainsFunc(g, func(v float64) bool { return v != 0 }) {
		return out, nil
	}
	m, n := len(f.times), f.n
	ybar := g[:m*n]
	j := *tp.job
	j.res = &GradientResult{DP: make([]float64, f.np), DY0: make([]float64, n)}
	j.cost = Cost{Observations: &Observations{
		Times: f.times,
		G:     func(i int, y, _ []float64) float64 { return dot(ybar[i*n:(i+1)*n], y) },
		Grad:  func(gy, _ []float64, i int, _, _ []float64) { axpy(gy, 1, ybar[i*n:(i+1)*n]) },
	}}
	if f.integFlat != nil {
		// The integral's weight scales its integrand; a zero weight keeps the
		// integral's place in the state (the tape has it).
		w := g[m*n]
		a, b := make([]float64, n), make([]float64, f.np) // one backward pass runs on one goroutine
		j.cost.Integral = &Integral{
			G: func(t float64, y, p []float64) float64 { return w * f.integFlat.G(t, y, p) },
			Grad: func(gy, gp []float64, t float64, y, p []float64) {
				if w == 0 {
					return
				}
				clear(a)
				clear(b)
				f.integFlat.Grad(a, b, t, y, p)
				axpy(gy, w, a)
				axpy(gp, w, b)
			},
		}
	}
	err := f.method.backward(&j, tp.tr, tp.rec)
	f.op.count(j.res, true)
	if err != nil {
		return nil, fmt.Errorf("ode: solve op, %v: %w", f.method, err)
	}
	copy(out, j.res.DY0)
	copy(out[n:], j.res.DP)
	return out, nil
}

// nanTensor is the value of a failed solve.
func nanTensor(n int) *adjoint.Tensor { return adjoint.Full(math.NaN(), n) }

// solveVar is the solve as an operation of (y0, θ), on the steps on if
// non-nil: a flat value of outSize elements.
func (f *family) solveVar(y0, theta *adjoint.Var, on *stepTape) (*adjoint.Var, error) {
	tp, err := f.record(slices.Clone(y0.Value().Data), slices.Clone(theta.Value().Data), on)
	if err != nil {
		f.op.fail(err)
		return adjoint.Custom(&solveNode{f: f}, nanTensor(f.outSize()), y0, theta), err
	}
	return adjoint.Custom(&solveNode{f: f, tp: tp}, adjoint.FromData(tp.out, len(tp.out)), y0, theta), nil
}

// adjointVar is the VJP [dG/dy₀, dG/dθ] of G = ⟨g, solve(y0, θ)⟩ as an
// operation of (y0, θ, g), from the tape tp (nil: found or made by tapeFor
// on the steps on).
func (f *family) adjointVar(tp *tape, y0, theta, g *adjoint.Var, on *stepTape) *adjoint.Var {
	var val []float64
	var err error
	if tp == nil {
		tp, err = f.tapeFor(y0.Value().Data, theta.Value().Data, on)
	}
	if err == nil {
		val, err = f.adjoint(tp, g.Value().Data)
	}
	if err != nil {
		f.op.fail(err)
		return adjoint.Custom(&adjointNode{f: f}, nanTensor(f.n+f.np), y0, theta, g)
	}
	return adjoint.Custom(&adjointNode{f: f, tp: tp}, adjoint.FromData(val, len(val)), y0, theta, g)
}

// flat returns v as a 1-D value, or zeros of n elements for a nil v.
func flat(v *adjoint.Var, n int) *adjoint.Var {
	if v == nil {
		return adjoint.Const(adjoint.New(n))
	}
	return adjoint.Reshape(v, n)
}

// tangentInputs returns the tangent system's initial state [y₀, ẏ₀] and
// parameters [θ, θ̇].
func (f *family) tangentInputs(y0, theta, dy0, dtheta *adjoint.Var) (z, p *adjoint.Var) {
	z = adjoint.Concat(0, flat(y0, f.n), flat(dy0, f.n))
	p = adjoint.Concat(0, flat(theta, f.np), flat(dtheta, f.np))
	return z, p
}

// tangentVar is the JVP of the solve recorded in tp along (dy0, dθ) (nil:
// zero), a flat value of outSize elements: the sensitivity parts of the
// tangent system's solution, on tp's steps, and the derivative of the
// integral.
func (f *family) tangentVar(tp *tape, y0, theta, dy0, dtheta *adjoint.Var) *adjoint.Var {
	t := f.tangent()
	z, p := f.tangentInputs(y0, theta, dy0, dtheta)
	out, _ := t.solveVar(z, p, tp.steps()) // a failure is recorded and gives NaN
	m, n := len(f.times), f.n
	s := adjoint.Reshape(adjoint.Slice(adjoint.Reshape(adjoint.Slice(out, 0, 0, 2*m*n), m, 2*n), 1, n, 2*n), m*n)
	if f.integFlat == nil {
		return s
	}
	return adjoint.Concat(0, s, adjoint.Slice(out, 0, 2*m*n, 2*m*n+1))
}

// hessVar is the derivative of the adjoint [dG/dy₀, dG/dθ] of
// G = ⟨g, solve⟩ along (dy0, dθ) (nil: zero) with g held fixed, that is the
// Hessian of G applied to the direction: the part of the gradient of
// ⟨g, tangent⟩ with respect to (y₀, θ), computed by the tangent system's
// adjoint (forward over adjoint).
func (f *family) hessVar(tp *tape, y0, theta, g, dy0, dtheta *adjoint.Var) *adjoint.Var {
	t := f.tangent()
	z, p := f.tangentInputs(y0, theta, dy0, dtheta)
	m, n, np := len(f.times), f.n, f.np
	// The tangent system's cotangent: g on the sensitivities (and on the
	// integral's derivative), zero on the solution.
	yb := adjoint.Reshape(adjoint.Slice(g, 0, 0, m*n), m, n)
	gt := adjoint.Reshape(adjoint.Concat(1, adjoint.Const(adjoint.New(m, n)), yb), 2*m*n)
	if f.integFlat != nil {
		gt = adjoint.Concat(0, gt, adjoint.Slice(g, 0, m*n, m*n+1))
	}
	a := t.adjointVar(nil, z, p, gt, tp.steps())
	return adjoint.Concat(0, adjoint.Slice(a, 0, 0, n), adjoint.Slice(a, 0, 2*n, 2*n+np))
}

// tangent returns the tangent family: the system [y, s]' = [f, ∂f/∂y·s +
// ∂f/∂p·q] with parameters [p, q], the integrand's tangent
// ∂g/∂y·s + ∂g/∂p·q, the same times, solver and method, and the state's
// absolute tolerances for the sensitivities too.
func (f *family) tangent() *family {
	f.tanOnce.Do(func() {
		n, np := f.n, f.np
		set := f.set
		atol := resolve(&f.set, n).atol
		set.ATolVec = append(slices.Clone(atol), atol...)
		t := &family{op: f.op, order: f.order + 1, sys: tangentSystem(f.sys), n: 2 * n, np: 2 * np,
			t0: f.t0, t1: f.t1, times: f.times, solver: f.solver, method: quiet(f.method), set: set}
		if g := f.integ; g != nil {
			t.integ, t.integFlat = tracedTangentIntegral(g, n, np)
		} else if f.integFlat != nil {
			t.integFlat = tangentIntegral(f.integFlat, n, np)
		}
		f.tan = t
	})
	return f.tan
}

// quiet returns a copy of the method without its plotting callback, for
// the derived systems.
func quiet(m Sensitivity) Sensitivity {
	switch m := m.(type) {
	case *Interpolating:
		c := *m
		c.OnAdjoint = nil
		return &c
	case *Backsolve:
		c := *m
		c.OnAdjoint = nil
		return &c
	case *Discrete:
		c := *m
		c.OnAdjoint = nil
		return &c
	}
	return m
}

// solveNode is the solve as an adjoint.Primitive.
type solveNode struct {
	f  *family
	tp *tape // nil if the solve failed
}

var _ adjoint.Primitive = (*solveNode)(nil)

// Name returns "ode.solve" with a prime per derivative order.
func (s *solveNode) Name() string { return s.f.name("solve") }

// VJP is the adjoint of the solve: adjointVar.
func (s *solveNode) VJP(g *adjoint.Var, in []*adjoint.Var, _ *adjoint.Var, need []bool) []*adjoint.Var {
	a := s.f.adjointVar(s.tp, in[0], in[1], g, nil)
	return s.f.splitZ(a, in, need)
}

// JVP is the tangent of the solve: tangentVar.
func (s *solveNode) JVP(tan []*adjoint.Var, in []*adjoint.Var, _ *adjoint.Var) *adjoint.Var {
	return s.f.tangentVar(s.tp, in[0], in[1], tan[0], tan[1])
}

// splitZ cuts a flat [y₀ part, θ part] value into cotangents shaped like
// in[0] and in[1], for the inputs that need them.
func (f *family) splitZ(a *adjoint.Var, in []*adjoint.Var, need []bool) []*adjoint.Var {
	out := make([]*adjoint.Var, len(in))
	if need[0] {
		out[0] = adjoint.Reshape(adjoint.Slice(a, 0, 0, f.n), in[0].Shape()...)
	}
	if need[1] {
		out[1] = adjoint.Reshape(adjoint.Slice(a, 0, f.n, f.n+f.np), in[1].Shape()...)
	}
	return out
}

// adjointNode is the solve's VJP (y₀, θ, g) ↦ [dG/dy₀, dG/dθ] as an
// adjoint.Primitive. It is linear in g; its derivatives in (y₀, θ) are
// Hessian-vector products of ⟨g, solve⟩ (hessVar), and its transpose in g
// is the solve's JVP (tangentVar).
type adjointNode struct {
	f  *family
	tp *tape
}

var _ adjoint.Primitive = (*adjointNode)(nil)

// Name returns "ode.solve_vjp" with a prime per derivative order.
func (a *adjointNode) Name() string { return a.f.name("solve_vjp") }

// VJP transposes the adjoint: the tangent solve for g, a Hessian-vector
// product for (y₀, θ).
func (a *adjointNode) VJP(w *adjoint.Var, in []*adjoint.Var, _ *adjoint.Var, need []bool) []*adjoint.Var {
	f := a.f
	wy, wp := adjoint.Slice(w, 0, 0, f.n), adjoint.Slice(w, 0, f.n, f.n+f.np)
	out := make([]*adjoint.Var, 3)
	if need[2] {
		out[2] = adjoint.Reshape(f.tangentVar(a.tp, in[0], in[1], wy, wp), in[2].Shape()...)
	}
	if need[0] || need[1] {
		h := f.hessVar(a.tp, in[0], in[1], in[2], wy, wp)
		z := f.splitZ(h, in[:2], need[:2])
		out[0], out[1] = z[0], z[1]
	}
	return out
}

// JVP is the adjoint for the tangent of g plus a Hessian-vector product for
// the tangent of (y₀, θ).
func (a *adjointNode) JVP(tan []*adjoint.Var, in []*adjoint.Var, _ *adjoint.Var) *adjoint.Var {
	f := a.f
	var res *adjoint.Var
	if tan[2] != nil {
		res = f.adjointVar(a.tp, in[0], in[1], tan[2], nil)
	}
	if tan[0] != nil || tan[1] != nil {
		h := f.hessVar(a.tp, in[0], in[1], in[2], tan[0], tan[1])
		if res == nil {
			res = h
		} else {
			res = adjoint.Add(res, h)
		}
	}
	return res
}

// add accumulates the counters of o into s; PeakStored is the larger of
// the two.
func (s *Stats) add(o Stats) {
	s.Steps += o.Steps
	s.Rejected += o.Rejected
	s.FEvals += o.FEvals
	s.VJPs += o.VJPs
	s.JVPs += o.JVPs
	s.JacEvals += o.JacEvals
	s.LUs += o.LUs
	s.PeakStored = max(s.PeakStored, o.PeakStored)
}
