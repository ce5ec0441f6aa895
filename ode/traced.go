package ode

import (
	"fmt"

	"github.com/adjointkit/adjointkit/adjoint"
	"gonum.org/v1/gonum/mat"
)

// Traced is a System whose right-hand side is written once with the adjoint
// package's operations; every derivative capability is then derived from it
// exactly by automatic differentiation: VJPs by reverse mode, JVPs and ∂f/∂t
// by forward mode, dense Jacobians, and the second derivatives of
// SecondOrderer by differentiating those again. The ODE solve op (Op)
// derives the tangent system of a Traced system as another Traced system,
// so that its derivatives are exact to every order.
//
// F receives t as a 0-D value, y as a 1-D value of length N and p as a 1-D
// value of length NP, and must return N elements. Every call — the plain
// evaluation included — hands F tracked values (adjoint.Record), so an F
// that differentiates its own arguments (a field defined as the gradient of
// an energy) computes the same function in every call. F must not capture
// differentiable values from outside: pass them through p (adjoint.Layout
// packs several tensors into p and Layout.Vars unpacks them inside F), and
// use Const for fixed data.
//
// Each derivative records and differentiates one run of F, so a Traced system
// is convenient and exact but slower than a hand-written System; for hot
// loops, hand-write Eval and VJP and check them against Traced.
type Traced struct {
	// N is the state dimension.
	N int
	// NP is the number of parameters.
	NP int
	// F computes f(t, y, p).
	F func(t, y, p *adjoint.Var) *adjoint.Var

	// base, when not nil, is the system whose tangent system this is (see
	// tangent): Eval then computes [f, ∂f/∂y·s + ∂f/∂p·q] from one
	// recording of base's F and a forward pass that records nothing, the
	// same arithmetic as F without building the graph of the tangent.
	base *Traced
}

var (
	_ System          = (*Traced)(nil)
	_ VJPer           = (*Traced)(nil)
	_ JVPer           = (*Traced)(nil)
	_ Jacobianer      = (*Traced)(nil)
	_ ParamJacobianer = (*Traced)(nil)
	_ TimeDeriver     = (*Traced)(nil)
	_ SecondOrderer   = (*Traced)(nil)
)

// Dims returns N and NP.
func (s *Traced) Dims() (n, np int) { return s.N, s.NP }

// record runs F once on tracked t, y and p (shared, not copied).
func (s *Traced) record(t float64, y, p []float64) *adjoint.Recording {
	s.checkDims(y, p)
	r := adjoint.Record(func(in []*adjoint.Var) *adjoint.Var { return s.F(in[0], in[1], in[2]) },
		adjoint.Scalar(t), vec(y), vec(p))
	if r.Out.Size() != s.N {
		panic(fmt.Sprintf("ode: Traced.F returned shape %v, want %d elements", r.Out.Shape(), s.N))
	}
	return r
}

// checkDims panics unless y and p have the lengths N and NP.
func (s *Traced) checkDims(y, p []float64) {
	if len(y) != s.N || len(p) != s.NP {
		panic(fmt.Sprintf("ode: Traced: len(y) = %d, len(p) = %d, want %d and %d", len(y), len(p), s.N, s.NP))
	}
}

func vec(x []float64) *adjoint.Tensor { return adjoint.FromData(x, len(x)) }

// dtDot returns the tangent of the 0-D time argument: nil for zero.
func dtDot(dt float64) []float64 {
	if dt == 0 {
		return nil
	}
	return []float64{dt}
}

// Eval writes f(t, y, p) to dst.
func (s *Traced) Eval(dst []float64, t float64, y, p []float64) {
	if b := s.base; b != nil {
		s.checkDims(y, p)
		r := b.record(t, y[:b.N], p[:b.NP])
		copy(dst[:b.N], r.Value())
		r.JVP(dst[b.N:], nil, y[b.N:], p[b.NP:])
		return
	}
	copy(dst, s.record(t, y, p).Value())
}

