package main

import (
	_ "embed"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/ode"
	"github.com/adjointkit/adjointkit/plots"
)

// This file registers the ode_hessian experiment: the exact Hessian of an
// ODE functional, on the problem of SUNDIALS CVODES's example
// cvsHessian_ASA_FSA, by forward over adjoint (CVODES's method), reverse
// over adjoint and forward over forward through the ODE solve op, against
// finite differences and against the values CVODES publishes; then a
// parameter fit on the same system where Newton's method with that exact
// Hessian is raced against L-BFGS.

// odeHessReference is a copy of ode/testdata/cvodes_hessian.txt: the values
// CVODES's example prints, with their source. The test
// TestODEHessReferenceCopy keeps the two files identical.
//
//go:embed testdata/cvodes_hessian.txt
var odeHessReference string

// odeHessConfig is the [params] table of the ode_hessian experiment.
type odeHessConfig struct {
	// RTol and ATol are the tolerances of every solve of the Hessian part
	// (forward, adjoint and tangent solves alike).
	RTol float64 `toml:"rtol"`
	ATol float64 `toml:"atol"`
	// Method is the sensitivity method of the op's reverse mode:
	// "interpolating" (CVODES's checkpointed adjoint) or "discrete".
	Method string `toml:"method"`
	// FDStep is the step of the central differences of the adjoint
	// gradient (for the Hessian) and of G (for the gradient); FD2Step that
	// of gonum's second differences of G.
	FDStep  float64 `toml:"fd_step"`
	FD2Step float64 `toml:"fd2_step"`
	// DigitsTol is the allowed distance from a value CVODES prints, in
	// units of its last printed digit (it prints 5 significant digits, so
	// 0.5 means "agrees to every printed digit").
	DigitsTol runner.Tol `toml:"digits_tol"`
	// MethodsTol is the allowed relative difference between the Hessians of
	// the automatic-differentiation methods.
	MethodsTol runner.Tol `toml:"methods_tol"`
	// FDTol is the allowed relative difference between an exact derivative
	// and central differences of the adjoint gradient (Hessian) or of G
	// (gradient); FD2Tol that of the Hessian from second differences of G.
	FDTol  runner.Tol `toml:"fd_tol"`
	FD2Tol runner.Tol `toml:"fd2_tol"`

	// FitTimes is the number of observation times, evenly spaced in (0, 2].
	FitTimes int `toml:"fit_times"`
	// FitNoise is the standard deviation of the Gaussian noise added to
	// every observed state component.
	FitNoise float64 `toml:"fit_noise"`
	// FitStart is the starting point (p1, p2, y1(0), y2(0), y3(0)) of both
	// optimisers; the data come from (1, 2, 1, 1, 1).
	FitStart []float64 `toml:"fit_start"`
	// FitRTol and FitATol are the tolerances of the fit's solves.
	FitRTol float64 `toml:"fit_rtol"`
	FitATol float64 `toml:"fit_atol"`
	// GradTol stops an optimiser once ‖∇f‖∞ ≤ GradTol; MaxIter bounds its
	// iterations.
	GradTol float64 `toml:"grad_tol"`
	MaxIter int     `toml:"max_iter"`
	// AgreeTol is the allowed relative difference between the minimisers
	// Newton and L-BFGS find.
	AgreeTol runner.Tol `toml:"agree_tol"`
}

// Validate checks every key's range.
func (c odeHessConfig) Validate() error {
	errs := []error{
		runner.InRange("rtol", c.RTol, 1e-13, 1e-4),
		runner.InRange("atol", c.ATol, 1e-16, 1e-4),
		runner.OneOf("method", c.Method, "interpolating", "discrete"),
		runner.InRange("fd_step", c.FDStep, 1e-8, 1e-1),
		runner.InRange("fd2_step", c.FD2Step, 1e-6, 1e-1),
		runner.InRange("digits_tol", c.DigitsTol, 0, 100),
		runner.InRange("methods_tol", c.MethodsTol, 0, 1),
		runner.InRange("fd_tol", c.FDTol, 0, 1),
		runner.InRange("fd2_tol", c.FD2Tol, 0, 1),
		runner.InRange("fit_times", c.FitTimes, 2, 10000),
		runner.InRange("fit_noise", c.FitNoise, 0, 1),
		runner.InRange("fit_rtol", c.FitRTol, 1e-13, 1e-4),
		runner.InRange("fit_atol", c.FitATol, 1e-16, 1e-4),
		runner.InRange("grad_tol", c.GradTol, 1e-14, 1),
		runner.InRange("max_iter", c.MaxIter, 1, 100000),
		runner.InRange("agree_tol", c.AgreeTol, 0, 1),
	}
	if len(c.FitStart) != 5 {
		errs = append(errs, runner.ParamErrorf("fit_start", "must have 5 entries (p1, p2, y1(0), y2(0), y3(0)), got %d", len(c.FitStart)))
	} else {
		for i, v := range c.FitStart {
			errs = append(errs, runner.InRange(fmt.Sprintf("fit_start[%d]", i), v, -10.0, 10.0))
		}
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[odeHessConfig, odeHessResult]{
		Name:    "ode_hessian",
		Theme:   "ode",
		Summary: "Exact Hessians of an ODE functional (CVODES's cvsHessian_ASA_FSA) by forward over adjoint, reverse over adjoint and forward over forward, against CVODES's printed values and finite differences; Newton with the exact Hessian against L-BFGS on a fit.",
		Title: func(odeHessConfig) string {
			return "Exact Hessians of an ODE functional, and Newton's method with them"
		},
		Headline: "H11 by reverse over adjoint",
		Defaults: func() odeHessConfig {
			return odeHessConfig{
				RTol: 1e-10, ATol: 1e-12, Method: "interpolating",
				FDStep: 1e-4, FD2Step: 1e-3,
				DigitsTol: 0.5, MethodsTol: 1e-8, FDTol: 1e-6, FD2Tol: 1e-4,
				FitTimes: 20, FitNoise: 0.01, FitStart: []float64{0.5, 1, 1.2, 0.8, 0.7},
				FitRTol: 1e-8, FitATol: 1e-10, GradTol: 1e-8, MaxIter: 500, AgreeTol: 1e-6,
			}
		},
		// Fewer observations make each solve of the fit cheaper; the
		// optimisers race on the same kind of problem.
		Quick:   func(c *odeHessConfig) { c.FitTimes = min(c.FitTimes, 10) },
		Compute: computeODEHessian,
		Figures: odeHessFigures,
		Report:  odeHessReport,
	})
}

