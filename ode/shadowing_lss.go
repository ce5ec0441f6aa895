package ode

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
)

// LSS is least-squares shadowing (Q. Wang, R. Hu & P. Blonigan, "Least
// squares shadowing sensitivity analysis of chaotic limit cycle
// oscillations", J. Comput. Phys. 267, 2014), in its time-discretised form.
//
// Of all tangent trajectories v(t) with a time dilation η(t),
//
//	v' = (∂f/∂y) v + ∂f/∂p + η f,
//
// LSS takes the one of least ½∫(‖v‖² + α²η²) dt: no initial condition is
// imposed, so the exponentially growing solutions are excluded and v is the
// shadowing direction. The derivative of the window's average is then
//
//	d⟨J⟩/dp = (1/T) ∫ (∂J/∂y·v + ∂J/∂p) dt + (1/T) ∫ η (J − ⟨J⟩) dt,
//
// the last term from the time dilation, which absorbs the change of the
// dynamics' speed along the flow (the neutral direction f), for instance
// of the period of a limit cycle.
//
// The trajectory is sampled at N+1 points of a uniform grid of step Δt
// (from an accurate solve with the given solver) and the constraint is the
// trapezoidal rule on each step,
//
//	(vᵢ₊₁ − vᵢ)/Δt − ½(Aᵢ₊₁vᵢ₊₁ + Aᵢvᵢ) − ηᵢ (yᵢ₊₁ − yᵢ)/Δt = ½(bᵢ + bᵢ₊₁),
//
// with Aᵢ = ∂f/∂y and bᵢ = ∂f/∂p at yᵢ, written B v + E η = c. The KKT system
// of the least-squares problem, with trapezoidal weights W_v and step
// weights W_η, is never formed: eliminating v = W_v⁻¹Bᵀw and
// η = W_η⁻¹Eᵀw/α² leaves the Schur complement
//
//	S w = c,   S = B W_v⁻¹ Bᵀ + E W_η⁻¹ Eᵀ/α²,
//
// which is symmetric positive definite and block-tridiagonal (step i is
// coupled to steps i±1 only) with N blocks of n×n. It is assembled as a band
// matrix of half-bandwidth 2n−1 and factorised by gonum's banded Cholesky
// (LAPACK dpbtrf): O(N·n³) flops and O(N·n²) memory, linear in the number of
// steps N, against O(N³n³) for a dense solve; each solve with the factor
// costs O(N·n²). Forming the N+1 Jacobians costs n JVPs each.
//
// The tangent form solves S w = c once per parameter; the adjoint form
// (the default) solves S ŵ = B W_v⁻¹ g_v + E W_η⁻¹ g_η/α² once, with g the
// gradient of the discrete objective with respect to (v, η), and gets
// every parameter's derivative as ŵᵀc, one VJP per grid point, whatever
// the number of parameters. Both give the same number to rounding.
//
// The discretisation error is O(Δt²); the statistical error of one window,
// O(1/√T), dominates for chaotic systems. LSS needs the dense Jacobian at
// every grid point, so for large n prefer NILSS.
type LSS struct {
	// Step is the time step Δt of the grid (rounded down to divide the
	// window). Zero means 0.2/ν, where ν = max ‖∂f/∂y‖₂ is measured along
	// the first window (about 0.009 for Lorenz-63 at ρ = 28, where ν ≈ 22).
	Step float64
	// Alpha weighs the time dilation in the least-squares objective,
	// ½∫(‖v‖² + α²η²) dt; it has the units of the state. Zero means 0.01σ,
	// where σ is the root-mean-square distance of the first window's
	// states from their mean (the size of the attractor; σ ≈ 15 for
	// Lorenz-63 at ρ = 28). The derivative converges to the same value for
	// every α as the window grows, but a large α (time dilation dear
	// against ‖v‖) lets the tangent carry the phase drift instead and
	// leaves an error of order α/T: on a limit cycle whose speed varies
	// along it, α = 10σ errs by 3% at T = 200, 0.01σ by 0.01%. Where the
	// flow is at rest (σ below 1e-4 of the states' norm) the default
	// leaves the time dilation out.
	Alpha float64
	// Tangent selects the tangent form, one solve per parameter. False
	// means the adjoint form, one solve for every parameter.
	Tangent bool
}

