package ode

import (
	"fmt"
	"github.com/adjointkit/adjointkit/adjoint"
	"testing"
)

// Workload O1 of the benchmark suite: the Lotka–Volterra adjoint
// gradient of CVODES's example at rtol 1e-10, atol 1e-14, with each method.
func BenchmarkLotkaVolterraGradient(b *testing.B) {
	set := &Settings{RTol: 1e-10, ATol: 1e-14}
	prob := lvProblem(lotkaVolterra{})
	for _, s := range []Solver{DP5, Tsit5, Rodas4} {
		b.Run(fmt.Sprintf("%v/solve", s), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Solve(prob, s, set); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, m := range []Sensitivity{&Forward{}, &Backsolve{}, &Interpolating{}, &Discrete{}} {
			b.Run(fmt.Sprintf("%v/%v", s, m), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Gradient(prob, lvCost, s, m, set); err != nil {
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
	set := &Settings{RTol: 1e-6, ATolVec: robATol}
	cost := Cost{Integral: robIntegral}
	b.Run("solve", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Solve(Problem{System: robertson{}, T0: 0, T1: 4e7, Y0: robY0, P: robP}, Rodas4, set); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, m := range []Sensitivity{&Forward{}, &Interpolating{}, &Discrete{}} {
		b.Run(fmt.Sprintf("%v/both", m), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, T := range []float64{4e7, 50} {
					if _, err := Gradient(Problem{System: robertson{}, T0: 0, T1: T, Y0: robY0, P: robP}, cost, Rodas4, m, set); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// opGradient is one gradient through the solve op: the forward solve, a
// loss written with traced operations, and the reverse pass (the op's VJP).
func opGradient(b *testing.B, op *Op, loss func(states, integral *adjoint.Var) *adjoint.Var, y0, p []float64) {
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
	lvSet := &Settings{RTol: 1e-10, ATol: 1e-14}
	one := adjoint.Const(adjoint.Full(1, 1, 2))
	lvLoss := func(ys, _ *adjoint.Var) *adjoint.Var {
		return adjoint.Scale(adjoint.Sum(adjoint.Square(adjoint.Sub(one, ys))), 0.5)
	}
	robSet := &Settings{RTol: 1e-6, ATolVec: robATol}
	robLoss := func(_, q *adjoint.Var) *adjoint.Var { return q }
	for _, m := range []Sensitivity{&Interpolating{}, &Discrete{}} {
		b.Run(fmt.Sprintf("O1/%v/Gradient", m), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Gradient(lvProblem(lotkaVolterra{}), lvCost, DP5, m, lvSet); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("O1/%v/Op", m), func(b *testing.B) {
			op := &Op{System: lotkaVolterra{}, T0: 0, T1: 10, Solver: DP5, Method: m, Settings: lvSet}
			b.ReportAllocs()
			for b.Loop() {
				opGradient(b, op, lvLoss, lvY0, lvP)
			}
		})
		b.Run(fmt.Sprintf("O2/%v/Gradient", m), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, T := range []float64{4e7, 50} {
					prob := Problem{System: robertson{}, T0: 0, T1: T, Y0: robY0, P: robP}
					if _, err := Gradient(prob, Cost{Integral: robIntegral}, Rodas4, m, robSet); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(fmt.Sprintf("O2/%v/Op", m), func(b *testing.B) {
			ops := []*Op{
				{System: robertson{}, T0: 0, T1: 4e7, Integral: robIntegral, Solver: Rodas4, Method: m, Settings: robSet},
				{System: robertson{}, T0: 0, T1: 50, Integral: robIntegral, Solver: Rodas4, Method: m, Settings: robSet},
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
