package ode

import (
	"fmt"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
)

// BenchmarkOpHVP compares an exact Hessian-vector product of an ODE
// functional (forward over adjoint: the gradient's recorded pass plus a
// tangent pass, which solves the tangent system forwards and its adjoint
// backwards) with one gradient through the op, on CVODES's
// cvsHessian_ASA_FSA problem at rtol 1e-10: hand-written (second
// derivatives supplied by hand) and Traced (automatic to every order).
func BenchmarkOpHVP(b *testing.B) {
	y0, p, v := adjoint.Vector(1, 1, 1), adjoint.Vector(1, 2), adjoint.Vector(0.6, -0.8)
	for _, m := range []Sensitivity{&Interpolating{}, &Discrete{}} {
		hand := &Op{System: cvsHessianHW{}, T0: 0, T1: 2, Integral: halfSquares, Method: m, Settings: &Settings{RTol: 1e-10, ATol: 1e-12}}
		for _, c := range []struct {
			name string
			op   *Op
		}{{"hand", hand}, {"traced", cvsHessianOp(m)}} {
			op := c.op
			G := func(xs ...*adjoint.Var) *adjoint.Var {
				_, q, _ := op.SolveIntegral(adjoint.Const(y0), xs[0])
				return q
			}
			b.Run(fmt.Sprintf("%s/%v/gradient", c.name, m), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					pv := adjoint.Param(p)
					adjoint.Grad(G(pv), pv)
				}
			})
			b.Run(fmt.Sprintf("%s/%v/HVP", c.name, m), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					adjoint.HVPArgs(G, []*adjoint.Tensor{p}, []*adjoint.Tensor{v})
				}
			})
			// The tangent pass alone, through a gradient recorded once, as
			// Newton–CG runs many products at one point.
			b.Run(fmt.Sprintf("%s/%v/HVP-tangent", c.name, m), func(b *testing.B) {
				pv := adjoint.Param(p)
				g := adjoint.GradGraph(G(pv), pv)[0]
				b.ReportAllocs()
				for b.Loop() {
					adjoint.Tangent(g, []*adjoint.Var{pv}, []*adjoint.Var{adjoint.Const(v)}, false)
				}
			})
			if err := op.Err(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkCVSHessian is the work of CVODES's cvsHessian_ASA_FSA at its
// tolerances (rtol 1e-8, atol 1e-8): G, dG/dp and the 2×2 Hessian, with
// the hand-written system (reverse over the interpolating adjoint, whose
// rules solve the tangent system and its adjoint) and with the Traced one.
func BenchmarkCVSHessian(b *testing.B) {
	y0, p := adjoint.Vector(1, 1, 1), adjoint.Vector(1, 2)
	set := &Settings{RTol: 1e-8, ATol: 1e-8}
	hand := &Op{System: cvsHessianHW{}, T0: 0, T1: 2, Integral: halfSquares, Settings: set}
	traced := cvsHessianOp(nil)
	traced.Settings = set
	for _, c := range []struct {
		name string
		op   *Op
	}{{"hand", hand}, {"traced", traced}} {
		G := func(xs ...*adjoint.Var) *adjoint.Var {
			_, q, _ := c.op.SolveIntegral(adjoint.Const(y0), xs[0])
			return q
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pv := adjoint.Param(p)
				adjoint.Grad(G(pv), pv)
				adjoint.HessianArgs(nil, G, []*adjoint.Tensor{p})
			}
			if err := c.op.Err(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