var _ ShadowMethod = (*LSS)(nil)

// String returns "LSS (adjoint)" or "LSS (tangent)".
func (m *LSS) String() string {
	if m.Tangent {
		return "LSS (tangent)"
	}
	return "LSS (adjoint)"
}

// Defaults of LSS.
const (
	// lssAlphaScale is α of the default weight in units of the size of
	// the attractor.
	lssAlphaScale = 0.01
	// lssStepRate is Δt·ν of the default step: the trapezoidal rule's
	// relative error per step in the fastest direction is about
	// (Δt·ν)²/12, a third of a percent.
	lssStepRate = 0.2
	// lssMinSteps is the fewest grid steps of a window.
	lssMinSteps = 20
)

// lssGrid is one window's trajectory and the derivatives LSS needs.
type lssGrid struct {
	N, n   int
	dt, T  float64
	t      []float64   // grid times
	y      [][]float64 // states
	jac    []float64   // Aᵢ, row-major n×n each
	g      []float64   // Jᵢ
	gy     []float64   // ∂J/∂y at each point (n each)
	gpMean []float64   // (1/T) Σ ωᵢ ∂J/∂p(yᵢ), all parameters
	avg    float64     // the trapezoidal average of J
	alpha2 float64
}

// weight is the trapezoidal weight ωᵢ of grid point i.
func (g *lssGrid) weight(i int) float64 {
	if i == 0 || i == g.N {
		return g.dt / 2
	}
	return g.dt
}

// bMinus writes B_{i,i} = −(I/Δt + ½Aᵢ) and bPlus B_{i−1,i} = I/Δt − ½Aᵢ.
func (g *lssGrid) bMinus(dst []float64, i int) { g.bBlock(dst, i, -1) }
func (g *lssGrid) bPlus(dst []float64, i int)  { g.bBlock(dst, i, 1) }

func (g *lssGrid) bBlock(dst []float64, i int, sign float64) {
	n := g.n
	a := g.jac[i*n*n : (i+1)*n*n]
	for k := range dst {
		dst[k] = -0.5 * a[k]
	}
	for r := range n {
		dst[r*n+r] += sign / g.dt
	}
}

// fHalf writes the secant (yᵢ₊₁ − yᵢ)/Δt, the flow direction of step i.
func (g *lssGrid) fHalf(dst []float64, i int) {
	for k := range dst {
		dst[k] = (g.y[i+1][k] - g.y[i][k]) / g.dt
	}
}

// jHalf is J at the middle of step i minus the average (trapezoidal).
func (g *lssGrid) jHalf(i int) float64 { return 0.5*(g.g[i]+g.g[i+1]) - g.avg }

func (m *LSS) window(j *shadowJob, y0 []float64) (*ShadowWindow, []float64, error) {
	w := &ShadowWindow{}
	st := &w.Stats
	h := m.Step
	if h < 0 || math.IsNaN(h) {
		panic(fmt.Sprintf("ode: LSS.Step = %v is negative", h))
	}
	if h == 0 {
		rate, err := j.rateAt(y0, st)
		if err != nil {
			return nil, nil, err
		}
		h = lssStepRate / rate
	}
	if m.Alpha < 0 || math.IsNaN(m.Alpha) {
		panic(fmt.Sprintf("ode: LSS.Alpha = %v is negative", m.Alpha))
	}
	N := int(math.Ceil(j.T/h - 1e-9))
	if N < lssMinSteps {
		return nil, nil, fmt.Errorf("%w: the window T = %.4g holds %d steps of %.3g, LSS needs at least %d", ErrShortWindow, j.T, N, h, lssMinSteps)
	}
	g, yEnd, err := j.lssGrid(y0, N, st)
	if err != nil {
		return nil, nil, err
	}
	alpha := m.Alpha
	if alpha == 0 {
		if j.alpha == 0 {
			spread, size := g.spread()
			j.alpha = lssAlphaScale * spread
			if spread <= nilssRestTol*size+100*j.maxATol() {
				// The flow is at rest (a stable fixed point): there is no
				// neutral direction, and a time dilation along f, which is
				// rounding noise there, would remove an arbitrary
				// component of v. Leave it out.
				j.alpha = math.Inf(1)
			}
		}
		alpha = j.alpha
	}
	g.alpha2 = alpha * alpha
	w.step = g.dt
	w.Average = g.avg
	S, err := g.schur()
	if err != nil {
		return nil, nil, fmt.Errorf("LSS on %d steps: %w", N, err)
	}
	o := newSysOps(j.prob.System, j.prob.P, st, j.r.fdFloor())
	if m.Tangent {
		w.Grad = g.tangentGrad(S, o, j)
	} else {
		w.Grad = g.adjointGrad(S, o, j)
	}
	w.Lyapunov = []float64{g.leadingExponent()}
	st.PeakStored = max(st.PeakStored, (N+1)*(2+3*g.n))
	return w, yEnd, nil
}

