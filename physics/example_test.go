package physics_test

import (
	"fmt"
	"log"
	"math"

	"github.com/adjointkit/adjointkit/ode"
	"github.com/adjointkit/adjointkit/physics"
)

// Fit the four Lotka–Volterra rates to observations at 20 times with L-BFGS
// on adjoint gradients.
func ExampleEstimation() {
	truth := []float64{1.5, 1, 3, 1}
	prob, err := physics.NewProblem(physics.LotkaVolterra{}, []float64{1, 1}, truth, 0, 10)
	if err != nil {
		log.Fatal(err)
	}
	times := make([]float64, 20)
	for i := range times {
		times[i] = 0.5 * float64(i+1)
	}
	set := &ode.Settings{RTol: 1e-10, ATol: 1e-10}
	data, err := physics.Synthesize(prob, times, nil, nil, set)
	if err != nil {
		log.Fatal(err)
	}
	prob.P = []float64{1.2, 0.8, 2.6, 1.2} // the initial guess
	e := &physics.Estimation{Problem: prob, Times: times, Data: data, Params: []int{0, 1, 2, 3}, Settings: set}
	if err := e.Validate(); err != nil {
		log.Fatal(err)
	}
	res, err := physics.Minimize(e.Loss, e.Unknowns(), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("α β δ γ = %.4f\n", res.X)
	// Output:
	// α β δ γ = [1.5000 1.0000 3.0000 1.0000]
}

// The landing distance of a dragged projectile and its sensitivity to the
// launch angle, differentiated through the landing time.
func ExampleGround() {
	speed, angle := 30.0, math.Pi/4
	prob, err := physics.NewProblem(&physics.Projectile{}, physics.LaunchState(speed, angle, 0), []float64{0.01}, 0, 60)
	if err != nil {
		log.Fatal(err)
	}
	r, err := ode.EventGradient(prob, physics.Ground(), physics.Range(), nil, &ode.Interpolating{}, &ode.Settings{RTol: 1e-10, ATol: 1e-10})
	if err != nil {
		log.Fatal(err)
	}
	_, dangle := physics.LaunchVJP(r.DY0, speed, angle)
	fmt.Printf("lands at %.2f m after %.3f s; d(range)/d(angle) = %.2f m/rad\n", r.Value, r.T, dangle)
	// Output:
	// lands at 55.79 m after 3.724 s; d(range)/d(angle) = -11.75 m/rad
}
