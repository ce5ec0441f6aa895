package ode_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/adjointkit/adjointkit/ode"
	"github.com/adjointkit/adjointkit/physics"
)

// phaseCycle is a limit cycle whose speed varies along it:
//
//	x' = x(1 − r²) − y(ω − a·y),   y' = y(1 − r²) + x(ω − a·y),
//
// p = [ω, a]. In polar coordinates r' = r(1 − r²) and θ' = ω − a·r·sin θ,
// so the attractor is the unit circle, run through with the density
// ∝ 1/(ω − a sin θ) (for ω > a). Hence ⟨y⟩ = ⟨sin θ⟩ = (ω − s)/a with
// s = √(ω² − a²), and
//
//	d⟨y⟩/dω = (1 − ω/s)/a,   d⟨y⟩/da = 1/s − (ω − s)/a².
//
// A change of ω or a changes the period and, unevenly, the speed along the
// cycle: only the time dilation of the shadowing methods gets it right.
type phaseCycle struct{}

func (phaseCycle) Dims() (int, int) { return 2, 2 }

func (phaseCycle) Eval(dst []float64, _ float64, y, p []float64) {
	r2 := y[0]*y[0] + y[1]*y[1]
	w := p[0] - p[1]*y[1]
	dst[0] = y[0]*(1-r2) - y[1]*w
	dst[1] = y[1]*(1-r2) + y[0]*w
}

func (phaseCycle) jac(y, p []float64) (j [2][2]float64, jp [2][2]float64) {
	x, v, om, a := y[0], y[1], p[0], p[1]
	j = [2][2]float64{{1 - 3*x*x - v*v, -2*x*v - om + 2*a*v}, {-2*x*v + om - a*v, 1 - x*x - 3*v*v - a*x}}
	jp = [2][2]float64{{-v, v * v}, {x, -x * v}}
	return j, jp
}

func (c phaseCycle) JVP(dst []float64, _ float64, y, p, yd, pd []float64) {
	j, jp := c.jac(y, p)
	for r := range 2 {
		dst[r] = j[r][0]*yd[0] + j[r][1]*yd[1]
		if pd != nil {
			dst[r] += jp[r][0]*pd[0] + jp[r][1]*pd[1]
		}
	}
}

func (c phaseCycle) VJP(ybar, pbar []float64, _ float64, y, p, v []float64) {
	j, jp := c.jac(y, p)
	for k := range 2 {
		if ybar != nil {
			ybar[k] += j[0][k]*v[0] + j[1][k]*v[1]
		}
		if pbar != nil {
			pbar[k] += jp[0][k]*v[0] + jp[1][k]*v[1]
		}
	}
}

// phaseCycleExact returns ⟨y⟩ and its derivatives with respect to ω and a.
func phaseCycleExact(om, a float64) (avg float64, grad []float64) {
	s := math.Sqrt(om*om - a*a)
	return (om - s) / a, []float64{(1 - om/s) / a, 1/s - (om-s)/(a*a)}
}

// component returns the running quantity J = y_i.
func component(i int) *ode.Integral {
	return &ode.Integral{
		G:    func(_ float64, y, _ []float64) float64 { return y[i] },
		Grad: func(gy, _ []float64, _ float64, _, _ []float64) { gy[i]++ },
	}
}

// bareLorenz is Lorenz-63 without derivatives: the shadowing methods take
// them by finite differences.
type bareLorenz struct{}

func (bareLorenz) Dims() (int, int) { return 3, 3 }
func (bareLorenz) Eval(dst []float64, t float64, y, p []float64) {
	physics.Lorenz63{}.Eval(dst, t, y, p)
}

// shadowMethods are the methods every test runs.
func shadowMethods(unstable int) []ode.ShadowMethod {
	return []ode.ShadowMethod{&ode.LSS{}, &ode.LSS{Tangent: true}, &ode.NILSS{Unstable: unstable}}
}

