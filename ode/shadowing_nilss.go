package ode

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// NILSS is non-intrusive least-squares shadowing (A. Ni & Q. Wang,
// "Sensitivity analysis on chaotic dynamical systems by Non-Intrusive Least
// Squares Shadowing (NILSS)", J. Comput. Phys. 347, 2017), in its tangent
// form: the scalable variant of LSS, which needs no Jacobian matrices and
// only as many homogeneous tangent solutions as the system has unstable
// directions.
//
// The window is cut into K segments of length ΔT. On each, the solver
// integrates with the trajectory Unstable homogeneous tangents W
// (W' = (∂f/∂y) W) and, for each parameter, one inhomogeneous tangent
// v* (v*' = (∂f/∂y) v* + ∂f/∂p), with the quadratures C = ∫(PW)ᵀ(PW),
// d = ∫(PW)ᵀ(Pv*), ∫∂J/∂y·W and ∫(∂J/∂y·v* + ∂J/∂p), where P = I − f̂f̂ᵀ
// projects off the flow direction: JVPs of f only, with the solver's own
// error control. At each segment's end every tangent loses its
// component along the flow f (the neutral direction, whose coefficient ξ
// becomes the time dilation), and W is renormalised by a QR factorisation,
// W = Q R, which starts the next segment with W = Q and v* − Q b,
// b = Qᵀv*. The diagonal of R gives the leading Lyapunov exponents.
//
// Since the stable components of any tangent decay, the shadowing direction
// on segment i is vᵢ = Wᵢaᵢ + v*ᵢ for some small coefficient vectors aᵢ,
// continuous across the segments (aᵢ₊₁ = Rᵢ₊₁aᵢ + bᵢ₊₁); NILSS picks the
// aᵢ of least Σᵢ ∫‖P vᵢ‖² dt (the component along f is the time dilation's
// business, and any amount of it is as good as none):
//
//	minimise Σᵢ ½aᵢᵀCᵢaᵢ + dᵢᵀaᵢ   subject to   aᵢ₊₁ = Rᵢ₊₁aᵢ + bᵢ₊₁.
//
// This KKT system has K·u + (K−1)·u unknowns for u = Unstable. Eliminating
// aᵢ = −Cᵢ⁻¹(dᵢ + λᵢ − Rᵢ₊₁ᵀλᵢ₊₁) leaves a symmetric positive definite
// block-tridiagonal system for the multipliers λᵢ (K−1 blocks of u×u),
// solved, as LSS's, by gonum's banded Cholesky in O(K·u³). The derivative
// of the window's average is
//
//	d⟨J⟩/dp = (1/T) Σᵢ [∫(∂J/∂y·vᵢ + ∂J/∂p) dt − ξᵢ (J(tᵢ₊₁) − ⟨J⟩)],
//
// with ξᵢ the component of vᵢ along f at the segment's end, removed there.
//
// Cost: the trajectory with 1 + Unstable + len(Params) tangents, that is
// (Unstable + len(Params)) JVPs per evaluation of f, plus O(K·n·u²) for the
// QR factorisations; memory O(K·u·(u + len(Params))). Unstable must be at
// least the number of positive Lyapunov exponents (the neutral direction
// of the flow is taken care of by the projection): with too few, the
// inhomogeneous tangents keep growing and Shadow returns ErrUnresolved.
// Extra homogeneous tangents (along stable directions) do no harm.
//
// A segment does not end where the flow is slow (‖f‖ below half the
// root-mean-square ‖f‖ of the states checked so far): the projection's
// ξ = w·f/‖f‖² is large there, and with it the noise of the term ξ(J − ⟨J⟩)
// (near the origin of Lorenz-63 at large ρ it produced windows ten times
// off); such an end is put off by ΔT/4 at a time. Where the flow is at rest
// (a stable fixed point: ‖f‖·ΔT below 1e-4 of ‖y‖), there is no neutral
// direction and the tangents are not projected.
type NILSS struct {
	// Segment is the nominal length ΔT of the segments (rounded down to
	// divide the window; an end that falls where the flow is slow is put
	// off, see above). Zero means 10/ν, where ν = max ‖∂f/∂y‖₂ is measured
	// along the first window (about 0.45 for Lorenz-63 at ρ = 28).
	Segment float64
	// Unstable is the number of homogeneous tangents: at least the number
	// of positive Lyapunov exponents, and less than the state dimension.
	// Zero means 1; a negative value means none (a periodic or steady
	// system).
	Unstable int
}

