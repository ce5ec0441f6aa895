package ode

import (
	"github.com/adjointkit/adjointkit/adjoint"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
)

func relErr(got, want []float64) float64 {
	var num, den float64
	for i := range want {
		num = math.Max(num, math.Abs(got[i]-want[i]))
		den = math.Max(den, math.Abs(want[i]))
	}
	if den == 0 {
		return num
	}
	return num / den
}

func randVec(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

// TestTracedMatchesHandWritten checks every capability Traced derives by
// automatic differentiation against the hand-written Lotka–Volterra
// derivatives.
func TestTracedMatchesHandWritten(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	hw := lotkaVolterra{}
	for trial := range 5 {
		y, p := randVec(r, 2), randVec(r, 4)
		tt := r.Float64()
		want, got := make([]float64, 2), make([]float64, 2)
		hw.Eval(want, tt, y, p)
		tracedLV.Eval(got, tt, y, p)
		if e := relErr(got, want); e > 1e-15 {
			t.Errorf("trial %d: Eval rel err %g", trial, e)
		}
		v := randVec(r, 2)
		yb, pb := make([]float64, 2), make([]float64, 4)
		yb2, pb2 := make([]float64, 2), make([]float64, 4)
		hw.VJP(yb, pb, tt, y, p, v)
		tracedLV.VJP(yb2, pb2, tt, y, p, v)
		if e := math.Max(relErr(yb2, yb), relErr(pb2, pb)); e > 1e-14 {
			t.Errorf("trial %d: VJP rel err %g", trial, e)
		}
		yd, pd := randVec(r, 2), randVec(r, 4)
		hw.JVP(want, tt, y, p, yd, pd)
		tracedLV.JVP(got, tt, y, p, yd, pd)
		if e := relErr(got, want); e > 1e-14 {
			t.Errorf("trial %d: JVP rel err %g", trial, e)
		}
		j1, j2 := mat.NewDense(2, 2, nil), mat.NewDense(2, 2, nil)
		hw.Jacobian(j1, tt, y, p)
		tracedLV.Jacobian(j2, tt, y, p)
		if !mat.EqualApprox(j1, j2, 1e-14) {
			t.Errorf("trial %d: Jacobian\n%v\nwant\n%v", trial, mat.Formatted(j2), mat.Formatted(j1))
		}
		pj1, pj2 := mat.NewDense(2, 4, nil), mat.NewDense(2, 4, nil)
		hw.ParamJacobian(pj1, tt, y, p)
		tracedLV.ParamJacobian(pj2, tt, y, p)
		if !mat.EqualApprox(pj1, pj2, 1e-14) {
			t.Errorf("trial %d: ParamJacobian mismatch", trial)
		}
		tracedLV.TimeDeriv(got, tt, y, p)
		if got[0] != 0 || got[1] != 0 {
			t.Errorf("trial %d: ∂f/∂t = %v for an autonomous system", trial, got)
		}
	}
}

// TestSecondOrder checks Traced's exact second derivatives against central
// differences of its first derivatives, and the finite-difference fallback
// of sysOps against the exact ones.
func TestSecondOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	y, p := randVec(r, 2), randVec(r, 4)
	w, u := randVec(r, 2), randVec(r, 2)
	ybar, pbar := make([]float64, 2), make([]float64, 4)
	tracedLV.VJPTangent(ybar, pbar, 0, y, p, w, 0, u, nil)
	// Reference: d/dε VJP(y + εu) by central differences.
	const e = 1e-5
	yp, ym := make([]float64, 2), make([]float64, 2)
	for i := range y {
		yp[i], ym[i] = y[i]+e*u[i], y[i]-e*u[i]
	}
	a, b := make([]float64, 6), make([]float64, 6)
	lotkaVolterra{}.VJP(a[:2], a[2:], 0, yp, p, w)
	lotkaVolterra{}.VJP(b[:2], b[2:], 0, ym, p, w)
	ref := make([]float64, 6)
	for i := range ref {
		ref[i] = (a[i] - b[i]) / (2 * e)
	}
	if err := relErr(append(ybar, pbar...), ref); err > 1e-9 {
		t.Errorf("VJPTangent rel err %g", err)
	}
	// The fallback for a system without SecondOrderer.
	var st Stats
	o := newSysOps(lotkaVolterra{}, p, &st, nil)
	yb2, pb2 := make([]float64, 2), make([]float64, 4)
	o.vjpTangent(yb2, pb2, 0, 0, y, w, 0, u, nil)
	if err := relErr(append(yb2, pb2...), append(ybar, pbar...)); err > 1e-8 {
		t.Errorf("finite-difference VJPTangent rel err %g", err)
	}
	// JVPTangent.
	yd, pd := randVec(r, 2), randVec(r, 4)
	got := make([]float64, 2)
	tracedLV.JVPTangent(got, 0, y, p, yd, pd, 0, u, nil)
	o2 := newSysOps(lotkaVolterra{}, p, &st, nil)
	want := make([]float64, 2)
	o2.jvpTangent(want, 0, 0, y, yd, pd, 0, u, nil)
	if err := relErr(got, want); err > 1e-8 {
		t.Errorf("JVPTangent rel err %g", err)
	}
}

