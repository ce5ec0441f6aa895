package ode_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/ode"
)

// TestZeroLengthInterval: on [T0, T0] every method returns the cost at y₀
// and its partial derivatives, and none panics (the interpolating adjoint
// once did, with no forward steps to interpolate).
func TestZeroLengthInterval(t *testing.T) {
	target := []float64{0.5, 2}
	cost := ode.Cost{
		Terminal:     ode.SquaredError(target),
		Integral:     robIntegral2(),
		Observations: ode.LeastSquares([]float64{1.5, 1.5}, [][]float64{{1, 1}, {0, 3}}),
	}
	prob := ode.Problem{System: lv, T0: 1.5, T1: 1.5, Y0: []float64{1.2, 0.7}, P: lvP}
	// G = ½‖y0 − target‖² + ½‖y0 − (1, 1)‖² + ½‖y0 − (0, 3)‖²; the integral is 0.
	var wantG float64
	wantDY := make([]float64, 2)
	for _, ref := range [][]float64{target, {1, 1}, {0, 3}} {
		for i, v := range prob.Y0 {
			wantG += (v - ref[i]) * (v - ref[i]) / 2
			wantDY[i] += v - ref[i]
		}
	}
	for _, m := range []ode.Sensitivity{&ode.Forward{}, &ode.Backsolve{}, &ode.Interpolating{}, &ode.Interpolating{CheckpointEvery: -1}, &ode.Discrete{}} {
		for _, s := range []ode.Solver{ode.DP5, ode.Rodas4} {
			res, err := ode.Gradient(prob, cost, s, m, nil)
			if err != nil {
				t.Errorf("%v, %v: %v", m, s, err)
				continue
			}
			if res.Value != wantG || ode.RelErr(res.DY0, wantDY) > 1e-15 || res.DP[0] != 0 || res.DP[3] != 0 {
				t.Errorf("%v, %v: G %v dG/dy0 %v dG/dp %v, want %v %v and zeros", m, s, res.Value, res.DY0, res.DP, wantG, wantDY)
			}
		}
	}
}

// robIntegral2 is ∫ x·y dt, an integral cost on a two-state system.
func robIntegral2() *ode.Integral {
	return &ode.Integral{
		G: func(_ float64, y, _ []float64) float64 { return y[0] * y[1] },
		Grad: func(gy, _ []float64, _ float64, y, _ []float64) {
			gy[0] += y[1]
			gy[1] += y[0]
		},
	}
}

// TestTinyTolerance: a relative tolerance below what float64 can reach is
// reported as such, not as a stiff problem.
func TestTinyTolerance(t *testing.T) {
	prob := lvProblem(lv)
	set := &ode.Settings{RTol: 1e-30}
	_, err := ode.Solve(prob, ode.DP5, set)
	if !errors.Is(err, ode.ErrTolerance) || strings.Contains(err.Error(), "stiff") || !strings.Contains(err.Error(), "1e-30") {
		t.Errorf("Solve: %v", err)
	}
	_, err = ode.Gradient(prob, lvCost, ode.DP5, &ode.Interpolating{}, set)
	if !errors.Is(err, ode.ErrTolerance) {
		t.Errorf("Gradient: %v", err)
	}
	// The backward solve's own tolerance is checked too.
	_, err = ode.Gradient(prob, lvCost, ode.DP5, &ode.Interpolating{Tol: ode.Tolerances{RTol: 1e-17}}, nil)
	if !errors.Is(err, ode.ErrTolerance) || !strings.Contains(err.Error(), "backward") {
		t.Errorf("Gradient with a tiny backward tolerance: %v", err)
	}
	// Fixed steps ignore the tolerance.
	if _, err := ode.Solve(prob, ode.RK4, &ode.Settings{RTol: 1e-30, Step: 0.1}); err != nil {
		t.Errorf("fixed steps: %v", err)
	}
}
