package ode

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// known is a test system with a closed-form solution: a rotation, a
// forced linear decay (non-autonomous) and a quadratic blow-up (nonlinear,
// singular at t = 2):
//
//	y1' = y2, y2' = −y1, y3' = −y3 + sin t + cos t, y4' = y4².
type known struct{}

func (known) Dims() (int, int) { return 4, 0 }
func (known) Eval(dst []float64, t float64, y, _ []float64) {
	dst[0] = y[1]
	dst[1] = -y[0]
	dst[2] = -y[2] + math.Sin(t) + math.Cos(t)
	dst[3] = y[3] * y[3]
}
func (known) Jacobian(dst *mat.Dense, _ float64, y, _ []float64) {
	dst.Zero()
	dst.Set(0, 1, 1)
	dst.Set(1, 0, -1)
	dst.Set(2, 2, -1)
	dst.Set(3, 3, 2*y[3])
}
func (known) TimeDeriv(dst []float64, t float64, _, _ []float64) {
	clear(dst)
	dst[2] = math.Cos(t) - math.Sin(t)
}

var knownY0 = []float64{1, 0, 1, 0.5}

func knownExact(t float64) []float64 {
	return []float64{math.Cos(t), -math.Sin(t), math.Sin(t) + math.Exp(-t), 0.5 / (1 - 0.5*t)}
}

// TestTableauConditions checks the consistency conditions every tableau
// must satisfy: row sums equal the stage times, weights sum to one, error
// weights sum to zero, FSAL rows, and continuous extensions that reproduce
// the step's solution at θ = 1.
func TestTableauConditions(t *testing.T) {
	for _, tab := range []*Tableau{Euler, Heun, RK4, BS3, DP5, Tsit5} {
		tab.check()
		for i, row := range tab.A {
			if d := math.Abs(floats.Sum(row) - tab.C[i]); d > 1e-14 {
				t.Errorf("%s: row %d sums to %v, c = %v", tab.Name, i, floats.Sum(row), tab.C[i])
			}
		}
		if d := math.Abs(floats.Sum(tab.B) - 1); d > 1e-14 {
			t.Errorf("%s: Σb − 1 = %g", tab.Name, d)
		}
		// Second-order condition Σ bᵢcᵢ = 1/2 (all but Euler).
		if tab.Order >= 2 {
			if d := math.Abs(floats.Dot(tab.B, tab.C) - 0.5); d > 1e-14 {
				t.Errorf("%s: Σ bc − 1/2 = %g", tab.Name, d)
			}
		}
		if tab.E != nil {
			if s := floats.Sum(tab.E); math.Abs(s) > 1e-14 {
				t.Errorf("%s: Σ e = %g", tab.Name, s)
			}
		}
		if tab.FSAL {
			s := len(tab.B)
			if tab.C[s-1] != 1 || tab.B[s-1] != 0 || !floats.Equal(tab.A[s-1], tab.B[:s-1]) {
				t.Errorf("%s: not FSAL", tab.Name)
			}
		}
		for i, row := range tab.Dense {
			if d := math.Abs(floats.Sum(row) - tab.B[i]); d > 1e-13 {
				t.Errorf("%s: b_%d(1) − b_%d = %g", tab.Name, i, i, d)
			}
		}
	}
	tab := Rodas4
	tab.check()
	for m, row := range tab.H {
		_ = m
		if len(row) != len(tab.B) {
			t.Errorf("Rodas4 dense row length")
		}
	}
}

// fixedError solves the known problem on [0, 1] with n fixed steps and
// returns the largest error at the steps and the largest dense-output error
// at the step midpoints.
func fixedError(t *testing.T, s Solver, n int, interp Interpolation) (end, dense float64) {
	t.Helper()
	const T = 1.0
	sol, err := Solve(Problem{System: known{}, T0: 0, T1: T, Y0: knownY0}, s,
		&Settings{Step: T / float64(n), Dense: true, SaveSteps: true, Interpolation: interp})
	if err != nil {
		t.Fatal(err)
	}
	for i, y := range sol.Y {
		end = math.Max(end, relErr(y, knownExact(sol.T[i])))
	}
	for i := range n {
		tm := T * (float64(i) + 0.5) / float64(n)
		dense = math.Max(dense, relErr(sol.At(nil, tm), knownExact(tm)))
	}
	return end, dense
}

// slope fits log(err) against log(h) by least squares.
func slope(ns []int, errs []float64) float64 {
	x, y := make([]float64, len(ns)), make([]float64, len(ns))
	for i, n := range ns {
		x[i], y[i] = math.Log(1/float64(n)), math.Log(errs[i])
	}
	xm, ym := floats.Sum(x)/float64(len(x)), floats.Sum(y)/float64(len(y))
	var num, den float64
	for i := range x {
		num += (x[i] - xm) * (y[i] - ym)
		den += (x[i] - xm) * (x[i] - xm)
	}
	return num / den
}

