package ode_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/ode"
	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/floats"
)

// lvMixedCost has all three kinds of terms, with explicit dependence on p:
// a terminal term p1·‖y‖², an integral ∫ p0·x² + y dt, and a data misfit at
// observation times including T0, T1 and a repeated time.
func lvMixedCost() ode.Cost {
	times := []float64{0, 1.5, 1.5, 4, 7.25, 10}
	data := make([][]float64, len(times))
	for i := range data {
		data[i] = []float64{1 + 0.1*float64(i), 0.8}
	}
	return ode.Cost{
		Terminal: &ode.Terminal{
			G: func(y, p []float64) float64 { return p[1] * floats.Dot(y, y) },
			Grad: func(gy, gp, y, p []float64) {
				floats.AddScaled(gy, 2*p[1], y)
				gp[1] += floats.Dot(y, y)
			},
		},
		Integral: &ode.Integral{
			G: func(_ float64, y, p []float64) float64 { return p[0]*y[0]*y[0] + y[1] },
			Grad: func(gy, gp []float64, _ float64, y, p []float64) {
				gy[0] += 2 * p[0] * y[0]
				gy[1]++
				gp[0] += y[0] * y[0]
			},
		},
		Observations: ode.LeastSquares(times, data),
	}
}

// tracedMixedCost is lvMixedCost's terminal and integral written with
// adjoint operations.
func tracedMixedCost() ode.Cost {
	c := lvMixedCost()
	c.Terminal = ode.TracedTerminal(func(y, p *adjoint.Var) *adjoint.Var {
		return adjoint.Mul(adjoint.Slice(p, 0, 1, 2), adjoint.Sum(adjoint.Square(y)))
	})
	c.Integral = ode.TracedIntegral(func(_, y, p *adjoint.Var) *adjoint.Var {
		x := adjoint.Slice(y, 0, 0, 1)
		return adjoint.Sum(adjoint.Add(adjoint.Mul(adjoint.Slice(p, 0, 0, 1), adjoint.Square(x)), adjoint.Slice(y, 0, 1, 2)))
	})
	return c
}

