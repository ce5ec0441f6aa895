package ode_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/ode"
	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// The mixed Lotka–Volterra cost of lvMixedCost, written as a traced
// function of the op's outputs: Σᵢ ½‖y(tᵢ) − dᵢ‖² + ∫ p₀x² + y dt +
// p₁‖y(10)‖².
var (
	mixedTimes = []float64{0, 1.5, 1.5, 4, 7.25, 10}
	mixedData  = func() *adjoint.Tensor {
		d := adjoint.New(len(mixedTimes), 2)
		for i := range mixedTimes {
			d.Set(1+0.1*float64(i), i, 0)
			d.Set(0.8, i, 1)
		}
		return d
	}()
)

func mixedIntegrand(_, y, p *adjoint.Var) *adjoint.Var {
	return adjoint.Add(adjoint.Mul(adjoint.Index(p, 0), adjoint.Square(adjoint.Index(y, 0))), adjoint.Index(y, 1))
}

// mixedOp is the op of the mixed cost, with the running cost traced for a
// Traced system (exact to every order) and hand-written otherwise (fast).
func mixedOp(sys ode.System, s ode.Solver, m ode.Sensitivity, set *ode.Settings) *ode.Op {
	op := &ode.Op{System: sys, T0: 0, T1: 10, Times: mixedTimes, Solver: s, Method: m, Settings: set}
	if _, ok := sys.(*ode.Traced); ok {
		op.Integrand = mixedIntegrand
	} else {
		op.Integral = lvMixedCost().Integral
	}
	return op
}

// shortOp is a shorter Lotka–Volterra solve with the traced running cost,
// for the costlier second-order tests.
func shortOp(s ode.Solver, m ode.Sensitivity, set *ode.Settings) *ode.Op {
	return &ode.Op{System: tracedLV, T0: 0, T1: 2, Times: []float64{0.5, 2}, Integrand: mixedIntegrand, Solver: s, Method: m, Settings: set}
}

// shortLoss is a nonlinear loss of shortOp's outputs and θ.
func shortLoss(t testing.TB, op *ode.Op) func(xs ...*adjoint.Var) *adjoint.Var {
	return func(xs ...*adjoint.Var) *adjoint.Var {
		ys, q, err := op.SolveIntegral(xs[0], xs[1])
		if err != nil {
			t.Fatal(err)
		}
		misfit := adjoint.Sum(adjoint.Square(adjoint.Sub(ys, adjoint.Const(adjoint.Full(1, 2, 2)))))
		return adjoint.Add(adjoint.Add(misfit, adjoint.Square(q)), adjoint.Mul(adjoint.Index(xs[1], 1), adjoint.Index(ys, 1, 0)))
	}
}

// mixedLoss is the cost as a function of (y₀, θ) through the op.
func mixedLoss(t testing.TB, op *ode.Op) func(xs ...*adjoint.Var) *adjoint.Var {
	return func(xs ...*adjoint.Var) *adjoint.Var {
		ys, q, err := op.SolveIntegral(xs[0], xs[1])
		if err != nil {
			t.Fatal(err)
		}
		misfit := adjoint.Scale(adjoint.Sum(adjoint.Square(adjoint.Sub(ys, adjoint.Const(mixedData)))), 0.5)
		last := adjoint.Slice(ys, 0, len(mixedTimes)-1, len(mixedTimes))
		term := adjoint.Mul(adjoint.Index(xs[1], 1), adjoint.Sum(adjoint.Square(last)))
		return adjoint.Add(adjoint.Add(misfit, q), term)
	}
}

func opGrad(t testing.TB, f func(xs ...*adjoint.Var) *adjoint.Var, y0, p []float64) (float64, []float64, []float64) {
	yv, pv := adjoint.Param(adjoint.Vector(y0...)), adjoint.Param(adjoint.Vector(p...))
	v := f(yv, pv)
	g := adjoint.Grad(v, yv, pv)
	return v.Item(), g[0].Data, g[1].Data
}

