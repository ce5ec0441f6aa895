package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/lapack/gonum"
	"gonum.org/v1/gonum/mat"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/plots"
)

// This file registers the adjoint_state experiment: the gradient of a
// data misfit with respect to every cell's diffusion coefficient of a steady
// 1-D diffusion problem, by one adjoint solve (adjoint.ImplicitVJP) and by
// finite differences, with their costs as the grid is refined.

// adjointStateConfig is the [params] table of the adjoint_state experiment.
type adjointStateConfig struct {
	// Sizes lists the numbers of cells N to run, in increasing order.
	Sizes []int `toml:"sizes"`
	// FDMaxN is the largest N at which finite differences (2N solves) run.
	FDMaxN int `toml:"fd_max_n"`
	// DenseMaxN is the largest N at which the dense LU adjoint runs (its
	// cost grows like N³).
	DenseMaxN int `toml:"dense_max_n"`
	// CGMaxN is the largest N at which unpreconditioned matrix-free CG
	// runs (its cost grows like N²).
	CGMaxN int `toml:"cg_max_n"`
	// FieldN is the N whose gradient field dJ/dk_i is plotted; it must be
	// one of sizes and at most fd_max_n.
	FieldN int `toml:"field_n"`
	// Perturbation is the amplitude A of the bump that turns k into the
	// coefficient k_obs the observations are made with.
	Perturbation float64 `toml:"perturbation"`
	// FDStep is the central-difference step in k (k is of order 1) at
	// N = 1000; at other N it is scaled like N^(2/3) (see diffFDStep).
	FDStep float64 `toml:"fd_step"`
	// FDTol is the tolerance of the adjoint-vs-finite-differences checks
	// (normwise relative error).
	FDTol runner.Tol `toml:"fd_tol"`
	// KrylovTol is the relative residual tolerance of the CG solves.
	KrylovTol float64 `toml:"krylov_tol"`
	// AgreeTol is the tolerance of the adjoint paths against each other
	// (dense LU and CG against preconditioned CG; normwise relative error).
	// The Krylov solves stop at relative residual krylov_tol, so λ may err
	// by up to cond(A)·krylov_tol ≈ 0.3·N²·krylov_tol in theory: 3e-1 at
	// N = 10^4 with 1e-8. In practice CG's error is far smaller (2.6e-10 at
	// N = 2000); 1e-6 fails only for a wrong operator or a stalled solve.
	AgreeTol runner.Tol `toml:"agree_tol"`
	// MinTime is the least time spent timing each method at each N: the
	// method is repeated until it is reached, and the fastest run counts.
	MinTime time.Duration `toml:"min_time"`
}

// Validate checks every key's range and the sizes' order.
func (c adjointStateConfig) Validate() error {
	errs := []error{
		runner.InRange("fd_max_n", c.FDMaxN, 0, 100_000),
		runner.InRange("dense_max_n", c.DenseMaxN, 0, 5000),
		runner.InRange("cg_max_n", c.CGMaxN, 0, 1_000_000),
		runner.InRange("perturbation", c.Perturbation, 0.0, 0.9),
		runner.InRange("fd_step", c.FDStep, 1e-10, 1e-2),
		runner.InRange("fd_tol", c.FDTol, 0.0, 1.0),
		runner.InRange("krylov_tol", c.KrylovTol, 1e-15, 1e-4),
		runner.InRange("agree_tol", c.AgreeTol, 0.0, 1.0),
		runner.InRange("min_time", c.MinTime, 0, 10*time.Second),
	}
	if len(c.Sizes) == 0 {
		errs = append(errs, runner.ParamErrorf("sizes", "must list at least one N"))
	}
	for i, n := range c.Sizes {
		errs = append(errs, runner.InRange(fmt.Sprintf("sizes[%d]", i), n, 3, 1_000_000))
		if i > 0 && n <= c.Sizes[i-1] {
			errs = append(errs, runner.ParamErrorf("sizes", "must be increasing, got %v", c.Sizes))
			break
		}
	}
	if !slices.Contains(c.Sizes, c.FieldN) || c.FieldN > c.FDMaxN {
		errs = append(errs, runner.ParamErrorf("field_n", "must be one of sizes %v and at most fd_max_n = %d, got %d", c.Sizes, c.FDMaxN, c.FieldN))
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[adjointStateConfig, adjointStateResult]{
		Name:    "adjoint_state",
		Theme:   "adjoint",
		Summary: "Steady 1-D diffusion: dJ/dk for all N cell coefficients by one adjoint solve (dense LU, CG) vs 2N finite-difference solves.",
		Defaults: func() adjointStateConfig {
			return adjointStateConfig{
				Sizes:  []int{25, 50, 100, 200, 500, 1000, 2000, 5000, 10_000},
				FDMaxN: 1000, DenseMaxN: 2000, CGMaxN: 10_000, FieldN: 200,
				Perturbation: 0.3, FDStep: 3e-4, FDTol: 1e-5, KrylovTol: 1e-8, AgreeTol: 1e-6,
				MinTime: 100 * time.Millisecond,
			}
		},
		Headline: "max rel error vs central differences",
		Quick: func(c *adjointStateConfig) {
			c.Sizes = slices.DeleteFunc(slices.Clone(c.Sizes), func(n int) bool { return n > 200 && n != c.FieldN })
			c.FDMaxN = min(c.FDMaxN, max(200, c.FieldN))
			c.DenseMaxN = min(c.DenseMaxN, 200)
			c.CGMaxN = min(c.CGMaxN, 200)
			c.MinTime = min(c.MinTime, time.Millisecond)
		},
		Compute: computeAdjointState,
		Figures: adjointStateFigures,
		Report:  adjointStateReport,
	})
}