// lssGrid solves the window on a grid of N steps and evaluates f's
// Jacobian, J and its gradient at every grid point.
func (j *shadowJob) lssGrid(y0 []float64, N int, st *Stats) (*lssGrid, []float64, error) {
	n := j.n
	g := &lssGrid{N: N, n: n, dt: j.T / float64(N), T: j.T}
	g.t = make([]float64, N+1)
	for i := range g.t {
		g.t[i] = j.prob.T0 + j.T*float64(i)/float64(N)
	}
	g.t[N] = j.prob.T1
	sol, err := j.solveWindow(y0, g.t, st)
	if err != nil {
		return nil, nil, err
	}
	g.y = sol.Y
	o := newSysOps(j.prob.System, j.prob.P, st, j.r.fdFloor())
	g.jac = make([]float64, (N+1)*n*n)
	g.g = make([]float64, N+1)
	g.gy = make([]float64, (N+1)*n)
	g.gpMean = make([]float64, j.np)
	gp := make([]float64, j.np)
	jm := mat.NewDense(n, n, nil)
	for i, y := range g.y {
		o.exactJacobian(jm, g.t[i], y)
		copy(g.jac[i*n*n:(i+1)*n*n], jm.RawMatrix().Data)
		g.g[i] = j.avg.G(g.t[i], y, j.prob.P)
		clear(gp)
		j.avg.Grad(g.gy[i*n:(i+1)*n], gp, g.t[i], y, j.prob.P)
		wi := g.weight(i) / g.T
		g.avg += wi * g.g[i]
		axpy(g.gpMean, wi, gp)
	}
	return g, g.y[N], nil
}

// spread returns the root-mean-square distance of the grid's states from
// their mean (the size of the attractor, in the units of the state) and
// their root-mean-square norm.
func (g *lssGrid) spread() (spread, size float64) {
	mean := make([]float64, g.n)
	for _, y := range g.y {
		axpy(mean, 1/float64(len(g.y)), y)
	}
	var s, s2 float64
	for _, y := range g.y {
		for k, v := range y {
			s += (v - mean[k]) * (v - mean[k])
			s2 += v * v
		}
	}
	return math.Sqrt(s / float64(len(g.y))), math.Sqrt(s2 / float64(len(g.y)))
}

// exactJacobian writes ∂f/∂y at (t, y) to dst: from the Jacobianer, else
// from n JVPs when the system has them, else by central differences.
func (o *sysOps) exactJacobian(dst *mat.Dense, t float64, y []float64) {
	switch {
	case o.jac != nil:
		o.st.JacEvals++
		o.jac.Jacobian(dst, t, y, o.p)
	case o.jvper != nil:
		e, col := o.tmp2, o.tmp3
		for c := range o.n {
			clear(e)
			e[c] = 1
			o.jvp(col, t, y, e, nil, nil)
			for r := range o.n {
				dst.Set(r, c, col[r])
			}
		}
	default:
		o.st.JacEvals++
		o.fdJacobian(dst, t, y, nil, false, true)
	}
}

