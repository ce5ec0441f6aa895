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
// SecondOrderer by differentiating those again.
//
// F receives t as a 0-D value, y as a 1-D value of length N and p as a 1-D
// value of length NP, and must return N elements. F must not capture
// differentiable values from outside (use Const for fixed data).
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

func (s *Traced) call(t, y, p *adjoint.Var) *adjoint.Var {
	out := s.F(t, y, p)
	if out.Size() != s.N {
		panic(fmt.Sprintf("ode: Traced.F returned shape %v, want %d elements", out.Shape(), s.N))
	}
	return adjoint.Reshape(out, s.N)
}

func (s *Traced) check(y, p []float64) {
	if len(y) != s.N || len(p) != s.NP {
		panic(fmt.Sprintf("ode: Traced: len(y) = %d, len(p) = %d, want %d and %d", len(y), len(p), s.N, s.NP))
	}
}

func vec(x []float64) *adjoint.Tensor { return adjoint.FromData(x, len(x)) }

// Eval writes f(t, y, p) to dst without recording a graph.
func (s *Traced) Eval(dst []float64, t float64, y, p []float64) {
	s.check(y, p)
	out := s.call(adjoint.ConstScalar(t), adjoint.Const(vec(y)), adjoint.Const(vec(p)))
	copy(dst, out.Value().Data)
}

// VJP accumulates ybar += (∂f/∂y)ᵀ v and pbar += (∂f/∂p)ᵀ v by reverse mode.
func (s *Traced) VJP(ybar, pbar []float64, t float64, y, p, v []float64) {
	s.check(y, p)
	yv, pv := adjoint.Param(vec(y)), adjoint.Param(vec(p))
	out := s.call(adjoint.ConstScalar(t), yv, pv)
	g := adjoint.Backward(out, []*adjoint.Var{yv, pv}, &adjoint.GradSettings{Cotangent: adjoint.Const(vec(v))})
	addTo(ybar, g[0].Value().Data)
	addTo(pbar, g[1].Value().Data)
}

// JVP writes dst = (∂f/∂y)·ydot + (∂f/∂p)·pdot by forward mode.
func (s *Traced) JVP(dst []float64, t float64, y, p, ydot, pdot []float64) {
	s.check(y, p)
	yv, pv := adjoint.Param(vec(y)), adjoint.Param(vec(p))
	out := s.call(adjoint.ConstScalar(t), yv, pv)
	xs, dots := []*adjoint.Var{yv}, []*adjoint.Var{adjoint.Const(vec(ydot))}
	if pdot != nil {
		xs, dots = append(xs, pv), append(dots, adjoint.Const(vec(pdot)))
	}
	copy(dst, adjoint.Tangent(out, xs, dots, false).Value().Data)
}

// Jacobian writes ∂f/∂y (n×n) by forward mode, one tangent per column.
func (s *Traced) Jacobian(dst *mat.Dense, t float64, y, p []float64) {
	s.check(y, p)
	tc, pc := adjoint.ConstScalar(t), adjoint.Const(vec(p))
	adjoint.JacobianFwd(dst, func(yv *adjoint.Var) *adjoint.Var { return s.call(tc, yv, pc) }, vec(y))
}

// ParamJacobian writes ∂f/∂p (n×np), by forward or reverse mode, whichever
// needs fewer passes.
func (s *Traced) ParamJacobian(dst *mat.Dense, t float64, y, p []float64) {
	s.check(y, p)
	if s.NP == 0 {
		return
	}
	tc, yc := adjoint.ConstScalar(t), adjoint.Const(vec(y))
	f := func(pv *adjoint.Var) *adjoint.Var { return s.call(tc, yc, pv) }
	if s.NP <= s.N {
		adjoint.JacobianFwd(dst, f, vec(p))
	} else {
		adjoint.JacobianRev(dst, f, vec(p))
	}
}

// TimeDeriv writes ∂f/∂t by forward mode.
func (s *Traced) TimeDeriv(dst []float64, t float64, y, p []float64) {
	s.check(y, p)
	tv := adjoint.Param(adjoint.Scalar(t))
	out := s.call(tv, adjoint.Const(vec(y)), adjoint.Const(vec(p)))
	copy(dst, adjoint.Tangent(out, []*adjoint.Var{tv}, []*adjoint.Var{adjoint.ConstScalar(1)}, false).Value().Data)
}

// VJPTangent accumulates ybar += ∇_y(wᵀ (∂f/∂y) u) and
// pbar += ∇_p(wᵀ (∂f/∂y) u), reverse over forward mode.
func (s *Traced) VJPTangent(ybar, pbar []float64, t float64, y, p, w, u []float64) {
	s.check(y, p)
	yv, pv := adjoint.Param(vec(y)), adjoint.Param(vec(p))
	out := s.call(adjoint.ConstScalar(t), yv, pv)
	ju := adjoint.Tangent(out, []*adjoint.Var{yv}, []*adjoint.Var{adjoint.Const(vec(u))}, true)
	g := adjoint.Backward(ju, []*adjoint.Var{yv, pv}, &adjoint.GradSettings{Cotangent: adjoint.Const(vec(w))})
	addTo(ybar, g[0].Value().Data)
	addTo(pbar, g[1].Value().Data)
}

// JVPTangent writes the derivative of the JVP along u, forward over forward
// mode.
func (s *Traced) JVPTangent(dst []float64, t float64, y, p, ydot, pdot, u []float64) {
	s.check(y, p)
	yv, pv := adjoint.Param(vec(y)), adjoint.Param(vec(p))
	out := s.call(adjoint.ConstScalar(t), yv, pv)
	xs, dots := []*adjoint.Var{yv}, []*adjoint.Var{adjoint.Const(vec(ydot))}
	if pdot != nil {
		xs, dots = append(xs, pv), append(dots, adjoint.Const(vec(pdot)))
	}
	jv := adjoint.Tangent(out, xs, dots, true)
	copy(dst, adjoint.Tangent(jv, []*adjoint.Var{yv}, []*adjoint.Var{adjoint.Const(vec(u))}, false).Value().Data)
}

// addTo accumulates dst += src; a nil dst is skipped.
func addTo(dst, src []float64) {
	if dst == nil {
		return
	}
	for i, v := range src {
		dst[i] += v
	}
}
