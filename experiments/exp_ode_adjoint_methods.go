package main

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/diff/fd"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/ode"
	"github.com/adjointkit/adjointkit/physics"
	"github.com/adjointkit/adjointkit/plots"
)

// This file registers the ode_adjoint_methods experiment: the four
// sensitivity methods of the ode package (forward sensitivities, backsolve,
// interpolating and discrete adjoints) on the Lotka–Volterra problem of
// SUNDIALS CVODES's cvsLotkaVolterra_ASA example, against its reference
// values, and on the stiff Robertson kinetics, against finite differences;
// with their work, their memory and the adjoint λ(t) they compute.

// odeAdjConfig is the [params] table of the ode_adjoint_methods experiment.
type odeAdjConfig struct {
	// LVSolvers lists the solvers run on Lotka–Volterra (BS3, DP5, Tsit5,
	// Rodas4); the first one gets the detailed tables and the λ(t) figure.
	LVSolvers []string `toml:"lv_solvers"`
	// LVRTol and LVATol are the tolerances of every Lotka–Volterra solve
	// (forward and auxiliary), those of the CVODES example.
	LVRTol float64 `toml:"lv_rtol"`
	LVATol float64 `toml:"lv_atol"`
	// LVTol is the allowed largest component-wise relative error of a
	// gradient against the reference values.
	LVTol runner.Tol `toml:"lv_tol"`
	// RobTimes lists the final times T of G = ∫₀ᵀ y3 dt for Robertson.
	RobTimes []float64 `toml:"rob_times"`
	// RobRTol and RobATol are the classic Robertson tolerances.
	RobRTol float64   `toml:"rob_rtol"`
	RobATol []float64 `toml:"rob_atol"`
	// RobFDTighten: the finite-difference reference solves at tolerances
	// this many times tighter than the classic ones.
	RobFDTighten float64 `toml:"rob_fd_tighten"`
	// RobTol is the allowed component-wise relative error of a Robertson
	// gradient against finite differences, and between two methods.
	RobTol runner.Tol `toml:"rob_tol"`
	// CheckpointEvery is the checkpoint interval, in steps, of the
	// interpolating adjoint and (as the policy Every(k)) of the discrete
	// adjoint.
	CheckpointEvery int `toml:"checkpoint_every"`
}

// odeAdjLVSolvers maps solver names to the solvers run on Lotka–Volterra.
var odeAdjLVSolvers = map[string]ode.Solver{"BS3": ode.BS3, "DP5": ode.DP5, "Tsit5": ode.Tsit5, "Rodas4": ode.Rodas4}

// Validate checks every key's range.
func (c odeAdjConfig) Validate() error {
	errs := []error{
		runner.InRange("lv_rtol", c.LVRTol, 1e-13, 1e-3),
		runner.InRange("lv_atol", c.LVATol, 1e-16, 1e-3),
		runner.InRange("lv_tol", c.LVTol, 0, 1),
		runner.InRange("rob_rtol", c.RobRTol, 1e-10, 1e-2),
		runner.InRange("rob_fd_tighten", c.RobFDTighten, 1, 1e6),
		runner.InRange("rob_tol", c.RobTol, 0, 1),
		runner.InRange("checkpoint_every", c.CheckpointEvery, 1, 100000),
	}
	if len(c.LVSolvers) == 0 {
		errs = append(errs, runner.ParamErrorf("lv_solvers", "is empty: give at least one of BS3, DP5, Tsit5, Rodas4"))
	}
	for i, s := range c.LVSolvers {
		errs = append(errs, runner.OneOf(fmt.Sprintf("lv_solvers[%d]", i), s, "BS3", "DP5", "Tsit5", "Rodas4"))
	}
	if len(c.RobTimes) == 0 {
		errs = append(errs, runner.ParamErrorf("rob_times", "is empty: give at least one final time"))
	}
	for i, T := range c.RobTimes {
		errs = append(errs, runner.InRange(fmt.Sprintf("rob_times[%d]", i), T, 1e-3, 1e9))
	}
	if len(c.RobATol) != 3 {
		errs = append(errs, runner.ParamErrorf("rob_atol", "must have 3 entries (one per species), got %d", len(c.RobATol)))
	}
	for i, a := range c.RobATol {
		errs = append(errs, runner.InRange(fmt.Sprintf("rob_atol[%d]", i), a, 1e-20, 1.0))
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[odeAdjConfig, odeAdjResult]{
		Name:    "ode_adjoint_methods",
		Theme:   "ode",
		Summary: "Forward, backsolve, interpolating and discrete sensitivities on Lotka–Volterra (against CVODES's reference) and stiff Robertson (against finite differences): accuracy, work, memory and λ(t).",
		Defaults: func() odeAdjConfig {
			return odeAdjConfig{
				LVSolvers: []string{"DP5", "Tsit5", "BS3", "Rodas4"},
				LVRTol:    1e-10, LVATol: 1e-14, LVTol: 1e-6,
				RobTimes: []float64{50, 4e7},
				RobRTol:  1e-6, RobATol: []float64{1e-8, 1e-14, 1e-6},
				RobFDTighten: 1e4, RobTol: 2e-5,
				CheckpointEvery: 20,
			}
		},
		Headline: "LV largest rel error vs converged reference",
		Quick: func(c *odeAdjConfig) {
			c.LVSolvers = c.LVSolvers[:1]
			c.RobTimes = c.RobTimes[:1]
			// A reference 1e3 rather than 1e4 times tighter (rtol 1e-9) is
			// still 20 times more accurate than the 2e-5 the check allows,
			// and its solves are the bulk of the work.
			c.RobFDTighten = min(c.RobFDTighten, 1e3)
		},
		Compute: computeODEAdjointMethods,
		Figures: odeAdjFigures,
		Report:  odeAdjReport,
	})
}

