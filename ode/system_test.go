package ode

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"

	"gonum.org/v1/gonum/mat"
)

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
