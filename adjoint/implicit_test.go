package adjoint

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// engCubic is F(u, θ) = A u + 0.1 u³ − B θ − c, elementwise cube, with A
// nonsymmetric: a small nonlinear system.
type engCubic struct {
	a, b *mat.Dense
	c    []float64
}

var _ Residual = engCubic{}

func (f engCubic) Eval(r []float64, u, theta []float64) {
	m := len(u)
	rv := mat.NewVecDense(m, r)
	rv.MulVec(f.a, mat.NewVecDense(m, u))
	var bt mat.VecDense
	bt.MulVec(f.b, mat.NewVecDense(len(theta), theta))
	for i := range r {
		r[i] += 0.1*u[i]*u[i]*u[i] - bt.AtVec(i) - f.c[i]
	}
}

func (f engCubic) VJPU(ubar []float64, u, theta, w []float64) {
	m := len(u)
	var atw mat.VecDense
	atw.MulVec(f.a.T(), mat.NewVecDense(m, w))
	for i := range ubar {
		ubar[i] += atw.AtVec(i) + 0.3*u[i]*u[i]*w[i]
	}
}

func (f engCubic) VJPTheta(thetabar []float64, u, theta, w []float64) {
	var btw mat.VecDense
	btw.MulVec(f.b.T(), mat.NewVecDense(len(w), w))
	for j := range thetabar {
		thetabar[j] -= btw.AtVec(j)
	}
}

// engCubicJac adds the dense Jacobian A + diag(0.3 u²).
type engCubicJac struct{ engCubic }

var _ ResidualJacobian = engCubicJac{}

func (f engCubicJac) JacobianU(dst *mat.Dense, u, theta []float64) {
	dst.Copy(f.a)
	for i, v := range u {
		dst.Set(i, i, dst.At(i, i)+0.3*v*v)
	}
}

// engNewton solves F(u, θ) = 0 by Newton's method from zero.
func engNewton(f engCubic, theta []float64) []float64 {
	m, _ := f.a.Dims()
	u := make([]float64, m)
	r := make([]float64, m)
	jac := mat.NewDense(m, m, nil)
	for it := 0; it < 100; it++ {
		f.Eval(r, u, theta)
		if floats.Norm(r, 2) < 1e-15 {
			break
		}
		engCubicJac{f}.JacobianU(jac, u, theta)
		floats.Sub(u, engSolveLU(jac, r))
	}
	return u
}

func engCubicProblem() (engCubic, []float64, []float64) {
	rnd := rand.New(rand.NewPCG(5, 6))
	const m, p = 6, 4
	f := engCubic{a: engNonsymmetric(m, rnd), b: mat.NewDense(m, p, nil), c: engRandVec(m, rnd)}
	for i := 0; i < m; i++ {
		for j := 0; j < p; j++ {
			f.b.Set(i, j, rnd.NormFloat64())
		}
	}
	return f, engRandVec(p, rnd), engRandVec(m, rnd)
}

func engCheckFD(t *testing.T, name string, got, want []float64, tol float64) {
	t.Helper()
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol*(1+math.Abs(want[i])) {
			t.Errorf("%s: dJ/dθ[%d] = %.10g, finite differences %.10g", name, i, got[i], want[i])
		}
	}
}

