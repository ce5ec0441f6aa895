package main

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestRNNSpecRadius checks the spectral radius and the eigenvector
// condition number on matrices where both are known.
func TestRNNSpecRadius(t *testing.T) {
	// 1.5 times a rotation: eigenvalues 1.5·e^{±iθ}, orthonormal
	// eigenvectors (cond 1).
	th := 0.7
	rot := mat.NewDense(2, 2, []float64{1.5 * math.Cos(th), -1.5 * math.Sin(th), 1.5 * math.Sin(th), 1.5 * math.Cos(th)})
	rho, eig, cond, err := rnnSpecRadius(rot)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(rho-1.5) > 1e-14 || len(eig) != 2 || math.Abs(cond-1) > 1e-12 {
		t.Errorf("rotation: ρ = %v, cond = %v, eigenvalues %v", rho, cond, eig)
	}
	// An upper-triangular matrix: eigenvalues on the diagonal.
	tri := mat.NewDense(3, 3, []float64{0.5, 3, 1, 0, -0.9, 2, 0, 0, 0.2})
	if rho, _, cond, _ := rnnSpecRadius(tri); math.Abs(rho-0.9) > 1e-14 || cond <= 1 {
		t.Errorf("triangular: ρ = %v (want 0.9), cond = %v (want > 1)", rho, cond)
	}
	if n := rnnSpecNorm2(mat.NewDense(2, 2, []float64{3, 0, 0, -4})); math.Abs(n-4) > 1e-14 {
		t.Errorf("‖diag(3, −4)‖₂ = %v, want 4", n)
	}
}

func TestRNNSpecValidate(t *testing.T) {
	c := *runner.Defaults[rnnSpecConfig]("rnn_spectral_radius", false)
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c.Radii = []float64{3}
	c.Steps = 2000
	if err := c.Validate(); err == nil {
		t.Error("ρ^T beyond float64 accepted")
	}
}
