package physics

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/adjointkit/adjointkit/ode"
)

func linspace(a, b float64, n int) []float64 {
	t := make([]float64, n)
	for i := range t {
		t[i] = a + (b-a)*float64(i)/float64(n-1)
	}
	t[n-1] = b // exactly: a time one ulp short of T1 makes a step of one ulp
	return t
}

func maxRelErr(got, want []float64) float64 {
	var m float64
	for i := range got {
		m = max(m, math.Abs(got[i]-want[i])/math.Max(math.Abs(want[i]), 1e-300))
	}
	return m
}

// checkGradFD compares ∇L with central differences at x.
func checkGradFD(t *testing.T, loss func(grad, x []float64) (float64, error), x []float64, h, tol float64) {
	t.Helper()
	g := make([]float64, len(x))
	if _, err := loss(g, x); err != nil {
		t.Fatal(err)
	}
	xx := append([]float64(nil), x...)
	for i := range x {
		xx[i] = x[i] + h
		fp, err := loss(nil, xx)
		if err != nil {
			t.Fatal(err)
		}
		xx[i] = x[i] - h
		fm, err := loss(nil, xx)
		if err != nil {
			t.Fatal(err)
		}
		xx[i] = x[i]
		fd := (fp - fm) / (2 * h)
		if math.Abs(fd-g[i]) > tol*(math.Abs(fd)+1e-8) {
			t.Errorf("∂L/∂x[%d] = %.10g, FD %.10g", i, g[i], fd)
		}
	}
}

var tightODE = &ode.Settings{RTol: 1e-10, ATol: 1e-10}