// TestPhaseCycleDerivatives checks the test system's JVP and VJP against
// central differences of Eval, and ⟨JVP⟩ against ⟨VJP⟩.
func TestPhaseCycleDerivatives(t *testing.T) {
	c := phaseCycle{}
	y, p := []float64{0.7, -0.4}, []float64{1.1, 0.6}
	jy := mat.NewDense(2, 2, nil)
	fd.Jacobian(jy, func(dst, y []float64) { c.Eval(dst, 0, y, p) }, y, &fd.JacobianSettings{Formula: fd.Central})
	jp := mat.NewDense(2, 2, nil)
	fd.Jacobian(jp, func(dst, p []float64) { c.Eval(dst, 0, y, p) }, p, &fd.JacobianSettings{Formula: fd.Central})
	yd, pd, w := []float64{0.3, -1.2}, []float64{0.8, 0.5}, []float64{-0.6, 1.7}
	got := make([]float64, 2)
	c.JVP(got, 0, y, p, yd, pd)
	for r := range 2 {
		want := jy.At(r, 0)*yd[0] + jy.At(r, 1)*yd[1] + jp.At(r, 0)*pd[0] + jp.At(r, 1)*pd[1]
		if math.Abs(got[r]-want) > 1e-8 {
			t.Errorf("JVP[%d] = %v, central differences %v", r, got[r], want)
		}
	}
	yb, pb := make([]float64, 2), make([]float64, 2)
	c.VJP(yb, pb, 0, y, p, w)
	c.JVP(got, 0, y, p, yd, pd)
	if lhs, rhs := got[0]*w[0]+got[1]*w[1], yb[0]*yd[0]+yb[1]*yd[1]+pb[0]*pd[0]+pb[1]*pd[1]; math.Abs(lhs-rhs) > 1e-14 {
		t.Errorf("⟨w, J·u⟩ = %v by JVP, %v by VJP", lhs, rhs)
	}
}

// TestShadowLimitCycle checks LSS (both forms) and NILSS against the exact
// derivatives of ⟨y⟩ on the limit cycle phaseCycle.
func TestShadowLimitCycle(t *testing.T) {
	om, a := 1.0, 0.5
	avg, want := phaseCycleExact(om, a)
	prob := ode.Problem{System: phaseCycle{}, T0: 0, T1: 200, Y0: []float64{0.5, 0}, P: []float64{om, a}}
	set := &ode.ShadowSettings{Solve: &ode.Settings{RTol: 1e-10, ATol: 1e-10}}
	// Unstable: none (the cycle's only non-negative exponent is the
	// neutral one, which the projection takes care of) and one (a stable
	// direction too many, which must do no harm).
	for _, m := range append(shadowMethods(-1), &ode.NILSS{Unstable: 1}) {
		res, err := ode.Shadow(prob, component(1), nil, m, set)
		if err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		// Each window averages over about 28 periods, starting at its own
		// phase: its average and its derivative carry an error of order
		// period/T (a few tenths of a percent); the windows' mean does
		// better. 0.5% leaves a margin of ten over what was seen.
		if e := math.Abs(res.Average-avg) / avg; e > 0.05 {
			t.Errorf("%v: ⟨y⟩ = %v, exact %v", m, res.Average, avg)
		}
		for k := range want {
			if e := math.Abs(res.Grad[k]-want[k]) / math.Abs(want[k]); e > 5e-3 {
				t.Errorf("%v: d⟨y⟩/dp[%d] = %.6f ± %.2g, exact %.6f (relative error %.2g)", m, k, res.Grad[k], res.GradErr[k], want[k], e)
			}
		}
		if m, ok := m.(*ode.NILSS); ok && m.Unstable > 0 {
			// The homogeneous tangent lies along the stable direction
			// r, whose exponent is −2.
			if l := res.Lyapunov[0]; math.Abs(l+2) > 0.02 {
				t.Errorf("NILSS: stable exponent %v, want −2", l)
			}
		}
	}
}