var _ ShadowMethod = (*NILSS)(nil)

// String returns "NILSS".
func (m *NILSS) String() string { return "NILSS" }

// Defaults and limits of NILSS.
const (
	// nilssSegmentRate is ΔT·ν of the default segment.
	nilssSegmentRate = 10
	// nilssMinSegments is the fewest segments of a window.
	nilssMinSegments = 4
	// nilssRestTol: the flow is at rest where ‖f‖·ΔT < nilssRestTol·‖y‖.
	nilssRestTol = 1e-4
	// nilssSlowFlow: the tangents are not projected off f at segment ends
	// where ‖f‖ is below this fraction of its root-mean-square value.
	nilssSlowFlow = 0.5
	// nilssGrowthLimit is the growth factor, over the window, of the
	// inhomogeneous tangents' residual beyond which some unstable
	// direction is unresolved.
	nilssGrowthLimit = 1e4
)

// nilssField is [y, W₀ … W_{u−1}, v*₀ … v*_{q−1}, C (u×u), d (u×q),
// ∫∂J/∂y·W (u), ∫(∂J/∂y·v* + ∂J/∂p) (q), ∫J]: the trajectory, its
// homogeneous and inhomogeneous tangents and the quadratures of one
// segment.
type nilssField struct {
	o      *sysOps
	avg    *Integral
	n, u   int
	params []int
	dirs   [][]float64
	gy, gp []float64
	dT     float64   // the segment length
	atol   float64   // the largest absolute tolerance of the state
	proj   []float64 // the tangents projected off f, (u+q)·n
}

// moving reports whether the flow f at y moves (see NILSS): only then has
// it a neutral direction to project off.
func (f *nilssField) moving(y, fy []float64) bool {
	return norm2(fy)*f.dT > nilssRestTol*norm2(y)+100*f.atol
}

func (f *nilssField) dim() int { return f.n*(1+f.u+len(f.params)) + f.quadDim() }

func (f *nilssField) quadDim() int {
	u, q := f.u, len(f.params)
	return u*u + u*q + u + q + 1
}

// tangent returns tangent k of x: W_k for k < u, then v*_{k−u}.
func (f *nilssField) tangent(x []float64, k int) []float64 {
	return x[f.n*(1+k) : f.n*(2+k)]
}

// quad returns the quadrature part of x.
func (f *nilssField) quad(x []float64) []float64 { return x[f.n*(1+f.u+len(f.params)):] }

func (f *nilssField) eval(dst []float64, t float64, x []float64) {
	n, u, q := f.n, f.u, len(f.params)
	y := x[:n]
	fy := dst[:n]
	f.o.f(fy, t, y)
	for k := range u + q {
		var pdot []float64
		if k >= u {
			pdot = f.dirs[k-u]
		}
		f.o.jvp(f.tangent(dst, k), t, y, f.tangent(x, k), pdot, fy)
	}
	clear(f.gy)
	clear(f.gp)
	f.avg.Grad(f.gy, f.gp, t, y, f.o.p)
	// The objective measures the tangents without their components along
	// f, which the time dilation takes care of (and which the segments'
	// ends remove): in that direction any amount is as good as none.
	ff := dot(fy, fy)
	moving := f.moving(y, fy)
	pt := func(k int) []float64 { return f.proj[k*n : (k+1)*n] }
	for k := range u + q {
		p := pt(k)
		copy(p, f.tangent(x, k))
		if moving {
			axpy(p, -dot(p, fy)/ff, fy)
		}
	}
	dq := f.quad(dst)
	off := 0
	for a := range u {
		for b := range u {
			dq[off] = dot(pt(a), pt(b))
			off++
		}
	}
	for a := range u {
		for k := range q {
			dq[off] = dot(pt(a), pt(u+k))
			off++
		}
	}
	for a := range u {
		dq[off] = dot(f.gy, f.tangent(x, a))
		off++
	}
	for k, p := range f.params {
		dq[off] = dot(f.gy, f.tangent(x, u+k)) + f.gp[p]
		off++
	}
	dq[off] = f.avg.G(t, y, f.o.p)
}

