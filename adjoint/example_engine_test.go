package adjoint_test

import (
	"fmt"
	"math"

	"github.com/adjointkit/adjointkit/adjoint"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// linearStep is x_{k+1} = a·x_k with θ = (a).
type linearStep struct{}

func (linearStep) Eval(next []float64, k int, x, theta []float64) {
	for i := range x {
		next[i] = theta[0] * x[i]
	}
}

func (linearStep) VJP(xbar, thetabar []float64, k int, x, theta, nextbar []float64) {
	for i := range x {
		xbar[i] += theta[0] * nextbar[i]
		thetabar[0] += x[i] * nextbar[i]
	}
}

// halfSquareLoss is ℓ_T = ½‖x_n‖².
type halfSquareLoss struct{}

func (halfSquareLoss) Terminal(x, theta []float64) float64 { return 0.5 * floats.Dot(x, x) }

func (halfSquareLoss) TerminalGrad(xbar, thetabar, x, theta []float64) { floats.Add(xbar, x) }

func ExampleRecurrence() {
	// x_{k+1} = a·x_k for 10 steps, L = ½ x_10², so that
	// dL/dx_0 = a^20·x_0 and dL/da = 10·a^19·x_0².
	x0, theta := []float64{1.5}, []float64{0.9}
	dx0, dtheta := make([]float64, 1), make([]float64, 1)
	res, err := adjoint.Recurrence(dx0, dtheta, linearStep{}, halfSquareLoss{}, x0, theta, 10, adjoint.StoreAll(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("L = %.6f, dL/dx0 = %.6f, dL/da = %.6f\n", res.Loss, dx0[0], dtheta[0])
	fmt.Printf("exact:           %.6f            %.6f\n", math.Pow(0.9, 20)*1.5, 10*math.Pow(0.9, 19)*1.5*1.5)

	// Binomial checkpointing with 2 snapshots gives the same bits.
	bx0, btheta := make([]float64, 1), make([]float64, 1)
	adjoint.Recurrence(bx0, btheta, linearStep{}, halfSquareLoss{}, x0, theta, 10, adjoint.Binomial(2), nil)
	fmt.Println("Binomial(2) identical:", bx0[0] == dx0[0] && btheta[0] == dtheta[0])
	// Output:
	// L = 0.136774, dL/dx0 = 0.182365, dL/da = 3.039416
	// exact:           0.182365            3.039416
	// Binomial(2) identical: true
}

func ExampleBinomial() {
	// Memory against recomputation for 1000 steps.
	x0, theta := []float64{1}, []float64{0.999}
	for _, p := range []adjoint.Policy{adjoint.StoreAll(), adjoint.Every(32), adjoint.Binomial(10), adjoint.Binomial(3)} {
		res, err := adjoint.Recurrence(nil, nil, linearStep{}, halfSquareLoss{}, x0, theta, 1000, p, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%-12v stored %4d  step evaluations %5d\n", p, res.PeakStored, res.Evals)
	}
	fmt.Println("revolve optimum for 10 snapshots:", adjoint.BinomialEvals(1000, 10))
	// Output:
	// StoreAll     stored 1000  step evaluations  1000
	// Every(32)    stored   62  step evaluations  1961
	// Binomial(10) stored   10  step evaluations  3637
	// Binomial(3)  stored    3  step evaluations 12156
	// revolve optimum for 10 snapshots: 3637
}

func ExampleRecurrenceSettings() {
	// The number of steps is not known in advance: halve x until it is
	// below 10^-3. Every(k) checkpoints online; OnAdjoint records the
	// gradient flow ‖λ_k‖.
	var norms []float64
	settings := &adjoint.RecurrenceSettings{
		Stop:      func(k int, x []float64) bool { return math.Abs(x[0]) < 1e-3 },
		OnAdjoint: func(k int, lambda []float64) { norms = append(norms, floats.Norm(lambda, 2)) },
	}
	dx0 := make([]float64, 1)
	res, err := adjoint.Recurrence(dx0, nil, linearStep{}, halfSquareLoss{}, []float64{1}, []float64{0.5}, -1, adjoint.Every(4), settings)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("n = %d, stored %d, evaluations %d\n", res.Steps, res.PeakStored, res.Evals)
	fmt.Printf("‖λ_n‖ = %.3g … ‖λ_0‖ = %.3g (dL/dx0 = %.3g)\n", norms[0], norms[len(norms)-1], dx0[0])
	// Output:
	// n = 10, stored 5, evaluations 16
	// ‖λ_n‖ = 0.000977 … ‖λ_0‖ = 9.54e-07 (dL/dx0 = 9.54e-07)
}

// momentumStep is one step of heavy-ball gradient descent on
// f(w) = ½ Σ h_i w_i², with the state (w, v) and θ = (lr, β) packed by
// layouts: v' = β v − lr·h⊙w, w' = w + v'.
type momentumStep struct {
	h        []float64
	state, p adjoint.Layout
}

func (m momentumStep) Eval(next []float64, k int, x, theta []float64) {
	w, v := m.state.Part(x, 0), m.state.Part(x, 1)
	nw, nv := m.state.Part(next, 0), m.state.Part(next, 1)
	lr, beta := m.p.Part(theta, 0)[0], m.p.Part(theta, 1)[0]
	for i := range w {
		nv[i] = beta*v[i] - lr*m.h[i]*w[i]
		nw[i] = w[i] + nv[i]
	}
}

func (m momentumStep) VJP(xbar, thetabar []float64, k int, x, theta, nextbar []float64) {
	w, v := m.state.Part(x, 0), m.state.Part(x, 1)
	wbar, vbar := m.state.Part(xbar, 0), m.state.Part(xbar, 1)
	nwbar, nvbar := m.state.Part(nextbar, 0), m.state.Part(nextbar, 1)
	lr, beta := m.p.Part(theta, 0)[0], m.p.Part(theta, 1)[0]
	for i := range w {
		g := nwbar[i] + nvbar[i] // the cotangent of v'
		wbar[i] += nwbar[i] - lr*m.h[i]*g
		vbar[i] += beta * g
		m.p.Part(thetabar, 0)[0] -= m.h[i] * w[i] * g
		m.p.Part(thetabar, 1)[0] += v[i] * g
	}
}

// trainingLoss is f(w_n) = ½ Σ h_i w_i² at the final weights.
type trainingLoss struct {
	h     []float64
	state adjoint.Layout
}

func (l trainingLoss) Terminal(x, theta []float64) float64 {
	var f float64
	for i, w := range l.state.Part(x, 0) {
		f += 0.5 * l.h[i] * w * w
	}
	return f
}

func (l trainingLoss) TerminalGrad(xbar, thetabar, x, theta []float64) {
	wbar := l.state.Part(xbar, 0)
	for i, w := range l.state.Part(x, 0) {
		wbar[i] += l.h[i] * w
	}
}

func ExampleLayout() {
	// Hypergradients of an unrolled optimiser: the state holds the
	// weights and the momentum buffer, θ the learning rate and momentum.
	w := adjoint.Vector(1, -2)
	v := adjoint.New(2)
	lr, beta := adjoint.Scalar(0.1), adjoint.Scalar(0.8)
	state, params := adjoint.LayoutOf(w, v), adjoint.LayoutOf(lr, beta)
	x0 := state.Pack(nil, w, v)
	theta := params.Pack(nil, lr, beta)

	h := []float64{1, 3}
	step := momentumStep{h: h, state: state, p: params}
	loss := trainingLoss{h: h, state: state}
	hyper := make([]float64, params.Size())
	res, err := adjoint.Recurrence(nil, hyper, step, loss, x0, theta, 20, adjoint.Binomial(4), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	g := params.Unpack(hyper)
	fmt.Printf("loss after 20 steps %.6f, dL/dlr = %.6f, dL/dβ = %.6f\n", res.Loss, g[0].Item(), g[1].Item())

	// Check dL/dlr by a central difference.
	lossAt := func(theta []float64) float64 {
		r, _ := adjoint.Recurrence(nil, nil, step, loss, x0, theta, 20, adjoint.StoreAll(), nil)
		return r.Loss
	}
	const eps = 1e-6
	up, down := append([]float64(nil), theta...), append([]float64(nil), theta...)
	up[0] += eps
	down[0] -= eps
	fdlr := (lossAt(up) - lossAt(down)) / (2 * eps)
	fmt.Println("agrees with finite differences:", math.Abs(fdlr-g[0].Item()) < 1e-6*(1+math.Abs(fdlr)))
	// Output:
	// loss after 20 steps 0.030190, dL/dlr = 4.337466, dL/dβ = 0.740577
	// agrees with finite differences: true
}

// cubicResidual is F(u, θ) = u³ + u − θ.
type cubicResidual struct{}

func (cubicResidual) Eval(r []float64, u, theta []float64) { r[0] = u[0]*u[0]*u[0] + u[0] - theta[0] }

func (cubicResidual) VJPU(ubar []float64, u, theta, w []float64) { ubar[0] += (3*u[0]*u[0] + 1) * w[0] }

func (cubicResidual) VJPTheta(thetabar []float64, u, theta, w []float64) { thetabar[0] -= w[0] }

func ExampleImplicitVJP() {
	// u³ + u = θ has the solution u = 1 at θ = 2 (found by any solver).
	// For J(u) = u, dJ/dθ = 1/(3u² + 1) = 0.25.
	u, theta := []float64{1}, []float64{2}
	ubar := []float64{1} // ∂J/∂u
	dtheta := make([]float64, 1)
	res, err := adjoint.ImplicitVJP(dtheta, cubicResidual{}, u, theta, ubar, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("dJ/dθ = %.4f via %v, λ = %.4f\n", dtheta[0], res.Solver, res.Lambda[0])
	// Output:
	// dJ/dθ = 0.2500 via dense LU, λ = 0.2500
}

// cosineMap is T(u, θ) = θ·cos(u).
type cosineMap struct{}

func (cosineMap) Eval(dst []float64, u, theta []float64) { dst[0] = theta[0] * math.Cos(u[0]) }

func (cosineMap) VJPU(ubar []float64, u, theta, w []float64) {
	ubar[0] -= theta[0] * math.Sin(u[0]) * w[0]
}

func (cosineMap) VJPTheta(thetabar []float64, u, theta, w []float64) {
	thetabar[0] += math.Cos(u[0]) * w[0]
}

func ExampleFixedPoint() {
	// The fixed point of u = θ·cos(u) at θ = 1 (the Dottie number), by
	// plain iteration, then du/dθ = cos(u)/(1 + θ·sin(u)) by one adjoint
	// solve with GMRES.
	theta := []float64{1}
	u := []float64{0}
	for i := 0; i < 200; i++ {
		cosineMap{}.Eval(u, u, theta)
	}
	du := make([]float64, 1)
	_, err := adjoint.ImplicitVJP(du, adjoint.FixedPoint(cosineMap{}), u, theta, []float64{1},
		&adjoint.ImplicitSettings{Solver: adjoint.SolverGMRES})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("u = %.6f, du/dθ = %.6f, exact %.6f\n", u[0], du[0], math.Cos(u[0])/(1+math.Sin(u[0])))
	// Output:
	// u = 0.739085, du/dθ = 0.441611, exact 0.441611
}

func ExampleGMRES() {
	// A nonsymmetric 3×3 system, matrix-free.
	a := mat.NewDense(3, 3, []float64{
		4, 1, 0,
		-1, 3, 1,
		0, 2, 5,
	})
	apply := adjoint.LinearOperatorFunc(func(dst, x []float64) {
		mat.NewVecDense(3, dst).MulVec(a, mat.NewVecDense(3, x))
	})
	x := make([]float64, 3)
	res, err := adjoint.GMRES(x, apply, []float64{5, 3, 7}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("x = [%.4f %.4f %.4f] in %d iterations, residual < 1e-10: %v\n", x[0], x[1], x[2], res.Iterations, res.Residual < 1e-10)
	// Output:
	// x = [1.0000 1.0000 1.0000] in 3 iterations, residual < 1e-10: true
}