// odeHessSystem is the system of CVODES's cvsHessian_ASA_FSA,
// y1' = −p1 y1² − y3, y2' = −y2, y3' = −p2² y2 y3, written with adjoint
// operations so that its derivatives of every order are exact.
var odeHessSystem = &ode.Traced{N: 3, NP: 2, F: func(_, y, p *adjoint.Var) *adjoint.Var {
	e, q := adjoint.Elements(y), adjoint.Elements(p)
	return adjoint.Stack(
		adjoint.Sub(adjoint.Neg(adjoint.Mul(q[0], adjoint.Square(e[0]))), e[2]),
		adjoint.Neg(e[1]),
		adjoint.Neg(adjoint.Mul(adjoint.Mul(adjoint.Square(q[1]), e[1]), e[2])))
}}

// The example's parameters and initial state, and the times.
var (
	odeHessP  = []float64{1, 2}
	odeHessY0 = []float64{1, 1, 1}
)

const odeHessT1 = 2.0

// odeHessSensitivity returns the named sensitivity method.
func odeHessSensitivity(name string) ode.Sensitivity {
	if name == "discrete" {
		return &ode.Discrete{}
	}
	return &ode.Interpolating{}
}

// odeHessOp returns a fresh op (fresh counters) for G = ∫₀² ½‖y‖² dt.
func odeHessOp(c odeHessConfig) *ode.Op {
	return &ode.Op{System: odeHessSystem, T0: 0, T1: odeHessT1, Method: odeHessSensitivity(c.Method),
		Integrand: func(_, y, _ *adjoint.Var) *adjoint.Var { return adjoint.Scale(adjoint.Sum(adjoint.Square(y)), 0.5) },
		Settings:  &ode.Settings{RTol: c.RTol, ATol: c.ATol}}
}

// odeHessG returns G(p) as a traced function of its one argument, through
// the op.
func odeHessG(op *ode.Op) func(xs ...*adjoint.Var) *adjoint.Var {
	y0 := adjoint.Const(adjoint.Vector(odeHessY0...))
	return func(xs ...*adjoint.Var) *adjoint.Var {
		_, q, _ := op.SolveIntegral(y0, xs[0]) // a failure is reported by op.Err
		return q
	}
}

// odeHessParse reads the reference file: one key per line followed by its
// numbers; '#' starts a comment line.
func odeHessParse(text string) (map[string][]float64, error) {
	ref := map[string][]float64{}
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		for _, s := range f[1:] {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("reference line %d: %w", i+1, err)
			}
			ref[f[0]] = append(ref[f[0]], v)
		}
	}
	for k, n := range map[string]int{"G": 1, "dGdp_fwd": 2, "dGdp_adj": 2, "H": 4} {
		if len(ref[k]) != n {
			return nil, fmt.Errorf("reference: %s has %d values, want %d", k, len(ref[k]), n)
		}
	}
	return ref, nil
}

// odeHessUnit is one unit in the last of the 5 significant digits CVODES
// prints of v.
func odeHessUnit(v float64) float64 {
	return math.Pow(10, math.Floor(math.Log10(math.Abs(v)))-4)
}

// odeHessUnits is the largest distance of got from the printed values want,
// in units of their last printed digits.
func odeHessUnits(got, want []float64) float64 {
	var m float64
	for i, w := range want {
		m = max(m, math.Abs(got[i]-w)/odeHessUnit(w))
	}
	return m
}

// odeHessEstimate is one way of computing the Hessian d²G/dp².
type odeHessEstimate struct {
	name     string
	how      string    // one line on how it is computed
	exact    bool      // automatic differentiation (not finite differences)
	h        []float64 // row-major 2×2
	solves   int       // forward solves of the op (of every derived system)
	adjoints int       // backward passes
	seconds  float64
}