func TestImplicitNonlinearSystem(t *testing.T) {
	f, theta, uobs := engCubicProblem()
	// J(u) = ½‖u − u_obs‖², a function of θ through u*(θ).
	objective := func(th []float64) float64 {
		u := engNewton(f, th)
		d := make([]float64, len(u))
		floats.SubTo(d, u, uobs)
		return 0.5 * floats.Dot(d, d)
	}
	want := fd.Gradient(nil, objective, theta, &fd.Settings{Formula: fd.Central})
	u := engNewton(f, theta)
	ubar := make([]float64, len(u))
	floats.SubTo(ubar, u, uobs)
	m := len(u)

	for _, c := range []struct {
		name     string
		f        Residual
		set      *ImplicitSettings
		solver   LinearSolver
		products int
	}{
		{"auto", f, nil, SolverDense, m + 1},
		{"dense VJP rows", f, &ImplicitSettings{Solver: SolverDense}, SolverDense, m + 1},
		{"dense Jacobian", engCubicJac{f}, &ImplicitSettings{Solver: SolverDense}, SolverDense, 1},
		{"GMRES", f, &ImplicitSettings{Solver: SolverGMRES}, SolverGMRES, -1},
		{"GMRES restart 2", f, &ImplicitSettings{Solver: SolverGMRES, Krylov: &KrylovSettings{Restart: 2, Tol: 1e-12}}, SolverGMRES, -1},
	} {
		got := make([]float64, len(theta))
		res, err := ImplicitVJP(got, c.f, u, theta, ubar, c.set)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		engCheckFD(t, c.name, got, want, 1e-7)
		if res.Solver != c.solver || res.Residual > 1e-10 || res.FNorm > 1e-12 {
			t.Errorf("%s: result %+v", c.name, res)
		}
		if c.products >= 0 && res.Products != c.products {
			t.Errorf("%s: %d products, want %d", c.name, res.Products, c.products)
		}
		if c.solver == SolverGMRES && (res.Iterations == 0 || res.Products < res.Iterations+1) {
			t.Errorf("%s: iterations %d products %d", c.name, res.Iterations, res.Products)
		}
		if c.solver == SolverDense && res.Cond < 1 {
			t.Errorf("%s: condition number %g", c.name, res.Cond)
		}
	}

	// ImplicitVJP accumulates into thetabar, and a warm start from the
	// exact λ needs no iterations.
	first := make([]float64, len(theta))
	res, _ := ImplicitVJP(first, f, u, theta, ubar, nil)
	acc := make([]float64, len(theta))
	floats.AddConst(1, acc)
	res2, err := ImplicitVJP(acc, f, u, theta, ubar, &ImplicitSettings{Solver: SolverGMRES, Guess: res.Lambda})
	if err != nil || res2.Iterations != 0 {
		t.Errorf("warm start: %+v, %v", res2, err)
	}
	floats.AddConst(-1, acc)
	engCheckFD(t, "accumulate", acc, first, 1e-12)

	// A u that is not a solution shows in FNorm.
	bad := append([]float64(nil), u...)
	bad[0] += 0.1
	if res, _ := ImplicitVJP(nil, f, bad, theta, ubar, nil); res.FNorm < 0.05 {
		t.Errorf("FNorm %g for a perturbed solution", res.FNorm)
	}
}

// engDiffusion is the residual of −(k u')' = f on n interior nodes of
// [0, 1] with u = 0 at both ends: F(u, k) = K(k) u − f, with the n+1 face
// coefficients k as θ. ∂F/∂u = K(k) is symmetric positive definite.
type engDiffusion struct {
	f []float64
}

var _ Residual = engDiffusion{}

// apply sets dst = K(k) v.
func (engDiffusion) apply(dst, k, v []float64) {
	n := len(v)
	h2 := float64((n + 1) * (n + 1))
	at := func(i int) float64 {
		if i < 0 || i >= n {
			return 0
		}
		return v[i]
	}
	for i := 0; i < n; i++ {
		dst[i] = h2 * (k[i]*(v[i]-at(i-1)) - k[i+1]*(at(i+1)-v[i]))
	}
}

func (d engDiffusion) Eval(r []float64, u, theta []float64) {
	d.apply(r, theta, u)
	floats.Sub(r, d.f)
}

func (d engDiffusion) VJPU(ubar []float64, u, theta, w []float64) {
	kw := make([]float64, len(w))
	d.apply(kw, theta, w)
	floats.Add(ubar, kw)
}

func (engDiffusion) VJPTheta(thetabar []float64, u, theta, w []float64) {
	n := len(u)
	h2 := float64((n + 1) * (n + 1))
	at := func(v []float64, i int) float64 {
		if i < 0 || i >= n {
			return 0
		}
		return v[i]
	}
	for j := 0; j <= n; j++ {
		thetabar[j] += h2 * (at(w, j) - at(w, j-1)) * (at(u, j) - at(u, j-1))
	}
}

func (d engDiffusion) solve(k []float64) []float64 {
	kk := append([]float64(nil), k...)
	a := engLaplacian(kk)
	n := len(d.f)
	a.Scale(float64((n+1)*(n+1)), a)
	return engSolveLU(a, d.f)
}

