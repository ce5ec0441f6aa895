package main

import (
	"math"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
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
	r := &runner.LegacyRun{Report: &runner.Report{}, Seed: 1}
	d, err := physDirCheck(r, quad(0), x, 3, 1e-5)
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