// odeHessRun is one optimiser's run on the fit.
type odeHessRun struct {
	name                          string
	x                             []float64 // the minimiser found
	f                             float64
	fs, gnorms                    []float64 // f and ‖∇f‖∞ at the start and after every iteration
	iters, fevals, gevals, hevals int
	solves, adjoints              int
	status                        string
	failed                        int // evaluations whose solve failed (taken as +Inf)
	seconds                       float64
}

// odeHessFit is the parameter fit.
type odeHessFit struct {
	times  []float64
	data   [][]float64 // one row of 3 states per time
	truth  []float64   // (p1, p2, y0)
	runs   []odeHessRun
	eig    []float64   // eigenvalues of the Hessian at Newton's minimiser, increasing
	curveT []float64   // times of the fitted trajectory
	curveY [][]float64 // the trajectory at Newton's minimiser
}

// odeHessResult is what computeODEHessian finds.
type odeHessResult struct {
	ref         map[string][]float64
	g           float64
	gradRev     []float64 // dG/dp by reverse mode through the op (the adjoint)
	gradFwd     []float64 // by forward mode (forward sensitivities)
	gradFD      []float64 // by central differences of G
	gradSeconds float64
	hess        []odeHessEstimate // forward over adjoint first
	fit         odeHessFit
}

func computeODEHessian(env *runner.Env, c odeHessConfig) (*odeHessResult, error) {
	ref, err := odeHessParse(odeHessReference)
	if err != nil {
		return nil, err
	}
	res := &odeHessResult{ref: ref}
	p := adjoint.Vector(odeHessP...)
	const total = 7
	env.Progress(0, total, "value and gradient")

	// The value and the gradient, by reverse and by forward mode.
	start := time.Now()
	op := odeHessOp(c)
	G := odeHessG(op)
	pv := adjoint.Param(p)
	g := G(pv)
	res.g = g.Item()
	res.gradRev = adjoint.Grad(g, pv)[0].Data
	res.gradFwd = make([]float64, 2)
	for j := range 2 {
		e := adjoint.New(2)
		e.Data[j] = 1
		res.gradFwd[j] = adjoint.Tangent(g, []*adjoint.Var{pv}, []*adjoint.Var{adjoint.Const(e)}, false).Item()
	}
	res.gradSeconds = time.Since(start).Seconds()
	Gflat := func(x []float64) float64 { return G(adjoint.Const(adjoint.Vector(x...))).Item() }
	res.gradFD = fd.Gradient(nil, Gflat, odeHessP, &fd.Settings{Formula: fd.Central, Step: c.FDStep})
	if err := op.Err(); err != nil {
		return nil, fmt.Errorf("value and gradient of G: %w", err)
	}

	// The Hessian, five ways, each with a fresh op to count its solves.
	ways := []struct {
		name, how string
		exact     bool
		run       func(G func(xs ...*adjoint.Var) *adjoint.Var, h *mat.Dense)
	}{
		{"forward over adjoint", "one tangent pass per column through the recorded adjoint gradient (adjoint.HVPArgs): the tangent system forwards, its adjoint backwards, as CVODES", true,
			func(G func(xs ...*adjoint.Var) *adjoint.Var, h *mat.Dense) {
				for j := range 2 {
					e := adjoint.New(2)
					e.Data[j] = 1
					h.SetCol(j, adjoint.HVPArgs(G, []*adjoint.Tensor{p}, []*adjoint.Tensor{e})[0].Data)
				}
			}},
		{"reverse over adjoint", "one reverse pass per row over the recorded adjoint gradient (adjoint.HessianArgs)", true,
			func(G func(xs ...*adjoint.Var) *adjoint.Var, h *mat.Dense) {
				h.Copy(adjoint.HessianArgs(nil, G, []*adjoint.Tensor{p}))
			}},
		{"forward over forward", "a tangent of a tangent (adjoint.Tangent twice): the tangent system of the tangent system, no adjoint", true,
			func(G func(xs ...*adjoint.Var) *adjoint.Var, h *mat.Dense) {
				pv := adjoint.Param(p)
				g := G(pv)
				for i := range 2 {
					ei := adjoint.New(2)
					ei.Data[i] = 1
					d := adjoint.Tangent(g, []*adjoint.Var{pv}, []*adjoint.Var{adjoint.Const(ei)}, true)
					for j := range 2 {
						ej := adjoint.New(2)
						ej.Data[j] = 1
						h.Set(i, j, adjoint.Tangent(d, []*adjoint.Var{pv}, []*adjoint.Var{adjoint.Const(ej)}, false).Item())
					}
				}
			}},
		{"central differences of the adjoint gradient", fmt.Sprintf("gonum fd.Jacobian of the op's reverse-mode gradient, step %g", c.FDStep), false,
			func(G func(xs ...*adjoint.Var) *adjoint.Var, h *mat.Dense) {
				fd.Jacobian(h, func(dst, x []float64) {
					xv := adjoint.Param(adjoint.Vector(x...))
					copy(dst, adjoint.Grad(G(xv), xv)[0].Data)
				}, odeHessP, &fd.JacobianSettings{Formula: fd.Central, Step: c.FDStep})
			}},
		{"second differences of G", fmt.Sprintf("gonum fd.Hessian of G alone (central formula applied twice), step %g", c.FD2Step), false,
			func(G func(xs ...*adjoint.Var) *adjoint.Var, h *mat.Dense) {
				var s mat.SymDense
				fd.Hessian(&s, func(x []float64) float64 { return G(adjoint.Const(adjoint.Vector(x...))).Item() },
					odeHessP, &fd.Settings{Formula: fd.Central, Step: c.FD2Step})
				h.Copy(&s)
			}},
	}
	for i, w := range ways {
		if err := env.Context().Err(); err != nil {
			return nil, err
		}
		env.Progress(1+i, total, "Hessian by "+w.name)
		op := odeHessOp(c)
		h := mat.NewDense(2, 2, nil)
		start := time.Now()
		w.run(odeHessG(op), h)
		sec := time.Since(start).Seconds()
		if err := op.Err(); err != nil {
			return nil, fmt.Errorf("the Hessian by %s: %w", w.name, err)
		}
		st := op.Stats()
		res.hess = append(res.hess, odeHessEstimate{name: w.name, how: w.how, exact: w.exact, h: slices.Clone(h.RawMatrix().Data),
			solves: st.Solves, adjoints: st.Adjoints, seconds: sec})
	}

	env.Progress(6, total, "Newton and L-BFGS")
	fit, err := odeHessRunFit(env, c)
	if err != nil {
		return nil, err
	}
	res.fit = *fit
	return res, nil
}