// Boundary values of the diffusion problem: u(0) = diffLeft, u(1) = diffRight.
const (
	diffLeft  = 0.0
	diffRight = 0.1
)

// diffusionCoeff is the reference coefficient k(x) = 1 + ½ sin(2πx).
func diffusionCoeff(x float64) float64 { return 1 + 0.5*math.Sin(2*math.Pi*x) }

// diffusionSource is the source f(x) = 1 + x.
func diffusionSource(x float64) float64 { return 1 + x }

// diffusionBump is the relative perturbation of k that gives k_obs:
// k_obs(x) = k(x)·(1 + a·exp(−((x − 0.35)/0.08)²)).
func diffusionBump(x, a float64) float64 { return 1 + a*math.Exp(-math.Pow((x-0.35)/0.08, 2)) }

// diffusion1D is the finite-volume discretisation of −(k u')' = f on (0, 1)
// with u(0) = diffLeft and u(1) = diffRight, on n cells of width h. Cell i
// has centre (i+½)h, coefficient k_i and source f_i. The flux through the
// face between cells i−1 and i is t_i (u_{i−1} − u_i), with transmissibility
// t_i = 2 k_{i−1} k_i / ((k_{i−1} + k_i) h) (the harmonic mean of the two
// coefficients); the boundary faces have t_0 = 2k_0/h and t_n = 2k_{n−1}/h
// (half a cell to the boundary). The residual of cell i is
//
//	F_i(u, k) = Σ_faces flux out of cell i − f_i h,
//
// so F(u, k) = A(k) u − b(k) with A symmetric positive definite and
// tridiagonal.
type diffusion1D struct {
	n int
	h float64
	f []float64 // source per cell
}

var (
	_ adjoint.Residual         = (*diffusion1D)(nil)
	_ adjoint.ResidualJacobian = (*diffusion1D)(nil)
)

// newDiffusion1D returns the problem on n cells.
func newDiffusion1D(n int) *diffusion1D {
	p := &diffusion1D{n: n, h: 1 / float64(n), f: make([]float64, n)}
	for i := range p.f {
		p.f[i] = diffusionSource(p.centre(i))
	}
	return p
}

// centre returns the centre of cell i.
func (p *diffusion1D) centre(i int) float64 { return (float64(i) + 0.5) * p.h }

// face returns the transmissibility of the interior face between cells
// j−1 and j, 1 ≤ j ≤ n−1.
func (p *diffusion1D) face(k []float64, j int) float64 {
	return 2 * k[j-1] * k[j] / ((k[j-1] + k[j]) * p.h)
}

// Eval computes r = F(u, k).
func (p *diffusion1D) Eval(r []float64, u, k []float64) {
	n := p.n
	for i := range r {
		r[i] = -p.f[i] * p.h
	}
	for j := 1; j < n; j++ {
		flux := p.face(k, j) * (u[j-1] - u[j])
		r[j-1] += flux
		r[j] -= flux
	}
	r[0] += 2 * k[0] / p.h * (u[0] - diffLeft)
	r[n-1] += 2 * k[n-1] / p.h * (u[n-1] - diffRight)
}

// VJPU accumulates ubar += A w (A is symmetric), matrix-free.
func (p *diffusion1D) VJPU(ubar []float64, u, k, w []float64) {
	n := p.n
	for j := 1; j < n; j++ {
		v := p.face(k, j) * (w[j-1] - w[j])
		ubar[j-1] += v
		ubar[j] -= v
	}
	ubar[0] += 2 * k[0] / p.h * w[0]
	ubar[n-1] += 2 * k[n-1] / p.h * w[n-1]
}