// Reference values for the Lotka–Volterra problem of SUNDIALS CVODES's
// adjoint example cvsLotkaVolterra_ASA (SUNDIALS 7.x,
// examples/cvodes/serial/cvsLotkaVolterra_ASA.c): u(10), dG/du₀ and dG/dp
// for p = (1.5, 1, 3, 1), u(0) = (1, 1), G = ½‖u(10) − 1‖².
//
// "Cvodes" are the values the example's expected output
// (cvsLotkaVolterra_ASA.out) prints, from BDF at rtol 1e-10, atol 1e-14.
// "Conv" are the same quantities converged: RK4 with forward sensitivities
// at 20000 and 40000 fixed steps agree to about 1e-12 (the test
// TestODEAdjConvergedReference recomputes them), and the CVODES values are
// about 3e-7 away from them.
var (
	odeAdjLVConvU     = []float64{1.026344767575063e+00, 9.096910781360791e-01}
	odeAdjLVConvDU0   = []float64{2.995995083035528e-01, -1.415181634485345e-02}
	odeAdjLVConvDP    = []float64{6.219615855510339e-01, 6.800140415084661e-02, 1.691764639958162e-01, 2.725606939499030e-01}
	odeAdjLVCvodesU   = []float64{1.026344801589377e+00, 9.096910639243128e-01}
	odeAdjLVCvodesDU0 = []float64{2.995996056786226e-01, -1.415181416922305e-02}
	odeAdjLVCvodesDP  = []float64{6.219617362820864e-01, 6.800142032161892e-02, 1.691765074712130e-01, 2.725607529639176e-01}
)

// The problems: CVODES's Lotka–Volterra (its parameter order is α, β, γ, δ)
// and Robertson's kinetics with the classic rates.
var (
	odeAdjLV    = physics.LotkaVolterra{Order: physics.AlphaBetaGammaDelta}
	odeAdjLVP   = []float64{1.5, 1, 3, 1}
	odeAdjLVY0  = []float64{1, 1}
	odeAdjRobP  = []float64{0.04, 1e4, 3e7}
	odeAdjRobY0 = []float64{1, 0, 0}
)

// odeAdjLVProblem is the Lotka–Volterra problem and cost of the CVODES
// example.
func odeAdjLVProblem() (ode.Problem, ode.Cost) {
	return ode.Problem{System: odeAdjLV, T0: 0, T1: 10, Y0: odeAdjLVY0, P: odeAdjLVP},
		ode.Cost{Terminal: ode.SquaredError([]float64{1, 1})}
}

// odeAdjRobCost is G = ∫ y3 dt.
var odeAdjRobCost = ode.Cost{Integral: &ode.Integral{
	G:    func(_ float64, y, _ []float64) float64 { return y[2] },
	Grad: func(gy, _ []float64, _ float64, _, _ []float64) { gy[2] += 1 },
}}

// odeAdjResult is what computeODEAdjointMethods finds.
type odeAdjResult struct {
	lv  []odeAdjLVRun
	rob []odeAdjRobRun
}