// TestShadowFixedPoint checks both methods where the attractor is a stable
// fixed point: Lorenz-63 at ρ = 15 settles on (±√(β(ρ−1)), ±√(β(ρ−1)),
// ρ − 1), so ⟨z⟩ = ρ − 1: d⟨z⟩/dρ = 1, d⟨z⟩/dσ = d⟨z⟩/dβ = 0.
func TestShadowFixedPoint(t *testing.T) {
	prob := ode.Problem{System: physics.Lorenz63{}, T0: 0, T1: 200, Y0: []float64{1, 2, 20}, P: []float64{10, 15, 8.0 / 3}}
	set := &ode.ShadowSettings{SpinUp: 300, Solve: &ode.Settings{RTol: 1e-10, ATol: 1e-10}}
	want := []float64{0, 1, 0}
	for _, m := range append(shadowMethods(-1), &ode.NILSS{}) {
		res, err := ode.Shadow(prob, component(2), nil, m, set)
		if err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		// The tangent takes a few e-folding times (1/0.36) to settle at
		// either end of the window: an error of order 1/(0.36·T) of its
		// size at most, 1% here (1e-3 was seen).
		for k := range want {
			if e := math.Abs(res.Grad[k] - want[k]); e > 1e-2 {
				t.Errorf("%v: d⟨z⟩/dp[%d] = %v, exact %v", m, k, res.Grad[k], want[k])
			}
		}
		if math.Abs(res.Average-14) > 1e-8 {
			t.Errorf("%v: ⟨z⟩ = %v, exact 14", m, res.Average)
		}
	}
}

// lorenzReference estimates d⟨z⟩/dρ for Lorenz-63 independently of the
// shadowing methods: the central difference of ⟨z⟩ between ρ ± dRho, each
// ⟨z⟩ the time average over T of a trajectory from a random start after a
// spin-up, averaged over pairs such differences. It returns the mean and
// its standard error.
func lorenzReference(t *testing.T, rho, dRho, T float64, pairs int) (mean, se float64) {
	rng := rand.New(rand.NewPCG(7, 8))
	slopes := make([]float64, pairs)
	avgZ := func(r float64, y0 []float64) float64 {
		const spin = 10.0
		prob := ode.Problem{System: physics.Lorenz63{}, T0: -spin, T1: T, Y0: y0, P: []float64{10, r, 8.0 / 3}}
		sol, err := ode.Solve(prob, nil, &ode.Settings{RTol: 1e-6, ATol: 1e-6, SaveAt: []float64{0}})
		if err != nil {
			t.Fatal(err)
		}
		prob.T0, prob.Y0 = 0, sol.Y[0]
		v, _, err := ode.Evaluate(prob, ode.Cost{Integral: component(2)}, nil, &ode.Settings{RTol: 1e-6, ATol: 1e-6, MaxSteps: 1 << 22})
		if err != nil {
			t.Fatal(err)
		}
		return v / T
	}
	for k := range slopes {
		y0 := []float64{rng.Float64()*20 - 10, rng.Float64()*20 - 10, 20 + rng.Float64()*10}
		slopes[k] = (avgZ(rho+dRho, y0) - avgZ(rho-dRho, y0)) / (2 * dRho)
	}
	m, sd := stat.MeanStdDev(slopes, nil)
	return m, sd / math.Sqrt(float64(pairs))
}