// odeHessObjective is the fit's misfit f(x) = ½ Σᵢ ‖y(tᵢ; x) − dᵢ‖², with
// x = (p1, p2, y1(0), y2(0), y3(0)), through a solve op, with the value and
// gradient of the latest point kept for gonum's separate Func and Grad
// calls.
type odeHessObjective struct {
	op     *ode.Op
	data   *adjoint.Var
	x      []float64
	f      float64
	g      []float64
	failed int
}

// misfit is f as a traced function of x.
func (o *odeHessObjective) misfit(xs ...*adjoint.Var) *adjoint.Var {
	x := xs[0]
	ys, _ := o.op.Solve(adjoint.Slice(x, 0, 2, 5), adjoint.Slice(x, 0, 0, 2)) // failures: op.Err
	return adjoint.Scale(adjoint.Sum(adjoint.Square(adjoint.Sub(ys, o.data))), 0.5)
}

// eval returns f and ∇f at x. A solve that fails (parameters far enough
// from the data make y1 blow up within [0, 2]) gives f = +Inf and a NaN
// gradient, which makes the line search step back.
func (o *odeHessObjective) eval(x []float64) (float64, []float64) {
	if o.x != nil && slices.Equal(o.x, x) {
		return o.f, o.g
	}
	xv := adjoint.Param(adjoint.Vector(x...))
	f := o.misfit(xv)
	g := adjoint.Grad(f, xv)[0].Data
	o.x, o.f, o.g = slices.Clone(x), f.Item(), g
	if err := o.op.Err(); err != nil || math.IsNaN(o.f) {
		o.failed++
		o.f = math.Inf(1)
		for i := range o.g {
			o.g[i] = math.NaN()
		}
	}
	return o.f, o.g
}

// problem is f as a gonum problem, with the exact Hessian (reverse over
// the adjoint) when hess is set.
func (o *odeHessObjective) problem(hess bool) optimize.Problem {
	p := optimize.Problem{
		Func: func(x []float64) float64 { f, _ := o.eval(x); return f },
		Grad: func(grad, x []float64) { _, g := o.eval(x); copy(grad, g) },
	}
	if hess {
		p.Hess = func(h *mat.SymDense, x []float64) {
			adjoint.HessianArgs(h, o.misfit, []*adjoint.Tensor{adjoint.Vector(x...)})
			if err := o.op.Err(); err != nil {
				o.failed++
				for i := range 5 {
					for j := i; j < 5; j++ {
						h.SetSym(i, j, math.NaN())
					}
				}
			}
		}
	}
	return p
}

// odeHessRecorder records f and ‖∇f‖∞ after every major iteration.
type odeHessRecorder struct{ run *odeHessRun }

var _ optimize.Recorder = odeHessRecorder{}

func (odeHessRecorder) Init() error { return nil }

func (r odeHessRecorder) Record(loc *optimize.Location, op optimize.Operation, _ *optimize.Stats) error {
	if op&optimize.MajorIteration != 0 {
		r.run.fs = append(r.run.fs, loc.F)
		r.run.gnorms = append(r.run.gnorms, floats.Norm(loc.Gradient, math.Inf(1)))
	}
	return nil
}