// odeAdjLVRun is every method on Lotka–Volterra with one solver.
type odeAdjLVRun struct {
	solver   string
	outcomes []odeAdjOutcome
}

// odeAdjRobRun is the finite-difference reference and every method on
// Robertson for one final time.
type odeAdjRobRun struct {
	T          float64
	g, dp, dy  []float64 // G, dG/dp and dG/dy₀ by central differences (g has one entry)
	fdSeconds  float64
	outcomes   []odeAdjOutcome
	backsolveE error // the backsolve adjoint's error, if it failed
}

// odeAdjOutcome is one method's gradient, or its error, with the λ(t) it
// reported and its wall time.
type odeAdjOutcome struct {
	method  string
	res     *ode.GradientResult // nil if err != nil
	err     error
	trace   *odeAdjTrace // nil for forward sensitivities
	seconds float64
}

// odeAdjTrace records λ(t) as a method reports it.
type odeAdjTrace struct {
	t   []float64
	lam [][]float64
}

func (tr *odeAdjTrace) record(t float64, lam []float64) {
	tr.t = append(tr.t, t)
	tr.lam = append(tr.lam, slices.Clone(lam))
}

// odeAdjMethod is a sensitivity method with its λ(t) recorder.
type odeAdjMethod struct {
	name  string
	m     ode.Sensitivity
	trace *odeAdjTrace
}

// odeAdjMethods returns the four methods, the adjoint ones recording λ(t)
// into fresh traces.
func odeAdjMethods(every int) []odeAdjMethod {
	ti, tb, td := &odeAdjTrace{}, &odeAdjTrace{}, &odeAdjTrace{}
	return []odeAdjMethod{
		{"forward sensitivities", &ode.Forward{}, nil},
		{"backsolve adjoint", &ode.Backsolve{OnAdjoint: tb.record}, tb},
		{"interpolating adjoint", &ode.Interpolating{CheckpointEvery: every, OnAdjoint: ti.record}, ti},
		{"discrete adjoint", &ode.Discrete{Policy: adjoint.Every(every), OnAdjoint: td.record}, td},
	}
}

func computeODEAdjointMethods(env *runner.Env, c odeAdjConfig) (*odeAdjResult, error) {
	res := &odeAdjResult{}
	total := len(c.LVSolvers) + len(c.RobTimes)
	prob, cost := odeAdjLVProblem()
	set := &ode.Settings{RTol: c.LVRTol, ATol: c.LVATol}
	for si, sname := range c.LVSolvers {
		run := odeAdjLVRun{solver: sname}
		for _, m := range odeAdjMethods(c.CheckpointEvery) {
			if err := env.Context().Err(); err != nil {
				return nil, err
			}
			env.Progress(si, total, fmt.Sprintf("Lotka–Volterra, %s, %s", sname, m.name))
			start := time.Now()
			g, err := ode.Gradient(prob, cost, odeAdjLVSolvers[sname], m.m, set)
			if err != nil {
				return nil, fmt.Errorf("%s of Lotka–Volterra with %s: %w", m.name, sname, err)
			}
			run.outcomes = append(run.outcomes, odeAdjOutcome{method: m.name, res: g, trace: m.trace, seconds: time.Since(start).Seconds()})
		}
		res.lv = append(res.lv, run)
	}

	classic := &ode.Settings{RTol: c.RobRTol, ATolVec: c.RobATol}
	tight := &ode.Settings{RTol: c.RobRTol / c.RobFDTighten, ATolVec: make([]float64, 3), MaxSteps: 1_000_000}
	for i, a := range c.RobATol {
		tight.ATolVec[i] = a / c.RobFDTighten
	}
	for ti, T := range c.RobTimes {
		if err := env.Context().Err(); err != nil {
			return nil, err
		}
		env.Progress(len(c.LVSolvers)+ti, total, fmt.Sprintf("Robertson T = %g, finite differences", T))
		run := odeAdjRobRun{T: T}
		start := time.Now()
		g, dp, dy, err := odeAdjRobFD(T, tight)
		if err != nil {
			return nil, fmt.Errorf("finite differences of Robertson to T = %g: %w", T, err)
		}
		run.g, run.dp, run.dy, run.fdSeconds = []float64{g}, dp, dy, time.Since(start).Seconds()
		prob := ode.Problem{System: physics.Robertson{}, T0: 0, T1: T, Y0: odeAdjRobY0, P: odeAdjRobP}
		for _, m := range odeAdjMethods(c.CheckpointEvery) {
			if err := env.Context().Err(); err != nil {
				return nil, err
			}
			env.Progress(len(c.LVSolvers)+ti, total, fmt.Sprintf("Robertson T = %g, %s", T, m.name))
			start := time.Now()
			gr, err := ode.Gradient(prob, odeAdjRobCost, ode.Rodas4, m.m, classic)
			if err != nil {
				// Only the backsolve adjoint may fail, and only cleanly, with
				// an *ode.Error; the report explains why.
				var se *ode.Error
				if m.name != "backsolve adjoint" || !errors.As(err, &se) {
					return nil, fmt.Errorf("%s of Robertson to T = %g: %w", m.name, T, err)
				}
				run.backsolveE = err
			}
			run.outcomes = append(run.outcomes, odeAdjOutcome{method: m.name, res: gr, err: err, trace: m.trace, seconds: time.Since(start).Seconds()})
		}
		res.rob = append(res.rob, run)
	}
	return res, nil
}