// nilssSegment is what one segment leaves for the least-squares problem.
type nilssSegment struct {
	C, d       []float64 // ∫WᵀW (u×u) and ∫Wᵀv* (u×q), row-major
	gW, gV     []float64 // ∫∂J/∂y·W (u) and ∫(∂J/∂y·v* + ∂J/∂p) (q)
	integral   float64   // ∫J
	xiW, xiV   []float64 // components along f at the end (u and q)
	jEnd       float64   // J at the end
	tEnd       float64   // the time of the end
	R, b       []float64 // renormalisation at the end: u×u and u×q
	logResidue float64   // log‖v*‖ after the renormalisation
}

func (m *NILSS) window(j *shadowJob, y0 []float64) (*ShadowWindow, []float64, error) {
	if j.solver.Implicit() {
		panic(fmt.Sprintf("ode: NILSS needs an explicit solver, got %v", j.solver))
	}
	w := &ShadowWindow{}
	st := &w.Stats
	n, q := j.n, len(j.params)
	u := m.Unstable
	switch {
	case u == 0:
		u = 1
	case u < 0:
		u = 0
	}
	if u >= n {
		panic(fmt.Sprintf("ode: NILSS.Unstable = %d must be less than the state dimension %d", u, n))
	}
	h := m.Segment
	if h < 0 || math.IsNaN(h) {
		panic(fmt.Sprintf("ode: NILSS.Segment = %v is negative", h))
	}
	if h == 0 {
		rate, err := j.rateAt(y0, st)
		if err != nil {
			return nil, nil, err
		}
		h = nilssSegmentRate / rate
	}
	K := int(math.Ceil(j.T/h - 1e-9))
	if K < nilssMinSegments {
		return nil, nil, fmt.Errorf("%w: the window T = %.4g holds %d segments of %.3g, NILSS needs at least %d", ErrShortWindow, j.T, K, h, nilssMinSegments)
	}
	dT := j.T / float64(K)
	w.step = dT

	o := newSysOps(j.prob.System, j.prob.P, st, j.r.fdFloor())
	qa := j.maxATol()
	fld := &nilssField{o: o, avg: j.avg, n: n, u: u, params: j.params, dirs: j.unitDirs(),
		gy: make([]float64, n), gp: make([]float64, j.np), dT: dT, atol: qa, proj: make([]float64, (u+q)*n)}
	atol := make([]float64, 0, fld.dim())
	for range 1 + u + q {
		atol = append(atol, j.r.atol...)
	}
	for range fld.quadDim() {
		atol = append(atol, qa)
	}
	it := newIntegrator(fld, j.solver, st, j.r.rtol, atol, j.r)
	it.phase = "NILSS tangents"

	x := make([]float64, fld.dim())
	copy(x, y0)
	rng := rand.New(rand.NewPCG(5, 6))
	for a := range u {
		for r, wa := 0, fld.tangent(x, a); r < n; r++ {
			wa[r] = rng.NormFloat64()
		}
	}
	ren := newNilssRenorm(n, u, q)
	ren.apply(fld, j.prob.T0, x, &nilssSegment{})

	// Segments end on the nominal grid T0 + k·ΔT, except where the flow is
	// slow: there the end is put off by ΔT/4 at a time.
	var segs []nilssSegment
	lyap := make([]float64, u)
	nominal := func(k int) float64 {
		if k >= K {
			return j.prob.T1
		}
		return j.prob.T0 + j.T*float64(k)/float64(K)
	}
	t0, k := j.prob.T0, 1
	for t0 < j.prob.T1 {
		t1 := nominal(k)
		if err := it.run(t0, x, []float64{t1}); err != nil {
			return nil, nil, err
		}
		for t1 < j.prob.T1 && ren.slow(fld, t1, x) {
			next := math.Min(t1+dT/4, j.prob.T1)
			if j.prob.T1-next < dT/4 {
				next = j.prob.T1
			}
			if err := it.run(t1, x, []float64{next}); err != nil {
				return nil, nil, err
			}
			t1 = next
		}
		var s nilssSegment
		s.readQuad(fld.quad(x), u, q)
		s.tEnd = t1
		s.jEnd = j.avg.G(t1, x[:n], j.prob.P)
		ren.apply(fld, t1, x, &s)
		clear(fld.quad(x))
		for a := range u {
			lyap[a] += math.Log(s.R[a*u+a]) / j.T
		}
		segs = append(segs, s)
		for k < K && nominal(k) < t1+dT/2 {
			k++
		}
		t0 = t1
	}
	w.Lyapunov = lyap
	for _, s := range segs {
		w.Average += s.integral / j.T
	}
	if err := checkResidueGrowth(segs); err != nil {
		return nil, nil, err
	}
	a, err := nilssCoefficients(segs, u, q)
	if err != nil {
		return nil, nil, fmt.Errorf("NILSS on %d segments: %w", len(segs), err)
	}
	w.Grad = make([]float64, q)
	for i, s := range segs {
		for k := range q {
			g := s.gV[k]
			xi := s.xiV[k]
			for b := range u {
				ab := a[i][b*q+k]
				g += s.gW[b] * ab
				xi += s.xiW[b] * ab
			}
			w.Grad[k] += (g - xi*(s.jEnd-w.Average)) / j.T
		}
	}
	st.PeakStored = max(st.PeakStored, 1+u+q)
	return w, x[:n:n], nil
}