// TestShadowLorenz checks LSS and NILSS on Lorenz-63 at ρ = 28 against each
// other, within their statistical errors, and against finite differences
// of long-time averages.
//
// The shadowing derivative of Lorenz-63 is not exactly the slope of ⟨z⟩:
// the attractor is not uniformly hyperbolic, and shadowing sensitivities
// converge to a value a little off the response of the chaotic state
// (D. Lasagna, "Sensitivity of long periodic orbits of chaotic systems",
// arXiv:1910.06706, and the works cited there). Measured here: about
// 1.017 against 1.000 ± 0.003 (central differences over ρ = 26 … 30 of
// averages over 200 trajectories of T = 200 each). The comparison with the
// reference therefore allows 5%, and the two methods must agree within
// their statistical errors.
func TestShadowLorenz(t *testing.T) {
	if testing.Short() {
		t.Skip("long-time averages of Lorenz-63")
	}
	ref, refSE := lorenzReference(t, 28, 2, 200, 24)
	prob := ode.Problem{System: physics.Lorenz63{}, T0: 0, T1: 50, Y0: []float64{1, 2, 20}, P: []float64{10, 28, 8.0 / 3}}
	set := &ode.ShadowSettings{Trajectories: 8, Params: []int{1}, Solve: &ode.Settings{RTol: 1e-8, ATol: 1e-8}}
	var got []*ode.ShadowResult
	// NILSS also with two homogeneous tangents: one too many, along the
	// stable direction, which must do no harm.
	for _, m := range []ode.ShadowMethod{&ode.LSS{}, &ode.NILSS{}, &ode.NILSS{Unstable: 2}} {
		res, err := ode.Shadow(prob, component(2), nil, m, set)
		if err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		got = append(got, res)
		t.Logf("%v: d⟨z⟩/dρ = %.4f ± %.4f, ⟨z⟩ = %.3f, λ₁ = %.3f; reference %.4f ± %.4f", m, res.Grad[0], res.GradErr[0], res.Average, res.Lyapunov[0], ref, refSE)
		if d := math.Abs(res.Grad[0]-ref) / ref; d > 0.05 {
			t.Errorf("%v: d⟨z⟩/dρ = %.4f ± %.4f, reference %.4f ± %.4f: %.2g apart (relative)", m, res.Grad[0], res.GradErr[0], ref, refSE, d)
		}
		// The leading Lyapunov exponent is 0.906 (J. C. Sprott, Chaos and
		// Time-Series Analysis, 2003); each window's estimate scatters by
		// about 1/√T.
		if l := res.Lyapunov[0]; math.Abs(l-0.906) > 0.1 {
			t.Errorf("%v: λ₁ = %v, want 0.906 ± 0.1", m, l)
		}
	}
	// Four standard errors of the difference: the runs are deterministic,
	// and a difference beyond that is no accident.
	for _, other := range got[1:] {
		if d, s := math.Abs(got[0].Grad[0]-other.Grad[0]), math.Hypot(got[0].GradErr[0], other.GradErr[0]); d > 4*s {
			t.Errorf("LSS %.4f ± %.4f and NILSS %.4f ± %.4f are %.1f standard errors apart", got[0].Grad[0], got[0].GradErr[0], other.Grad[0], other.GradErr[0], d/s)
		}
	}
}

// TestShadowForms checks that LSS's tangent and adjoint forms give the
// same derivative for every parameter, and that systems without JVP and
// VJP (finite differences) give nearly the same.
func TestShadowForms(t *testing.T) {
	prob := ode.Problem{System: physics.Lorenz63{}, T0: 0, T1: 20, Y0: []float64{1, 2, 20}, P: []float64{10, 28, 8.0 / 3}}
	set := &ode.ShadowSettings{Trajectories: 2, MinLyapunovTimes: -1}
	run := func(m ode.ShadowMethod, sys ode.System) *ode.ShadowResult {
		p := prob
		p.System = sys
		res, err := ode.Shadow(p, component(2), nil, m, set)
		if err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		return res
	}
	adj := run(&ode.LSS{}, physics.Lorenz63{})
	tan := run(&ode.LSS{Tangent: true}, physics.Lorenz63{})
	for k := range adj.Grad {
		if e := math.Abs(adj.Grad[k]-tan.Grad[k]) / math.Abs(tan.Grad[k]); e > 1e-9 {
			t.Errorf("d⟨z⟩/dp[%d]: adjoint form %v, tangent form %v", k, adj.Grad[k], tan.Grad[k])
		}
	}
	// LSS is compared, not NILSS: NILSS's tangents share the solver's
	// error control with the trajectory, so finite-difference tangents
	// (relative error about 1e-8) change its steps, and over 20 Lyapunov
	// times the trajectory; LSS solves the trajectory alone.
	bare := run(&ode.LSS{}, bareLorenz{})
	for k := range adj.Grad {
		if e := math.Abs(adj.Grad[k]-bare.Grad[k]) / math.Abs(adj.Grad[k]); e > 1e-5 {
			t.Errorf("d⟨z⟩/dp[%d]: %v with JVPs and VJPs, %v by finite differences", k, adj.Grad[k], bare.Grad[k])
		}
	}
}