// odeAdjRobFD returns G and central differences of G with respect to p
// (relative steps of 1e-4) and y₀ (steps of 1e-6), every G from a Rodas4
// solve at the given settings.
func odeAdjRobFD(T float64, set *ode.Settings) (g float64, dp, dy []float64, err error) {
	G := func(p, y0 []float64) float64 {
		if err != nil {
			return math.NaN()
		}
		v, _, e := ode.Evaluate(ode.Problem{System: physics.Robertson{}, T0: 0, T1: T, Y0: y0, P: p}, odeAdjRobCost, ode.Rodas4, set)
		if e != nil {
			err = e
		}
		return v
	}
	g = G(odeAdjRobP, odeAdjRobY0)
	dp = make([]float64, 3)
	fd.Gradient(dp, func(z []float64) float64 {
		return G([]float64{z[0] * odeAdjRobP[0], z[1] * odeAdjRobP[1], z[2] * odeAdjRobP[2]}, odeAdjRobY0)
	}, []float64{1, 1, 1}, &fd.Settings{Formula: fd.Central, Step: 1e-4})
	for i := range dp {
		dp[i] /= odeAdjRobP[i]
	}
	dy = make([]float64, 3)
	fd.Gradient(dy, func(y0 []float64) float64 { return G(odeAdjRobP, y0) }, odeAdjRobY0, &fd.Settings{Formula: fd.Central, Step: 1e-6})
	return g, dp, dy, err
}

// work sums the counters of both phases; PeakStored is the larger one.
func (o odeAdjOutcome) work() ode.Stats {
	f, b := o.res.Forward, o.res.Backward
	return ode.Stats{
		Steps: f.Steps + b.Steps, Rejected: f.Rejected + b.Rejected, FEvals: f.FEvals + b.FEvals,
		VJPs: f.VJPs + b.VJPs, JVPs: f.JVPs + b.JVPs, JacEvals: f.JacEvals + b.JacEvals, LUs: f.LUs + b.LUs,
		PeakStored: max(f.PeakStored, b.PeakStored),
	}
}

// grad is dG/du₀ followed by dG/dp.
func (o odeAdjOutcome) grad() []float64 { return append(slices.Clone(o.res.DY0), o.res.DP...) }

// odeAdjElemRel is max_i |got_i − want_i| / |want_i| over every component:
// the strictest measure, the one the references are quoted in.
func odeAdjElemRel(got, want []float64) float64 {
	var m float64
	for i := range want {
		m = max(m, math.Abs(got[i]-want[i])/math.Abs(want[i]))
	}
	return m
}

// odeAdjRobErr is an outcome's largest component-wise relative error in G,
// dG/dp and dG/dy₀ against the finite-difference reference.
func (r odeAdjRobRun) errOf(o odeAdjOutcome) (eg, ep, ey float64) {
	return odeAdjElemRel([]float64{o.res.Value}, r.g), odeAdjElemRel(o.res.DP, r.dp), odeAdjElemRel(o.res.DY0, r.dy)
}

// odeAdjFile is the figure file of Robertson's λ(t) for final time T.
func odeAdjFile(T float64) string {
	return strings.NewReplacer("+", "", ".", "_").Replace(fmt.Sprintf("rob_lambda_T%g", T)) + ".png"
}