// expSin is a second smooth test system with a closed-form solution,
// y1' = cos(t)·y1 (y1 = e^{sin t}) and y2' = −2t·y2² (y2 = 1/(1+t²)), on
// which the explicit methods' errors reach their asymptotic regime early.
type expSin struct{}

func (expSin) Dims() (int, int) { return 2, 0 }
func (expSin) Eval(dst []float64, t float64, y, _ []float64) {
	dst[0] = math.Cos(t) * y[0]
	dst[1] = -2 * t * y[1] * y[1]
}

// TestConvergenceOrder measures each method's order as the least-squares
// slope of the global error against the fixed step size, on problems with
// known solutions (Rodas4 on the four-component one, whose forcing
// exercises the ∂f/∂t terms).
func TestConvergenceOrder(t *testing.T) {
	expErr := func(s Solver, n int) float64 {
		const T = 8.0
		sol, err := Solve(Problem{System: expSin{}, T0: 0, T1: T, Y0: []float64{1, 1}}, s, &Settings{Step: T / float64(n)})
		if err != nil {
			t.Fatal(err)
		}
		return relErr(sol.Y[0], []float64{math.Exp(math.Sin(T)), 1 / (1 + T*T)})
	}
	knownErr := func(s Solver, n int) float64 {
		e, _ := fixedError(t, s, n, InterpNative)
		return e
	}
	cases := []struct {
		s     Solver
		order float64
		ns    []int
		err   func(Solver, int) float64
	}{
		{Euler, 1, []int{800, 1600, 3200}, expErr},
		{Heun, 2, []int{160, 320, 640}, expErr},
		{RK4, 4, []int{80, 160, 320}, expErr},
		{BS3, 3, []int{160, 320, 640}, expErr},
		{DP5, 5, []int{40, 80, 160, 320}, expErr},
		{Tsit5, 5, []int{160, 320, 640}, expErr},
		{Rodas4, 4, []int{20, 40, 80, 160}, knownErr},
	}
	for _, c := range cases {
		errs := make([]float64, len(c.ns))
		for i, n := range c.ns {
			errs[i] = c.err(c.s, n)
		}
		got := slope(c.ns, errs)
		t.Logf("%-6v order %.2f (errors %.2g … %.2g)", c.s, got, errs[0], errs[len(errs)-1])
		if math.Abs(got-c.order) > 0.3 {
			t.Errorf("%v: measured order %.2f, want %v", c.s, got, c.order)
		}
	}
}

// TestDenseOutputOrder measures the order of the continuous extensions:
// the error of the interpolant at step midpoints. Cubic Hermite and Rodas4's
// third-order extension have local error O(h⁴), the fourth-order extensions
// of DP5 and Tsit5 O(h⁵).
func TestDenseOutputOrder(t *testing.T) {
	cases := []struct {
		s      Solver
		interp Interpolation
		order  float64
		ns     []int
	}{
		{DP5, InterpNative, 5, []int{20, 40, 80, 160}},
		{Tsit5, InterpNative, 5, []int{20, 40, 80, 160}},
		{DP5, InterpHermite, 4, []int{20, 40, 80, 160}},
		{RK4, InterpNative, 4, []int{20, 40, 80, 160}},
		{Rodas4, InterpNative, 4, []int{20, 40, 80, 160}},
		{Rodas4, InterpHermite, 4, []int{20, 40, 80, 160}},
	}
	for _, c := range cases {
		errs := make([]float64, len(c.ns))
		for i, n := range c.ns {
			_, errs[i] = fixedError(t, c.s, n, c.interp)
		}
		got := slope(c.ns, errs)
		t.Logf("%-6v interp %d: dense order %.2f (errors %.2g … %.2g)", c.s, c.interp, got, errs[0], errs[len(errs)-1])
		if math.Abs(got-c.order) > 0.3 {
			t.Errorf("%v interpolation %d: dense output order %.2f, want %v", c.s, c.interp, got, c.order)
		}
	}
}

// TestDenseOutputAccuracy checks that with adaptive steps the dense output
// is as accurate as the solution at the steps.
func TestDenseOutputAccuracy(t *testing.T) {
	for _, s := range []Solver{BS3, DP5, Tsit5, Rodas4} {
		sol, err := Solve(Problem{System: known{}, T0: 0, T1: 1.5, Y0: knownY0}, s,
			&Settings{RTol: 1e-8, ATol: 1e-10, Dense: true})
		if err != nil {
			t.Fatal(err)
		}
		var worst float64
		for i := range 301 {
			tm := 1.5 * float64(i) / 300
			worst = math.Max(worst, relErr(sol.At(nil, tm), knownExact(tm)))
		}
		t.Logf("%-6v %4d steps, dense error %.2g", s, sol.Stats.Steps, worst)
		if worst > 2e-7 {
			t.Errorf("%v: dense output error %g at rtol 1e-8", s, worst)
		}
	}
}
