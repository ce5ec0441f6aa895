package main

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestODEConvFit checks the fitted slope on exact power laws, the error
// floor and the choice of the last points.
func TestODEConvFit(t *testing.T) {
	x := []float64{1, 0.5, 0.25, 0.125, 0.0625, 0.03125}
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = 3 * math.Pow(v, 4)
	}
	y[0] = 1e6 // a pre-asymptotic point outside the last 4
	y[5] = 1e-20
	got, used, lo, hi := odeConvFit(x, y, 1e-16, 4)
	if math.Abs(got-4) > 1e-12 || used != 4 || lo != 0.5 || hi != 0.0625 {
		t.Errorf("fit = %v over %d points [%v, %v], want 4 over 4 points [0.5, 0.0625]", got, used, lo, hi)
	}
	if s, n, _, _ := odeConvFit(x, y, 1, 4); !math.IsNaN(s) || n != 1 {
		t.Errorf("fit with one point above the floor = %v, %d points; want NaN, 1", s, n)
	}
}

// TestODEConvProblem checks the closed-form solution against the right-hand
// side, and the Jacobian and ∂f/∂t against central differences.
func TestODEConvProblem(t *testing.T) {
	var sys odeConvProblem
	f := make([]float64, 2)
	for _, tm := range []float64{0, 0.7, 3.1, 8} {
		y := odeConvExact(tm)
		sys.Eval(f, tm, y, nil)
		for i := range 2 {
			d := fd.Derivative(func(s float64) float64 { return odeConvExact(s)[i] }, tm, &fd.Settings{Formula: fd.Central})
			if math.Abs(d-f[i]) > 1e-8*max(1, math.Abs(f[i])) {
				t.Errorf("t = %v: y%d' = %v by differences, f = %v", tm, i+1, d, f[i])
			}
		}
		jac := mat.NewDense(2, 2, nil)
		sys.Jacobian(jac, tm, y, nil)
		want := mat.NewDense(2, 2, nil)
		fd.Jacobian(want, func(dst, y []float64) { sys.Eval(dst, tm, y, nil) }, y, &fd.JacobianSettings{Formula: fd.Central})
		if !mat.EqualApprox(jac, want, 1e-8) {
			t.Errorf("t = %v: Jacobian %v, differences %v", tm, mat.Formatted(jac), mat.Formatted(want))
		}
		dt := make([]float64, 2)
		sys.TimeDeriv(dt, tm, y, nil)
		for i := range 2 {
			d := fd.Derivative(func(s float64) float64 { sys.Eval(f, s, y, nil); return f[i] }, tm, &fd.Settings{Formula: fd.Central})
			if math.Abs(d-dt[i]) > 1e-8*max(1, math.Abs(d)) {
				t.Errorf("t = %v: ∂f%d/∂t = %v, differences %v", tm, i+1, dt[i], d)
			}
		}
	}
}

// TestODEConvConfig checks that bad values are rejected (the registry
// test checks that the defaults and their quick shrink are accepted).
func TestODEConvConfig(t *testing.T) {
	def := *runner.Defaults[odeConvConfig]("ode_convergence", false)
	for _, bad := range []func(*odeConvConfig){
		func(c *odeConvConfig) { c.Methods = nil },
		func(c *odeConvConfig) { c.Methods = []string{"RK45"} },
		func(c *odeConvConfig) { c.StepsMax = c.StepsMin - 1 },
		func(c *odeConvConfig) { c.RTolMin = 10 * c.RTolMax },
		func(c *odeConvConfig) { c.FitPoints = 1 },
	} {
		b := def
		bad(&b)
		if b.Validate() == nil {
			t.Errorf("accepted %+v", b)
		}
	}
}

// TestODEConvLocal checks the local slopes on an exact power law with a
// point below the floor.
func TestODEConvLocal(t *testing.T) {
	x := []float64{1, 0.5, 0.25, 0.125}
	y := []float64{2, 2.0 / 32, 2.0 / 1024, 1e-20}
	got := odeConvLocal(x, y, 1e-16)
	if len(got) != 2 || math.Abs(got[0]-5) > 1e-12 || math.Abs(got[1]-5) > 1e-12 {
		t.Errorf("local slopes %v, want [5 5]", got)
	}
}