// TestFitLotkaVolterra recovers the four rates from noise-free observations
// at 20 times, to 1e-5 relative.
func TestFitLotkaVolterra(t *testing.T) {
	truth := []float64{1.5, 1, 3, 1}
	prob, err := NewProblem(LotkaVolterra{}, []float64{1, 1}, truth, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	times := linspace(0.5, 10, 20)
	data, err := Synthesize(prob, times, nil, nil, tightODE)
	if err != nil {
		t.Fatal(err)
	}
	prob.P = []float64{1.2, 0.8, 2.6, 1.2}
	e := &Estimation{Problem: prob, Times: times, Data: data, Params: []int{0, 1, 2, 3}, Settings: tightODE}
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	checkGradFD(t, e.Loss, e.Unknowns(), 1e-6, 1e-5)
	res, err := Minimize(e.Loss, e.Unknowns(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if re := maxRelErr(res.X, truth); re > 1e-5 {
		t.Errorf("recovered %v, truth %v (max rel err %.2g > 1e-5); %d iterations, %d gradients", res.X, truth, re, res.Iterations, res.Evaluations)
	}
}

// TestFitPendulum recovers length and damping from a noise-free trajectory
// of the angle, to 1e-5 relative.
func TestFitPendulum(t *testing.T) {
	truth := []float64{1.2, 0.3, 0.5, 1.5}
	prob, err := NewProblem(&Pendulum{}, []float64{0.8, 0}, truth, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	times := linspace(0.2, 10, 50)
	data, err := Synthesize(prob, times, []int{0}, nil, tightODE)
	if err != nil {
		t.Fatal(err)
	}
	prob.P = []float64{1.0, 0.15, 0.5, 1.5}
	e := &Estimation{Problem: prob, Times: times, Data: data, Observe: []int{0}, Params: []int{PendulumLength, PendulumDamping}, Settings: tightODE}
	checkGradFD(t, e.Loss, e.Unknowns(), 1e-6, 1e-5)
	res, err := Minimize(e.Loss, e.Unknowns(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if re := maxRelErr(res.X, truth[:2]); re > 1e-5 {
		t.Errorf("recovered %v, truth %v (max rel err %.2g)", res.X, truth[:2], re)
	}
}

// TestFitSpringChain identifies 40 stiffnesses from noise-free positions,
// to 1e-3 relative.
func TestFitSpringChain(t *testing.T) {
	const n = 40
	chain, err := NewSpringChain(n, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	truth := make([]float64, n)
	y0 := make([]float64, 2*n)
	for i := range truth {
		truth[i] = 1 + 0.5*rng.Float64()
		y0[i] = rng.NormFloat64() * 0.3
	}
	prob, err := NewProblem(chain, y0, truth, 0, 6)
	if err != nil {
		t.Fatal(err)
	}
	obs := make([]int, n)
	for i := range obs {
		obs[i] = i
	}
	times := linspace(0.25, 6, 24)
	data, err := Synthesize(prob, times, obs, nil, tightODE)
	if err != nil {
		t.Fatal(err)
	}
	for i := range prob.P {
		prob.P[i] = 1.25
	}
	e := &Estimation{Problem: prob, Times: times, Data: data, Observe: obs, Params: obs, Settings: &ode.Settings{RTol: 1e-9, ATol: 1e-9}}
	res, err := Minimize(e.Loss, e.Unknowns(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if re := maxRelErr(res.X, truth); re > 1e-3 {
		t.Errorf("max rel err %.2g > 1e-3 after %d iterations, %d gradients", re, res.Iterations, res.Evaluations)
	}
	t.Logf("chain N=%d: max rel err %.2g, %d iterations, %d gradients", n, maxRelErr(res.X, truth), res.Iterations, res.Evaluations)
}

// TestFourDVarLorenz96 recovers the initial state of Lorenz-96 (N = 40) from
// noise-free observations of the even sites, to 1e-4 absolute.
func TestFourDVarLorenz96(t *testing.T) {
	m, err := NewLorenz96(40)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	x0 := make([]float64, 40)
	for i := range x0 {
		x0[i] = 8 + rng.NormFloat64()
	}
	// Spin up onto the attractor.
	spin, _ := NewProblem(m, x0, []float64{8}, 0, 5)
	sol, err := ode.Solve(spin, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	truth := sol.Y[0]
	prob, err := NewProblem(m, truth, []float64{8}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	obs := make([]int, 20)
	for i := range obs {
		obs[i] = 2 * i
	}
	times := linspace(0.05, 1, 20)
	data, err := Synthesize(prob, times, obs, nil, tightODE)
	if err != nil {
		t.Fatal(err)
	}
	all := make([]int, 40)
	for i := range all {
		all[i] = i
		prob.Y0[i] = truth[i] + 0.5*rng.NormFloat64()
	}
	e := &Estimation{Problem: prob, Times: times, Data: data, Observe: obs, InitialState: all, Settings: &ode.Settings{RTol: 1e-9, ATol: 1e-9}}
	res, err := Minimize(e.Loss, e.Unknowns(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var me float64
	for i := range truth {
		me = max(me, math.Abs(res.X[i]-truth[i]))
	}
	if me > 1e-4 {
		t.Errorf("max abs error %.2g > 1e-4 after %d iterations", me, res.Iterations)
	}
}

// TestHeatInverse recovers a smooth initial temperature profile from
// noise-free final-time measurements with a tiny Tikhonov weight, to 2%
// relative L2 error.
func TestHeatInverse(t *testing.T) {
	const n = 30
	h, err := NewHeat1D(n, 1)
	if err != nil {
		t.Fatal(err)
	}
	kappa := make([]float64, n+1)
	for i := range kappa {
		kappa[i] = 0.002
	}
	x := h.X()
	truth := make([]float64, n)
	for i, xi := range x {
		truth[i] = math.Sin(math.Pi*xi) + 0.5*math.Sin(2*math.Pi*xi)
	}
	prob, err := NewProblem(h, truth, h.Params(kappa, make([]float64, n)), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	data, err := Synthesize(prob, []float64{1}, nil, nil, tightODE)
	if err != nil {
		t.Fatal(err)
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	clear(prob.Y0)
	e := &Estimation{Problem: prob, Times: []float64{1}, Data: data, InitialState: all, Tikhonov: 1e-10, Settings: tightODE}
	checkGradFD(t, e.Loss, linspace(0.1, 0.5, n), 1e-5, 1e-5)
	res, err := Minimize(e.Loss, e.Unknowns(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var num, den float64
	for i := range truth {
		num += (res.X[i] - truth[i]) * (res.X[i] - truth[i])
		den += truth[i] * truth[i]
	}
	if re := math.Sqrt(num / den); re > 0.02 {
		t.Errorf("relative L2 error %.3g > 0.02 after %d iterations", re, res.Iterations)
	}
}

// TestAimProjectile finds the launch speed and angle that reproduce a known
// landing distance and time, to 1e-6 relative, and checks the event-time
// gradient against finite differences.
func TestAimProjectile(t *testing.T) {
	a := &Aim{Drag: 0.01, Height: 1}
	const v, ang = 30.0, 0.6
	d, tt, err := a.Shoot(v, ang)
	if err != nil {
		t.Fatal(err)
	}
	a.Target, a.FlightTime = d, tt
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, m := range []ode.Sensitivity{&ode.Forward{}, &ode.Interpolating{}} {
		a.Method = m
		checkGradFD(t, a.Loss, []float64{25, 0.8}, 1e-6, 1e-5)
	}
	res, err := Minimize(a.Loss, []float64{25, 0.8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if re := maxRelErr(res.X, []float64{v, ang}); re > 1e-6 {
		t.Errorf("recovered %v, truth [%v %v] (rel err %.2g)", res.X, v, ang, re)
	}
}

// TestHeatDesign recovers a source distribution from the steady profile it
// produces, through adjoint.ImplicitVJP, to 1e-3 relative.
func TestHeatDesign(t *testing.T) {
	const n = 20
	h, err := NewHeat1D(n, 1)
	if err != nil {
		t.Fatal(err)
	}
	h.Left, h.Right = 0, 1
	kappa := linspace(0.5, 1.5, n+1)
	st := &HeatSteady{Heat: h, Kappa: kappa}
	truth := make([]float64, n)
	for i, xi := range h.X() {
		truth[i] = 5 * math.Exp(-40*(xi-0.3)*(xi-0.3))
	}
	target := make([]float64, n)
	if err := st.Solve(target, truth); err != nil {
		t.Fatal(err)
	}
	r := make([]float64, n)
	st.Eval(r, target, truth)
	for i := range r {
		if math.Abs(r[i]) > 1e-9 {
			t.Fatalf("steady residual %v at cell %d", r[i], i)
		}
	}
	d := &HeatDesign{Steady: st, Target: target}
	checkGradFD(t, d.Loss, linspace(0, 1, n), 1e-6, 1e-6)
	res, err := Minimize(d.Loss, make([]float64, n), &OptimizeSettings{MaxIterations: 2000})
	if err != nil {
		t.Fatal(err)
	}
	var me float64
	for i := range truth {
		me = max(me, math.Abs(res.X[i]-truth[i]))
	}
	if me > 5e-3 {
		t.Errorf("max abs error %.2g > 5e-3 (sources up to 5) after %d iterations", me, res.Iterations)
	}
}

// TestHeatStiffSolver checks that the heat equation's Jacobian serves the
// stiff solver: the Rodas4 gradient of a final-time misfit matches DP5's.
func TestHeatStiffSolver(t *testing.T) {
	const n = 40
	h, err := NewHeat1D(n, 1)
	if err != nil {
		t.Fatal(err)
	}
	h.Left = 1
	kappa := linspace(0.5, 1.5, n+1)
	u0 := make([]float64, n)
	for i, xi := range h.X() {
		u0[i] = math.Sin(3 * xi)
	}
	prob, err := NewProblem(h, u0, h.Params(kappa, make([]float64, n)), 0, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	cost := ode.Cost{Terminal: ode.SquaredError(make([]float64, n))}
	set := &ode.Settings{RTol: 1e-8, ATol: 1e-10}
	ref, err := ode.Gradient(prob, cost, ode.DP5, &ode.Interpolating{}, set)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ode.Gradient(prob, cost, ode.Rodas4, &ode.Interpolating{}, set)
	if err != nil {
		t.Fatal(err)
	}
	if re := maxRelErr(got.DP[:n+1], ref.DP[:n+1]); re > 1e-4 {
		t.Errorf("Rodas4 dG/dκ differs from DP5 by %.2g", re)
	}
}