// TestOpMatchesGradient: the op's gradient, inside a loss written with
// traced operations, equals Gradient's on the same cost with every method
// and solver (the same computation, up to rounding), and the finite
// differences of the op's values.
func TestOpMatchesGradient(t *testing.T) {
	set := &ode.Settings{RTol: 1e-10, ATol: 1e-12}
	type tc struct {
		sys ode.System
		s   ode.Solver
		m   ode.Sensitivity
	}
	var cases []tc
	for _, s := range []ode.Solver{ode.DP5, ode.Rodas4} {
		for _, m := range []ode.Sensitivity{&ode.Forward{}, &ode.Backsolve{}, &ode.Interpolating{}, &ode.Interpolating{CheckpointEvery: -1}, &ode.Discrete{}} {
			cases = append(cases, tc{lv, s, m})
		}
	}
	// Traced systems are slow; one of them shows the traced running cost.
	cases = append(cases, tc{tracedLV, ode.DP5, &ode.Interpolating{}})
	for _, c := range cases {
		sys, s, m := c.sys, c.s, c.m
		{
			{
				op := mixedOp(sys, s, m, set)
				v, dy, dp := opGrad(t, mixedLoss(t, op), lvY0, lvP)
				ref, err := ode.Gradient(lvProblem(sys), lvMixedCost(), s, m, set)
				if err != nil {
					t.Fatal(err)
				}
				e := math.Max(ode.RelErr(dp, ref.DP), ode.RelErr(dy, ref.DY0))
				// The op takes G from its own forward solve, Gradient with
				// Forward from the solve of the solution with its
				// sensitivities, under a joint error control: the two
				// agree to the tolerance, not to rounding.
				if math.Abs(v-ref.Value) > 1e-9*math.Abs(ref.Value) || e > 1e-9 {
					t.Errorf("%T %v %v: op G %.15g grad %v %v, Gradient G %.15g %v %v (rel err %.2g)", sys, s, m, v, dy, dp, ref.Value, ref.DY0, ref.DP, e)
				}
				if err := op.Err(); err != nil {
					t.Error(err)
				}
			}
		}
	}
	// Against central differences of the op's own values.
	op := mixedOp(lv, ode.DP5, nil, set)
	f := mixedLoss(t, op)
	_, dy, dp := opGrad(t, f, lvY0, lvP)
	val := func(y0, p []float64) float64 {
		return f(adjoint.Const(adjoint.Vector(y0...)), adjoint.Const(adjoint.Vector(p...))).Item()
	}
	dyFD, dpFD := make([]float64, 2), make([]float64, 4)
	fs := &fd.Settings{Formula: fd.Central, Step: 1e-5}
	fd.Gradient(dyFD, func(y []float64) float64 { return val(y, lvP) }, lvY0, fs)
	fd.Gradient(dpFD, func(p []float64) float64 { return val(lvY0, p) }, lvP, fs)
	if e := math.Max(ode.RelErr(dy, dyFD), ode.RelErr(dp, dpFD)); e > 1e-6 {
		t.Errorf("op gradient vs finite differences: rel err %g", e)
	}
}

// dualityGap returns |⟨ȳ, J u⟩ − ⟨Jᵀȳ, u⟩| / |⟨ȳ, J u⟩| for the op's
// flattened outputs, J u by forward mode (the op's JVP: forward
// sensitivities) and Jᵀȳ by reverse mode (its VJP: the adjoint method).
func dualityGap(op *ode.Op, y0, p []float64, seed uint64) float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	yv, pv := adjoint.Param(adjoint.Vector(y0...)), adjoint.Param(adjoint.Vector(p...))
	ys, q, _ := op.SolveIntegral(yv, pv)
	out := adjoint.Concat(0, adjoint.Reshape(ys, -1), adjoint.Reshape(q, 1))
	ybar := adjoint.Vector(ode.RandVec(r, out.Size())...)
	uy, up := adjoint.Vector(ode.RandVec(r, len(y0))...), adjoint.Vector(ode.RandVec(r, len(p))...)
	ju := adjoint.Tangent(out, []*adjoint.Var{yv, pv}, []*adjoint.Var{adjoint.Const(uy), adjoint.Const(up)}, false)
	g := adjoint.VJP(out, ybar, yv, pv)
	fwd := floats.Dot(ybar.Data, ju.Value().Data)
	rev := floats.Dot(g[0].Data, uy.Data) + floats.Dot(g[1].Data, up.Data)
	return math.Abs(fwd-rev) / math.Abs(fwd)
}