// odeHessRunFit synthesises the data and runs Newton and L-BFGS on them.
func odeHessRunFit(env *runner.Env, c odeHessConfig) (*odeHessFit, error) {
	fit := &odeHessFit{truth: append(slices.Clone(odeHessP), odeHessY0...)}
	for i := range c.FitTimes {
		fit.times = append(fit.times, odeHessT1*float64(i+1)/float64(c.FitTimes))
	}
	set := &ode.Settings{RTol: c.FitRTol, ATol: c.FitATol}
	newOp := func() *ode.Op {
		return &ode.Op{System: odeHessSystem, T0: 0, T1: odeHessT1, Times: fit.times, Method: odeHessSensitivity(c.Method), Settings: set}
	}
	clean, err := newOp().Solve(adjoint.Const(adjoint.Vector(odeHessY0...)), adjoint.Const(adjoint.Vector(odeHessP...)))
	if err != nil {
		return nil, fmt.Errorf("synthesising the fit's data: %w", err)
	}
	rng := env.Rand()
	data := clean.Value().Clone()
	for i := range data.Data {
		data.Data[i] += c.FitNoise * rng.NormFloat64()
	}
	for i := range fit.times {
		fit.data = append(fit.data, slices.Clone(data.Data[3*i:3*i+3]))
	}
	for _, m := range []struct {
		name   string
		method optimize.Method
	}{{"Newton", &optimize.Newton{}}, {"L-BFGS", &optimize.LBFGS{}}} {
		if err := env.Context().Err(); err != nil {
			return nil, err
		}
		obj := &odeHessObjective{op: newOp(), data: adjoint.Const(data)}
		run := odeHessRun{name: m.name}
		start := time.Now()
		if f0, _ := obj.eval(c.FitStart); math.IsInf(f0, 0) {
			return nil, fmt.Errorf("the fit's misfit at the start %v: the solve failed", c.FitStart)
		}
		settings := &optimize.Settings{GradientThreshold: c.GradTol, MajorIterations: c.MaxIter,
			Converger: optimize.NeverTerminate{}, Recorder: odeHessRecorder{&run}}
		r, err := optimize.Minimize(obj.problem(m.name == "Newton"), c.FitStart, settings, m.method)
		run.seconds = time.Since(start).Seconds()
		if r == nil {
			return nil, fmt.Errorf("%s on the fit: %w", m.name, err)
		}
		run.x, run.f, run.status = slices.Clone(r.X), r.F, r.Status.String()
		if err != nil {
			run.status += ": " + err.Error()
		}
		// gonum records the start as its first major iteration and does not
		// pass the one that ends the run to the recorder.
		if r.Gradient != nil && len(run.fs) > 0 && r.MajorIterations == len(run.fs)+1 {
			run.fs = append(run.fs, r.F)
			run.gnorms = append(run.gnorms, floats.Norm(r.Gradient, math.Inf(1)))
		}
		run.iters = len(run.fs) - 1
		run.fevals, run.gevals, run.hevals = r.FuncEvaluations, r.GradEvaluations, r.HessEvaluations
		st := obj.op.Stats()
		run.solves, run.adjoints, run.failed = st.Solves, st.Adjoints, obj.failed
		fit.runs = append(fit.runs, run)
	}

	// The Hessian at Newton's minimiser, and the fitted trajectory.
	best := fit.runs[0].x
	obj := &odeHessObjective{op: newOp(), data: adjoint.Const(data)}
	h := adjoint.HessianArgs(nil, obj.misfit, []*adjoint.Tensor{adjoint.Vector(best...)})
	if err := obj.op.Err(); err != nil {
		return nil, fmt.Errorf("the Hessian at Newton's minimiser: %w", err)
	}
	var eig mat.EigenSym
	if !eig.Factorize(h, false) {
		return nil, errors.New("the eigenvalues of the Hessian at Newton's minimiser did not converge")
	}
	fit.eig = eig.Values(nil)
	for i := range 101 {
		fit.curveT = append(fit.curveT, odeHessT1*float64(i)/100)
	}
	sol, err := ode.Solve(ode.Problem{System: odeHessSystem, T0: 0, T1: odeHessT1, Y0: best[2:], P: best[:2]}, nil,
		&ode.Settings{RTol: c.FitRTol, ATol: c.FitATol, SaveAt: fit.curveT})
	if err != nil {
		return nil, fmt.Errorf("the fitted trajectory: %w", err)
	}
	fit.curveY = sol.Y
	return fit, nil
}

// odeHessNoiseFloor is ½mσ², the expected misfit of the noise alone for m
// observed values.
func odeHessNoiseFloor(c odeHessConfig) float64 {
	return 0.5 * float64(3*c.FitTimes) * c.FitNoise * c.FitNoise
}

// converged reports whether a run ended with ‖∇f‖∞ within the threshold.
func (r odeHessRun) converged(tol float64) bool {
	return len(r.gnorms) > 0 && r.gnorms[len(r.gnorms)-1] <= tol
}