// TestLSSKKTDense checks LSS's banded Schur-complement solve against the
// dense KKT system of the same discretisation, built here from central
// differences of f, on a window of 60 steps.
func TestLSSKKTDense(t *testing.T) {
	sys := phaseCycle{}
	p := []float64{1, 0.5}
	const N, alpha, T = 60, 0.3, 6.0
	prob := ode.Problem{System: sys, T0: 0, T1: T, Y0: []float64{1, 0}, P: p}
	ts, ys, v, eta, grad, err := ode.LSSTangentForTest(prob, component(1), N, alpha, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 2
	dt := T / N
	w := func(i int) float64 {
		if i == 0 || i == N {
			return dt / 2
		}
		return dt
	}
	jac := func(y []float64) *mat.Dense {
		j := mat.NewDense(n, n, nil)
		fd.Jacobian(j, func(dst, y []float64) { sys.Eval(dst, 0, y, p) }, y, &fd.JacobianSettings{Formula: fd.Central})
		return j
	}
	dfdw := func(y []float64) []float64 {
		j := mat.NewDense(n, 2, nil)
		fd.Jacobian(j, func(dst, q []float64) { sys.Eval(dst, 0, y, q) }, p, &fd.JacobianSettings{Formula: fd.Central})
		return []float64{j.At(0, 0), j.At(1, 0)}
	}
	// Unknowns [v (N+1)n, η N, μ Nn]: minimise ½Σωᵢ‖vᵢ‖² + ½α²ΣΔt ηᵢ²
	// subject to (vᵢ₊₁ − vᵢ)/Δt − ½(Aᵢ₊₁vᵢ₊₁ + Aᵢvᵢ) − ηᵢ(yᵢ₊₁ − yᵢ)/Δt = ½(bᵢ + bᵢ₊₁).
	nv, ne := (N+1)*n, N
	size := nv + ne + N*n
	K := mat.NewDense(size, size, nil)
	rhs := mat.NewVecDense(size, nil)
	for i := range N + 1 {
		for r := range n {
			K.Set(i*n+r, i*n+r, w(i))
		}
	}
	for i := range N {
		K.Set(nv+i, nv+i, alpha*alpha*dt)
	}
	for i := range N {
		ai, ai1 := jac(ys[i]), jac(ys[i+1])
		bi, bi1 := dfdw(ys[i]), dfdw(ys[i+1])
		row := nv + ne + i*n
		for r := range n {
			for c := range n {
				var d float64
				if r == c {
					d = 1 / dt
				}
				set := func(col int, val float64) {
					K.Set(row+r, col, val)
					K.Set(col, row+r, val)
				}
				set(i*n+c, -d-0.5*ai.At(r, c))
				set((i+1)*n+c, d-0.5*ai1.At(r, c))
			}
			fr := (ys[i+1][r] - ys[i][r]) / dt
			K.Set(row+r, nv+i, -fr)
			K.Set(nv+i, row+r, -fr)
			rhs.SetVec(row+r, 0.5*(bi[r]+bi1[r]))
		}
	}
	var x mat.VecDense
	if err := x.SolveVec(K, rhs); err != nil {
		t.Fatal(err)
	}
	scale := 0.0
	for _, vv := range x.RawVector().Data[:nv] {
		scale = math.Max(scale, math.Abs(vv))
	}
	for k := range nv {
		if e := math.Abs(v[k]-x.AtVec(k)) / scale; e > 1e-7 {
			t.Fatalf("v[%d] = %v, dense KKT %v", k, v[k], x.AtVec(k))
		}
	}
	etaScale := 0.0
	for i := range N {
		etaScale = math.Max(etaScale, math.Abs(x.AtVec(nv+i)))
	}
	for i := range N {
		if e := math.Abs(eta[i]-x.AtVec(nv+i)) / etaScale; e > 1e-7 {
			t.Fatalf("η[%d] = %v, dense KKT %v", i, eta[i], x.AtVec(nv+i))
		}
	}
	// The derivative from the dense solution: the trapezoidal average of
	// ∂J/∂y·v plus the time dilation's term.
	var avg, want float64
	for i := range N + 1 {
		avg += w(i) * ys[i][1] / T
	}
	for i := range N + 1 {
		want += w(i) * x.AtVec(i*n+1) / T
	}
	for i := range N {
		want += dt * x.AtVec(nv+i) * (0.5*(ys[i][1]+ys[i+1][1]) - avg) / T
	}
	if math.Abs(grad-want) > 1e-7*math.Abs(want) {
		t.Errorf("derivative %v, from the dense KKT solution %v", grad, want)
	}
	if len(ts) != N+1 || ts[N] != T {
		t.Errorf("grid %v", ts)
	}
}

// TestNILSSKKTDense checks NILSS's least-squares solve between segments
// against the dense KKT system, on random data.
func TestNILSSKKTDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, dims := range [][3]int{{5, 2, 1}, {7, 3, 2}, {1, 2, 2}, {4, 1, 3}} {
		K, u, q := dims[0], dims[1], dims[2]
		C, d, R, b := make([][]float64, K), make([][]float64, K), make([][]float64, K), make([][]float64, K)
		randn := func(n int) []float64 {
			x := make([]float64, n)
			for i := range x {
				x[i] = rng.NormFloat64()
			}
			return x
		}
		for i := range K {
			a := mat.NewDense(u, u, randn(u*u))
			var c mat.Dense
			c.Mul(a, a.T())
			for k := range u {
				c.Set(k, k, c.At(k, k)+0.5)
			}
			C[i], d[i], R[i], b[i] = c.RawMatrix().Data, randn(u*q), randn(u*u), randn(u*q)
		}
		a, err := ode.NILSSCoefficientsForTest(C, d, R, b, u, q)
		if err != nil {
			t.Fatal(err)
		}
		// Unknowns [a₀ … a_{K−1}, λ₁ … λ_{K−1}], one column per parameter:
		// Cᵢaᵢ + dᵢ + (constraint terms) = 0, aᵢ − Rᵢaᵢ₋₁ = bᵢ (Rᵢ and bᵢ from
		// the end of segment i−1).
		size := K*u + (K-1)*u
		M := mat.NewDense(size, size, nil)
		rhs := mat.NewDense(size, q, nil)
		for i := range K {
			for r := range u {
				for c := range u {
					M.Set(i*u+r, i*u+c, C[i][r*u+c])
				}
				for k := range q {
					rhs.Set(i*u+r, k, -d[i][r*q+k])
				}
			}
		}
		for i := 1; i < K; i++ {
			row := K*u + (i-1)*u
			for r := range u {
				M.Set(row+r, i*u+r, 1)
				M.Set(i*u+r, row+r, 1)
				for c := range u {
					M.Set(row+r, (i-1)*u+c, -R[i-1][r*u+c])
					M.Set((i-1)*u+c, row+r, -R[i-1][r*u+c])
				}
				for k := range q {
					rhs.Set(row+r, k, b[i-1][r*q+k])
				}
			}
		}
		var x mat.Dense
		if err := x.Solve(M, rhs); err != nil {
			t.Fatal(err)
		}
		for i := range K {
			for r := range u {
				for k := range q {
					if got, want := a[i][r*q+k], x.At(i*u+r, k); math.Abs(got-want) > 1e-10*(1+math.Abs(want)) {
						t.Errorf("K=%d u=%d q=%d: a[%d][%d,%d] = %v, dense KKT %v", K, u, q, i, r, k, got, want)
					}
				}
			}
		}
	}
}