// schur assembles and factorises the Schur complement
// S = B W_v⁻¹ Bᵀ + E W_η⁻¹ Eᵀ/α² (see LSS).
func (g *lssGrid) schur() (*blockTridiag, error) {
	n, N := g.n, g.N
	S := newBlockTridiag(N, n)
	bm, bp, bmNext, blk := make([]float64, n*n), make([]float64, n*n), make([]float64, n*n), make([]float64, n*n)
	fh := make([]float64, n)
	g.bMinus(bmNext, 0)
	for i := range N {
		copy(bm, bmNext)
		g.bPlus(bp, i+1)
		// Diagonal block: B_{i,i}B_{i,i}ᵀ/ωᵢ + B_{i,i+1}B_{i,i+1}ᵀ/ωᵢ₊₁ + f fᵀ/(α²Δt).
		gemm(false, true, n, n, n, 1/g.weight(i), bm, n, bm, n, 0, blk, n)
		gemm(false, true, n, n, n, 1/g.weight(i+1), bp, n, bp, n, 1, blk, n)
		g.fHalf(fh, i)
		c := 1 / (g.alpha2 * g.dt)
		for r := range n {
			for k := range n {
				blk[r*n+k] += c * fh[r] * fh[k]
			}
		}
		S.addDiag(i, blk)
		if i+1 < N {
			// Off-diagonal block: B_{i,i+1} B_{i+1,i+1}ᵀ / ωᵢ₊₁.
			g.bMinus(bmNext, i+1)
			gemm(false, true, n, n, n, 1/g.weight(i+1), bp, n, bmNext, n, 0, blk, n)
			S.addUpper(i, blk)
		}
	}
	if err := S.factorize(); err != nil {
		return nil, err
	}
	return S, nil
}

// tangentGrad solves the tangent form (see tangentSolve) and returns the
// derivative of the average for each selected parameter.
func (g *lssGrid) tangentGrad(S *blockTridiag, o *sysOps, j *shadowJob) []float64 {
	n, N := g.n, g.N
	v, eta := g.tangentSolve(S, o, j)
	grad := make([]float64, len(j.params))
	for k, p := range j.params {
		grad[k] = g.gpMean[p]
		for i := range N + 1 {
			grad[k] += g.weight(i) * dot(g.gy[i*n:(i+1)*n], v[k][i*n:(i+1)*n]) / g.T
			if i < N {
				grad[k] += g.dt * eta[k][i] * g.jHalf(i) / g.T
			}
		}
	}
	return grad
}

// tangentSolve solves the tangent form: S w = c for each selected
// parameter, with cᵢ = ½(bᵢ + bᵢ₊₁), then v = W_v⁻¹Bᵀw and
// η = W_η⁻¹Eᵀw/α². It returns v[k] ((N+1)·n values, vᵢ at i·n) and η[k]
// (N values) for parameter k.
func (g *lssGrid) tangentSolve(S *blockTridiag, o *sysOps, j *shadowJob) (v, eta [][]float64) {
	n, N, q := g.n, g.N, len(j.params)
	dirs := j.unitDirs()
	rhs := mat.NewDense(N*n, q, nil)
	zero := make([]float64, n)
	prev, cur := make([]float64, q*n), make([]float64, q*n)
	for i := range N + 1 {
		for k, e := range dirs {
			o.jvp(cur[k*n:(k+1)*n], g.t[i], g.y[i], zero, e, nil)
		}
		if i > 0 {
			for k := range q {
				for r := range n {
					rhs.Set((i-1)*n+r, k, 0.5*(prev[k*n+r]+cur[k*n+r]))
				}
			}
		}
		prev, cur = cur, prev
	}
	W := rhs
	S.solve(W)

	v, eta = make([][]float64, q), make([][]float64, q)
	bm, bp := make([]float64, n*n), make([]float64, n*n)
	fh := make([]float64, n)
	wi, wprev := make([]float64, n), make([]float64, n)
	for k := range q {
		v[k], eta[k] = make([]float64, (N+1)*n), make([]float64, N)
		for i := range N + 1 {
			// ωᵢvᵢ = B_{i,i}ᵀ wᵢ + B_{i−1,i}ᵀ wᵢ₋₁.
			vi := v[k][i*n : (i+1)*n]
			if i < N {
				mat.Col(wi, k, W.Slice(i*n, (i+1)*n, 0, q))
				g.bMinus(bm, i)
				gemm(true, false, n, 1, n, 1, bm, n, wi, 1, 1, vi, 1)
				// ηᵢ = Eᵢᵀwᵢ/(α²Δt) = −f·wᵢ/(α²Δt).
				g.fHalf(fh, i)
				eta[k][i] = -dot(fh, wi) / (g.alpha2 * g.dt)
			}
			if i > 0 {
				mat.Col(wprev, k, W.Slice((i-1)*n, i*n, 0, q))
				g.bPlus(bp, i)
				gemm(true, false, n, 1, n, 1, bp, n, wprev, 1, 1, vi, 1)
			}
			for r := range vi {
				vi[r] /= g.weight(i)
			}
		}
	}
	return v, eta
}

