package ode_test

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/ode"
)

// decay is dy/dt = −p·y.
type decay struct{}

func (decay) Dims() (n, np int) { return 1, 1 }
func (decay) Eval(dst []float64, _ float64, y, p []float64) {
	dst[0] = -p[0] * y[0]
}

func ExampleSolve() {
	prob := ode.Problem{System: decay{}, T0: 0, T1: 2, Y0: []float64{1}, P: []float64{0.5}}
	sol, err := ode.Solve(prob, ode.DP5, &ode.Settings{RTol: 1e-8, SaveAt: []float64{0, 1, 2}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, t := range sol.T {
		fmt.Printf("t = %v: y = %.8f (exact %.8f)\n", t, sol.Y[i][0], math.Exp(-0.5*t))
	}
	// Output:
	// t = 0: y = 1.00000000 (exact 1.00000000)
	// t = 1: y = 0.60653066 (exact 0.60653066)
	// t = 2: y = 0.36787944 (exact 0.36787944)
}

// lotkaVolterra is written once with adjoint operations; ode.Traced derives
// its VJPs, JVPs and Jacobians.
var lotkaVolterra = &ode.Traced{N: 2, NP: 4, F: func(_, u, p *adjoint.Var) *adjoint.Var {
	x, y := adjoint.Slice(u, 0, 0, 1), adjoint.Slice(u, 0, 1, 2)
	at := func(i int) *adjoint.Var { return adjoint.Slice(p, 0, i, i+1) }
	xy := adjoint.Mul(x, y)
	return adjoint.Concat(0,
		adjoint.Sub(adjoint.Mul(at(0), x), adjoint.Mul(at(1), xy)),
		adjoint.Sub(adjoint.Mul(at(3), xy), adjoint.Mul(at(2), y)))
}}

// The gradient of g = ‖1 − u(10)‖²/2 for the Lotka–Volterra system of
// SUNDIALS CVODES's adjoint example, by the checkpointed interpolating
// adjoint (CVODES's method).
func ExampleGradient() {
	prob := ode.Problem{System: lotkaVolterra, T0: 0, T1: 10, Y0: []float64{1, 1}, P: []float64{1.5, 1, 3, 1}}
	cost := ode.Cost{Terminal: ode.SquaredError([]float64{1, 1})}
	res, err := ode.Gradient(prob, cost, ode.DP5, &ode.Interpolating{}, &ode.Settings{RTol: 1e-10, ATol: 1e-14})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("dg/du0 = %.8f\n", res.DY0)
	fmt.Printf("dg/dp  = %.8f\n", res.DP)
	// Output:
	// dg/du0 = [0.29959951 -0.01415182]
	// dg/dp  = [0.62196159 0.06800140 0.16917646 0.27256069]
}

// robertson is the stiff chemical kinetics problem.
var robertson = &ode.Traced{N: 3, NP: 3, F: func(_, y, p *adjoint.Var) *adjoint.Var {
	at := func(v *adjoint.Var, i int) *adjoint.Var { return adjoint.Slice(v, 0, i, i+1) }
	a := adjoint.Mul(at(p, 0), at(y, 0))
	b := adjoint.Mul(at(p, 1), adjoint.Mul(at(y, 1), at(y, 2)))
	c := adjoint.Mul(at(p, 2), adjoint.Square(at(y, 1)))
	return adjoint.Concat(0, adjoint.Sub(b, a), adjoint.Sub(adjoint.Sub(a, b), c), c)
}}

// Stiff problems need a stiff solver, forward and backward: the gradient of
// G = ∫ y3 dt over [0, 4·10⁷] for Robertson's kinetics with Rodas4 at the
// classic tolerances, by two adjoint methods.
func ExampleGradient_stiff() {
	prob := ode.Problem{System: robertson, T0: 0, T1: 4e7, Y0: []float64{1, 0, 0}, P: []float64{0.04, 1e4, 3e7}}
	cost := ode.Cost{Integral: &ode.Integral{
		G:    func(_ float64, y, _ []float64) float64 { return y[2] },
		Grad: func(gy, _ []float64, _ float64, _, _ []float64) { gy[2]++ },
	}}
	set := &ode.Settings{RTol: 1e-6, ATolVec: []float64{1e-8, 1e-14, 1e-6}}
	for _, m := range []ode.Sensitivity{&ode.Interpolating{}, &ode.Discrete{}} {
		res, err := ode.Gradient(prob, cost, ode.Rodas4, m, set)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%-22v G = %.6e  dG/dp = %.4e\n", m, res.Value, res.DP)
	}
	// Output:
	// interpolating adjoint  G = 3.998253e+07  dG/dp = [7.6838e+05 -3.0689e+00 5.1149e-04]
	// discrete adjoint       G = 3.998253e+07  dG/dp = [7.6838e+05 -3.0689e+00 5.1149e-04]
}

// An explicit solver on a stiff problem stops at the step limit with an
// error that says where and suggests a stiff solver.
func ExampleError() {
	prob := ode.Problem{System: robertson, T0: 0, T1: 4e7, Y0: []float64{1, 0, 0}, P: []float64{0.04, 1e4, 3e7}}
	_, err := ode.Solve(prob, ode.DP5, &ode.Settings{MaxSteps: 2000})
	var e *ode.Error
	if errors.As(err, &e) {
		fmt.Println(errors.Is(err, ode.ErrMaxSteps), e.Step)
		fmt.Println(strings.Contains(err.Error(), "use a stiff solver such as ode.Rodas4"))
	}
	// Output:
	// true 2000
	// true
}