func TestImplicitDiffusion(t *testing.T) {
	const n = 30
	d := engDiffusion{f: make([]float64, n)}
	k := make([]float64, n+1)
	uobs := make([]float64, n)
	for i := range k {
		k[i] = 1 + 0.5*math.Sin(3*float64(i)/n)
	}
	for i := range d.f {
		x := float64(i+1) / (n + 1)
		d.f[i] = 10 * math.Exp(-20*(x-0.4)*(x-0.4))
		uobs[i] = 0.3 * math.Sin(math.Pi*x)
	}
	// J = Σ (u − u_obs)².
	objective := func(k []float64) float64 {
		u := d.solve(k)
		var j float64
		for i := range u {
			j += (u[i] - uobs[i]) * (u[i] - uobs[i])
		}
		return j
	}
	want := fd.Gradient(nil, objective, k, &fd.Settings{Formula: fd.Central})
	u := d.solve(k)
	ubar := make([]float64, n)
	for i := range u {
		ubar[i] = 2 * (u[i] - uobs[i])
	}
	for _, s := range []LinearSolver{SolverDense, SolverGMRES, SolverCG} {
		got := make([]float64, n+1)
		res, err := ImplicitVJP(got, d, u, k, ubar, &ImplicitSettings{Solver: s, Krylov: &KrylovSettings{Tol: 1e-12}})
		if err != nil {
			t.Fatalf("%v: %v", s, err)
		}
		engCheckFD(t, s.String(), got, want, 1e-6)
		if res.Residual > 1e-10 {
			t.Errorf("%v: residual %g", s, res.Residual)
		}
	}
	// Non-convergence is an error that reports the residual reached.
	for _, s := range []LinearSolver{SolverGMRES, SolverCG} {
		thetabar := make([]float64, n+1)
		res, err := ImplicitVJP(thetabar, d, u, k, ubar, &ImplicitSettings{Solver: s, Krylov: &KrylovSettings{MaxIter: 2}})
		if !errors.Is(err, ErrNotConverged) || !strings.Contains(err.Error(), "relative residual") || res.Iterations != 2 {
			t.Errorf("%v: MaxIter 2 gave %v (iterations %d)", s, err, res.Iterations)
		}
		if floats.Norm(thetabar, 2) != 0 {
			t.Errorf("%v: thetabar modified on error", s)
		}
	}
}

// engContraction is T(u, θ) = 0.5 tanh(W u + θ).
type engContraction struct{ w *mat.Dense }

var _ FixedPointMap = engContraction{}

func (c engContraction) pre(u, theta []float64) []float64 {
	var p mat.VecDense
	p.MulVec(c.w, mat.NewVecDense(len(u), u))
	floats.Add(p.RawVector().Data, theta)
	return p.RawVector().Data
}

func (c engContraction) Eval(dst []float64, u, theta []float64) {
	for i, p := range c.pre(u, theta) {
		dst[i] = 0.5 * math.Tanh(p)
	}
}

func (c engContraction) gate(u, theta, w []float64) []float64 {
	g := make([]float64, len(u))
	for i, p := range c.pre(u, theta) {
		th := math.Tanh(p)
		g[i] = 0.5 * (1 - th*th) * w[i]
	}
	return g
}

func (c engContraction) VJPU(ubar []float64, u, theta, w []float64) {
	g := c.gate(u, theta, w)
	var wt mat.VecDense
	wt.MulVec(c.w.T(), mat.NewVecDense(len(g), g))
	floats.Add(ubar, wt.RawVector().Data)
}

func (c engContraction) VJPTheta(thetabar []float64, u, theta, w []float64) {
	floats.Add(thetabar, c.gate(u, theta, w))
}

// engContractionJac adds ∂T/∂u = 0.5 diag(1 − tanh²) W.
type engContractionJac struct{ engContraction }

var _ ResidualJacobian = engContractionJac{}

func (c engContractionJac) JacobianU(dst *mat.Dense, u, theta []float64) {
	dst.Copy(c.w)
	for i, p := range c.pre(u, theta) {
		th := math.Tanh(p)
		for j := range u {
			dst.Set(i, j, 0.5*(1-th*th)*dst.At(i, j))
		}
	}
}