// TestBlockTridiagDense checks the banded Cholesky solve of a
// block-tridiagonal matrix against a dense solve, and its refusal of a
// matrix that is not positive definite.
func TestBlockTridiagDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	for _, dims := range [][2]int{{1, 3}, {6, 1}, {9, 3}, {4, 5}} {
		nb, b := dims[0], dims[1]
		// S = G Gᵀ + I for a block lower-bidiagonal G is SPD and
		// block-tridiagonal.
		G := mat.NewDense(nb*b, nb*b, nil)
		for i := range nb {
			for r := range b {
				for c := range b {
					G.Set(i*b+r, i*b+c, rng.NormFloat64())
					if i > 0 {
						G.Set(i*b+r, (i-1)*b+c, rng.NormFloat64())
					}
				}
			}
		}
		var S mat.Dense
		S.Mul(G, G.T())
		for k := range nb * b {
			S.Set(k, k, S.At(k, k)+1)
		}
		block := func(i, j int) []float64 {
			return mat.DenseCopyOf(S.Slice(i*b, (i+1)*b, j*b, (j+1)*b)).RawMatrix().Data
		}
		var diag, upper [][]float64
		for i := range nb {
			diag = append(diag, block(i, i))
			if i+1 < nb {
				upper = append(upper, block(i, i+1))
			}
		}
		rhs := mat.NewDense(nb*b, 2, nil)
		for k := range nb * b {
			rhs.Set(k, 0, rng.NormFloat64())
			rhs.Set(k, 1, rng.NormFloat64())
		}
		got, err := ode.BlockTridiagSolveForTest(diag, upper, b, rhs)
		if err != nil {
			t.Fatal(err)
		}
		var want mat.Dense
		if err := want.Solve(&S, rhs); err != nil {
			t.Fatal(err)
		}
		if !mat.EqualApprox(got, &want, 1e-10) {
			t.Errorf("nb=%d b=%d: banded solve differs from the dense one:\n%v\n%v", nb, b, mat.Formatted(got), mat.Formatted(&want))
		}
	}
	// Indefinite: diag(1, −1).
	if _, err := ode.BlockTridiagSolveForTest([][]float64{{1}, {-1}}, [][]float64{{0}}, 1, mat.NewDense(2, 1, nil)); err == nil {
		t.Error("an indefinite matrix was factorised")
	}
}

