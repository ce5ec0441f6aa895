package ode_test

import (
	"math"
	"testing"

	"github.com/adjointkit/adjointkit/ode"
)

// TestLeastSquaresOf: a misfit of some components only, its value and
// gradient by hand, and its adjoint gradient against finite differences.
func TestLeastSquaresOf(t *testing.T) {
	times := []float64{1, 2.5, 4}
	data := [][]float64{{0.9}, {2.1}, {0.4}}
	obs := ode.LeastSquaresOf(times, data, []int{1}) // the predators only
	y := []float64{7, 1.4}
	if g := obs.G(0, y, nil); math.Abs(g-0.125) > 1e-15 {
		t.Errorf("G = %v, want 0.125", g)
	}
	gy := make([]float64, 2)
	obs.Grad(gy, nil, 0, y, nil)
	if gy[0] != 0 || math.Abs(gy[1]-0.5) > 1e-15 {
		t.Errorf("Grad = %v, want [0 0.5]", gy)
	}
	// The full misfit is LeastSquares.
	full := ode.LeastSquares(times, [][]float64{{1, 0.9}, {1, 2.1}, {1, 0.4}})
	if g := full.G(0, y, nil); math.Abs(g-(36+0.25)/2) > 1e-14 {
		t.Errorf("LeastSquares G = %v", g)
	}
	prob := lvProblem(lv)
	set := &ode.Settings{RTol: 1e-10, ATol: 1e-12}
	cost := ode.Cost{Observations: obs}
	res, err := ode.Gradient(prob, cost, ode.DP5, nil, set)
	if err != nil {
		t.Fatal(err)
	}
	dp, dy := gradFD(t, prob, cost, ode.DP5, set, 1e-5)
	if e := math.Max(ode.RelErr(res.DP, dp), ode.RelErr(res.DY0, dy)); e > 1e-6 {
		t.Errorf("gradient vs finite differences: rel err %g", e)
	}
	for name, f := range map[string]func(){
		"row length": func() { ode.LeastSquaresOf(times, [][]float64{{1}, {1, 2}, {1}}, []int{0}) },
		"component":  func() { ode.LeastSquaresOf(times, data, []int{2}).G(0, y, nil) },
		"times":      func() { ode.LeastSquaresOf(times[:2], data, nil) },
	} {
		func() {
			defer func() {
				if r, _ := recover().(string); len(r) < 4 || r[:4] != "ode:" {
					t.Errorf("%s: panic %q", name, r)
				}
			}()
			f()
		}()
	}
}
