package main

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/diff/fd"

	"github.com/adjointkit/adjointkit/adjoint"
)

// TestRevolveOptimum checks the experiment's closed form of the revolve
// optimum against adjoint.BinomialEvals for every small (n, s).
func TestRevolveOptimum(t *testing.T) {
	for n := 1; n <= 80; n++ {
		for s := 1; s <= n+2; s++ {
			if got, want := revolveOptimum(n, s), adjoint.BinomialEvals(n, s); got != want {
				t.Errorf("revolveOptimum(%d, %d) = %d, BinomialEvals = %d", n, s, got, want)
			}
		}
	}
	if got := revolveOptimum(100_000, 10); got != adjoint.BinomialEvals(100_000, 10) {
		t.Errorf("revolveOptimum(1e5, 10) = %d, BinomialEvals = %d", got, adjoint.BinomialEvals(100_000, 10))
	}
}

// TestDrivenTanhStepVJP checks the hand-written VJP of the recurrence step
// against central differences of ⟨nextbar, step(k, x, θ)⟩.
func TestDrivenTanhStepVJP(t *testing.T) {
	const d, k = 4, 7
	s := &drivenTanhStep{d: d, amp: 0.5, omega: []float64{0.1, 0.2, 0.3, 0.4}, phase: []float64{0, 1, 2, 3}}
	x := []float64{0.3, -0.2, 0.5, 0.1}
	theta := make([]float64, d*d+d)
	for i := range theta {
		theta[i] = 0.4 * math.Sin(1.3*float64(i)+0.2)
	}
	nextbar := []float64{1, -0.5, 0.25, 2}
	xbar, thetabar := make([]float64, d), make([]float64, len(theta))
	s.VJP(xbar, thetabar, k, x, theta, nextbar)

	z := append(append([]float64(nil), x...), theta...)
	next := make([]float64, d)
	want := fd.Gradient(nil, func(z []float64) float64 {
		s.Eval(next, k, z[:d], z[d:])
		var v float64
		for i := range next {
			v += nextbar[i] * next[i]
		}
		return v
	}, z, &fd.Settings{Formula: fd.Central})
	got := append(append([]float64(nil), xbar...), thetabar...)
	if e := relErr(got, want); e > 1e-8 {
		t.Errorf("VJP differs from central differences: normwise relative error %.3g", e)
	}
}

// TestCkptLevel checks the running-loss level and the settling steps on a
// sequence built by hand: level 1 everywhere but a terminal spike that
// halves each step back.
func TestCkptLevel(t *testing.T) {
	lam := make([]float64, 101)
	for k := range lam {
		lam[k] = 1
	}
	for j, v := 0, 64.0; v > 1; j, v = j+1, v/2 {
		lam[100-j] = 1 + v // 65, 33, 17, 9, 5, 3 at k = 100 … 95
	}
	level, settle := ckptLevel(lam, 20)
	if level != 1 || settle != 6 {
		t.Errorf("level %v, settle %d; want 1 and 6 (3 > 2 at k = 95, 1 ≤ 2 at k = 94)", level, settle)
	}
}