// VJPTheta accumulates kbar += (∂F/∂k)ᵀ w. F depends on k through the
// transmissibilities: ∂F/∂t_j · w = (u_{j−1} − u_j)(w_{j−1} − w_j), and
// ∂t_j/∂k_{j−1} = 2k_j²/((k_{j−1}+k_j)² h), ∂t_j/∂k_j = 2k_{j−1}²/((k_{j−1}+k_j)² h).
func (p *diffusion1D) VJPTheta(kbar []float64, u, k, w []float64) {
	n := p.n
	for j := 1; j < n; j++ {
		tbar := (u[j-1] - u[j]) * (w[j-1] - w[j])
		s := k[j-1] + k[j]
		c := 2 * tbar / (s * s * p.h)
		kbar[j-1] += c * k[j] * k[j]
		kbar[j] += c * k[j-1] * k[j-1]
	}
	kbar[0] += 2 / p.h * (u[0] - diffLeft) * w[0]
	kbar[n-1] += 2 / p.h * (u[n-1] - diffRight) * w[n-1]
}

// tridiag sets the diagonal d and the off-diagonal e of A(k).
func (p *diffusion1D) tridiag(d, e, k []float64) {
	n := p.n
	clear(d)
	for j := 1; j < n; j++ {
		t := p.face(k, j)
		d[j-1] += t
		d[j] += t
		e[j-1] = -t
	}
	d[0] += 2 * k[0] / p.h
	d[n-1] += 2 * k[n-1] / p.h
}

// JacobianU sets dst to ∂F/∂u = A(k), for the dense path.
func (p *diffusion1D) JacobianU(dst *mat.Dense, u, k []float64) {
	n := p.n
	d, e := make([]float64, n), make([]float64, n-1)
	p.tridiag(d, e, k)
	dst.Zero()
	for i := range n {
		dst.Set(i, i, d[i])
		if i+1 < n {
			dst.Set(i, i+1, e[i])
			dst.Set(i+1, i, e[i])
		}
	}
}

// diffSolver solves the forward problem A(k) u = b(k) with LAPACK's
// symmetric positive definite tridiagonal solver (gonum's Dptsv, an
// L·D·Lᵀ factorisation), in O(n). Its scratch makes it unsafe for
// concurrent use.
type diffSolver struct {
	p    *diffusion1D
	d, e []float64
}

// newDiffSolver returns a solver for p.
func newDiffSolver(p *diffusion1D) *diffSolver {
	return &diffSolver{p: p, d: make([]float64, p.n), e: make([]float64, p.n-1)}
}

// solve sets u to the solution for the coefficients k.
func (s *diffSolver) solve(u, k []float64) error {
	p := s.p
	p.tridiag(s.d, s.e, k)
	for i := range u {
		u[i] = p.f[i] * p.h
	}
	u[0] += 2 * k[0] / p.h * diffLeft
	u[p.n-1] += 2 * k[p.n-1] / p.h * diffRight
	if !(gonum.Implementation{}).Dptsv(p.n, 1, s.d, s.e, u, 1) {
		return fmt.Errorf("adjoint_state: N = %d: the diffusion matrix is not positive definite", p.n)
	}
	return nil
}

// diffMisfit returns J = Σ (u_i − obs_i)² and, if ubar is not nil, sets it to
// ∂J/∂u = 2(u − obs).
func diffMisfit(ubar, u, obs []float64) float64 {
	var j float64
	for i := range u {
		r := u[i] - obs[i]
		j += r * r
		if ubar != nil {
			ubar[i] = 2 * r
		}
	}
	return j
}

// diffFDStep returns the central-difference step for N cells: step1000 at
// N = 1000, growing like N^(2/3). The truncation error of central
// differences is about a·δ² with a independent of N, while their rounding
// error is about b/δ with b ∝ ε·J/|dJ/dk_i| ∝ N² (J is a sum over N cells,
// and one cell's coefficient moves it by O(1/N)); the error a·δ² + b/δ is
// least at δ = (b/2a)^(1/3) ∝ N^(2/3).
func diffFDStep(step1000 float64, n int) float64 {
	return step1000 * math.Pow(float64(n)/1000, 2.0/3)
}

// diffMethod is one way of computing dJ/dk by an adjoint solve.
type diffMethod struct {
	name  string // label in the figure, the timings and the CSV file
	short string // name in the table and the checks
	maxN  int    // runs for N ≤ maxN
	slope int    // the exponent p of its predicted cost O(N^p)
	// set returns the ImplicitVJP settings for the problem p at k.
	set func(p *diffusion1D, k []float64) (*adjoint.ImplicitSettings, error)
}

// Indices of the adjoint methods of diffMethods.
const (
	diffDense = iota
	diffCG
	diffPCG // runs at every N
)