func TestImplicitFixedPoint(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	const m = 5
	tm := engContraction{w: engNonsymmetric(m, rnd)}
	tm.w.Scale(0.4, tm.w) // ‖∂T/∂u‖ < 1: a contraction
	theta := engRandVec(m, rnd)
	iterate := func(th []float64) []float64 {
		u, next := make([]float64, m), make([]float64, m)
		for it := 0; it < 500; it++ {
			tm.Eval(next, u, th)
			u, next = next, u
		}
		return u
	}
	objective := func(th []float64) float64 {
		u := iterate(th)
		return floats.Dot(u, u) + u[0]
	}
	want := fd.Gradient(nil, objective, theta, &fd.Settings{Formula: fd.Central})
	u := iterate(theta)
	ubar := make([]float64, m)
	floats.ScaleTo(ubar, 2, u)
	ubar[0]++
	for name, r := range map[string]Residual{"VJP": FixedPoint(tm), "Jacobian": FixedPoint(engContractionJac{tm})} {
		if _, ok := r.(ResidualJacobian); ok != (name == "Jacobian") {
			t.Errorf("%s: FixedPoint Jacobian capability %v", name, ok)
		}
		for _, s := range []LinearSolver{SolverDense, SolverGMRES} {
			got := make([]float64, m)
			res, err := ImplicitVJP(got, r, u, theta, ubar, &ImplicitSettings{Solver: s})
			if err != nil {
				t.Fatal(err)
			}
			engCheckFD(t, name+" "+s.String(), got, want, 1e-7)
			if res.FNorm > 1e-14 {
				t.Errorf("%s: fixed point residual %g", name, res.FNorm)
			}
		}
	}
}

// engSingular is F = (u_0 + u_1 − θ_0, u_0 + u_1 − θ_1), whose Jacobian is
// singular.
type engSingular struct{}

var _ Residual = engSingular{}

func (engSingular) Eval(r []float64, u, theta []float64) {
	r[0], r[1] = u[0]+u[1]-theta[0], u[0]+u[1]-theta[1]
}

func (engSingular) VJPU(ubar []float64, u, theta, w []float64) {
	ubar[0] += w[0] + w[1]
	ubar[1] += w[0] + w[1]
}

func (engSingular) VJPTheta(thetabar []float64, u, theta, w []float64) {
	thetabar[0] -= w[0]
	thetabar[1] -= w[1]
}

func TestImplicitSingular(t *testing.T) {
	u, theta, ubar := []float64{1, 1}, []float64{2, 2}, []float64{1, 0}
	thetabar := make([]float64, 2)
	res, err := ImplicitVJP(thetabar, engSingular{}, u, theta, ubar, nil)
	if !errors.Is(err, ErrSingular) || !strings.Contains(err.Error(), "condition number") {
		t.Fatalf("error %v, want ErrSingular with the condition number", err)
	}
	if !math.IsInf(res.Cond, 1) && res.Cond < 1e12 {
		t.Errorf("condition number %g", res.Cond)
	}
	if floats.Norm(thetabar, 2) != 0 {
		t.Error("thetabar modified on error")
	}
	// Nearly singular: rejected by the default MaxCond, accepted above it.
	near := engCubic{a: mat.NewDense(2, 2, []float64{1, 1, 1, 1 + 1e-14}), b: mat.NewDense(2, 1, []float64{1, 0}), c: []float64{0, 0}}
	_, err = ImplicitVJP(nil, near, []float64{0, 0}, []float64{0}, []float64{1, 0}, nil)
	if !errors.Is(err, ErrSingular) {
		t.Errorf("near-singular: %v", err)
	}
	if _, err = ImplicitVJP(nil, near, []float64{0, 0}, []float64{0}, []float64{1, 0}, &ImplicitSettings{MaxCond: 1e17}); err != nil {
		t.Errorf("near-singular with MaxCond 1e17: %v", err)
	}
}

func TestImplicitPanics(t *testing.T) {
	f, theta, _ := engCubicProblem()
	u := make([]float64, 6)
	for name, fn := range map[string]func(){
		"ubar":     func() { ImplicitVJP(nil, f, u, theta, make([]float64, 5), nil) },
		"thetabar": func() { ImplicitVJP(make([]float64, 1), f, u, theta, u, nil) },
		"guess":    func() { ImplicitVJP(nil, f, u, theta, u, &ImplicitSettings{Guess: []float64{1}}) },
		"nil":      func() { ImplicitVJP(nil, nil, u, theta, u, nil) },
		"krylov":   func() { GMRES(make([]float64, 2), engDenseOp{mat.NewDense(3, 3, nil)}, make([]float64, 3), nil) },
	} {
		func() {
			defer func() {
				if s, ok := recover().(string); !ok || !strings.HasPrefix(s, "adjoint: ") {
					t.Errorf("%s: want an \"adjoint: \" panic", name)
				}
			}()
			fn()
		}()
	}
}