func odeHessFigures(dir runner.Dir, c odeHessConfig, res *odeHessResult) error {
	// How far each Hessian is from forward over adjoint's.
	ref := res.hess[0].h
	var cats []string
	var errs []float64
	for _, e := range res.hess[1:] {
		cats = append(cats, e.name)
		errs = append(errs, relErr(e.h, ref))
	}
	cats = append(cats, "CVODES (printed, 5 digits)")
	errs = append(errs, relErr(res.ref["H"], ref))
	if _, err := plots.Save(dir.Path("hessian_errors.png"), plots.Bars{
		Y:          plots.Axis{Label: "max relative difference from forward over adjoint", Log: true},
		Categories: cats,
		Groups:     []plots.BarGroup{{Values: errs}},
	}, &plots.Options{WidthPx: 800, HeightPx: 420}); err != nil {
		return err
	}

	fit := res.fit
	var gn, fs []plots.Series
	for _, r := range fit.runs {
		gn = append(gn, plots.Series{Name: r.name, Y: r.gnorms, Points: true})
		fs = append(fs, plots.Series{Name: r.name, Y: r.fs, Points: true})
	}
	last := float64(max(len(fit.runs[0].fs), len(fit.runs[1].fs)) - 1)
	gn = append(gn, plots.Series{Name: "threshold " + runner.Num(c.GradTol), X: []float64{0, last},
		Y: []float64{c.GradTol, c.GradTol}, Reference: true, Dash: plots.Dashed})
	opt := &plots.Options{WidthPx: 760, HeightPx: 420}
	if _, err := plots.Save(dir.Path("fit_gradient.png"), plots.Line{
		X: plots.Axis{Label: "iteration"}, Y: plots.Axis{Label: "||∇f||_∞", Log: true}, Series: gn,
	}, opt); err != nil {
		return err
	}
	if floor := odeHessNoiseFloor(c); floor > 0 {
		fs = append(fs, plots.Series{Name: "½mσ^2", X: []float64{0, last}, Y: []float64{floor, floor}, Reference: true, Dash: plots.Dotted})
	}
	if _, err := plots.Save(dir.Path("fit_objective.png"), plots.Line{
		X: plots.Axis{Label: "iteration"}, Y: plots.Axis{Label: "misfit f", Log: true}, Series: fs,
	}, opt); err != nil {
		return err
	}

	var series []plots.Series
	for k := range 3 {
		var ty, dy, cy []float64
		for _, row := range fit.data {
			dy = append(dy, row[k])
		}
		ty = fit.times
		for _, y := range fit.curveY {
			cy = append(cy, y[k])
		}
		series = append(series,
			plots.Series{Name: fmt.Sprintf("y_%d data", k+1), X: ty, Y: dy, NoLine: true, Color: k + 1},
			plots.Series{Name: fmt.Sprintf("y_%d fitted", k+1), X: fit.curveT, Y: cy, Color: k + 1, Dash: plots.Solid})
	}
	_, err := plots.Save(dir.Path("fit.png"), plots.Line{
		X: plots.Axis{Label: "t"}, Y: plots.Axis{Label: "y"}, Series: series,
	}, &plots.Options{WidthPx: 760, HeightPx: 440})
	return err
}

// odeHessPrinted formats a value as CVODES prints it, with 5 significant
// digits.
func odeHessPrinted(v float64) string { return strconv.FormatFloat(v, 'e', 4, 64) }

// odeHessFmt formats a number with 8 significant digits.
func odeHessFmt(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }

func odeHessReport(rep *runner.Report, c odeHessConfig, res *odeHessResult) {
	ref := res.ref
	rep.Heading("The CVODES Hessian example")
	rep.Paraf("The problem of SUNDIALS CVODES's example `cvsHessian_ASA_FSA`: `y1' = −p1 y1² − y3`, `y2' = −y2`, "+
		"`y3' = −p2² y2 y3`, y(0) = (1, 1, 1), p = (1, 2), t ∈ [0, 2], and the functional `G(p) = ∫₀² ½‖y‖² dt`. "+
		"G is the integral output of one ODE solve op (`ode.Op` with an `Integrand`); the right-hand side is written once "+
		"with adjoint operations (`ode.Traced`), so every derivative below is exact except the finite differences. Every "+
		"solve runs DP5 at rtol %g, atol %g, and the op's reverse mode uses the %s adjoint. CVODES itself solves with BDF at "+
		"rtol 1e-8, atol 1e-8 and prints 5 significant digits; its values are read from the copy of its expected output "+
		"kept with this experiment (`testdata/cvodes_hessian.txt`).", c.RTol, c.ATol, c.Method)

	rep.Subheading("Value and gradient")
	vt := rep.Table("source", "G", "dG/dp1", "dG/dp2", "distance from CVODES (printed digits)")
	vt.Row("CVODES, forward sensitivities (printed)", odeHessPrinted(ref["G"][0]), odeHessPrinted(ref["dGdp_fwd"][0]), odeHessPrinted(ref["dGdp_fwd"][1]), "—")
	vt.Row("CVODES, adjoint (printed)", odeHessPrinted(ref["G"][0]), odeHessPrinted(ref["dGdp_adj"][0]), odeHessPrinted(ref["dGdp_adj"][1]), "—")
	unitsRev := max(odeHessUnits([]float64{res.g}, ref["G"]), odeHessUnits(res.gradRev, ref["dGdp_fwd"]))
	unitsFwd := max(odeHessUnits([]float64{res.g}, ref["G"]), odeHessUnits(res.gradFwd, ref["dGdp_fwd"]))
	vt.Row("op, reverse mode (adjoint)", odeHessFmt(res.g), odeHessFmt(res.gradRev[0]), odeHessFmt(res.gradRev[1]), unitsRev)
	vt.Row("op, forward mode (tangent)", odeHessFmt(res.g), odeHessFmt(res.gradFwd[0]), odeHessFmt(res.gradFwd[1]), unitsFwd)
	vt.Row("central differences of G", "—", odeHessFmt(res.gradFD[0]), odeHessFmt(res.gradFD[1]), odeHessUnits(res.gradFD, ref["dGdp_fwd"]))
	adjUnits := odeHessUnits(res.gradRev, ref["dGdp_adj"])
	rep.Paraf("Distances are in units of the last digit CVODES prints (0.5 means the value rounds to the printed one), "+
		"against its forward-sensitivity gradient. CVODES's two gradients differ in the last digit of dG/dp2; the op's "+
		"gradient is %s units from the adjoint one, which CVODES computes less accurately at its tolerances.", runner.Num(adjUnits))

	rep.Subheading("The Hessian five ways")
	ht := rep.Table("method", "H11", "H12", "H21", "H22", "from CVODES (printed digits)", "rel. difference from forward over adjoint", "solves (forward + backward)")
	ht.Row("CVODES (printed)", odeHessPrinted(ref["H"][0]), odeHessPrinted(ref["H"][1]), odeHessPrinted(ref["H"][2]), odeHessPrinted(ref["H"][3]), "—", relErr(ref["H"], res.hess[0].h), "—")
	var exactDiff float64
	for _, e := range res.hess {
		d := relErr(e.h, res.hess[0].h)
		if e.exact {
			exactDiff = max(exactDiff, d)
		}
		ht.Row(e.name, odeHessFmt(e.h[0]), odeHessFmt(e.h[1]), odeHessFmt(e.h[2]), odeHessFmt(e.h[3]), odeHessUnits(e.h, ref["H"]), d,
			fmt.Sprintf("%d + %d", e.solves, e.adjoints))
		rep.Timing("Hessian by "+e.name, e.seconds)
		rep.Metric("H11 by "+e.name, e.h[0])
	}
	for _, e := range res.hess {
		rep.Paraf("*%s*: %s.", e.name, e.how)
	}
	fdg, fd2 := relErr(res.hess[3].h, res.hess[0].h), relErr(res.hess[4].h, res.hess[0].h)
	rep.Paraf("The three exact Hessians agree to %s (relative), %s the %s by which the Hessian from central differences "+
		"of the adjoint gradient differs and the %s of second differences of G alone, whose truncation and the solves' "+
		"rounding (amplified by 1/h²) both enter. The exact Hessian is also symmetric to %s without being symmetrised.",
		runner.Num(exactDiff), runner.Choose(exactDiff < min(fdg, fd2), "far below", "not below"), runner.Num(fdg), runner.Num(fd2),
		runner.Num(math.Abs(res.hess[0].h[1]-res.hess[0].h[2])/math.Abs(res.hess[0].h[1])))
	cheap := res.hess[0]
	for _, e := range res.hess[:3] {
		if e.solves+e.adjoints < cheap.solves+cheap.adjoints {
			cheap = e
		}
	}
	rep.Paraf("Counted in solves of the op (each a solve of the system or of one of its tangent systems, forwards or "+
		"backwards), the cheapest exact Hessian here is %s's, %d + %d; wall times are in the Timings section.",
		cheap.name, cheap.solves, cheap.adjoints)
	rep.Figure("hessian_errors.png", "Largest relative difference of each Hessian from the forward-over-adjoint one (log scale). "+
		"The CVODES bar is the rounding of its 5 printed digits.")
	rep.Timing("value and gradient (reverse and forward mode)", res.gradSeconds)

	odeHessReportFit(rep, c, res.fit)

	rep.Metric("G", res.g)
	rep.Metric("dG/dp1", res.gradRev[0])
	rep.Metric("dG/dp2", res.gradRev[1])
	rep.Check("G and dG/dp (reverse mode) vs CVODES, printed digits", unitsRev, c.DigitsTol)
	rep.Check("G and dG/dp (forward mode) vs CVODES, printed digits", unitsFwd, c.DigitsTol)
	for _, e := range res.hess[:3] {
		rep.Check(fmt.Sprintf("H by %s vs CVODES, printed digits", e.name), odeHessUnits(e.h, ref["H"]), c.DigitsTol)
	}
	rep.Check("reverse over adjoint and forward over forward vs forward over adjoint (relative)", exactDiff, c.MethodsTol)
	rep.Check("H vs central differences of the adjoint gradient (relative)", fdg, c.FDTol)
	rep.Check("H vs second differences of G (relative)", fd2, c.FD2Tol)
	rep.Check("dG/dp vs central differences of G (relative)", relErr(res.gradRev, res.gradFD), c.FDTol)
}