// gradFD returns central finite differences of the cost with respect to p
// and y₀, each value from Evaluate with the given solver and settings.
func gradFD(t *testing.T, prob ode.Problem, cost ode.Cost, s ode.Solver, set *ode.Settings, step float64) (dp, dy []float64) {
	t.Helper()
	val := func(p, y0 []float64) float64 {
		pr := prob
		pr.P, pr.Y0 = p, y0
		v, _, err := ode.Evaluate(pr, cost, s, set)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	dp, dy = make([]float64, len(prob.P)), make([]float64, len(prob.Y0))
	fs := &fd.Settings{Formula: fd.Central, Step: step}
	fd.Gradient(dp, func(p []float64) float64 { return val(p, prob.Y0) }, prob.P, fs)
	fd.Gradient(dy, func(y []float64) float64 { return val(prob.P, y) }, prob.Y0, fs)
	return dp, dy
}

// TestMixedCost: terminal, integral and observation terms with explicit p
// dependence; all methods against finite differences and each other, with
// an explicit and the stiff solver.
func TestMixedCost(t *testing.T) {
	cost := lvMixedCost()
	prob := lvProblem(lv)
	set := &ode.Settings{RTol: 1e-10, ATol: 1e-12}
	for _, s := range []ode.Solver{ode.DP5, ode.Rodas4} {
		dpFD, dyFD := gradFD(t, prob, cost, s, set, 1e-5)
		for _, m := range []ode.Sensitivity{&ode.Forward{}, &ode.Backsolve{}, &ode.Interpolating{}, &ode.Discrete{}} {
			res, err := ode.Gradient(prob, cost, s, m, set)
			if err != nil {
				t.Fatalf("%v, %v: %v", s, m, err)
			}
			e := math.Max(ode.RelErr(res.DP, dpFD), ode.RelErr(res.DY0, dyFD))
			t.Logf("%-6v %-22v G %.12g rel err vs FD %.1e", s, m, res.Value, e)
			if e > 1e-6 {
				t.Errorf("%v, %v: gradient rel err %g vs finite differences\n got %v %v\nwant %v %v", s, m, e, res.DP, res.DY0, dpFD, dyFD)
			}
		}
	}
}

// TestDiscreteIsExact: with fixed steps the discrete solution is a smooth
// map of (p, y₀), and the discrete adjoint is its exact gradient: it agrees
// with finite differences of the same discrete solve to their accuracy,
// while the continuous methods differ from it by the discretisation error.
func TestDiscreteIsExact(t *testing.T) {
	cost := lvMixedCost()
	prob := lvProblem(lv)
	for _, c := range []struct {
		s ode.Solver
		h float64
	}{{ode.RK4, 0.05}, {ode.DP5, 0.1}, {ode.Rodas4, 0.05}, {ode.Heun, 0.01}} {
		set := &ode.Settings{Step: c.h}
		dpFD, dyFD := gradFD(t, prob, cost, c.s, set, 1e-6)
		res, err := ode.Gradient(prob, cost, c.s, &ode.Discrete{}, set)
		if err != nil {
			t.Fatal(err)
		}
		e := math.Max(ode.RelErr(res.DP, dpFD), ode.RelErr(res.DY0, dyFD))
		ic, _ := ode.Gradient(prob, cost, ode.DP5, &ode.Interpolating{}, &ode.Settings{RTol: 1e-10, ATol: 1e-12})
		ec := math.Max(ode.RelErr(ic.DP, dpFD), ode.RelErr(ic.DY0, dyFD))
		t.Logf("%-6v h = %v: discrete adjoint vs FD of the discrete solution %.1e (continuous gradient differs by %.1e)", c.s, c.h, e, ec)
		if e > 1e-8 {
			t.Errorf("%v: discrete adjoint differs from the discrete derivative by %g", c.s, e)
		}
	}
}

// TestStepVJP checks the VJP of one RK and one Rosenbrock step, state
// [y, q] with an integral cost, against central differences of the step
// (the duality ⟨x̄, δx⟩ + ⟨p̄, δp⟩ = ⟨n̄, δnext⟩).
func TestStepVJP(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	integ := lvMixedCost().Integral
	for _, sys := range []ode.System{lv, tracedLV} {
		for _, s := range []ode.Solver{ode.DP5, ode.Tsit5, ode.BS3, ode.Rodas4} {
			p := slices.Clone(lvP)
			var st ode.Stats
			step := ode.NewStep(s, sys, p, &st, integ, []float64{0.3}, []float64{0.2})
			x := []float64{1.1, 0.7, 0.2}
			nb := ode.RandVec(r, 3)
			dx, dp := ode.RandVec(r, 3), ode.RandVec(r, 4)
			xb, pb := make([]float64, 3), make([]float64, 4)
			step.VJP(xb, pb, 0, x, p, nb)
			lhs := floats.Dot(xb, dx) + floats.Dot(pb, dp)
			const e = 1e-6
			next := func(sgn float64) []float64 {
				xs, ps := slices.Clone(x), slices.Clone(p)
				floats.AddScaled(xs, sgn*e, dx)
				floats.AddScaled(ps, sgn*e, dp)
				copy(p, ps) // the field reads the parameters in place
				out := make([]float64, 3)
				step.Eval(out, 0, xs, ps)
				copy(p, lvP)
				return out
			}
			np, nm := next(1), next(-1)
			var rhs float64
			for i := range nb {
				rhs += nb[i] * (np[i] - nm[i]) / (2 * e)
			}
			tol := 1e-8
			if d := math.Abs(lhs-rhs) / math.Abs(rhs); d > tol {
				t.Errorf("%T %v: ⟨VJP, δ⟩ = %.12g, finite differences %.12g (rel %g)", sys, s, lhs, rhs, d)
			}
		}
	}
}

// TestCheckpointPolicies: the recomputation of checkpoint intervals
// reproduces the forward dense output, so every CheckpointEvery gives the
// same gradient up to the backward solve's tolerance (the backward solve
// stops at checkpoint times, which changes its steps); the discrete
// engine's policies give identical bits and store fewer states.
func TestCheckpointPolicies(t *testing.T) {
	cost := lvMixedCost()
	prob := lvProblem(lv)
	set := &ode.Settings{RTol: 1e-9, ATol: 1e-12}
	for _, s := range []ode.Solver{ode.DP5, ode.Rodas4} {
		var ref *ode.GradientResult
		for _, k := range []int{-1, 1, 7, 20, 1000} {
			res, err := ode.Gradient(prob, cost, s, &ode.Interpolating{CheckpointEvery: k}, set)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%v interpolating CheckpointEvery %d: backward %v", s, k, res.Backward)
			if ref == nil {
				ref = res
				continue
			}
			if e := math.Max(ode.RelErr(res.DP, ref.DP), ode.RelErr(res.DY0, ref.DY0)); e > 1e-8 {
				t.Errorf("%v: CheckpointEvery %d changes the gradient by %g", s, k, e)
			}
		}
		d0, err := ode.Gradient(prob, cost, s, &ode.Discrete{}, set)
		if err != nil {
			t.Fatal(err)
		}
		for _, pol := range []adjoint.Policy{adjoint.Every(2), adjoint.Every(9), adjoint.Binomial(4)} {
			d, err := ode.Gradient(prob, cost, s, &ode.Discrete{Policy: pol}, set)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(d.DP, d0.DP) || !slices.Equal(d.DY0, d0.DY0) {
				t.Errorf("%v: discrete adjoint with %v changes the gradient", s, pol)
			}
			if d.Backward.PeakStored >= d0.Backward.PeakStored {
				t.Errorf("%v: %v stores %d states, StoreAll %d", s, pol, d.Backward.PeakStored, d0.Backward.PeakStored)
			}
		}
	}
}

// TestOnAdjoint: the adjoint trajectory handed to the caller starts at T1
// with ∂g/∂y, runs backwards, and ends at dG/dy₀.
func TestOnAdjoint(t *testing.T) {
	prob := lvProblem(lv)
	set := &ode.Settings{RTol: 1e-8, ATol: 1e-10}
	for _, mk := range []func(f func(float64, []float64)) ode.Sensitivity{
		func(f func(float64, []float64)) ode.Sensitivity { return &ode.Interpolating{OnAdjoint: f} },
		func(f func(float64, []float64)) ode.Sensitivity { return &ode.Backsolve{OnAdjoint: f} },
		func(f func(float64, []float64)) ode.Sensitivity { return &ode.Discrete{OnAdjoint: f} },
	} {
		var ts []float64
		var lams [][]float64
		m := mk(func(t float64, lam []float64) {
			ts = append(ts, t)
			lams = append(lams, slices.Clone(lam))
		})
		res, err := ode.Gradient(prob, lvCost, ode.DP5, m, set)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) < 10 || ts[0] != 10 || ts[len(ts)-1] != 0 {
			t.Fatalf("%v: %d samples from %v to %v", m, len(ts), ts[0], ts[len(ts)-1])
		}
		for i := 1; i < len(ts); i++ {
			if ts[i] > ts[i-1] {
				t.Fatalf("%v: times not decreasing at %d", m, i)
			}
		}
		if e := ode.RelErr(lams[0], []float64{res.YT[0] - 1, res.YT[1] - 1}); e > 1e-14 {
			t.Errorf("%v: λ(T) off by %g", m, e)
		}
		if e := ode.RelErr(lams[len(lams)-1], res.DY0); e > 1e-14 {
			t.Errorf("%v: λ(0) = %v, dG/dy0 = %v", m, lams[len(lams)-1], res.DY0)
		}
	}
}