// diffMethods returns the adjoint paths: dense LU, matrix-free CG, and CG
// preconditioned with the forward solver's factorisation.
func diffMethods(c adjointStateConfig) []diffMethod {
	ks := &adjoint.KrylovSettings{Tol: c.KrylovTol}
	return []diffMethod{
		diffDense: {name: "adjoint, dense LU", short: "dense LU", maxN: c.DenseMaxN, slope: 3,
			set: func(*diffusion1D, []float64) (*adjoint.ImplicitSettings, error) {
				return &adjoint.ImplicitSettings{Solver: adjoint.SolverDense}, nil
			}},
		diffCG: {name: "adjoint, CG matrix-free", short: "CG", maxN: c.CGMaxN, slope: 2,
			set: func(*diffusion1D, []float64) (*adjoint.ImplicitSettings, error) {
				return &adjoint.ImplicitSettings{Solver: adjoint.SolverCG, Krylov: ks}, nil
			}},
		diffPCG: {name: "adjoint, CG + tridiagonal preconditioner", short: "PCG", maxN: math.MaxInt, slope: 1,
			set: func(p *diffusion1D, k []float64) (*adjoint.ImplicitSettings, error) {
				// The preconditioner is the forward solver's own
				// factorisation A = L D Lᵀ, so CG converges at once: the
				// adjoint solve costs what a forward solve costs.
				d, e := make([]float64, p.n), make([]float64, p.n-1)
				p.tridiag(d, e, k)
				if !(gonum.Implementation{}).Dpttrf(p.n, d, e) {
					return nil, fmt.Errorf("adjoint_state: N = %d: the diffusion matrix is not positive definite", p.n)
				}
				pre := adjoint.LinearOperatorFunc(func(dst, x []float64) {
					copy(dst, x)
					(gonum.Implementation{}).Dpttrs(p.n, 1, d, e, dst, 1)
				})
				return &adjoint.ImplicitSettings{Solver: adjoint.SolverCG,
					Krylov: &adjoint.KrylovSettings{Tol: c.KrylovTol, Precond: pre}}, nil
			}},
	}
}

// diffSizeResult holds what was computed at one N.
type diffSizeResult struct {
	n      int
	x      []float64   // cell centres
	u, obs []float64   // the state for k and the observations
	lambda []float64   // the adjoint state λ (from the last method run)
	grads  [][]float64 // dJ/dk per adjoint method; nil if not run
	iters  []int       // Krylov iterations per adjoint method
	fd     []float64   // dJ/dk by central differences; nil if not run
	fdStep float64     // the central-difference step used
	secs   []float64   // seconds per adjoint method, then forward solve, then FD; NaN if not run
	fnorm  float64     // ‖F(u, k)‖ / ‖f h‖ of the forward solve
	j      float64     // J(k)
}

// Columns of diffSizeResult.secs after the adjoint methods.
const (
	diffSecsForward = iota // one forward solve
	diffSecsFD             // central differences
)

// adjointStateResult is every N's result, in the order of sizes.
type adjointStateResult struct {
	sizes []diffSizeResult
}

// field returns the result at N = field_n.
func (r *adjointStateResult) field(c adjointStateConfig) diffSizeResult {
	return r.sizes[slices.Index(c.Sizes, c.FieldN)]
}

// diffTime times fn as bestTime does, for at least minTime whatever the
// number of runs, after a garbage collection so that no collection of
// earlier garbage is timed.
func diffTime(env *runner.Env, minTime time.Duration, fn func() error) (float64, error) {
	runtime.GC()
	return bestTime(env.Context(), minTime, math.MaxInt32, fn)
}