// TestFallbacks checks the derivatives sysOps supplies for a System with
// Eval only: the scaled fd.Jacobian, VJPs and JVPs from it.
func TestFallbacks(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	y, p := []float64{1.3, 1e-3}, []float64{1.5, 1, 3, 1}
	var st Stats
	o := newSysOps(bareLV{}, p, &st, []float64{1e-4, 1e-4})
	j, jr := mat.NewDense(2, 2, nil), mat.NewDense(2, 2, nil)
	o.jacobian(j, 0, y, nil)
	lotkaVolterra{}.Jacobian(jr, 0, y, p)
	if !mat.EqualApprox(j, jr, 1e-4) { // forward differences: √ε relative to the column scale
		t.Errorf("finite-difference Jacobian\n%v\nwant\n%v", mat.Formatted(j), mat.Formatted(jr))
	}
	w := randVec(r, 2)
	yb, pb := make([]float64, 2), make([]float64, 4)
	o.vjp(yb, pb, 0, y, w)
	yr, pr := make([]float64, 2), make([]float64, 4)
	lotkaVolterra{}.VJP(yr, pr, 0, y, p, w)
	if e := relErr(append(yb, pb...), append(yr, pr...)); e > 1e-8 {
		t.Errorf("emulated VJP rel err %g", e)
	}
	yd, pd := randVec(r, 2), randVec(r, 4)
	got, want := make([]float64, 2), make([]float64, 2)
	o.jvp(got, 0, y, yd, pd, nil)
	lotkaVolterra{}.JVP(want, 0, y, p, yd, pd)
	if e := relErr(got, want); e > 1e-6 {
		t.Errorf("finite-difference JVP rel err %g", e)
	}
	if st.FEvals == 0 || st.VJPs != 1 || st.JVPs != 1 {
		t.Errorf("counters %v", st)
	}
}

// TestRobertsonDerivatives checks the hand-written Robertson derivatives
// used throughout against gonum's finite differences.
func TestRobertsonDerivatives(t *testing.T) {
	y := []float64{0.9, 2e-5, 0.1}
	f := func(dst, x []float64) { robertson{}.Eval(dst, 0, x, robP) }
	jfd := mat.NewDense(3, 3, nil)
	fd.Jacobian(jfd, f, y, &fd.JacobianSettings{Formula: fd.Central, Step: 1e-9})
	j := mat.NewDense(3, 3, nil)
	robertson{}.Jacobian(j, 0, y, robP)
	if !mat.EqualApprox(j, jfd, 1e-3) {
		t.Errorf("Jacobian\n%v\nwant\n%v", mat.Formatted(j), mat.Formatted(jfd))
	}
	w := []float64{0.3, -1.1, 0.7}
	yb, pb := make([]float64, 3), make([]float64, 3)
	robertson{}.VJP(yb, pb, 0, y, robP, w)
	want := make([]float64, 3)
	mulTransAdd(want, j, w)
	if e := relErr(yb, want); e > 1e-14 {
		t.Errorf("VJP_y rel err %g", e)
	}
	pj := mat.NewDense(3, 3, nil)
	robertson{}.ParamJacobian(pj, 0, y, robP)
	clear(want)
	mulTransAdd(want, pj, w)
	if e := relErr(pb, want); e > 1e-14 {
		t.Errorf("VJP_p rel err %g", e)
	}
}

// forcedTraced is a non-autonomous system with every kind of dependence:
// f = (p₀ sin(t) y₀ y₁ + p₁ y₁², cos(p₂ t) y₀).
var forcedTraced = &Traced{N: 2, NP: 3, F: func(t, y, p *adjoint.Var) *adjoint.Var {
	e, q := adjoint.Elements(y), adjoint.Elements(p)
	return adjoint.Stack(
		adjoint.Add(adjoint.Mul(adjoint.Mul(q[0], adjoint.Sin(t)), adjoint.Mul(e[0], e[1])), adjoint.Mul(q[1], adjoint.Square(e[1]))),
		adjoint.Mul(adjoint.Cos(adjoint.Mul(q[2], t)), e[0]))
}}

// firstOrderOnly hides every capability of a System but Eval, VJP and JVP,
// so that sysOps takes second derivatives by finite differences.
type firstOrderOnly struct{ s *Traced }