// TestShadowErrors checks the conditions under which the methods do not
// apply, and numerical failure.
func TestShadowErrors(t *testing.T) {
	lorenz := func(rho, T float64, y0 []float64) ode.Problem {
		return ode.Problem{System: physics.Lorenz63{}, T0: 0, T1: T, Y0: y0, P: []float64{10, rho, 8.0 / 3}}
	}
	cases := []struct {
		name     string
		prob     ode.Problem
		method   ode.ShadowMethod
		set      *ode.ShadowSettings
		sentinel error
		says     string
	}{
		{"window of 4.5 Lyapunov times (LSS)", lorenz(28, 5, []float64{1, 1, 20}), &ode.LSS{}, nil, ode.ErrShortWindow, "e-folding times"},
		{"window of 4.5 Lyapunov times (NILSS)", lorenz(28, 5, []float64{1, 1, 20}), &ode.NILSS{}, nil, ode.ErrShortWindow, "e-folding times"},
		{"too few LSS steps", lorenz(28, 20, []float64{1, 1, 20}), &ode.LSS{Step: 2}, nil, ode.ErrShortWindow, "LSS needs at least"},
		{"too few NILSS segments", lorenz(28, 20, []float64{1, 1, 20}), &ode.NILSS{Segment: 10}, nil, ode.ErrShortWindow, "NILSS needs at least"},
		{"no spin-up onto a fixed point (LSS)", lorenz(15, 20, []float64{1, 2, 3}), &ode.LSS{}, &ode.ShadowSettings{SpinUp: -1}, ode.ErrTransient, "SpinUp"},
		{"no spin-up onto a fixed point (NILSS)", lorenz(15, 20, []float64{1, 2, 3}), &ode.NILSS{}, &ode.ShadowSettings{SpinUp: -1}, ode.ErrTransient, "SpinUp"},
		// On a chaotic attractor the test is statistical: here the first
		// window's average is 10 standard deviations of the others' away.
		{"no spin-up onto the Lorenz attractor", lorenz(28, 20, []float64{0.1, 0.1, 0.1}), &ode.NILSS{}, &ode.ShadowSettings{SpinUp: -1, Trajectories: 8}, ode.ErrTransient, "approaching the attractor"},
		{"unstable direction left out", lorenz(28, 50, []float64{1, 1, 20}), &ode.NILSS{Unstable: -1}, nil, ode.ErrUnresolved, "raise NILSS.Unstable"},
	}
	for _, c := range cases {
		_, err := ode.Shadow(c.prob, component(2), nil, c.method, c.set)
		if !errors.Is(err, c.sentinel) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: got %v, want %v saying %q", c.name, err, c.sentinel, c.says)
		}
	}
	// A solution that blows up (y' = y², y(0) = 1, at t = 1) is the
	// solve's *ode.Error, with the spin-up named.
	blow := ode.Problem{System: quadratic{}, T0: 0, T1: 2, Y0: []float64{1}, P: []float64{1}}
	_, err := ode.Shadow(blow, component(0), nil, &ode.NILSS{Unstable: -1}, nil)
	var se *ode.Error
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "spin-up") {
		t.Errorf("blow-up: got %v, want an *ode.Error from the spin-up", err)
	}
	// Progress can stop the computation.
	stop := errors.New("stop")
	_, err = ode.Shadow(lorenz(28, 20, []float64{1, 1, 20}), component(2), nil, &ode.NILSS{},
		&ode.ShadowSettings{Progress: func(done, total int) error {
			if done == 2 {
				return stop
			}
			return nil
		}})
	if !errors.Is(err, stop) {
		t.Errorf("progress: got %v, want the callback's error", err)
	}
}