// TestOpDuality: ⟨ȳ, J u⟩ computed by the op's JVP and by its VJP agree for
// every method: to the solves' accuracy with adaptive steps, and to
// rounding with fixed steps and the discrete adjoint, whose VJP is the exact
// derivative of the computed solution, as is the JVP (a Runge–Kutta or
// Rosenbrock step of the tangent system is the derivative of the step).
func TestOpDuality(t *testing.T) {
	for _, m := range []ode.Sensitivity{&ode.Forward{}, &ode.Backsolve{}, &ode.Interpolating{}, &ode.Discrete{}} {
		for _, s := range []ode.Solver{ode.DP5, ode.Rodas4} {
			op := mixedOp(lv, s, m, &ode.Settings{RTol: 1e-10, ATol: 1e-12})
			gap := dualityGap(op, lvY0, lvP, 3)
			t.Logf("%v %v: duality gap %.2g", s, m, gap)
			if gap > 1e-7 {
				t.Errorf("%v %v: duality gap %g", s, m, gap)
			}
		}
	}
	// With the discrete adjoint the JVP follows the forward solve's steps,
	// so both are exact derivatives of the computed solution with its
	// steps held fixed, whatever the tolerance.
	op := mixedOp(lv, ode.DP5, &ode.Discrete{}, &ode.Settings{RTol: 1e-4})
	if gap := dualityGap(op, lvY0, lvP, 6); gap > 1e-12 {
		t.Errorf("adaptive steps at rtol 1e-4, DP5, discrete: duality gap %g", gap)
	}
	for _, s := range []ode.Solver{ode.RK4, ode.DP5} {
		op := mixedOp(lv, s, &ode.Discrete{}, &ode.Settings{Step: 0.05})
		if gap := dualityGap(op, lvY0, lvP, 4); gap > 1e-12 {
			t.Errorf("fixed steps, %v, discrete: duality gap %g", s, gap)
		}
	}
	// Rosenbrock steps of the tangent system are the derivative of the
	// steps only with the exact Jacobian: a Traced system's.
	op = shortOp(ode.Rodas4, &ode.Discrete{}, &ode.Settings{Step: 0.05})
	if gap := dualityGap(op, lvY0, lvP, 5); gap > 1e-12 {
		t.Errorf("fixed steps, Rodas4, discrete: duality gap %g", gap)
	}
}

// TestOpCheckFixedSteps runs adjoint.Check on the op with fixed steps and
// the discrete adjoint, where the computed solution is a smooth function of
// (y₀, θ) and every derivative the op computes is its exact derivative:
// reverse and forward Jacobians, duality and the Hessian by
// reverse-over-reverse and forward-over-reverse against each other
// (rounding) and against central differences.
func TestOpCheckFixedSteps(t *testing.T) {
	for _, s := range []ode.Solver{ode.RK4, ode.Rodas4} {
		op := shortOp(s, &ode.Discrete{}, &ode.Settings{Step: 0.1})
		f := func(xs ...*adjoint.Var) *adjoint.Var {
			ys, q, err := op.SolveIntegral(xs[0], xs[1])
			if err != nil {
				t.Fatal(err)
			}
			return adjoint.Concat(0, adjoint.Reshape(ys, -1), adjoint.Reshape(q, 1))
		}
		r := adjoint.Check(f, []*adjoint.Tensor{adjoint.Vector(lvY0...), adjoint.Vector(lvP...)}, nil)
		t.Logf("%v: %v", s, r)
		// Central differences with gonum's default step: truncation and
		// rounding near 1e-9 relative for these O(1) values; the exact
		// modes differ by rounding only.
		if err := r.Err(1e-6, 1e-10); err != nil {
			t.Errorf("%v: %v", s, err)
		}
	}
}

