package ode_test

import (
	"fmt"

	"github.com/adjointkit/adjointkit/ode"
	"github.com/adjointkit/adjointkit/physics"
)

// The slope of the long-time average of z with respect to ρ for Lorenz's
// convection model at its classical parameters, by NILSS: the derivative
// of every finite-window average grows like exp(0.9·T) with the window,
// while the shadowing derivative of ⟨z⟩ stays near one. The Lorenz system
// has one positive Lyapunov exponent, so NILSS needs one homogeneous
// tangent (its default).
func ExampleShadow() {
	prob := ode.Problem{System: physics.Lorenz63{}, T0: 0, T1: 50, Y0: []float64{1, 2, 20}, P: []float64{10, 28, 8.0 / 3}}
	z := &ode.Integral{
		G:    func(_ float64, y, _ []float64) float64 { return y[2] },
		Grad: func(gy, _ []float64, _ float64, _, _ []float64) { gy[2]++ },
	}
	res, err := ode.Shadow(prob, z, nil, &ode.NILSS{}, &ode.ShadowSettings{Params: []int{1}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("d⟨z⟩/dρ ≈ %.1f from %d windows of T = 50; one unstable direction: %v\n", res.Grad[0], len(res.Windows), res.Lyapunov[0] > 0)
	// Output:
	// d⟨z⟩/dρ ≈ 1.0 from 4 windows of T = 50; one unstable direction: true
}

// On a limit cycle whose speed varies along it (phaseCycle, defined in the
// tests: θ' = ω − a·sin θ on the unit circle), a change of ω changes the
// period and the time spent in each part of the cycle; LSS's time
// dilation accounts for both. The exact derivative is (1 − ω/√(ω²−a²))/a.
func ExampleShadow_limitCycle() {
	prob := ode.Problem{System: phaseCycle{}, T0: 0, T1: 200, Y0: []float64{1, 0}, P: []float64{1, 0.5}}
	y := &ode.Integral{
		G:    func(_ float64, y, _ []float64) float64 { return y[1] },
		Grad: func(gy, _ []float64, _ float64, _, _ []float64) { gy[1]++ },
	}
	res, err := ode.Shadow(prob, y, nil, &ode.LSS{}, &ode.ShadowSettings{Params: []int{0}})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, exact := phaseCycleExact(1, 0.5)
	fmt.Printf("d⟨y⟩/dω = %.3f (exact %.3f)\n", res.Grad[0], exact[0])
	// Output:
	// d⟨y⟩/dω = -0.309 (exact -0.309)
}