// odeAdjSeries returns component i of a λ(t) trace as a series sorted by
// time, with at most about maxPts points (evenly strided, both ends kept),
// drawn as points when points is set.
func odeAdjSeries(name string, tr *odeAdjTrace, i, maxPts int, points bool) plots.Series {
	n := len(tr.t)
	stride := max(1, (n+maxPts-1)/maxPts)
	s := plots.Series{Name: name, Points: points}
	for k := 0; k < n; k++ {
		if k%stride == 0 || k == n-1 {
			s.X = append(s.X, tr.t[k])
			s.Y = append(s.Y, tr.lam[k][i])
		}
	}
	sortByX(s.X, s.Y)
	return s
}

// odeAdjLamFloor is the smallest |λ| drawn on Robertson's log axes: 1e-6 of
// the largest value any method reported.
func (r odeAdjRobRun) lamFloor() float64 {
	var m float64
	for _, o := range r.outcomes {
		if o.err == nil && o.trace != nil {
			for _, l := range o.trace.lam {
				m = max(m, math.Abs(l[0]), math.Abs(l[1]), math.Abs(l[2]))
			}
		}
	}
	return 1e-6 * m
}

// odeAdjLambda returns the first n components of the λ(t) of each adjoint
// outcome (but the backsolve adjoint's if noBacksolve) as series: lines of
// up to maxPts points for the continuous adjoints, points (a tenth as many)
// for the discrete one, whose λ lives at the step times. keep, if not nil,
// selects the points drawn.
func odeAdjLambda(outcomes []odeAdjOutcome, n, maxPts int, noBacksolve bool, keep func(t, l float64) bool) []plots.Series {
	var series []plots.Series
	for _, o := range outcomes {
		if o.err != nil || o.trace == nil || noBacksolve && o.method == "backsolve adjoint" {
			continue
		}
		short := strings.TrimSuffix(o.method, " adjoint")
		pts := o.method == "discrete adjoint"
		m := maxPts
		if pts {
			m = maxPts / 10
		}
		for i := range n {
			s := odeAdjSeries(fmt.Sprintf("λ%s %s", subscript(i+1), short), o.trace, i, m, pts)
			if keep != nil {
				var xs, ys []float64
				for k := range s.X {
					if keep(s.X[k], s.Y[k]) {
						xs, ys = append(xs, s.X[k]), append(ys, s.Y[k])
					}
				}
				s.X, s.Y = xs, ys
			}
			series = append(series, s)
		}
	}
	return series
}

func odeAdjFigures(dir runner.Dir, c odeAdjConfig, res *odeAdjResult) error {
	first := res.lv[0]
	if _, err := plots.Save(dir.Path("lv_lambda.png"), plots.Line{
		Title:  fmt.Sprintf("Lotka–Volterra adjoint λ(t) (%s, rtol %g)", first.solver, c.LVRTol),
		X:      plots.Axis{Label: "t"},
		Y:      plots.Axis{Label: "λ(t)"},
		Series: odeAdjLambda(first.outcomes, 2, 400, false, nil),
		Legend: plots.Outside,
	}, nil); err != nil {
		return err
	}

	for _, run := range res.rob {
		// λ(t) on log axes: t = 0 and values below the floor (λ(T) = 0 and
		// its last steps) are left out. The backsolve adjoint, accurate or
		// not, is left out too: its λ runs with a re-integrated y.
		floor := run.lamFloor()
		series := odeAdjLambda(run.outcomes, 3, 600, true, func(t, l float64) bool { return t > 0 && l > floor })
		if _, err := plots.Save(dir.Path(odeAdjFile(run.T)), plots.Line{
			Title:  fmt.Sprintf("Robertson adjoint λ(t), G = ∫ y3 dt to T = %g", run.T),
			X:      plots.Axis{Label: "t", Log: true},
			Y:      plots.Axis{Label: "λ(t)", Log: true},
			Series: series,
			Legend: plots.Outside,
		}, nil); err != nil {
			return err
		}
	}
	return nil
}

// odeAdjG formats a gradient component with 10 significant digits.
func odeAdjG(v float64) string { return fmt.Sprintf("%.10g", v) }

func odeAdjReport(rep *runner.Report, c odeAdjConfig, res *odeAdjResult) {
	odeAdjReportLV(rep, c, res.lv)
	odeAdjReportRobertson(rep, c, res.rob)
}