func (f firstOrderOnly) Dims() (int, int) { return f.s.Dims() }
func (f firstOrderOnly) Eval(dst []float64, t float64, y, p []float64) {
	f.s.Eval(dst, t, y, p)
}
func (f firstOrderOnly) VJP(yb, pb []float64, t float64, y, p, v []float64) {
	f.s.VJP(yb, pb, t, y, p, v)
}
func (f firstOrderOnly) JVP(dst []float64, t float64, y, p, yd, pd []float64) {
	f.s.JVP(dst, t, y, p, yd, pd)
}

// TestSecondOrderDirections checks the directional second derivatives along
// time, state and parameter directions at once: Traced's exact ones against
// central differences of its first derivatives along the direction, and the
// finite-difference fallback of sysOps against the exact ones.
func TestSecondOrderDirections(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	tt, y, p := 0.7, randVec(r, 2), randVec(r, 3)
	w, dt, dy, dp := randVec(r, 2), 0.6, randVec(r, 2), randVec(r, 3)
	yd, pd := randVec(r, 2), randVec(r, 3)
	at := func(e float64) (float64, []float64, []float64) {
		ys, ps := make([]float64, 2), make([]float64, 3)
		for i := range ys {
			ys[i] = y[i] + e*dy[i]
		}
		for i := range ps {
			ps[i] = p[i] + e*dp[i]
		}
		return tt + e*dt, ys, ps
	}
	vjp := func(e float64) []float64 {
		t1, y1, p1 := at(e)
		g := make([]float64, 5)
		forcedTraced.VJP(g[:2], g[2:], t1, y1, p1, w)
		return g
	}
	jvp := func(e float64) []float64 {
		t1, y1, p1 := at(e)
		g := make([]float64, 2)
		forcedTraced.JVP(g, t1, y1, p1, yd, pd)
		return g
	}
	const h = 1e-5
	diff := func(f func(float64) []float64) []float64 {
		a, b := f(h), f(-h)
		for i := range a {
			a[i] = (a[i] - b[i]) / (2 * h)
		}
		return a
	}
	exact := make([]float64, 5)
	forcedTraced.VJPTangent(exact[:2], exact[2:], tt, y, p, w, dt, dy, dp)
	if e := relErr(exact, diff(vjp)); e > 1e-9 {
		t.Errorf("VJPTangent vs central differences: rel err %g", e)
	}
	exactJ := make([]float64, 2)
	forcedTraced.JVPTangent(exactJ, tt, y, p, yd, pd, dt, dy, dp)
	if e := relErr(exactJ, diff(jvp)); e > 1e-9 {
		t.Errorf("JVPTangent vs central differences: rel err %g", e)
	}
	var st Stats
	o := newSysOps(firstOrderOnly{forcedTraced}, p, &st, nil)
	fdv := make([]float64, 5)
	o.vjpTangent(fdv[:2], fdv[2:], tt, 0.1, y, w, dt, dy, dp)
	if e := relErr(fdv, exact); e > 1e-8 {
		t.Errorf("finite-difference VJPTangent rel err %g", e)
	}
	fdj := make([]float64, 2)
	o.jvpTangent(fdj, tt, 0.1, y, yd, pd, dt, dy, dp)
	if e := relErr(fdj, exactJ); e > 1e-8 {
		t.Errorf("finite-difference JVPTangent rel err %g", e)
	}
}

// TestDenseDerivative: the derivative of every dense-output formula against
// central differences of the interpolant, inside steps.
func TestDenseDerivative(t *testing.T) {
	prob := lvProblem(lotkaVolterra{})
	for _, c := range []struct {
		s      Solver
		interp Interpolation
	}{{DP5, InterpNative}, {Tsit5, InterpNative}, {BS3, InterpNative}, {Rodas4, InterpNative}, {DP5, InterpHermite}} {
		sol, err := Solve(prob, c.s, &Settings{RTol: 1e-6, Dense: true, Interpolation: c.interp})
		if err != nil {
			t.Fatal(err)
		}
		var worst float64
		for _, rec := range sol.traj.recs[:5] {
			for _, th := range []float64{0.13, 0.5, 0.91} {
				tm := rec.t + th*rec.h
				d := make([]float64, 2)
				rec.deriv(d, tm)
				a, b := make([]float64, 2), make([]float64, 2)
				e := 1e-6 * rec.h
				rec.eval(a, tm+e)
				rec.eval(b, tm-e)
				for i := range a {
					a[i] = (a[i] - b[i]) / (2 * e)
				}
				worst = math.Max(worst, relErr(d, a))
			}
		}
		if worst > 1e-7 {
			t.Errorf("%v (interpolation %d): dense derivative vs central differences rel err %g", c.s, c.interp, worst)
		}
	}
}

