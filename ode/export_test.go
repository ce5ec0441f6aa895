package ode

import (
	"gonum.org/v1/gonum/mat"

	"github.com/adjointkit/adjointkit/adjoint"
)

// This file exports internals, in test builds only, to the external test
// package ode_test. Its tests run on the models of package physics, which
// imports ode, so they cannot live in package ode; some of them check the
// machinery below with those models, and they share the helpers of ode's
// own tests.

// DefaultMaxSteps is the step limit of a solve whose Settings leave
// MaxSteps zero.
const DefaultMaxSteps = defaultMaxSteps

// Test helpers shared with ode_test (see helpers_test.go).
var (
	RelErr        = relErr
	ElemRel       = elemRel
	RandVec       = randVec
	ReadReference = readReference
)

// SysOps gives ode_test the derivatives the solvers take of a System:
// its own where it has them, else finite-difference fallbacks.
type SysOps struct{ o *sysOps }

// NewSysOps returns the derivatives of sys at parameters p, counting work in
// st; floor is the smallest scale of each state component used to size
// finite-difference steps (nil: none).
func NewSysOps(sys System, p []float64, st *Stats, floor []float64) SysOps {
	return SysOps{newSysOps(sys, p, st, floor)}
}

// Jacobian writes ∂f/∂y at (t, y) to dst.
func (s SysOps) Jacobian(dst *mat.Dense, t float64, y []float64) { s.o.jacobian(dst, t, y, nil) }

// VJP accumulates ybar += (∂f/∂y)ᵀw and pbar += (∂f/∂p)ᵀw.
func (s SysOps) VJP(ybar, pbar []float64, t float64, y, w []float64) { s.o.vjp(ybar, pbar, t, y, w) }

// JVP writes dst = (∂f/∂y)ẏ + (∂f/∂p)ṗ.
func (s SysOps) JVP(dst []float64, t float64, y, ydot, pdot []float64) {
	s.o.jvp(dst, t, y, ydot, pdot, nil)
}

// VJPTangent is the derivative of VJP along the tangent (dt, dy, dp).
func (s SysOps) VJPTangent(ybar, pbar []float64, t, h float64, y, w []float64, dt float64, dy, dp []float64) {
	s.o.vjpTangent(ybar, pbar, t, h, y, w, dt, dy, dp)
}

// JVPTangent is the derivative of JVP along the tangent (dt, dy, dp).
func (s SysOps) JVPTangent(dst []float64, t, h float64, y, ydot, pdot []float64, dt float64, dy, dp []float64) {
	s.o.jvpTangent(dst, t, h, y, ydot, pdot, dt, dy, dp)
}

// NewStep returns the discrete adjoint's step of solver s (a *Tableau or a
// *RosenbrockTableau) on sys, with the integral cost integ accumulated as an
// extra state component, at the step times ts and sizes hs. The parameters
// p are read in place when the step runs.
func NewStep(s Solver, sys System, p []float64, st *Stats, integ *Integral, ts, hs []float64) adjoint.Step {
	fld := newSysField(newSysOps(sys, p, st, nil), integ)
	if tab, ok := s.(*Tableau); ok {
		return newRKStep(tab, fld, ts, hs)
	}
	return newRosStep(s.(*RosenbrockTableau), fld, ts, hs)
}

// DenseStep is one step of a dense solution: its start T and size H, its
// interpolant and the interpolant's time derivative.
type DenseStep struct {
	T, H  float64
	Eval  func(dst []float64, t float64)
	Deriv func(dst []float64, t float64)
}

// DenseSteps returns the first n steps of the dense output of sol, which
// must have been solved with Settings.Dense.
func (sol *Solution) DenseSteps(n int) []DenseStep {
	var out []DenseStep
	for _, rec := range sol.traj.recs[:n] {
		out = append(out, DenseStep{T: rec.t, H: rec.h, Eval: rec.eval, Deriv: rec.deriv})
	}
	return out
}