// quadratic is y' = p·y², which blows up at t = 1/(p·y₀).
type quadratic struct{}

func (quadratic) Dims() (int, int) { return 1, 1 }
func (quadratic) Eval(dst []float64, _ float64, y, p []float64) {
	dst[0] = p[0] * y[0] * y[0]
}

// TestShadowMisuse checks that misuse panics with an ode: message.
func TestShadowMisuse(t *testing.T) {
	prob := ode.Problem{System: physics.Lorenz63{}, T0: 0, T1: 20, Y0: []float64{1, 1, 20}, P: []float64{10, 28, 8.0 / 3}}
	backwards := prob
	backwards.T0, backwards.T1 = 20, 0
	for _, c := range []struct {
		name   string
		prob   ode.Problem
		avg    *ode.Integral
		solver ode.Solver
		method ode.ShadowMethod
		set    *ode.ShadowSettings
	}{
		{"backward window", backwards, component(2), nil, nil, nil},
		{"no running quantity", prob, nil, nil, nil, nil},
		{"parameter out of range", prob, component(2), nil, nil, &ode.ShadowSettings{Params: []int{3}}},
		{"SaveAt", prob, component(2), nil, nil, &ode.ShadowSettings{Solve: &ode.Settings{SaveAt: []float64{1}}}},
		{"starts of the wrong length", prob, component(2), nil, nil, &ode.ShadowSettings{Starts: [][]float64{{1, 2}}}},
		{"NILSS with a stiff solver", prob, component(2), ode.Rodas4, &ode.NILSS{}, nil},
		{"as many homogeneous tangents as states", prob, component(2), nil, &ode.NILSS{Unstable: 3}, nil},
		{"negative LSS step", prob, component(2), nil, &ode.LSS{Step: -1}, nil},
	} {
		func() {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, "ode: ") {
					t.Errorf("%s: recovered %v, want an ode: panic", c.name, r)
				}
			}()
			_, _ = ode.Shadow(c.prob, c.avg, c.solver, c.method, c.set)
		}()
	}
}

// TestShadowStarts checks independent starts: one window each, each spun
// up, and the work counted.
func TestShadowStarts(t *testing.T) {
	prob := ode.Problem{System: physics.Lorenz63{}, T0: 0, T1: 20, Y0: nil, P: []float64{10, 28, 8.0 / 3}}
	starts := [][]float64{{1, 1, 20}, {-5, 3, 25}, {2, -7, 30}}
	prob.Y0 = starts[0]
	res, err := ode.Shadow(prob, component(2), nil, &ode.NILSS{}, &ode.ShadowSettings{Starts: starts, Params: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Windows) != 3 || len(res.Grad) != 1 || res.SpinUp.Steps == 0 || res.Stats.Steps <= res.SpinUp.Steps || !(res.Segment > 0) || res.Step != 0 {
		t.Errorf("%d windows, %d derivatives, spin-up %v, total %v, segment %v, step %v",
			len(res.Windows), len(res.Grad), res.SpinUp, res.Stats, res.Segment, res.Step)
	}
}