// adjointGrad solves the adjoint form: S ŵ = r with
// r = B W_v⁻¹ g_v + E W_η⁻¹ g_η/α², then d⟨J⟩/dp = ŵᵀc + ⟨∂J/∂p⟩ for every
// parameter at once, with one VJP per grid point.
func (g *lssGrid) adjointGrad(S *blockTridiag, o *sysOps, j *shadowJob) []float64 {
	n, N := g.n, g.N
	rhs := mat.NewDense(N*n, 1, nil)
	r := rhs.RawMatrix().Data
	bm, bp, fh := make([]float64, n*n), make([]float64, n*n), make([]float64, n)
	for i := range N {
		ri := r[i*n : (i+1)*n]
		// (B_{i,i} ∂J/∂y(yᵢ) + B_{i,i+1} ∂J/∂y(yᵢ₊₁))/T: W_v⁻¹ g_v = ∂J/∂y/T.
		g.bMinus(bm, i)
		g.bPlus(bp, i+1)
		gemm(false, false, n, 1, n, 1/g.T, bm, n, g.gy[i*n:(i+1)*n], 1, 0, ri, 1)
		gemm(false, false, n, 1, n, 1/g.T, bp, n, g.gy[(i+1)*n:(i+2)*n], 1, 1, ri, 1)
		// E_i (J − ⟨J⟩)/(T α²): W_η⁻¹ g_η = (J − ⟨J⟩)/T and Eᵢ = −f.
		g.fHalf(fh, i)
		axpy(ri, -g.jHalf(i)/(g.T*g.alpha2), fh)
	}
	W := rhs
	S.solve(W)
	wh := W.RawMatrix().Data

	// ŵᵀc = Σⱼ (∂f/∂p(yⱼ))ᵀ ½(ŵⱼ₋₁ + ŵⱼ), with ŵ₋₁ = ŵ_N = 0.
	pbar := make([]float64, j.np)
	z := make([]float64, n)
	for i := range N + 1 {
		clear(z)
		if i > 0 {
			axpy(z, 0.5, wh[(i-1)*n:i*n])
		}
		if i < N {
			axpy(z, 0.5, wh[i*n:(i+1)*n])
		}
		o.vjp(nil, pbar, g.t[i], g.y[i], z)
	}
	grad := make([]float64, len(j.params))
	for k, p := range j.params {
		grad[k] = pbar[p] + g.gpMean[p]
	}
	return grad
}

// leadingExponent estimates the leading Lyapunov exponent of the
// discretised tangent dynamics, B_{i,i+1} xᵢ₊₁ = −B_{i,i} xᵢ (the
// trapezoidal rule), from the growth of one renormalised tangent.
func (g *lssGrid) leadingExponent() float64 {
	n := g.n
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float64, n)
	for k := range x {
		x[k] = rng.NormFloat64()
	}
	bm, bp := make([]float64, n*n), make([]float64, n*n)
	rhs := make([]float64, n)
	ipiv := make([]int, n)
	var sum float64
	for i := range g.N {
		g.bMinus(bm, i)
		g.bPlus(bp, i+1)
		gemm(false, false, n, 1, n, -1, bm, n, x, 1, 0, rhs, 1)
		a := blas64.General{Rows: n, Cols: n, Stride: n, Data: bp}
		if !lapack64.Getrf(a, ipiv) {
			return math.NaN()
		}
		lapack64.Getrs(blas.NoTrans, a, blas64.General{Rows: n, Cols: 1, Stride: 1, Data: rhs}, ipiv)
		nr := norm2(rhs)
		sum += math.Log(nr)
		for k := range x {
			x[k] = rhs[k] / nr
		}
	}
	return sum / g.T
}