// readQuad copies a segment's quadratures.
func (s *nilssSegment) readQuad(quad []float64, u, q int) {
	off := 0
	take := func(k int) []float64 {
		v := append([]float64(nil), quad[off:off+k]...)
		off += k
		return v
	}
	s.C, s.d, s.gW, s.gV = take(u*u), take(u*q), take(u), take(q)
	s.integral = quad[off]
}

// nilssRenorm projects the tangents off the flow direction and
// renormalises the homogeneous ones by QR, with its workspace.
type nilssRenorm struct {
	n, u, q int
	fy      []float64
	wm, tau []float64 // W as an n×u row-major matrix, reflectors
	work    []float64
	checks  int     // states checked by slow so far
	sumFF   float64 // the sum of ‖f‖² over them
}

// slow reports whether the flow at the state y of x is slow: ‖f‖ below
// nilssSlowFlow times the root-mean-square ‖f‖ of the states checked so far.
// A segment does not end there (see NILSS).
func (r *nilssRenorm) slow(fld *nilssField, t float64, x []float64) bool {
	fld.o.f(r.fy, t, x[:r.n])
	ff := dot(r.fy, r.fy)
	r.checks++
	r.sumFF += ff
	return ff < nilssSlowFlow*nilssSlowFlow*r.sumFF/float64(r.checks)
}

