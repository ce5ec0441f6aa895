package ode_test

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/adjointkit/adjointkit/physics"
	"gonum.org/v1/gonum/mat"

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

// The gradient of g = ‖1 − u(10)‖²/2 for the Lotka–Volterra system of
// SUNDIALS CVODES's adjoint example (package physics' model, in that
// example's parameter order), by the checkpointed interpolating adjoint
// (CVODES's method).
func ExampleGradient() {
	lotkaVolterra := physics.LotkaVolterra{Order: physics.AlphaBetaGammaDelta}
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

// Stiff problems need a stiff solver, forward and backward: the gradient of
// G = ∫ y3 dt over [0, 4·10⁷] for Robertson's kinetics (package physics'
// model) with Rodas4 at the classic tolerances, by two adjoint methods.
func ExampleGradient_stiff() {
	prob := ode.Problem{System: physics.Robertson{}, T0: 0, T1: 4e7, Y0: []float64{1, 0, 0}, P: []float64{0.04, 1e4, 3e7}}
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
	prob := ode.Problem{System: physics.Robertson{}, T0: 0, T1: 4e7, Y0: []float64{1, 0, 0}, P: []float64{0.04, 1e4, 3e7}}
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

// The solve as one operation of a traced program: the predators of the
// Lotka–Volterra system observed at five times, a misfit written with the
// adjoint package's operations on the op's output, and its gradient with
// respect to the rates by reverse mode, which runs the interpolating
// adjoint through the op. ode.Gradient with the same misfit as a Cost
// (LeastSquaresOf) computes the same numbers.
func ExampleOp() {
	lotkaVolterra := physics.LotkaVolterra{Order: physics.AlphaBetaGammaDelta}
	times := []float64{1, 2, 3, 4, 5}
	counts := []float64{0.27, 1.95, 1.93, 0.31, 0.66} // predators observed at times
	set := &ode.Settings{RTol: 1e-10, ATol: 1e-12}
	op := &ode.Op{System: lotkaVolterra, T0: 0, T1: 5, Times: times, Settings: set}

	y0 := adjoint.Const(adjoint.Vector(1, 1))
	p := adjoint.Param(adjoint.Vector(1.5, 1, 3, 1))
	states, err := op.Solve(y0, p) // [5 times, 2 species]
	if err != nil {
		fmt.Println(err)
		return
	}
	predators := adjoint.Take(states, 1, []int{1})
	residual := adjoint.Sub(predators, adjoint.Const(adjoint.FromData(counts, 5, 1)))
	misfit := adjoint.Scale(adjoint.Sum(adjoint.Square(residual)), 0.5)
	grad := adjoint.Grad(misfit, p)[0]
	fmt.Printf("misfit %.6f, gradient %.6f\n", misfit.Item(), grad.Data)

	rows := make([][]float64, len(counts))
	for i, c := range counts {
		rows[i] = []float64{c}
	}
	prob := ode.Problem{System: lotkaVolterra, T0: 0, T1: 5, Y0: []float64{1, 1}, P: []float64{1.5, 1, 3, 1}}
	res, err := ode.Gradient(prob, ode.Cost{Observations: ode.LeastSquaresOf(times, rows, []int{1})}, nil, nil, set)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("ode.Gradient    %.6f\n", res.DP)
	// Output:
	// misfit 0.002834, gradient [0.564460 -0.245896 -0.004191 0.271381]
	// ode.Gradient    [0.564460 -0.245896 -0.004191 0.271381]
}

// logistic is logistic growth, y' = r·y·(1 − y/K), with p = (r, K).
var logistic = &ode.Traced{N: 1, NP: 2, F: func(_, y, p *adjoint.Var) *adjoint.Var {
	r, k := adjoint.Index(p, 0), adjoint.Index(p, 1)
	return adjoint.Mul(adjoint.Mul(r, y), adjoint.Sub(adjoint.ConstScalar(1), adjoint.Div(y, k)))
}}

// Fitting your own ODE: write the right-hand side (here with adjoint
// operations, so that ode.Traced derives its derivatives), describe the
// data, and hand the least-squares problem to package physics, whose
// Estimation computes the misfit and its adjoint gradient and whose
// Minimize runs gonum's L-BFGS on it.
func Example_fit() {
	set := &ode.Settings{RTol: 1e-9, ATol: 1e-12}
	truth := ode.Problem{System: logistic, T0: 0, T1: 10, Y0: []float64{0.5}, P: []float64{0.8, 10}}
	times := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	data, err := physics.Synthesize(truth, times, nil, nil, set)
	if err != nil {
		fmt.Println(err)
		return
	}
	guess := truth
	guess.P = []float64{0.5, 6}
	e := &physics.Estimation{Problem: guess, Times: times, Data: data, Params: []int{0, 1}, Settings: set}
	if err := e.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	res, err := physics.Minimize(e.Loss, e.Unknowns(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("r = %.4f, K = %.4f\n", res.X[0], res.X[1])
	// Output:
	// r = 0.8000, K = 10.0000
}

// Newton's method with the exact Hessian of an ODE functional: the
// gradient and the Hessian of the logistic fit's misfit come from the solve
// op (the Hessian by solving the tangent system and its adjoint, no finite
// differences), and each step solves H·Δ = −∇.
func ExampleOp_newton() {
	set := &ode.Settings{RTol: 1e-9, ATol: 1e-12}
	times := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	op := &ode.Op{System: logistic, T0: 0, T1: 10, Times: times, Settings: set}
	y0 := adjoint.Const(adjoint.Vector(0.5))
	data, err := op.Solve(y0, adjoint.Const(adjoint.Vector(0.8, 10))) // synthetic observations
	if err != nil {
		fmt.Println(err)
		return
	}
	misfit := func(xs ...*adjoint.Var) *adjoint.Var {
		ys, _ := op.Solve(y0, xs[0]) // failures are reported by op.Err
		return adjoint.Scale(adjoint.Sum(adjoint.Square(adjoint.Sub(ys, data))), 0.5)
	}
	p := adjoint.Vector(0.7, 8)
	for it := 1; it <= 20; it++ {
		pv := adjoint.Param(p)
		grad := mat.NewVecDense(2, adjoint.Grad(misfit(pv), pv)[0].Data)
		if mat.Norm(grad, 2) < 1e-9 {
			fmt.Printf("converged after %d Newton steps: r = %.6f, K = %.6f\n", it-1, p.Data[0], p.Data[1])
			break
		}
		h := adjoint.HessianArgs(nil, misfit, []*adjoint.Tensor{p})
		var step mat.VecDense
		if err := step.SolveVec(h, grad); err != nil {
			fmt.Println(err)
			return
		}
		p = adjoint.Vector(p.Data[0]-step.AtVec(0), p.Data[1]-step.AtVec(1))
	}
	if err := op.Err(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// converged after 4 Newton steps: r = 0.800000, K = 10.000000
}

// A vector field with several parameter tensors — the shape of a neural
// ODE: adjoint.Layout packs a weight matrix and a bias into the flat θ of
// the op and unpacks them inside F, and the gradient with respect to θ
// unpacks the same way.
func ExampleOp_layout() {
	w, b := adjoint.FromData([]float64{-0.1, 2, -2, -0.1}, 2, 2), adjoint.Vector(0, 0.1)
	lay := adjoint.LayoutOf(w, b)
	field := &ode.Traced{N: 2, NP: lay.Size(), F: func(_, y, p *adjoint.Var) *adjoint.Var {
		ps := lay.Vars(p) // [W, b]
		return adjoint.Tanh(adjoint.Add(adjoint.Reshape(adjoint.MatMul(ps[0], adjoint.Reshape(y, 2, 1)), 2), ps[1]))
	}}
	op := &ode.Op{System: field, T0: 0, T1: 1, Times: []float64{0.5, 1}}
	theta := adjoint.Param(adjoint.FromData(lay.Pack(nil, w, b), lay.Size()))
	states, err := op.Solve(adjoint.Const(adjoint.Vector(2, 0)), theta)
	if err != nil {
		fmt.Println(err)
		return
	}
	loss := adjoint.Sum(adjoint.Square(states))
	g := lay.Unpack(adjoint.Grad(loss, theta)[0].Data)
	fmt.Println(g[0].Shape, g[1].Shape)
	// Output: [2 2] [2]
}
