package ode_test

import (
	"fmt"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/ode"
)

// Workload O1: the gradient of g = ‖1 − u(10)‖²/2 for the Lotka–Volterra
// system of SUNDIALS CVODES's example cvsLotkaVolterra_ASA, at that
// example's tolerances (rtol 1e-10, atol 1e-14), with each method.
func BenchmarkLotkaVolterraGradient(b *testing.B) {
	set := &ode.Settings{RTol: 1e-10, ATol: 1e-14}
	prob := lvProblem(lv)
	for _, s := range []ode.Solver{ode.DP5, ode.Tsit5, ode.Rodas4} {
		b.Run(fmt.Sprintf("%v/solve", s), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ode.Solve(prob, s, set); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, m := range []ode.Sensitivity{&ode.Forward{}, &ode.Backsolve{}, &ode.Interpolating{}, &ode.Discrete{}} {
			b.Run(fmt.Sprintf("%v/%v", s, m), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := ode.Gradient(prob, lvCost, s, m, set); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// Workload O2: Robertson with Rodas4 at the classic tolerances (rtol 1e-6,
// atol (1e-8, 1e-14, 1e-6)): the forward solve to 4·10⁷, and forward plus
// adjoint for G = ∫ y3 dt with T = 4·10⁷ and T = 50 (CVODES's
// cvsRoberts_ASAi_dns runs one forward solve and two adjoint solves).
func BenchmarkRobertson(b *testing.B) {
	set := &ode.Settings{RTol: 1e-6, ATolVec: robATol}
	cost := ode.Cost{Integral: robIntegral}
	b.Run("solve", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ode.Solve(ode.Problem{System: robertson, T0: 0, T1: 4e7, Y0: robY0, P: robP}, ode.Rodas4, set); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, m := range []ode.Sensitivity{&ode.Forward{}, &ode.Interpolating{}, &ode.Discrete{}} {
		b.Run(fmt.Sprintf("%v/both", m), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, T := range []float64{4e7, 50} {
					if _, err := ode.Gradient(ode.Problem{System: robertson, T0: 0, T1: T, Y0: robY0, P: robP}, cost, ode.Rodas4, m, set); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// opGradient is one gradient through the solve op: the forward solve, a
// loss written with traced operations, and the reverse pass (the op's VJP).
func opGradient(b *testing.B, op *ode.Op, loss func(states, integral *adjoint.Var) *adjoint.Var, y0, p []float64) {
	yv, pv := adjoint.Param(adjoint.FromData(y0, len(y0))), adjoint.Param(adjoint.FromData(p, len(p)))
	var ys, q *adjoint.Var
	var err error
	if op.Integral != nil || op.Integrand != nil {
		ys, q, err = op.SolveIntegral(yv, pv)
	} else {
		ys, err = op.Solve(yv, pv)
	}
	if err != nil {
		b.Fatal(err)
	}
	adjoint.Grad(loss(ys, q), yv, pv)
	if err := op.Err(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOpGradient compares a gradient through the solve op with
// Gradient on the same problems: O1 (Lotka–Volterra, g = ‖1 − u(10)‖²/2,
// rtol 1e-10, atol 1e-14, DP5) and O2 (Robertson, G = ∫ y3 dt to 4·10⁷ and
// to 50, Rodas4 at the classic tolerances), each with the interpolating and
// the discrete adjoint.
func BenchmarkOpGradient(b *testing.B) {
	lvSet := &ode.Settings{RTol: 1e-10, ATol: 1e-14}
	one := adjoint.Const(adjoint.Full(1, 1, 2))
	lvLoss := func(ys, _ *adjoint.Var) *adjoint.Var {
		return adjoint.Scale(adjoint.Sum(adjoint.Square(adjoint.Sub(one, ys))), 0.5)
	}
	robSet := &ode.Settings{RTol: 1e-6, ATolVec: robATol}
	robLoss := func(_, q *adjoint.Var) *adjoint.Var { return q }
	for _, m := range []ode.Sensitivity{&ode.Interpolating{}, &ode.Discrete{}} {
		b.Run(fmt.Sprintf("O1/%v/Gradient", m), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ode.Gradient(lvProblem(lv), lvCost, ode.DP5, m, lvSet); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("O1/%v/Op", m), func(b *testing.B) {
			op := &ode.Op{System: lv, T0: 0, T1: 10, Solver: ode.DP5, Method: m, Settings: lvSet}
			b.ReportAllocs()
			for b.Loop() {
				opGradient(b, op, lvLoss, lvY0, lvP)
			}
		})
		b.Run(fmt.Sprintf("O2/%v/Gradient", m), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, T := range []float64{4e7, 50} {
					prob := ode.Problem{System: robertson, T0: 0, T1: T, Y0: robY0, P: robP}
					if _, err := ode.Gradient(prob, ode.Cost{Integral: robIntegral}, ode.Rodas4, m, robSet); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(fmt.Sprintf("O2/%v/Op", m), func(b *testing.B) {
			ops := []*ode.Op{
				{System: robertson, T0: 0, T1: 4e7, Integral: robIntegral, Solver: ode.Rodas4, Method: m, Settings: robSet},
				{System: robertson, T0: 0, T1: 50, Integral: robIntegral, Solver: ode.Rodas4, Method: m, Settings: robSet},
			}
			b.ReportAllocs()
			for b.Loop() {
				for _, op := range ops {
					opGradient(b, op, robLoss, robY0, robP)
				}
			}
		})
	}
}