func newNilssRenorm(n, u, q int) *nilssRenorm {
	r := &nilssRenorm{n: n, u: u, q: q, fy: make([]float64, n), wm: make([]float64, n*u), tau: make([]float64, u)}
	if u > 0 {
		a := blas64.General{Rows: n, Cols: u, Stride: u, Data: r.wm}
		query := make([]float64, 1)
		lapack64.Geqrf(a, r.tau, query, -1)
		lw := int(query[0])
		lapack64.Orgqr(a, r.tau, query, -1)
		r.work = make([]float64, max(lw, int(query[0]), 1))
	}
	return r
}

// apply renormalises the tangents of x at the end of a segment at time t
// (or at the start of the window), recording into s the components along f
// that it removes, R, b and the residue.
func (r *nilssRenorm) apply(fld *nilssField, t float64, x []float64, s *nilssSegment) {
	n, u, q := r.n, r.u, r.q
	y := x[:n]
	fld.o.f(r.fy, t, y)
	s.xiW, s.xiV = make([]float64, u), make([]float64, q)
	ff := dot(r.fy, r.fy)
	if fld.moving(y, r.fy) {
		for k := range u + q {
			t := fld.tangent(x, k)
			xi := dot(t, r.fy) / ff
			axpy(t, -xi, r.fy)
			if k < u {
				s.xiW[k] = xi
			} else {
				s.xiV[k-u] = xi
			}
		}
	}
	s.R, s.b = make([]float64, u*u), make([]float64, u*q)
	if u > 0 {
		for a := range u {
			for i, v := range fld.tangent(x, a) {
				r.wm[i*u+a] = v
			}
		}
		a := blas64.General{Rows: n, Cols: u, Stride: u, Data: r.wm}
		lapack64.Geqrf(a, r.tau, r.work, len(r.work))
		for i := range u {
			for k := i; k < u; k++ {
				s.R[i*u+k] = r.wm[i*u+k]
			}
		}
		lapack64.Orgqr(a, r.tau, r.work, len(r.work))
		// Make the diagonal of R positive: flip row a of R and column a of Q.
		for a := range u {
			if s.R[a*u+a] < 0 {
				for k := range u {
					s.R[a*u+k] = -s.R[a*u+k]
				}
				for i := range n {
					r.wm[i*u+a] = -r.wm[i*u+a]
				}
			}
		}
		for a := range u {
			t := fld.tangent(x, a)
			for i := range n {
				t[i] = r.wm[i*u+a]
			}
		}
		// b = Qᵀv*, v* −= Q b.
		for k := range q {
			v := fld.tangent(x, u+k)
			for a := range u {
				qa := fld.tangent(x, a)
				c := dot(qa, v)
				s.b[a*q+k] = c
				axpy(v, -c, qa)
			}
		}
	}
	var res float64
	for k := range q {
		res += dot(fld.tangent(x, u+k), fld.tangent(x, u+k))
	}
	s.logResidue = 0.5 * math.Log(res)
}

// checkResidueGrowth fits the growth rate of the inhomogeneous tangents'
// residue (after the renormalisations, the first segment left out): with
// every unstable direction among the homogeneous tangents it stays
// bounded; a growth by more than nilssGrowthLimit over the window means
// some unstable direction is not resolved.
func checkResidueGrowth(segs []nilssSegment) error {
	if len(segs) < 3 {
		return nil
	}
	var ts, ls []float64
	for _, s := range segs[1:] {
		if math.IsInf(s.logResidue, -1) {
			continue // no parameter dependence at all
		}
		ts = append(ts, s.tEnd)
		ls = append(ls, s.logResidue)
	}
	if len(ts) < 2 {
		return nil
	}
	_, rate := stat.LinearRegression(ts, ls, nil, false)
	span := ts[len(ts)-1] - ts[0]
	if rate*span > math.Log(nilssGrowthLimit) {
		return fmt.Errorf("%w: the inhomogeneous tangents grow at the rate %.3g (by %.3g over the window) after the homogeneous "+
			"tangents' directions are removed: raise NILSS.Unstable", ErrUnresolved, rate, math.Exp(rate*span))
	}
	return nil
}

