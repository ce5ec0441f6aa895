package main

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// TestDiffusion1D checks the residual of the diffusion problem: the forward
// solve zeroes it, its dense Jacobian is symmetric and matches VJPU, and
// VJPTheta matches central differences of ⟨w, F(u, k)⟩.
func TestDiffusion1D(t *testing.T) {
	const n = 9
	p := newDiffusion1D(n)
	k := make([]float64, n)
	for i := range k {
		k[i] = diffusionCoeff(p.centre(i)) * diffusionBump(p.centre(i), 0.3)
	}
	u := make([]float64, n)
	if err := newDiffSolver(p).solve(u, k); err != nil {
		t.Fatal(err)
	}
	r := make([]float64, n)
	p.Eval(r, u, k)
	if e := floats.Norm(r, math.Inf(1)); e > 1e-13 {
		t.Errorf("residual of the forward solve is %.3g", e)
	}

	a := mat.NewDense(n, n, nil)
	p.JacobianU(a, u, k)
	if !mat.EqualApprox(a, a.T(), 0) {
		t.Errorf("∂F/∂u is not symmetric")
	}
	w := make([]float64, n)
	for i := range w {
		w[i] = math.Cos(1.7*float64(i) + 0.3)
	}
	ubar := make([]float64, n)
	p.VJPU(ubar, u, k, w)
	var aw mat.VecDense
	aw.MulVec(a.T(), mat.NewVecDense(n, w))
	if !floats.EqualApprox(ubar, aw.RawVector().Data, 1e-12) {
		t.Errorf("VJPU = %v, Jᵀw = %v", ubar, aw.RawVector().Data)
	}
	// ∂F/∂u by central differences (F is linear in u, so they are exact
	// up to rounding).
	wu := fd.Gradient(nil, func(uu []float64) float64 { p.Eval(r, uu, k); return floats.Dot(w, r) }, u, &fd.Settings{Formula: fd.Central})
	if e := relErr(ubar, wu); e > 1e-8 {
		t.Errorf("VJPU differs from central differences: %.3g", e)
	}

	kbar := make([]float64, n)
	p.VJPTheta(kbar, u, k, w)
	want := fd.Gradient(nil, func(kk []float64) float64 { p.Eval(r, u, kk); return floats.Dot(w, r) }, k, &fd.Settings{Formula: fd.Central})
	if e := relErr(kbar, want); e > 1e-8 {
		t.Errorf("VJPTheta differs from central differences: %.3g\n got %v\nwant %v", e, kbar, want)
	}
}