// TestOpHessianAdaptive: with adaptive steps, the Hessian of a nonlinear
// loss of the solution by forward-over-adjoint (HVPArgs) and by reverse
// over the adjoint (HessianArgs) agree, and so do the interpolating and the
// discrete adjoint, to the solves' accuracy. (TestOpCheckFixedSteps and
// TestCVODESHessian check Hessians against finite differences.)
func TestOpHessianAdaptive(t *testing.T) {
	set := &ode.Settings{RTol: 1e-8, ATol: 1e-10}
	xs := []*adjoint.Tensor{adjoint.Vector(lvY0...), adjoint.Vector(lvP...)}
	var hs []*mat.SymDense
	for _, m := range []ode.Sensitivity{&ode.Interpolating{}, &ode.Discrete{}} {
		op := shortOp(ode.DP5, m, set)
		f := shortLoss(t, op)
		h := adjoint.HessianArgs(nil, f, xs)
		if _, ok := m.(*ode.Interpolating); ok {
			for j := range 6 {
				e := make([]float64, 6)
				e[j] = 1
				col := adjoint.HVPArgs(f, xs, []*adjoint.Tensor{adjoint.Vector(e[:2]...), adjoint.Vector(e[2:]...)})
				got := append(slices.Clone(col[0].Data), col[1].Data...)
				if d := ode.RelErr(got, mat.Col(nil, j, h)); d > 1e-6 {
					t.Errorf("%v: column %d forward-over-adjoint vs reverse: rel err %g", m, j, d)
				}
			}
		}
		if err := op.Err(); err != nil {
			t.Error(err)
		}
		hs = append(hs, h)
	}
	// Both are accurate to the tolerance, 1e-8 relative, amplified by the
	// loss's curvature.
	if !mat.EqualApprox(hs[0], hs[1], 1e-6*mat.Norm(hs[0], math.Inf(1))) {
		t.Errorf("interpolating and discrete Hessians differ:\n%v\n%v", mat.Formatted(hs[0]), mat.Formatted(hs[1]))
	}
}

// TestOpHandWrittenSecondOrder: a hand-written System (VJP and JVP, no
// second derivatives) gets second derivatives from central differences of
// its VJPs, close to the exact ones of the same system written with Traced.
func TestOpHandWrittenSecondOrder(t *testing.T) {
	set := &ode.Settings{RTol: 1e-10, ATol: 1e-12}
	xs := []*adjoint.Tensor{adjoint.Vector(lvY0...), adjoint.Vector(lvP...)}
	exact := adjoint.HessianArgs(nil, shortLoss(t, shortOp(ode.DP5, nil, set)), xs)
	hand := shortOp(ode.DP5, nil, set)
	hand.System, hand.Integrand, hand.Integral = lv, nil, lvMixedCost().Integral
	approx := adjoint.HessianArgs(nil, shortLoss(t, hand), xs)
	if !mat.EqualApprox(exact, approx, 1e-6*mat.Norm(exact, math.Inf(1))) {
		t.Errorf("hand-written\n%v\nTraced\n%v", mat.Formatted(approx), mat.Formatted(exact))
	}
	msg := func() (msg string) {
		defer func() { msg, _ = recover().(string) }()
		bare := shortOp(ode.DP5, nil, set)
		bare.System = bareLV{}
		adjoint.HessianArgs(nil, shortLoss(t, bare), xs)
		return ""
	}()
	if !strings.HasPrefix(msg, "ode: second derivatives of an ODE solve") {
		t.Errorf("second order through a System without VJP and JVP: panic %q", msg)
	}
}