func odeAdjReportLV(rep *runner.Report, c odeAdjConfig, runs []odeAdjLVRun) {
	conv := append(slices.Clone(odeAdjLVConvDU0), odeAdjLVConvDP...)
	cvodes := append(slices.Clone(odeAdjLVCvodesDU0), odeAdjLVCvodesDP...)
	rep.Heading("Lotka–Volterra: the CVODES adjoint example")
	rep.Paraf("The problem of SUNDIALS CVODES's adjoint example `cvsLotkaVolterra_ASA`: `x' = p0 x − p1 x y`, `y' = −p2 y + p3 x y`, "+
		"p = (1.5, 1, 3, 1), u(0) = (1, 1), t ∈ [0, 10], cost `G = ½‖u(10) − 1‖²`. Every solve (forward and auxiliary) runs at "+
		"rtol %g, atol %g, as CVODES does. There are two references: the values the example's expected output prints (BDF at the "+
		"same tolerances), and the same quantities converged (fixed-step RK4 with forward sensitivities, 20000 against 40000 steps, "+
		"accurate to about 1e-12). Errors are component-wise relative, max_i |g_i − ref_i| / |ref_i| over dG/du₀ and dG/dp. "+
		"The interpolating adjoint checkpoints every %d steps and the discrete adjoint replays with the policy Every(%d).",
		c.LVRTol, c.LVATol, c.CheckpointEvery, c.CheckpointEvery)

	first := runs[0]
	rep.Subheading(fmt.Sprintf("Gradients with %s", first.solver))
	vt := rep.Table("source", "dG/du0[0]", "dG/du0[1]", "dG/dp[0]", "dG/dp[1]", "dG/dp[2]", "dG/dp[3]")
	gradRow := func(name string, g []float64) {
		vt.Row(name, odeAdjG(g[0]), odeAdjG(g[1]), odeAdjG(g[2]), odeAdjG(g[3]), odeAdjG(g[4]), odeAdjG(g[5]))
	}
	gradRow("converged reference", conv)
	gradRow("CVODES (printed)", cvodes)
	for _, o := range first.outcomes {
		gradRow(o.method, o.grad())
	}
	rep.Paraf("Errors, work and memory with %s. *f* counts evaluations of the right-hand side in both passes, *VJP* and *JVP* "+
		"vector–Jacobian and Jacobian–vector products; *peak stored* is the largest number of state-length vectors held for later use "+
		"(checkpoints, dense-output records, stored trajectory states).", first.solver)
	et := rep.Table("method", "rel. error vs converged", "rel. error vs CVODES", "u(10) rel. error", "steps (fwd + bwd)", "f", "VJP", "JVP", "peak stored")
	et.Row("CVODES (printed)", odeAdjElemRel(cvodes, conv), "—", odeAdjElemRel(odeAdjLVCvodesU, odeAdjLVConvU), "—", "—", "—", "—", "—")
	for _, o := range first.outcomes {
		w := o.work()
		et.Row(o.method, odeAdjElemRel(o.grad(), conv), odeAdjElemRel(o.grad(), cvodes), odeAdjElemRel(o.res.YT, odeAdjLVConvU),
			fmt.Sprintf("%d + %d", o.res.Forward.Steps, o.res.Backward.Steps), w.FEvals, w.VJPs, w.JVPs, w.PeakStored)
		rep.Metric(fmt.Sprintf("LV %s %s f evaluations", first.solver, o.method), float64(w.FEvals))
		rep.Metric(fmt.Sprintf("LV %s %s peak stored", first.solver, o.method), float64(w.PeakStored))
	}

	// Every solver.
	maxConv, maxCvodes := map[string]float64{}, map[string]float64{}
	var names []string
	hdr := []string{"solver"}
	for _, o := range first.outcomes {
		names = append(names, o.method)
		hdr = append(hdr, o.method)
	}
	rep.Subheading("Every solver")
	rep.Paraf("Largest component-wise relative error of dG/du₀ and dG/dp against the converged reference, "+
		"for each solver and method at rtol %g.", c.LVRTol)
	st := rep.Table(hdr...)
	for _, run := range runs {
		row := []any{run.solver}
		for _, o := range run.outcomes {
			e, ec := odeAdjElemRel(o.grad(), conv), odeAdjElemRel(o.grad(), cvodes)
			maxConv[o.method] = max(maxConv[o.method], e)
			maxCvodes[o.method] = max(maxCvodes[o.method], ec)
			row = append(row, e)
			rep.Metric(fmt.Sprintf("LV %s %s rel error", run.solver, o.method), e)
			rep.Timing(fmt.Sprintf("Lotka–Volterra, %s, %s", run.solver, o.method), o.seconds)
		}
		st.Row(row...)
	}
	worst := slices.MaxFunc(names, func(a, b string) int { return cmp.Compare(maxConv[a], maxConv[b]) })
	rep.Paraf("The largest error against the converged reference, over %s, is the %s's %s: %s the tolerance %s, "+
		"and %s the %s by which the CVODES output itself misses the reference.",
		runner.Count(len(runs), "solver", "solvers"), worst, runner.Num(maxConv[worst]),
		runner.Compare(maxConv[worst], float64(c.LVTol)), runner.Num(float64(c.LVTol)),
		runner.Compare(maxConv[worst], odeAdjElemRel(cvodes, conv)), runner.Num(odeAdjElemRel(cvodes, conv)))
	rep.Metric("LV largest rel error vs converged reference", maxConv[worst])

	rep.Subheading("The adjoint λ(t)")
	rep.Figure("lv_lambda.png", fmt.Sprintf("λ(t) = ∂G/∂u(t) reported by each adjoint method's `OnAdjoint` hook as it runs backwards from "+
		"λ(10) = u(10) − 1 to λ(0) = dG/du₀ (%s). The discrete adjoint's values are ∂G/∂u_k at the step times (some shown as points).",
		first.solver))

	for _, n := range names {
		rep.Check(fmt.Sprintf("LV %s vs converged reference (%s)", n, runner.Count(len(runs), "solver", "solvers")), maxConv[n], c.LVTol)
	}
	for _, n := range names {
		rep.Check(fmt.Sprintf("LV %s vs CVODES printed output (%s)", n, runner.Count(len(runs), "solver", "solvers")), maxCvodes[n], c.LVTol)
	}
}

