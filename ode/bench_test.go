package ode

import (
	"fmt"
	"testing"
)

// Workload O1 (/work/shared/bench/WORKLOADS.md): the Lotka–Volterra adjoint
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
