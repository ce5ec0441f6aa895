package ode_test

import (
	"errors"
	"math"
	"testing"

	"github.com/adjointkit/adjointkit/ode"
	"github.com/adjointkit/adjointkit/physics"
	"gonum.org/v1/gonum/diff/fd"
)

// robertsonFD returns G and central finite differences of G = ∫₀ᵀ y3 dt
// with respect to p (relative steps) and y₀, each G from a Rodas4 solve at
// tolerances 10⁴ times tighter than the classic ones.
func robertsonFD(t *testing.T, T float64) (g float64, dp, dy []float64) {
	t.Helper()
	set := &ode.Settings{RTol: 1e-10, ATolVec: []float64{1e-12, 1e-18, 1e-10}, MaxSteps: 1e6}
	G := func(p, y0 []float64) float64 {
		v, _, err := ode.Evaluate(ode.Problem{System: robertson, T0: 0, T1: T, Y0: y0, P: p}, ode.Cost{Integral: robIntegral}, ode.Rodas4, set)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	g = G(robP, robY0)
	dp = make([]float64, 3)
	fd.Gradient(dp, func(z []float64) float64 {
		return G([]float64{z[0] * robP[0], z[1] * robP[1], z[2] * robP[2]}, robY0)
	}, []float64{1, 1, 1}, &fd.Settings{Formula: fd.Central, Step: 1e-4})
	for i := range dp {
		dp[i] /= robP[i]
	}
	dy = make([]float64, 3)
	fd.Gradient(dy, func(y0 []float64) float64 { return G(robP, y0) }, robY0, &fd.Settings{Formula: fd.Central, Step: 1e-6})
	return g, dp, dy
}

// TestRobertson: G = ∫₀ᵀ y3 dt for the stiff Robertson kinetics
// (p = 0.04, 1e4, 3e7; y₀ = (1, 0, 0)) at the classic tolerances (rtol 1e-6,
// atol (1e-8, 1e-14, 1e-6)) with Rodas4, for T = 50 and T = 4·10⁷: G, dG/dp and
// dG/dy₀ by each adjoint method agree with finite differences of tighter
// solves and with each other.
func TestRobertson(t *testing.T) {
	classic := &ode.Settings{RTol: 1e-6, ATolVec: robATol}
	cost := ode.Cost{Integral: robIntegral}
	for _, T := range []float64{50, 4e7} {
		g, dpFD, dyFD := robertsonFD(t, T)
		t.Logf("T = %g: finite differences: G %.10g, dG/dp %.8g, dG/dy0 %.8g", T, g, dpFD, dyFD)
		prob := ode.Problem{System: robertson, T0: 0, T1: T, Y0: robY0, P: robP}
		var results []*ode.GradientResult
		for _, m := range []ode.Sensitivity{&ode.Interpolating{}, &ode.Discrete{}, &ode.Forward{}} {
			res, err := ode.Gradient(prob, cost, ode.Rodas4, m, classic)
			if err != nil {
				t.Fatalf("T = %g, %v: %v", T, m, err)
			}
			eg := math.Abs(res.Value-g) / g
			ep, ey := ode.ElemRel(res.DP, dpFD), ode.ElemRel(res.DY0, dyFD)
			t.Logf("  %-22v G %.10g dG/dp %.8g dG/dy0 %.8g | rel err vs FD: G %.1e dp %.1e dy0 %.1e | fwd %v | bwd %v",
				m, res.Value, res.DP, res.DY0, eg, ep, ey, res.Forward, res.Backward)
			if eg > 1e-5 || ep > 2e-5 || ey > 2e-5 {
				t.Errorf("T = %g, %v: relative errors G %g, dG/dp %g, dG/dy0 %g", T, m, eg, ep, ey)
			}
			results = append(results, res)
		}
		for _, r := range results[1:] {
			if e := math.Max(ode.ElemRel(r.DP, results[0].DP), ode.ElemRel(r.DY0, results[0].DY0)); e > 1e-5 {
				t.Errorf("T = %g: methods disagree by %g", T, e)
			}
		}
		// Backsolve re-integrates y backwards through the stiff decay:
		// unstable, as documented. It must fail cleanly, not return garbage.
		res, err := ode.Gradient(prob, cost, ode.Rodas4, &ode.Backsolve{}, classic)
		if err == nil {
			if e := ode.ElemRel(res.DP, dpFD); e > 1e-3 {
				t.Errorf("T = %g: backsolve returned an inaccurate gradient (rel err %g) without an error", T, e)
			}
		} else {
			var se *ode.Error
			if !errors.As(err, &se) {
				t.Errorf("T = %g: backsolve error %v is not an *Error", T, err)
			}
			t.Logf("  backsolve adjoint: %v", err)
		}
	}
}

// robertsonAltVJP is robertson with its VJP summed in another, algebraically
// identical order: the same derivative up to rounding.
type robertsonAltVJP struct{ physics.Robertson }

func (robertsonAltVJP) VJP(yb, pb []float64, _ float64, y, p, v []float64) {
	if yb != nil {
		yb[0] += -p[0]*v[0] + p[0]*v[1]
		yb[1] += p[1]*y[2]*v[0] + (-p[1]*y[2]-2*p[2]*y[1])*v[1] + 2*p[2]*y[1]*v[2]
		yb[2] += p[1]*y[1]*v[0] - p[1]*y[1]*v[1]
	}
	if pb != nil {
		pb[0] += -y[0]*v[0] + y[0]*v[1]
		pb[1] += y[1]*y[2]*v[0] - y[1]*y[2]*v[1]
		pb[2] += -y[1]*y[1]*v[1] + y[1]*y[1]*v[2]
	}
}

// TestRobertsonBackwardSteps: the interpolating adjoint's backward solve
// takes the same steps, to a few, whatever the rounding of the VJP. Its
// Rosenbrock stages need ∂F/∂t of the adjoint field; a forward difference of
// the whole field (step √ε·|t|, about 0.6 at t = 4·10⁷) amplified the VJP's
// rounding so much that these two VJPs once took 231 and 415 backward
// steps. The exact time derivative leaves rounding nothing to amplify.
func TestRobertsonBackwardSteps(t *testing.T) {
	set := &ode.Settings{RTol: 1e-6, ATolVec: robATol}
	cost := ode.Cost{Integral: robIntegral}
	var steps []int
	for _, sys := range []ode.System{robertson, robertsonAltVJP{}} {
		res, err := ode.Gradient(ode.Problem{System: sys, T0: 0, T1: 4e7, Y0: robY0, P: robP}, cost, ode.Rodas4, &ode.Interpolating{}, set)
		if err != nil {
			t.Fatal(err)
		}
		// Backward.Steps also counts the recomputed forward steps.
		steps = append(steps, res.Backward.Steps-res.Forward.Steps)
	}
	t.Logf("backward adjoint steps: %v", steps)
	if d := math.Abs(float64(steps[0] - steps[1])); d > 0.05*float64(steps[0]) {
		t.Errorf("backward steps %d and %d for two roundings of one VJP", steps[0], steps[1])
	}
}