func odeAdjReportRobertson(rep *runner.Report, c odeAdjConfig, runs []odeAdjRobRun) {
	var times []string
	for _, r := range runs {
		times = append(times, fmt.Sprintf("%g", r.T))
	}
	atol := fmt.Sprint(c.RobATol)
	rep.Heading("Robertson: stiff chemical kinetics")
	rep.Paraf("The Robertson kinetics of CVODES's example `cvsRoberts_ASAi_dns`, `y1' = −p1 y1 + p2 y2 y3`, "+
		"`y2' = p1 y1 − p2 y2 y3 − p3 y2²`, `y3' = p3 y2²`, p = (0.04, 1e4, 3e7), y₀ = (1, 0, 0), with the cost "+
		"`G = ∫₀ᵀ y3 dt` for T = %s, solved with Rodas4 at the classic tolerances rtol %g, atol %s (forward and backward). "+
		"The adjoint of a stiff system is stiff, so every backward solve uses Rodas4 too (with (∂f/∂y)ᵀ in its iteration matrix). "+
		"The reference is central finite differences of G, each G from a Rodas4 solve at tolerances %g times tighter: relative "+
		"steps of 1e-4 in p, steps of 1e-6 in y₀.",
		strings.Join(times, ", "), c.RobRTol, atol[1:len(atol)-1], c.RobFDTighten)
	rep.Paraf("Tolerance of the comparison: the gradients come from solves at rtol %g, whose global errors are a few rtol, "+
		"so a relative tolerance of %s on every component of G, dG/dp and dG/dy₀ leaves room for that and nothing else. "+
		"The reference is far more accurate: central differences have a truncation error of about (1e-4)² relative, and the "+
		"error of the tight solves (rtol %s) is nearly the same for the perturbed and the unperturbed solve, so it largely "+
		"cancels in the differences. The methods must also agree with each other to %s.",
		c.RobRTol, runner.Num(float64(c.RobTol)), runner.Num(c.RobRTol/c.RobFDTighten), runner.Num(float64(c.RobTol)))

	for _, run := range runs {
		T := run.T
		rep.Subheading(fmt.Sprintf("T = %g", T))
		vt := rep.Table("source", "G", "dG/dp1", "dG/dp2", "dG/dp3", "dG/dy0[1]", "dG/dy0[2]", "dG/dy0[3]")
		vt.Row("finite differences", odeAdjG(run.g[0]), odeAdjG(run.dp[0]), odeAdjG(run.dp[1]), odeAdjG(run.dp[2]), odeAdjG(run.dy[0]), odeAdjG(run.dy[1]), odeAdjG(run.dy[2]))
		for _, o := range run.outcomes {
			if o.err != nil {
				vt.Row(o.method, "error", "—", "—", "—", "—", "—", "—")
				continue
			}
			vt.Row(o.method, odeAdjG(o.res.Value), odeAdjG(o.res.DP[0]), odeAdjG(o.res.DP[1]), odeAdjG(o.res.DP[2]),
				odeAdjG(o.res.DY0[0]), odeAdjG(o.res.DY0[1]), odeAdjG(o.res.DY0[2]))
		}
		wt := rep.Table("method", "G rel. error", "dG/dp rel. error", "dG/dy0 rel. error", "steps (fwd + bwd)", "f", "VJP", "JVP", "Jacobians", "LUs", "peak stored")
		var worst float64
		var accurate []odeAdjOutcome
		backsolveOK := true
		for _, o := range run.outcomes {
			rep.Timing(fmt.Sprintf("Robertson T = %g, %s", T, o.method), o.seconds)
			if o.err != nil {
				wt.Row(o.method, "returned an error", "—", "—", "—", "—", "—", "—", "—", "—", "—")
				continue // failed cleanly, with an *ode.Error (Compute checked)
			}
			eg, ep, ey := run.errOf(o)
			w := o.work()
			wt.Row(o.method, eg, ep, ey, fmt.Sprintf("%d + %d", o.res.Forward.Steps, o.res.Backward.Steps),
				w.FEvals, w.VJPs, w.JVPs, w.JacEvals, w.LUs, w.PeakStored)
			e := max(eg, ep, ey)
			if o.method == "backsolve adjoint" {
				backsolveOK = e <= 1e-3 // it returned a gradient: it must not be garbage
				if e > float64(c.RobTol) {
					continue // reported, not counted among the accurate methods
				}
			}
			worst = max(worst, e)
			accurate = append(accurate, o)
			rep.Metric(fmt.Sprintf("Robertson T=%g %s rel error vs FD", T, o.method), e)
			rep.Metric(fmt.Sprintf("Robertson T=%g %s f evaluations", T, o.method), float64(w.FEvals))
		}
		rep.Timing(fmt.Sprintf("Robertson T = %g, finite differences (13 tight solves)", T), run.fdSeconds)
		if run.backsolveE != nil {
			rep.Paraf("The backsolve adjoint returned an error, as documented for stiff problems: it re-integrates y backwards "+
				"in time alongside λ, and backwards in time Robertson's fast decaying modes (eigenvalues of ∂f/∂y down to about −10⁴ "+
				"and below) become fast *growing* ones, so the reconstructed y leaves the forward trajectory, the implicit solver's "+
				"steps shrink and the solve ends with a non-finite value. The interpolating and discrete adjoints avoid this by "+
				"taking y from the forward pass (checkpoints and dense output) instead of re-integrating it. The error: `%s`", run.backsolveE)
		}
		var agree float64
		for _, a := range accurate {
			for _, b := range accurate {
				agree = max(agree, odeAdjElemRel(a.res.DP, b.res.DP), odeAdjElemRel(a.res.DY0, b.res.DY0))
			}
		}
		rep.Metric(fmt.Sprintf("Robertson T=%g G (finite differences)", T), run.g[0])
		rep.Check(fmt.Sprintf("Robertson T=%g: methods vs finite differences", T), worst, c.RobTol)
		rep.Check(fmt.Sprintf("Robertson T=%g: methods agree with each other", T), agree, c.RobTol)
		rep.CheckTrue(fmt.Sprintf("Robertson T=%g: backsolve fails cleanly or is accurate", T), backsolveOK,
			"an *ode.Error naming time, step and reason, never a silently wrong gradient")

		rep.Figure(odeAdjFile(T), fmt.Sprintf("λ(t) = ∂G/∂y(t) on log axes for T = %g, from the interpolating adjoint (lines) and the discrete "+
			"adjoint (points, ∂G/∂y_k at some of the step times). All fall to λ(T) = 0 at the end (values below %s, 1e-6 of the largest, "+
			"and t = 0 are off the log axes). Their λ(0) = dG/dy₀ agree to %s (component-wise relative). Where Rodas4's steps are many "+
			"times longer than the fast time scale, the discrete λ2 is the sensitivity of the computed solution, which those long steps "+
			"do not resolve, to the fast species alone, and need not follow the continuous one.", T, runner.Num(run.lamFloor()), runner.Num(agree)))
	}
}