func odeHessReportFit(rep *runner.Report, c odeHessConfig, fit odeHessFit) {
	newton, lbfgs := fit.runs[0], fit.runs[1]
	rep.Heading("A fit: Newton with the exact Hessian against L-BFGS")
	rep.Paraf("The same system, now with unknown parameters and initial state x = (p1, p2, y1(0), y2(0), y3(0)), "+
		"fitted to all three components observed at %d times evenly spaced in (0, 2]: the solution from x = (1, 2, 1, 1, 1) "+
		"plus Gaussian noise of standard deviation %g. The misfit is `f(x) = ½ Σᵢ ‖y(tᵢ; x) − dᵢ‖²`, through one solve "+
		"op (DP5, rtol %g, atol %g, %s adjoint). Both optimisers are gonum's (`optimize.Newton`, which adds a multiple of "+
		"the identity to the Hessian where it is not positive definite, and `optimize.LBFGS`), start from x₀ = %v and stop "+
		"once ‖∇f‖∞ ≤ %g (or after %d iterations). Newton gets the exact Hessian from the op (reverse over the adjoint, "+
		"`adjoint.HessianArgs`: one reverse pass per unknown over the recorded adjoint gradient, each a tangent solve and "+
		"its adjoint); L-BFGS builds its curvature from gradients. Every evaluation of f computes its gradient too, so "+
		"each costs one forward solve and one backward pass.",
		c.FitTimes, c.FitNoise, c.FitRTol, c.FitATol, c.Method, c.FitStart, c.GradTol, c.MaxIter)
	t := rep.Table("optimiser", "iterations", "f evaluations", "gradients", "Hessians", "forward solves", "backward passes", "final f", "final ||∇f||∞", "status")
	for _, r := range fit.runs {
		t.Row(r.name, r.iters, r.fevals, r.gevals, r.hevals, r.solves, r.adjoints, r.f, r.gnorms[len(r.gnorms)-1], r.status)
		rep.Timing(r.name+" fit", r.seconds)
		rep.Metric(r.name+" iterations", float64(r.iters))
		rep.Metric(r.name+" forward solves", float64(r.solves))
	}
	ratio := float64(lbfgs.iters) / float64(max(newton.iters, 1))
	rep.Paraf("Newton converges in %d iterations, %s L-BFGS's %d (L-BFGS takes %s times as many). Counted in solves, "+
		"Newton is the %s: %d forward solves and %d backward passes (a Hessian costs a tangent solve and its adjoint "+
		"per unknown) against L-BFGS's %d and %d. Wall times are in the Timings section.",
		newton.iters, runner.Choose(newton.iters < lbfgs.iters, "fewer than", "not fewer than"), lbfgs.iters, runner.Num(ratio),
		runner.Choose(newton.solves+newton.adjoints > lbfgs.solves+lbfgs.adjoints, "more expensive", "cheaper"),
		newton.solves, newton.adjoints, lbfgs.solves, lbfgs.adjoints)
	cond := fit.eig[len(fit.eig)-1] / fit.eig[0]
	rep.Paraf("At the minimiser the Hessian's eigenvalues run from %s to %s (condition number %s): the curvature "+
		"that L-BFGS has to learn from gradient differences, and Newton is given.", runner.Num(fit.eig[0]), runner.Num(fit.eig[len(fit.eig)-1]), runner.Num(cond))
	rep.Figure("fit_gradient.png", "‖∇f‖∞ after each iteration of Newton and L-BFGS, from the same start (log scale); the dashed line is the stopping threshold.")
	caption := fmt.Sprintf("The misfit f after each iteration (log scale); Newton ends at %s, L-BFGS at %s.", runner.Num(newton.f), runner.Num(lbfgs.f))
	if c.FitNoise > 0 {
		caption += fmt.Sprintf(" The dotted line is ½mσ² = %s, the misfit the noise alone contributes on average (m = %d observed values, σ = %g).",
			runner.Num(odeHessNoiseFloor(c)), 3*c.FitTimes, c.FitNoise)
	}
	rep.Figure("fit_objective.png", caption)
	rep.Figure("fit.png", fmt.Sprintf("The data (points) and the solution at Newton's minimiser x = (%s) (lines).", odeHessVec(newton.x)))
	mt := rep.Table("", "p1", "p2", "y1(0)", "y2(0)", "y3(0)")
	mt.Row("truth", fit.truth[0], fit.truth[1], fit.truth[2], fit.truth[3], fit.truth[4])
	for _, r := range fit.runs {
		row := []any{r.name}
		for _, v := range r.x {
			row = append(row, odeHessFmt(v))
		}
		mt.Row(row...)
	}
	rep.Metric("minimiser agreement (relative)", relErr(lbfgs.x, newton.x))
	rep.Metric("Hessian condition number at the minimiser", cond)
	for _, r := range fit.runs {
		rep.CheckTrue(r.name+" converged", r.converged(c.GradTol),
			fmt.Sprintf("‖∇f‖∞ = %s after %d iterations (threshold %g), status %s", runner.Num(r.gnorms[len(r.gnorms)-1]), r.iters, c.GradTol, r.status))
	}
	rep.Check("Newton and L-BFGS minimisers agree (relative)", relErr(lbfgs.x, newton.x), c.AgreeTol)
	rep.CheckTrue("the Hessian at the minimiser is positive definite", fit.eig[0] > 0,
		fmt.Sprintf("smallest eigenvalue %s", runner.Num(fit.eig[0])))
}

// odeHessVec formats a vector with 4 significant digits.
func odeHessVec(x []float64) string {
	s := make([]string, len(x))
	for i, v := range x {
		s[i] = strconv.FormatFloat(v, 'g', 4, 64)
	}
	return strings.Join(s, ", ")
}