// TestTracedCosts: the traced cost adapters give the hand-written costs'
// values and gradients.
func TestTracedCosts(t *testing.T) {
	res1, err := ode.Gradient(lvProblem(lv), lvMixedCost(), ode.DP5, &ode.Interpolating{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res2, err := ode.Gradient(lvProblem(lv), tracedMixedCost(), ode.DP5, &ode.Interpolating{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Rounding differences between the two formulations perturb the step
	// sizes at the default tolerance (1e-6).
	if e := math.Max(ode.RelErr(res2.DP, res1.DP), ode.RelErr(res2.DY0, res1.DY0)); e > 1e-7 || math.Abs(res1.Value-res2.Value) > 1e-9*res1.Value {
		t.Errorf("traced cost: gradient differs by %g, value %v vs %v", e, res2.Value, res1.Value)
	}
	tc := ode.TracedTerminal(func(y, _ *adjoint.Var) *adjoint.Var {
		return adjoint.Scale(adjoint.Sum(adjoint.Square(adjoint.AddScalar(y, -1))), 0.5)
	})
	hw := ode.SquaredError([]float64{1, 1})
	y, p := []float64{1.7, 0.2}, lvP
	if a, b := tc.G(y, p), hw.G(y, p); math.Abs(a-b) > 1e-15 {
		t.Errorf("G %v vs %v", a, b)
	}
	g1, g2 := make([]float64, 2), make([]float64, 2)
	tc.Grad(g1, make([]float64, 4), y, p)
	hw.Grad(g2, make([]float64, 4), y, p)
	if ode.RelErr(g1, g2) > 1e-15 {
		t.Errorf("Grad %v vs %v", g1, g2)
	}
	obs := ode.TracedObservations([]float64{1}, func(_ int, y, _ *adjoint.Var) *adjoint.Var { return adjoint.Sum(y) })
	gy := make([]float64, 2)
	if v := obs.G(0, y, p); math.Abs(v-1.9) > 1e-15 {
		t.Errorf("observation value %v", v)
	}
	obs.Grad(gy, make([]float64, 4), 0, y, p)
	if gy[0] != 1 || gy[1] != 1 {
		t.Errorf("observation gradient %v", gy)
	}
}

// TestEvaluate: Evaluate's value is Gradient's.
func TestEvaluate(t *testing.T) {
	cost := lvMixedCost()
	prob := lvProblem(lv)
	v, st, err := ode.Evaluate(prob, cost, ode.DP5, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ode.Gradient(prob, cost, ode.DP5, &ode.Interpolating{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v != res.Value || st != res.Forward {
		t.Errorf("Evaluate %v %v, Gradient %v %v", v, st, res.Value, res.Forward)
	}
}

// TestReversedInterval: gradients over an interval integrated backwards in
// time (T1 < T0), with observations, against finite differences.
func TestReversedInterval(t *testing.T) {
	prob := ode.Problem{System: lv, T0: 10, T1: 0, Y0: []float64{1.0263447675, 0.909691078}, P: lvP}
	cost := lvMixedCost()
	for i := range cost.Observations.Times {
		cost.Observations.Times[i] = 10 - cost.Observations.Times[i]
	}
	set := &ode.Settings{RTol: 1e-10, ATol: 1e-12}
	dpFD, dyFD := gradFD(t, prob, cost, ode.DP5, set, 1e-6)
	for _, m := range []ode.Sensitivity{&ode.Forward{}, &ode.Backsolve{}, &ode.Interpolating{}, &ode.Discrete{}} {
		res, err := ode.Gradient(prob, cost, ode.DP5, m, set)
		if err != nil {
			t.Fatal(err)
		}
		if e := math.Max(ode.RelErr(res.DP, dpFD), ode.RelErr(res.DY0, dyFD)); e > 1e-7 {
			t.Errorf("%v: rel err %g against finite differences", m, e)
		}
	}
}