// VJP accumulates ybar += (∂f/∂y)ᵀ v and pbar += (∂f/∂p)ᵀ v by reverse mode.
func (s *Traced) VJP(ybar, pbar []float64, t float64, y, p, v []float64) {
	if s.base != nil {
		s.tangentVJP(ybar, pbar, t, y, p, v)
		return
	}
	s.record(t, y, p).VJP([][]float64{nil, ybar, pbar}, v)
}

// tangentVJP is VJP for the tangent system of s.base: the graph F records,
// [f, ∂f/∂y·s + ∂f/∂p·q], taken on y, p, s and q as leaves of their own
// rather than on slices of [y, s] and [p, q], which saves cutting the
// arguments apart and joining their cotangents; the cotangents are the
// same.
func (s *Traced) tangentVJP(ybar, pbar []float64, t float64, ys, pq, w []float64) {
	b := s.base
	n, np := b.N, b.NP
	s.checkDims(ys, pq)
	vjpParts(recordParts(b.tangentF, t, ys, pq, n, np), ybar, pbar, w, n, np)
}

// JVP writes dst = (∂f/∂y)·ydot + (∂f/∂p)·pdot by forward mode.
func (s *Traced) JVP(dst []float64, t float64, y, p, ydot, pdot []float64) {
	s.record(t, y, p).JVP(dst, nil, ydot, pdot)
}

// Jacobian writes ∂f/∂y (n×n) by forward mode, one tangent per column of
// one recorded run.
func (s *Traced) Jacobian(dst *mat.Dense, t float64, y, p []float64) {
	jvpColumns(dst, s.record(t, y, p), 1, s.N)
}

// ParamJacobian writes ∂f/∂p (n×np), by forward or reverse mode, whichever
// needs fewer passes.
func (s *Traced) ParamJacobian(dst *mat.Dense, t float64, y, p []float64) {
	if s.NP == 0 {
		return
	}
	r := s.record(t, y, p)
	if s.NP <= s.N {
		jvpColumns(dst, r, 2, s.N)
		return
	}
	e, row := make([]float64, s.N), make([]float64, s.NP)
	for i := range s.N {
		e[i] = 1
		clear(row)
		r.VJP([][]float64{nil, nil, row}, e)
		dst.SetRow(i, row)
		e[i] = 0
	}
}

// jvpColumns fills dst with the Jacobian of r's output (m elements) with
// respect to its argument arg, one JVP per column.
func jvpColumns(dst *mat.Dense, r *adjoint.Recording, arg, m int) {
	dots := make([][]float64, len(r.In))
	e, col := make([]float64, r.In[arg].Size()), make([]float64, m)
	dots[arg] = e
	for j := range e {
		e[j] = 1
		r.JVP(col, dots...)
		dst.SetCol(j, col)
		e[j] = 0
	}
}

// TimeDeriv writes ∂f/∂t by forward mode.
func (s *Traced) TimeDeriv(dst []float64, t float64, y, p []float64) {
	s.record(t, y, p).JVP(dst, []float64{1}, nil, nil)
}

// VJPTangent accumulates the derivative of the VJP along (dt, dy, dp),
// reverse over forward mode.
func (s *Traced) VJPTangent(ybar, pbar []float64, t float64, y, p, w []float64, dt float64, dy, dp []float64) {
	s.record(t, y, p).Tangent(dtDot(dt), dy, dp).VJP([][]float64{nil, ybar, pbar}, w)
}

// JVPTangent writes the derivative of the JVP along (dt, dy, dp), forward
// over forward mode.
func (s *Traced) JVPTangent(dst []float64, t float64, y, p, ydot, pdot []float64, dt float64, dy, dp []float64) {
	s.record(t, y, p).Tangent(nil, ydot, pdot).JVP(dst, dtDot(dt), dy, dp)
}