// computeAdjointState runs every method at every N of c.Sizes.
func computeAdjointState(env *runner.Env, c adjointStateConfig) (*adjointStateResult, error) {
	methods := diffMethods(c)
	nm := len(methods)
	res := &adjointStateResult{}
	for si, n := range c.Sizes {
		if err := env.Context().Err(); err != nil {
			return nil, err
		}
		env.Progress(si, len(c.Sizes), fmt.Sprintf("N = %d", n))
		p := newDiffusion1D(n)
		solver := newDiffSolver(p)
		sr := diffSizeResult{n: n, x: make([]float64, n), u: make([]float64, n), obs: make([]float64, n),
			grads: make([][]float64, nm), iters: make([]int, nm), secs: make([]float64, nm+2)}
		for i := range sr.secs {
			sr.secs[i] = math.NaN()
		}
		k, kObs := make([]float64, n), make([]float64, n)
		for i := range k {
			sr.x[i] = p.centre(i)
			k[i] = diffusionCoeff(sr.x[i])
			kObs[i] = k[i] * diffusionBump(sr.x[i], c.Perturbation)
		}
		if err := solver.solve(sr.obs, kObs); err != nil {
			return nil, err
		}

		// One forward solve, for reference.
		u, ubar := sr.u, make([]float64, n)
		secs, err := diffTime(env, c.MinTime, func() error { return solver.solve(u, k) })
		if err != nil {
			return nil, err
		}
		sr.secs[nm+diffSecsForward] = secs
		sr.j = diffMisfit(nil, u, sr.obs)
		fr := make([]float64, n)
		p.Eval(fr, u, k)
		sr.fnorm = floats.Norm(fr, 2) / (floats.Norm(p.f, 2) * p.h)

		// The adjoint gradients, each timed from k: a forward solve,
		// ∂J/∂u, one adjoint solve.
		for mi, m := range methods {
			if n > m.maxN {
				continue
			}
			g := make([]float64, n)
			var ir adjoint.ImplicitResult
			secs, err := diffTime(env, c.MinTime, func() error {
				if err := solver.solve(u, k); err != nil {
					return err
				}
				diffMisfit(ubar, u, sr.obs)
				set, err := m.set(p, k)
				if err != nil {
					return err
				}
				clear(g)
				ir, err = adjoint.ImplicitVJP(g, p, u, k, ubar, set)
				if err != nil {
					return fmt.Errorf("at N = %d, %s: %w", n, m.name, err)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			sr.grads[mi], sr.iters[mi], sr.secs[mi], sr.lambda = g, ir.Iterations, secs, ir.Lambda
		}

		// Central differences: 2N forward solves.
		if n <= c.FDMaxN {
			uf := make([]float64, n)
			var solveErr error
			jOf := func(kk []float64) float64 {
				if err := solver.solve(uf, kk); err != nil {
					solveErr = err
					return math.NaN()
				}
				return diffMisfit(nil, uf, sr.obs)
			}
			sr.fdStep = diffFDStep(c.FDStep, n)
			secs, err := diffTime(env, c.MinTime, func() error {
				sr.fd = fd.Gradient(sr.fd, jOf, k, &fd.Settings{Formula: fd.Central, Step: sr.fdStep})
				return solveErr
			})
			if err != nil {
				return nil, err
			}
			sr.secs[nm+diffSecsFD] = secs
		}
		res.sizes = append(res.sizes, sr)
	}
	return res, nil
}

// diffColumns returns the names of the timed columns: the adjoint methods,
// one forward solve, central differences.
func diffColumns(methods []diffMethod) []string {
	names := make([]string, len(methods)+2)
	for mi, m := range methods {
		names[mi] = m.name
	}
	names[len(methods)+diffSecsForward] = "one forward solve"
	names[len(methods)+diffSecsFD] = "central differences (2N solves)"
	return names
}

// diffTimes returns the sizes N at which column col ran and its times.
func (r *adjointStateResult) times(col int) (ns, secs []float64) {
	for _, sr := range r.sizes {
		if s := sr.secs[col]; !math.IsNaN(s) {
			ns, secs = append(ns, float64(sr.n)), append(secs, s)
		}
	}
	return ns, secs
}

// upperHalf returns the larger half of the points (at least two), where
// fixed overheads matter least, for slope fits and guides; ok is false
// with fewer than two points.
func upperHalf(x, y []float64) (xs, ys []float64, ok bool) {
	if len(x) < 2 {
		return nil, nil, false
	}
	from := min(len(x)/2, len(x)-2)
	return x[from:], y[from:], true
}

func adjointStateFigures(dir runner.Dir, c adjointStateConfig, res *adjointStateResult) error {
	field := res.field(c)
	kf, kof := make([]float64, c.FieldN), make([]float64, c.FieldN)
	for i, xi := range field.x {
		kf[i] = diffusionCoeff(xi)
		kof[i] = kf[i] * diffusionBump(xi, c.Perturbation)
	}
	misfit := slices.Clone(field.u)
	floats.Sub(misfit, field.obs)
	floats.Scale(2, misfit)

	methods := diffMethods(c)
	names := diffColumns(methods)
	var timeSeries, guides []plots.Series
	dashes := []plots.Dash{plots.Dotted, plots.Dashed, plots.DashDot}
	for col, name := range names {
		ns, secs := res.times(col)
		if len(ns) == 0 {
			continue
		}
		timeSeries = append(timeSeries, plots.Series{Name: name, X: ns, Y: secs, Points: true})
		if col < len(methods) {
			if xs, ys, ok := upperHalf(ns, secs); ok {
				p := methods[col].slope
				guides = append(guides, slopeGuide(fmt.Sprintf("slope %d (%s)", p, methods[col].short), float64(p), xs, ys, dashes[col%len(dashes)]))
			}
		}
	}
	var csv strings.Builder
	csv.WriteString("N," + strings.Join(names, ",") + "\n")
	for _, sr := range res.sizes {
		row := []string{strconv.Itoa(sr.n)}
		for _, s := range sr.secs {
			if math.IsNaN(s) {
				row = append(row, "")
			} else {
				row = append(row, strconv.FormatFloat(s, 'g', 4, 64))
			}
		}
		csv.WriteString(strings.Join(row, ",") + "\n")
	}
	if err := os.WriteFile(dir.Path("time_vs_n.csv"), []byte(csv.String()), 0o644); err != nil {
		return err
	}

	gField := field.grads[diffPCG]
	stride := max(1, c.FieldN/50)
	var fx, fy []float64
	for i := stride / 2; i < c.FieldN; i += stride {
		fx, fy = append(fx, field.x[i]), append(fy, field.fd[i])
	}
	fdName := "central differences"
	if stride > 1 {
		fdName = fmt.Sprintf("central differences (one cell in %d)", stride)
	}
	return parallel([]func() error{
		func() error {
			_, err := plots.Save(dir.Path("coefficients.png"), plots.Line{
				Title:  fmt.Sprintf("coefficients and solution, N = %d", c.FieldN),
				X:      plots.Axis{Label: "x"},
				Series: []plots.Series{{Name: "k", X: field.x, Y: kf}, {Name: "k_obs", X: field.x, Y: kof}, {Name: "u (for k)", X: field.x, Y: field.u}},
			}, nil)
			return err
		},
		func() error {
			_, err := plots.Save(dir.Path("adjoint_state.png"), plots.Line{
				Title: fmt.Sprintf("misfit and adjoint state, N = %d", c.FieldN),
				X:     plots.Axis{Label: "x"},
				Series: []plots.Series{
					{Name: "∂J/∂u = 2(u − u_obs)", X: field.x, Y: misfit},
					{Name: "λ = A⁻¹ ∂J/∂u", X: field.x, Y: field.lambda},
				},
			}, nil)
			return err
		},
		func() error {
			_, err := plots.Save(dir.Path("time_vs_n.png"), plots.Line{
				Title:  "time for the whole gradient dJ/dk (N coefficients)",
				X:      plots.Axis{Label: "cells N", Log: true},
				Y:      plots.Axis{Label: "seconds", Log: true},
				Series: append(timeSeries, guides...),
				Legend: plots.Outside,
			}, &plots.Options{WidthPx: 900, HeightPx: 480})
			return err
		},
		func() error {
			_, err := plots.Save(dir.Path("gradient_field.png"), plots.Line{
				Title: fmt.Sprintf("gradient of J with respect to each cell's coefficient, N = %d", c.FieldN),
				X:     plots.Axis{Label: "x"},
				Y:     plots.Axis{Label: "dJ/dk_i"},
				Series: []plots.Series{
					{Name: "adjoint (one solve)", X: field.x, Y: gField},
					{Name: fdName, X: fx, Y: fy, NoLine: true},
				},
			}, nil)
			return err
		},
	})
}

func adjointStateReport(rep *runner.Report, c adjointStateConfig, res *adjointStateResult) {
	methods := diffMethods(c)
	nm := len(methods)
	field := res.field(c)

	rep.Heading("Problem")
	rep.Paraf("Steady diffusion `−(k(x) u′)′ = f(x)` on (0, 1) with u(0) = %g, u(1) = %g and `f(x) = 1 + x`, "+
		"discretised by finite volumes on N cells: cell i has its own coefficient k_i, and the flux between two cells "+
		"uses the harmonic mean of their coefficients. The discrete equations `F(u, k) = A(k) u − b(k) = 0` are "+
		"tridiagonal, symmetric and positive definite. The observations u_obs are the solution for "+
		"`k_obs(x) = k(x)·(1 + %g·exp(−((x − 0.35)/0.08)²))`, a bump on the reference `k(x) = 1 + ½ sin(2πx)`; "+
		"the cost is `J(k) = Σ_i (u_i − u_obs,i)²`, and its gradient dJ/dk_i is wanted for every cell.",
		diffLeft, diffRight, c.Perturbation)
	rep.Figure("coefficients.png", "The reference coefficient k, the coefficient k_obs of the observations, and the solution u for k; u_obs differs from it by the misfit shown below.")
	rep.Para("The adjoint state λ solves `(∂F/∂u)ᵀ λ = ∂J/∂u`: a diffusion problem of the same operator " +
		"(A is symmetric) whose source is the misfit. Then `dJ/dk = −(∂F/∂k)ᵀ λ`, which for face j is the product " +
		"of the jumps `(u_{j−1} − u_j)(λ_{j−1} − λ_j)` times the derivative of the face's harmonic mean: " +
		"the discrete form of `−u′(x) λ′(x)`.")
	rep.Figure("adjoint_state.png", fmt.Sprintf("The misfit gradient ∂J/∂u and the adjoint state λ it drives, N = %d.", c.FieldN))

	pcgIters := 0
	for _, sr := range res.sizes {
		pcgIters = max(pcgIters, sr.iters[diffPCG])
	}
	rep.Heading("Cost against N")
	rep.Paraf("Each gradient is timed from k: one forward solve, ∂J/∂u = 2(u − u_obs), then one adjoint solve "+
		"`(∂F/∂u)ᵀ λ = ∂J/∂u` and `dJ/dk = −(∂F/∂k)ᵀ λ` by `adjoint.ImplicitVJP`, on three paths: "+
		"the dense path (the N×N Jacobian from `ResidualJacobian`, gonum's LU: O(N³); run for N ≤ %d), "+
		"matrix-free conjugate gradients on the VJP of F (O(N) per iteration, about N iterations: O(N²); N ≤ %d), "+
		"and CG preconditioned with the L·D·Lᵀ factorisation that the forward solver uses (LAPACK's `Dpttrf`/`Dpttrs` "+
		"in gonum), which took at most %s at any N (see the table): O(N) like a forward solve. "+
		"Central differences need 2N forward solves of O(N) each: O(N²). They run only for N ≤ %d, because besides "+
		"their cost their error grows with N (see below); one-sided differences would need N+1 solves at a much larger "+
		"truncation error. Forward solves use gonum's `Dptsv`. Each time is the fastest of repeated runs lasting at least %v; "+
		"the times are in the figure and in `time_vs_n.csv`, those at the largest N and the slopes fitted to them in the Timings section "+
		"(the body of this report is deterministic).",
		c.DenseMaxN, c.CGMaxN, runner.Count(pcgIters, "iteration", "iterations"), c.FDMaxN, c.MinTime)
	rep.Figure("time_vs_n.png", "Wall time per gradient against N (log-log). The near-black guide lines have the slopes the operation counts predict "+
		"for the three adjoint paths, 3 for dense LU, 2 for CG and 1 for PCG, each drawn through the larger half of that path's sizes; "+
		"slopes 1, 2 and 3 mean O(N), O(N²) and O(N³).")
	rep.Figure("time_vs_n.csv", "the times of the figure, in seconds per gradient, one row per N (empty where a method did not run).")

	// Work and agreement, deterministic.
	const dash = "—"
	maxVsFD := make([]float64, nm)
	maxVsPCG := make([]float64, nm)
	var fdErrs []float64 // PCG vs FD at each N where FD ran
	type row []any
	var work, errs []row
	for _, sr := range res.sizes {
		vsFD := make([]any, nm)
		for mi := range nm {
			vsFD[mi] = dash
			if sr.fd != nil && sr.grads[mi] != nil {
				e := relErr(sr.grads[mi], sr.fd)
				maxVsFD[mi] = max(maxVsFD[mi], e)
				vsFD[mi] = e
				if mi == diffPCG {
					fdErrs = append(fdErrs, e)
				}
			}
		}
		vsPCG := func(mi int) any {
			if sr.grads[mi] == nil {
				return dash
			}
			e := relErr(sr.grads[mi], sr.grads[diffPCG])
			maxVsPCG[mi] = max(maxVsPCG[mi], e)
			return e
		}
		step, solves := any(dash), any(dash)
		if sr.fd != nil {
			step, solves = sr.fdStep, 2*sr.n
		}
		iters := func(mi int) any {
			if sr.grads[mi] == nil {
				return dash
			}
			return sr.iters[mi]
		}
		work = append(work, row{sr.n, step, solves, iters(diffCG), iters(diffPCG), sr.fnorm})
		errs = append(errs, row{sr.n, vsFD[diffDense], vsFD[diffCG], vsFD[diffPCG], vsPCG(diffCG), vsPCG(diffDense)})
	}
	rep.Heading("Agreement")
	rep.Paraf("All errors are normwise relative, max_i |g_i − g_ref,i| / max_i |g_ref,i|, with the second-named "+
		"gradient as reference. The central-difference step δ grows like N^(2/3) (see `fd_step`): rounding makes the "+
		"difference quotient err by about ε·J/(δ·|dJ/dk_i|) ∝ N²/δ, since J sums N cells while one coefficient moves it "+
		"by O(1/N), and truncation by about δ², so the best δ grows like N^(2/3) and even then the error grows with N: "+
		"here PCG's error against central differences %s with N, from %s to %s. "+
		"The adjoint gradients agree with each other to %s (dense LU vs PCG) and %s (CG vs PCG), for CG solves stopped at "+
		"relative residual %g. ‖F‖ is the forward residual ‖F(u, k)‖/‖f h‖ of the tridiagonal solve.",
		runner.Trend(fdErrs), runner.Num(fdErrs[0]), runner.Num(fdErrs[len(fdErrs)-1]),
		runner.Num(maxVsPCG[diffDense]), runner.Num(maxVsPCG[diffCG]), c.KrylovTol)
	wt := rep.Table("N", "FD step δ", "FD solves", "CG iterations", "PCG iterations", "‖F‖")
	for _, r := range work {
		wt.Row(r...)
	}
	et := rep.Table("N", "dense LU vs FD", "CG vs FD", "PCG vs FD", "CG vs PCG", "dense LU vs PCG")
	for i, r := range errs {
		et.Row(r...)
		sr := res.sizes[i]
		rep.Metric(fmt.Sprintf("J, N = %d", sr.n), sr.j)
		rep.Metric(fmt.Sprintf("max |dJ/dk_i|, N = %d", sr.n), floats.Norm(sr.grads[diffPCG], math.Inf(1)))
	}

	// The gradient field.
	gField := field.grads[diffPCG]
	imin, imax := floats.MinIdx(gField), floats.MaxIdx(gField)
	iu, il := floats.MaxIdx(field.u), floats.MaxIdx(field.lambda)
	a, b := min(iu, il), max(iu, il)
	var between float64
	for _, g := range gField[a : b+1] {
		between = max(between, math.Abs(g))
	}
	share := between / max(math.Abs(gField[imin]), math.Abs(gField[imax]))
	rep.Heading("The gradient field")
	rep.Paraf("dJ/dk_i over the cells for N = %d, from one adjoint solve and from %d forward solves. "+
		"It ranges from %s at x = %.3f to %s at x = %.3f. Between the maximum of u (x = %.3f) and that of λ (x = %.3f) "+
		"|dJ/dk_i| is at most %s, %.2g%% of its largest value: %s where u′ = 0 no flux crosses a face, so its coefficient hardly matters, "+
		"and where λ′ = 0 the face does not affect the misfit to first order.",
		c.FieldN, 2*c.FieldN, runner.Num(gField[imin]), field.x[imin], runner.Num(gField[imax]), field.x[imax], field.x[iu], field.x[il],
		runner.Num(between), 100*share, runner.Choose(share < 0.05, "near zero, as expected, since", "not near zero, although"))
	rep.Figure("gradient_field.png", "dJ/dk_i from one adjoint solve (line) and from central differences (points).")

	// Timings: the largest N of each column here, every N in the CSV file;
	// the slopes fitted to them in a note.
	names := diffColumns(methods)
	var fits []string
	for col, name := range names {
		ns, secs := res.times(col)
		if len(ns) == 0 {
			continue
		}
		rep.Timing(fmt.Sprintf("%s, N = %d (largest N it ran; all N in time_vs_n.csv)", name, int(ns[len(ns)-1])), secs[len(secs)-1])
		if xs, ys, ok := upperHalf(ns, secs); ok {
			predicted := "2"
			switch {
			case col < nm:
				predicted = strconv.Itoa(methods[col].slope)
			case col == nm+diffSecsForward:
				predicted = "1"
			}
			fits = append(fits, fmt.Sprintf("%s %.2f (predicted %s; N = %g … %g)", name, logSlope(logs(xs), ys), predicted, xs[0], xs[len(xs)-1]))
		}
	}
	if len(fits) > 0 {
		rep.TimingNote("Slopes of log time against log N, fitted by least squares over the larger half of each method's sizes: " + strings.Join(fits, "; ") + ".")
	}
	if last := res.sizes[len(res.sizes)-1]; !math.IsNaN(last.secs[diffPCG]) {
		rep.TimingNote(fmt.Sprintf("At N = %d one PCG gradient takes %.3g times as long as one forward solve.",
			last.n, last.secs[diffPCG]/last.secs[nm+diffSecsForward]))
	}

	rep.Metric("max rel error vs central differences", floats.Max(maxVsFD))

	// Checks.
	//
	// Tolerance of the adjoint-vs-FD checks. Central differences with step
	// δ have a truncation error of about a·δ², relative to dJ/dk_i, and a
	// rounding error of about b/δ with b ≈ ε·J/|dJ/dk_i| ∝ N². Measured on
	// this problem: a ≈ 5 (relative error 4.9e-7 at N = 25 with δ = 1e-4,
	// where truncation dominates), and b ≈ 2.4e-10 at N = 1000 (2.4e-6 with
	// δ = 1e-4, where rounding dominates). With δ = 3e-4·(N/1000)^(2/3) the
	// error is below 1e-6 for N ≤ 1000 (7e-7 at N = 1000), and 1e-5 leaves a
	// factor of ten for other compilers and platforms (FMA contraction
	// changes the rounding), while a wrong gradient errs by O(1). At
	// N = 2000 the error is already about 3e-6, at N = 5000 about 1.4e-5:
	// that is why fd_max_n stops at 1000.
	for mi, m := range methods {
		if top := min(m.maxN, c.FDMaxN); top >= c.Sizes[0] {
			rep.Check(fmt.Sprintf("%s vs central differences (N ≤ %d)", m.short, top), maxVsFD[mi], c.FDTol)
		}
	}
	for mi, m := range methods {
		if mi != diffPCG && m.maxN >= c.Sizes[0] {
			rep.Check(fmt.Sprintf("%s vs PCG (N ≤ %d)", m.short, min(m.maxN, c.Sizes[len(c.Sizes)-1])), maxVsPCG[mi], c.AgreeTol)
		}
	}
}
