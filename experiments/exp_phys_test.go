package main

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/optimize"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/physics"
)

// TestPhysGradCheck checks the finite-difference helper of the physics
// experiments on a quadratic with a known gradient, and a wrong gradient.
func TestPhysGradCheck(t *testing.T) {
	quad := func(wrong float64) func(grad, x []float64) (float64, error) {
		return func(grad, x []float64) (float64, error) {
			f := 0.0
			for i, v := range x {
				f += float64(i+1) * v * v / 2
				if grad != nil {
					grad[i] = float64(i+1)*v + wrong
				}
			}
			return f, nil
		}
	}
	x := []float64{1, -2, 3}
	rel, _, _, err := physGradCheck(quad(0), x, 1e-6)
	if err != nil || rel > 1e-8 {
		t.Errorf("exact gradient: rel error %.3g, err %v", rel, err)
	}
	rel, _, _, _ = physGradCheck(quad(0.1), x, 1e-6)
	if rel < 1e-3 {
		t.Errorf("wrong gradient passes: rel error %.3g", rel)
	}
	d, err := physDirCheck(rand.New(rand.NewPCG(1, 2)), quad(0), x, 3, 1e-5)
	if err != nil || d > 1e-7 {
		t.Errorf("directional check: %.3g, %v", d, err)
	}
}

// TestPhysLinspace checks that the last point is exactly the end.
func TestPhysLinspace(t *testing.T) {
	ts := physLinspace(0.2, 2, 10)
	if ts[9] != 2 || math.Abs(ts[1]-0.4) > 1e-15 {
		t.Errorf("physLinspace = %v", ts)
	}
}

// TestPhysDirCheckFails checks that the directional check sees a wrong
// gradient.
func TestPhysDirCheckFails(t *testing.T) {
	wrong := func(grad, x []float64) (float64, error) {
		f := 0.0
		for i, v := range x {
			f += v * v / 2
			if grad != nil {
				grad[i] = 1.1 * v
			}
		}
		return f, nil
	}
	d, err := physDirCheck(rand.New(rand.NewPCG(1, 2)), wrong, []float64{1, -2, 3}, 3, 1e-5)
	if err != nil || d < 0.05 {
		t.Errorf("a gradient 10%% too large passes the directional check: %.3g, %v", d, err)
	}
}

// TestPhysCapReport checks that a run stopped at its iteration limit is
// named, and that converged runs are reported as such.
func TestPhysCapReport(t *testing.T) {
	conv := &physics.Result{Status: optimize.GradientThreshold}
	capped := &physics.Result{Status: optimize.IterationLimit}
	var rep runner.Report
	physCapReport(&rep, physRun{"noisy data", conv, 500}, physRun{"noise-free data", capped, 500})
	if text := rep.Text(); !strings.Contains(text, "1 run stopped at the iteration limit without converging: noise-free data (limit 500).") {
		t.Errorf("a capped run is not flagged:\n%s", text)
	}
	rep = runner.Report{}
	physCapReport(&rep, physRun{"aiming", conv, 500})
	if text := rep.Text(); !strings.Contains(text, "The L-BFGS run converged before its iteration limit (500 iterations).") {
		t.Errorf("a converged run is not reported as such:\n%s", text)
	}
}

// TestPhysNoiseLevel checks the χ² sentence against hand-computed numbers:
// m = 40 values, k = 4 unknowns and σ = 0.1 leave ½·36·0.01 = 0.18 with a
// standard deviation of ½·0.01·√72 ≈ 0.0424.
func TestPhysNoiseLevel(t *testing.T) {
	for _, tc := range []struct {
		loss float64
		want string
	}{
		{0.18 + 0.0424, "1.0 standard deviations above ½(m − k)σ² = 0.18"},
		{0.18 - 2*0.0424, "2.0 standard deviations below"},
		{0.18 + 10*0.0424, "does not explain the data down to the noise"},
	} {
		if got := physNoiseLevel(tc.loss, 40, 4, 0.1); !strings.Contains(got, tc.want) {
			t.Errorf("loss %g: %q does not say %q", tc.loss, got, tc.want)
		}
	}
}