// TestOpErrors: a failed solve returns an error and NaN and is reported by
// Err once; so is a failed solve inside a derivative pass.
func TestOpErrors(t *testing.T) {
	op := &ode.Op{System: lv, T0: 0, T1: 10, Settings: &ode.Settings{MaxSteps: 5}}
	ys, err := op.Solve(adjoint.Const(adjoint.Vector(lvY0...)), adjoint.Param(adjoint.Vector(lvP...)))
	var oe *ode.Error
	if !errors.As(err, &oe) || !errors.Is(err, ode.ErrMaxSteps) {
		t.Errorf("Solve error %v", err)
	}
	if !math.IsNaN(ys.Value().Data[0]) {
		t.Errorf("failed solve returned %v", ys.Value())
	}
	if !errors.Is(op.Err(), ode.ErrMaxSteps) || op.Err() != nil {
		t.Error("Err did not report the failure exactly once")
	}
	// The forward solve succeeds, the backward one fails.
	op = &ode.Op{System: lv, T0: 0, T1: 10, Method: &ode.Interpolating{Tol: ode.Tolerances{MaxSteps: 3}}}
	pv := adjoint.Param(adjoint.Vector(lvP...))
	ys, err = op.Solve(adjoint.Const(adjoint.Vector(lvY0...)), pv)
	if err != nil {
		t.Fatal(err)
	}
	g := adjoint.Grad(adjoint.Sum(ys), pv)[0]
	if !math.IsNaN(g.Data[0]) || !errors.Is(op.Err(), ode.ErrMaxSteps) {
		t.Errorf("failed backward solve: gradient %v", g)
	}
}

// TestOpMisuse: configuration and shape errors panic with "ode:".
func TestOpMisuse(t *testing.T) {
	y0, p := adjoint.Const(adjoint.Vector(lvY0...)), adjoint.Const(adjoint.Vector(lvP...))
	for name, f := range map[string]func(){
		"SaveAt": func() {
			(&ode.Op{System: lv, T1: 1, Settings: &ode.Settings{SaveAt: []float64{1}}}).Solve(y0, p)
		},
		"times outside": func() { (&ode.Op{System: lv, T1: 1, Times: []float64{2}}).Solve(y0, p) },
		"state size":    func() { (&ode.Op{System: lv, T1: 1}).Solve(p, p) },
		"no integrand":  func() { (&ode.Op{System: lv, T1: 1}).SolveIntegral(y0, p) },
	} {
		msg := func() (msg string) {
			defer func() { msg, _ = recover().(string) }()
			f()
			return ""
		}()
		if !strings.HasPrefix(msg, "ode: ") {
			t.Errorf("%s: panic %q", name, msg)
		}
	}
}

// TestOpConcurrent: one op differentiated from several goroutines at once
// (run with -race) gives the same gradients as one at a time.
func TestOpConcurrent(t *testing.T) {
	op := mixedOp(lv, ode.DP5, &ode.Interpolating{}, &ode.Settings{RTol: 1e-8})
	f := mixedLoss(t, op)
	_, wantY, wantP := opGrad(t, f, lvY0, lvP)
	yv, pv := adjoint.Param(adjoint.Vector(lvY0...)), adjoint.Param(adjoint.Vector(lvP...))
	loss := f(yv, pv) // one graph, differentiated concurrently
	errs := make(chan string, 4)
	for range 4 {
		go func() {
			g := adjoint.Grad(loss, yv, pv)
			if !slices.Equal(g[0].Data, wantY) || !slices.Equal(g[1].Data, wantP) {
				errs <- "gradients differ"
				return
			}
			errs <- ""
		}()
	}
	for range 4 {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}
