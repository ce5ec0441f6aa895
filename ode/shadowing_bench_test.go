package ode_test

import (
	"fmt"
	"testing"

	"github.com/adjointkit/adjointkit/ode"
	"github.com/adjointkit/adjointkit/physics"
)

// BenchmarkShadow times one window of each shadowing method on Lorenz-63 at
// ρ = 28 (d⟨z⟩/dρ only, rtol 1e-8, default step and segment) for growing
// window lengths T: LSS's banded solve and NILSS's segments should make
// both linear in T (go test -bench Shadow -count 5 | benchstat).
func BenchmarkShadow(b *testing.B) {
	p := []float64{10, 28, 8.0 / 3}
	spun, err := ode.Solve(ode.Problem{System: physics.Lorenz63{}, T0: 0, T1: 50, Y0: []float64{1, 2, 20}, P: p}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	y0 := spun.Y[0]
	for _, m := range []ode.ShadowMethod{&ode.LSS{}, &ode.LSS{Tangent: true}, &ode.NILSS{}} {
		for _, T := range []float64{25, 50, 100, 200} {
			b.Run(fmt.Sprintf("%v/T=%g", m, T), func(b *testing.B) {
				b.ReportAllocs()
				prob := ode.Problem{System: physics.Lorenz63{}, T0: 0, T1: T, Y0: y0, P: p}
				set := &ode.ShadowSettings{Trajectories: 1, SpinUp: -1, Params: []int{1}, Solve: &ode.Settings{RTol: 1e-8, ATol: 1e-8, MaxSteps: 1 << 20}}
				for b.Loop() {
					if _, err := ode.Shadow(prob, component(2), nil, m, set); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