// nilssCoefficients solves the least-squares problem between the segments
// for the coefficients aᵢ (u×q each, row-major) of the homogeneous tangents.
func nilssCoefficients(segs []nilssSegment, u, q int) ([][]float64, error) {
	K := len(segs)
	a := make([][]float64, K)
	if u == 0 || q == 0 {
		for i := range a {
			a[i] = make([]float64, u*q)
		}
		return a, nil
	}
	// Mᵢ = Cᵢ⁻¹.
	M := make([][]float64, K)
	for i, s := range segs {
		var ch mat.Cholesky
		if !ch.Factorize(mat.NewSymDense(u, s.C)) {
			return nil, fmt.Errorf("the Gram matrix of the homogeneous tangents on segment %d is not positive definite", i)
		}
		var inv mat.SymDense
		if err := ch.InverseTo(&inv); err != nil {
			return nil, fmt.Errorf("the Gram matrix of the homogeneous tangents on segment %d: %w", i, err)
		}
		M[i] = mat.DenseCopyOf(&inv).RawMatrix().Data
	}
	// λ₁ … λ_{K−1} (λ₀ = λ_K = 0) with block ℓ = i−1.
	lam := make([]float64, (K+1)*u*q) // λᵢ at i·u·q, zero at both ends
	if K > 1 {
		S := newBlockTridiag(K-1, u)
		rhs := mat.NewDense((K-1)*u, q, nil)
		blk, tmp := make([]float64, u*u), make([]float64, u*u)
		rq, tq := make([]float64, u*q), make([]float64, u*q)
		for i := 1; i < K; i++ {
			R := segs[i-1].R // Rᵢ: the renormalisation at tᵢ, the end of segment i−1
			// Sᵢᵢ = Mᵢ + Rᵢ Mᵢ₋₁ Rᵢᵀ.
			copy(blk, M[i])
			gemm(false, false, u, u, u, 1, R, u, M[i-1], u, 0, tmp, u)
			gemm(false, true, u, u, u, 1, tmp, u, R, u, 1, blk, u)
			S.addDiag(i-1, blk)
			if i+1 < K {
				// Sᵢ,ᵢ₊₁ = −Mᵢ Rᵢ₊₁ᵀ.
				gemm(false, true, u, u, u, -1, M[i], u, segs[i].R, u, 0, blk, u)
				S.addUpper(i-1, blk)
			}
			// rhsᵢ = −bᵢ − Mᵢdᵢ + Rᵢ Mᵢ₋₁ dᵢ₋₁.
			for k, v := range segs[i-1].b {
				rq[k] = -v
			}
			gemm(false, false, u, q, u, -1, M[i], u, segs[i].d, q, 1, rq, q)
			gemm(false, false, u, q, u, 1, M[i-1], u, segs[i-1].d, q, 0, tq, q)
			gemm(false, false, u, q, u, 1, R, u, tq, q, 1, rq, q)
			for r := range u {
				for k := range q {
					rhs.Set((i-1)*u+r, k, rq[r*q+k])
				}
			}
		}
		if err := S.factorize(); err != nil {
			return nil, err
		}
		S.solve(rhs)
		copy(lam[u*q:K*u*q], rhs.RawMatrix().Data)
	}
	// aᵢ = −Mᵢ(dᵢ + λᵢ − Rᵢ₊₁ᵀλᵢ₊₁).
	t := make([]float64, u*q)
	for i, s := range segs {
		copy(t, s.d)
		axpy(t, 1, lam[i*u*q:(i+1)*u*q])
		if i+1 < K {
			gemm(true, false, u, q, u, -1, s.R, u, lam[(i+1)*u*q:(i+2)*u*q], q, 1, t, q)
		}
		a[i] = make([]float64, u*q)
		gemm(false, false, u, q, u, -1, M[i], u, t, q, 0, a[i], q)
	}
	return a, nil
}