// TestHandWrittenSecondOrder checks the hand-written derivatives of the
// cvsHessian system against Traced's automatic ones, first and second
// order, along random directions.
func TestHandWrittenSecondOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	hw := cvsHessianHW{}
	y, p, v := randVec(r, 3), randVec(r, 2), randVec(r, 3)
	yd, pd, dy, dp := randVec(r, 3), randVec(r, 2), randVec(r, 3), randVec(r, 2)
	a, b := make([]float64, 5), make([]float64, 5)
	hw.VJP(a[:3], a[3:], 0, y, p, v)
	cvsHessian.VJP(b[:3], b[3:], 0, y, p, v)
	if e := relErr(a, b); e > 1e-14 {
		t.Errorf("VJP rel err %g", e)
	}
	j1, j2 := make([]float64, 3), make([]float64, 3)
	hw.JVP(j1, 0, y, p, yd, pd)
	cvsHessian.JVP(j2, 0, y, p, yd, pd)
	if e := relErr(j1, j2); e > 1e-14 {
		t.Errorf("JVP rel err %g", e)
	}
	clear(a)
	clear(b)
	hw.VJPTangent(a[:3], a[3:], 0, y, p, v, 0, dy, dp)
	cvsHessian.VJPTangent(b[:3], b[3:], 0, y, p, v, 0, dy, dp)
	if e := relErr(a, b); e > 1e-14 {
		t.Errorf("VJPTangent rel err %g", e)
	}
	hw.JVPTangent(j1, 0, y, p, yd, pd, 0, dy, dp)
	cvsHessian.JVPTangent(j2, 0, y, p, yd, pd, 0, dy, dp)
	if e := relErr(j1, j2); e > 1e-14 {
		t.Errorf("JVPTangent rel err %g", e)
	}
	m1, m2 := mat.NewDense(3, 3, nil), mat.NewDense(3, 3, nil)
	hw.Jacobian(m1, 0, y, p)
	cvsHessian.Jacobian(m2, 0, y, p)
	if !mat.EqualApprox(m1, m2, 1e-14) {
		t.Error("Jacobian differs")
	}
	pm1, pm2 := mat.NewDense(3, 2, nil), mat.NewDense(3, 2, nil)
	hw.ParamJacobian(pm1, 0, y, p)
	cvsHessian.ParamJacobian(pm2, 0, y, p)
	if !mat.EqualApprox(pm1, pm2, 1e-14) {
		t.Error("ParamJacobian differs")
	}
}

// hamiltonian is a vector field written as the symplectic gradient of an
// energy, H = p₀ (q² + v²)/2, taken inside F: f = (∂H/∂v, −∂H/∂q) =
// (p₀ v, −p₀ q), a harmonic oscillator of frequency p₀.
var hamiltonian = &Traced{N: 2, NP: 1, F: func(_, y, p *adjoint.Var) *adjoint.Var {
	h := adjoint.Mul(adjoint.Index(p, 0), adjoint.Scale(adjoint.Sum(adjoint.Square(y)), 0.5))
	g := adjoint.Elements(adjoint.GradGraph(h, y)[0])
	return adjoint.Stack(g[1], adjoint.Neg(g[0]))
}}

// TestTracedNestedDerivative: a right-hand side that differentiates its own
// arguments is evaluated on tracked values in every call, so the solution,
// its gradient and the exact solution agree (handed constants, F's inner
// gradient would not exist).
func TestTracedNestedDerivative(t *testing.T) {
	w := 1.3
	prob := Problem{System: hamiltonian, T0: 0, T1: 2, Y0: []float64{1, 0}, P: []float64{w}}
	set := &Settings{RTol: 1e-10, ATol: 1e-12}
	sol, err := Solve(prob, DP5, set)
	if err != nil {
		t.Fatal(err)
	}
	// q = cos(wt), v = −sin(wt).
	want := []float64{math.Cos(2 * w), -math.Sin(2 * w)}
	if e := relErr(sol.Y[0], want); e > 1e-8 {
		t.Errorf("y(2) = %v, want %v", sol.Y[0], want)
	}
	// G = q(2): dG/dw = −2 sin(2w), dG/dy₀ = (cos 2w, sin 2w).
	res, err := Gradient(prob, Cost{Terminal: TracedTerminal(func(y, _ *adjoint.Var) *adjoint.Var { return adjoint.Index(y, 0) })},
		Rodas4, &Interpolating{}, set)
	if err != nil {
		t.Fatal(err)
	}
	if e := math.Max(math.Abs(res.DP[0]+2*math.Sin(2*w)), relErr(res.DY0, []float64{math.Cos(2 * w), math.Sin(2 * w)})); e > 1e-6 {
		t.Errorf("dG/dw = %v, dG/dy0 = %v", res.DP, res.DY0)
	}
}
