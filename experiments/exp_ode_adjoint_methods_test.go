package main

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/adjointkit/adjointkit/ode"
)

// odeAdjCheckSystem checks a hand-written system's VJP (and, when present,
// JVP, Jacobian and parameter Jacobian) against central differences of
// Eval, entry by entry: each entry of J = ∂f/∂(y, p) within 1e-7 of its
// size plus the rounding error of its difference quotient.
func odeAdjCheckSystem(t *testing.T, name string, sys ode.System, y, p []float64) {
	t.Helper()
	n, np := sys.Dims()
	z := append(append([]float64(nil), y...), p...)
	f0 := make([]float64, n)
	sys.Eval(f0, 0, y, p)
	fmax := floats.Norm(f0, math.Inf(1)) + 1
	want := mat.NewDense(n, n+np, nil)
	abs := make([]float64, n+np) // rounding error of column j
	for j := range z {
		h := 1e-6 * max(1e-3, math.Abs(z[j]))
		zp, zm := append([]float64(nil), z...), append([]float64(nil), z...)
		zp[j] += h
		zm[j] -= h
		fp, fm := make([]float64, n), make([]float64, n)
		sys.Eval(fp, 0, zp[:n], zp[n:])
		sys.Eval(fm, 0, zm[:n], zm[n:])
		for i := range n {
			want.Set(i, j, (fp[i]-fm[i])/(2*h))
		}
		abs[j] = 1e-13 * fmax / h
	}
	near := func(got, w, size, absTol float64) bool { return math.Abs(got-w) <= 1e-7*size+absTol }
	v := make([]float64, n)
	for i := range v {
		v[i] = math.Sin(1.3*float64(i) + 0.4)
	}
	yb, pb := make([]float64, n), make([]float64, np)
	sys.(ode.VJPer).VJP(yb, pb, 0, y, p, v)
	got := append(yb, pb...)
	for j := range got {
		var w, size float64
		for i := range n {
			w += v[i] * want.At(i, j)
			size += math.Abs(v[i] * want.At(i, j))
		}
		if !near(got[j], w, size, abs[j]) {
			t.Errorf("%s: VJP component %d = %v, differences %v", name, j, got[j], w)
		}
	}
	if jv, ok := sys.(ode.JVPer); ok {
		u := make([]float64, n+np)
		for i := range u {
			u[i] = math.Cos(0.7*float64(i) + 0.1)
		}
		dst := make([]float64, n)
		jv.JVP(dst, 0, y, p, u[:n], u[n:])
		for i := range n {
			var w, size, tol float64
			for j := range u {
				w += want.At(i, j) * u[j]
				size += math.Abs(want.At(i, j) * u[j])
				tol += abs[j] * math.Abs(u[j])
			}
			if !near(dst[i], w, size, tol) {
				t.Errorf("%s: JVP component %d = %v, differences %v", name, i, dst[i], w)
			}
		}
	}
	entries := func(what string, got *mat.Dense, off int) {
		r, c := got.Dims()
		for i := range r {
			for j := range c {
				if w := want.At(i, off+j); !near(got.At(i, j), w, math.Abs(w), abs[off+j]) {
					t.Errorf("%s: %s (%d, %d) = %v, differences %v", name, what, i, j, got.At(i, j), w)
				}
			}
		}
	}
	if ja, ok := sys.(ode.Jacobianer); ok {
		jac := mat.NewDense(n, n, nil)
		ja.Jacobian(jac, 0, y, p)
		entries("Jacobian", jac, 0)
	}
	if pj, ok := sys.(ode.ParamJacobianer); ok {
		jac := mat.NewDense(n, np, nil)
		pj.ParamJacobian(jac, 0, y, p)
		entries("parameter Jacobian", jac, n)
	}
}

// TestODEAdjSystems checks the hand-written derivatives of the
// Lotka–Volterra and Robertson systems.
func TestODEAdjSystems(t *testing.T) {
	odeAdjCheckSystem(t, "Lotka–Volterra", odeAdjLV{}, []float64{0.8, 1.3}, odeAdjLVP)
	odeAdjCheckSystem(t, "Robertson", odeAdjRob{}, []float64{0.7, 3e-5, 0.3}, odeAdjRobP)
}

// TestODEAdjElemRel checks the component-wise relative error.
func TestODEAdjElemRel(t *testing.T) {
	if got := odeAdjElemRel([]float64{1.1, -2}, []float64{1, -2.5}); math.Abs(got-0.2) > 1e-15 {
		t.Errorf("odeAdjElemRel = %v, want 0.2", got)
	}
}

// TestODEAdjConfig checks that the defaults and their quick shrink are
// valid, and that bad values are rejected.
func TestODEAdjConfig(t *testing.T) {
	e := registry["ode_adjoint_methods"]
	c := e.defaults().(*odeAdjConfig)
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
	def := *e.defaults().(*odeAdjConfig)
	e.quick(c)
	if err := c.Validate(); err != nil {
		t.Errorf("quick config rejected: %v", err)
	}
	if len(c.LVSolvers) > len(def.LVSolvers) || len(c.RobTimes) > len(def.RobTimes) || c.RobFDTighten > def.RobFDTighten {
		t.Errorf("quick config %+v is not a shrink of %+v", *c, def)
	}
	for _, bad := range []func(*odeAdjConfig){
		func(c *odeAdjConfig) { c.LVSolvers = nil },
		func(c *odeAdjConfig) { c.LVSolvers = []string{"RK4"} },
		func(c *odeAdjConfig) { c.RobATol = []float64{1e-8} },
		func(c *odeAdjConfig) { c.RobTimes = []float64{-1} },
		func(c *odeAdjConfig) { c.CheckpointEvery = 0 },
	} {
		b := *e.defaults().(*odeAdjConfig)
		bad(&b)
		if b.Validate() == nil {
			t.Errorf("accepted %+v", b)
		}
	}
}
