package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/ode"
	"github.com/adjointkit/adjointkit/plots"
)

// This file registers the ode_convergence experiment: the global error of
// every integrator of the ode package on a problem with a closed-form
// solution, against the fixed step size and, for the adaptive ones, against
// the work (f evaluations) over a range of tolerances; the measured orders
// are the fitted slopes.

// odeConvConfig is the [params] table of the ode_convergence experiment.
type odeConvConfig struct {
	// TEnd is the final time T of the test problem on [0, T].
	TEnd float64 `toml:"t_end"`
	// Methods lists the solvers to measure, by name: Euler, Heun, RK4
	// (fixed step only), BS3, DP5, Tsit5 and Rodas4.
	Methods []string `toml:"methods"`
	// StepsMin and StepsMax bound the fixed-step runs: n = steps_min,
	// 2·steps_min, … up to steps_max steps on [0, T].
	StepsMin int `toml:"steps_min"`
	StepsMax int `toml:"steps_max"`
	// RTolMax and RTolMin bound the adaptive runs' relative tolerances,
	// RTolPerDecade log-spaced values per decade.
	RTolMax       float64 `toml:"rtol_max"`
	RTolMin       float64 `toml:"rtol_min"`
	RTolPerDecade int     `toml:"rtol_per_decade"`
	// ATolRatio sets the absolute tolerance atol = atol_ratio·rtol.
	ATolRatio float64 `toml:"atol_ratio"`
	// ErrorFloor: errors below it are taken as rounding noise and left
	// out of the fits.
	ErrorFloor float64 `toml:"error_floor"`
	// FitPoints is the number of points (the finest steps, or the
	// tightest tolerances, above the error floor) whose least-squares slope
	// gives a measured order.
	FitPoints int `toml:"fit_points"`
	// FitPointsAdaptive is the same for error against work.
	FitPointsAdaptive int `toml:"fit_points_adaptive"`
	// OrderTol is the allowed |measured − theoretical| fixed-step order.
	OrderTol runner.Tol `toml:"order_tol"`
	// WorkOrderTol is the allowed |measured − theoretical| work-order of
	// the adaptive runs.
	WorkOrderTol runner.Tol `toml:"work_order_tol"`
}

// odeConvSolvers maps method names to solvers.
var odeConvSolvers = map[string]ode.Solver{
	"Euler": ode.Euler, "Heun": ode.Heun, "RK4": ode.RK4,
	"BS3": ode.BS3, "DP5": ode.DP5, "Tsit5": ode.Tsit5, "Rodas4": ode.Rodas4,
}

// odeConvNames lists the method names in the order of the tables.
var odeConvNames = []string{"Euler", "Heun", "RK4", "BS3", "DP5", "Tsit5", "Rodas4"}

// Validate checks every key's range.
func (c odeConvConfig) Validate() error {
	errs := []error{
		runner.InRange("t_end", c.TEnd, 0.1, 100.0),
		runner.InRange("steps_min", c.StepsMin, 1, 1<<20),
		runner.InRange("steps_max", c.StepsMax, max(1, c.StepsMin), 1<<20),
		runner.InRange("rtol_max", c.RTolMax, 1e-14, 0.1),
		runner.InRange("rtol_min", c.RTolMin, 1e-14, max(1e-14, c.RTolMax)),
		runner.InRange("rtol_per_decade", c.RTolPerDecade, 1, 10),
		runner.InRange("atol_ratio", c.ATolRatio, 1e-6, 1e3),
		runner.InRange("error_floor", c.ErrorFloor, 0.0, 1e-3),
		runner.InRange("fit_points", c.FitPoints, 2, 100),
		runner.InRange("fit_points_adaptive", c.FitPointsAdaptive, 2, 100),
		runner.InRange("order_tol", c.OrderTol, 0.0, 5.0),
		runner.InRange("work_order_tol", c.WorkOrderTol, 0.0, 5.0),
	}
	if len(c.Methods) == 0 {
		errs = append(errs, runner.ParamErrorf("methods", "is empty: give at least one of %v", odeConvNames))
	}
	for i, m := range c.Methods {
		errs = append(errs, runner.OneOf(fmt.Sprintf("methods[%d]", i), m, odeConvNames...))
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[odeConvConfig, odeConvResult]{
		Name:    "ode_convergence",
		Theme:   "ode",
		Summary: "Global error of every ode integrator against step size (fixed steps) and against f evaluations (adaptive), with measured orders.",
		Defaults: func() odeConvConfig {
			return odeConvConfig{
				TEnd:     8,
				Methods:  slices.Clone(odeConvNames),
				StepsMin: 16, StepsMax: 16384,
				RTolMax: 1e-3, RTolMin: 1e-12, RTolPerDecade: 2, ATolRatio: 1e-2,
				ErrorFloor: 3e-14, FitPoints: 4, FitPointsAdaptive: 6, OrderTol: 0.3, WorkOrderTol: 0.5,
			}
		},
		Headline: "largest |fixed-step order − theoretical order|",
		Quick: func(c *odeConvConfig) {
			c.StepsMax = min(c.StepsMax, 4096)
			c.RTolPerDecade = min(c.RTolPerDecade, 2)
		},
		Compute: computeODEConvergence,
		Figures: odeConvFigures,
		Report:  odeConvReport,
	})
}

// odeConvProblem is the test problem, two decoupled non-autonomous
// nonlinear equations with closed-form solutions,
//
//	y1' = cos(t)·y1      (y1 = e^{sin t}),
//	y2' = −2t·y2²        (y2 = 1/(1+t²)),
//
// with its Jacobian and ∂f/∂t for Rodas4.
type odeConvProblem struct{}

var (
	_ ode.System      = odeConvProblem{}
	_ ode.Jacobianer  = odeConvProblem{}
	_ ode.TimeDeriver = odeConvProblem{}
)

func (odeConvProblem) Dims() (int, int) { return 2, 0 }

func (odeConvProblem) Eval(dst []float64, t float64, y, _ []float64) {
	dst[0] = math.Cos(t) * y[0]
	dst[1] = -2 * t * y[1] * y[1]
}

func (odeConvProblem) Jacobian(dst *mat.Dense, t float64, y, _ []float64) {
	dst.Set(0, 0, math.Cos(t))
	dst.Set(0, 1, 0)
	dst.Set(1, 0, 0)
	dst.Set(1, 1, -4*t*y[1])
}

func (odeConvProblem) TimeDeriv(dst []float64, t float64, y, _ []float64) {
	dst[0] = -math.Sin(t) * y[0]
	dst[1] = -2 * y[1] * y[1]
}

// odeConvExact is the solution at time t.
func odeConvExact(t float64) []float64 {
	return []float64{math.Exp(math.Sin(t)), 1 / (1 + t*t)}
}

// odeConvOrder returns a solver's theoretical order.
func odeConvOrder(s ode.Solver) int {
	switch s := s.(type) {
	case *ode.Tableau:
		return s.Order
	case *ode.RosenbrockTableau:
		return s.Order
	}
	panic(fmt.Sprintf("ode_convergence: unknown solver type %T", s))
}

// odeConvPoint is one solve: its step size or tolerance, its work and its
// global error at T.
type odeConvPoint struct {
	h, rtol float64
	steps   int
	fevals  int
	err     float64
}

// odeConvFitted is a measured order: the slope, the number of points it
// was fitted over and the first and last step size (or work) used.
type odeConvFitted struct {
	slope  float64
	used   int
	lo, hi float64
}

// odeConvMethod is every solve of one method and its measured orders.
type odeConvMethod struct {
	name     string
	order    int  // theoretical
	adaptive bool // whether it has an error estimate and runs adaptively too
	fixed    []odeConvPoint
	adapt    []odeConvPoint
	// fixedFit is the order against the step size; adaptFit the
	// work-order against 1/(f evaluations).
	fixedFit, adaptFit odeConvFitted
	local              []float64 // local fixed-step slopes, coarsest first
}

// odeConvResult is what computeODEConvergence finds.
type odeConvResult struct {
	ns      []int     // fixed step counts
	rtols   []float64 // adaptive tolerances
	methods []odeConvMethod
}

// odeConvSolve solves the test problem on [0, T] and returns the normwise
// relative global error max|y(T) − exact| / max|exact| and the work.
func odeConvSolve(s ode.Solver, T float64, set *ode.Settings) (odeConvPoint, error) {
	sol, err := ode.Solve(ode.Problem{System: odeConvProblem{}, T0: 0, T1: T, Y0: []float64{1, 1}}, s, set)
	if err != nil {
		return odeConvPoint{}, fmt.Errorf("%v: %w", s, err)
	}
	ex := odeConvExact(T)
	var num, den float64
	for i, y := range sol.Y[len(sol.Y)-1] {
		num = max(num, math.Abs(y-ex[i]))
		den = max(den, math.Abs(ex[i]))
	}
	return odeConvPoint{steps: sol.Stats.Steps, fevals: sol.Stats.FEvals, err: num / den}, nil
}

// odeConvUsable reports whether an error counts in a fit: finite and at
// least the floor.
func odeConvUsable(e, floor float64) bool {
	return e >= floor && e > 0 && !math.IsInf(e, 0) && !math.IsNaN(e)
}

// odeConvFit returns the least-squares slope of log(y) against log(x)
// over the last m points whose y is at least floor, the number of points
// used, and the first and last x used (NaN slope and ends if fewer than 2).
func odeConvFit(x, y []float64, floor float64, m int) (slope float64, used int, lo, hi float64) {
	var lx, ly []float64
	for i := range x {
		if odeConvUsable(y[i], floor) {
			lx, ly = append(lx, math.Log(x[i])), append(ly, math.Log(y[i]))
		}
	}
	if len(lx) > m {
		lx, ly = lx[len(lx)-m:], ly[len(ly)-m:]
	}
	if len(lx) < 2 {
		return math.NaN(), len(lx), math.NaN(), math.NaN()
	}
	_, slope = stat.LinearRegression(lx, ly, nil, false)
	return slope, len(lx), math.Exp(lx[0]), math.Exp(lx[len(lx)-1])
}

// odeConvLocal returns the slopes of log(y) against log(x) between
// successive points whose y is at least floor.
func odeConvLocal(x, y []float64, floor float64) []float64 {
	var out []float64
	for i := 1; i < len(x); i++ {
		if odeConvUsable(y[i-1], floor) && odeConvUsable(y[i], floor) {
			out = append(out, math.Log(y[i]/y[i-1])/math.Log(x[i]/x[i-1]))
		}
	}
	return out
}

// odeConvOrdered returns the configured methods in the order of
// odeConvNames, without repeats.
func odeConvOrdered(methods []string) []string {
	var out []string
	for _, n := range odeConvNames {
		if slices.Contains(methods, n) {
			out = append(out, n)
		}
	}
	return out
}

func computeODEConvergence(env *runner.Env, c odeConvConfig) (*odeConvResult, error) {
	T := c.TEnd
	res := &odeConvResult{}
	for n := c.StepsMin; n <= c.StepsMax; n *= 2 {
		res.ns = append(res.ns, n)
	}
	decades := math.Log10(c.RTolMax / c.RTolMin)
	nr := int(math.Round(decades*float64(c.RTolPerDecade))) + 1
	for i := range nr {
		res.rtols = append(res.rtols, c.RTolMax*math.Pow(10, -float64(i)/float64(c.RTolPerDecade)))
	}
	methods := odeConvOrdered(c.Methods)
	total := len(methods) * (len(res.ns) + len(res.rtols))
	done := 0
	for _, name := range methods {
		s := odeConvSolvers[name]
		mr := odeConvMethod{name: name, order: odeConvOrder(s), adaptive: s.Adaptive()}
		for _, n := range res.ns {
			if err := env.Context().Err(); err != nil {
				return nil, err
			}
			env.Progress(done, total, fmt.Sprintf("%s, %d steps", name, n))
			done++
			h := T / float64(n)
			pt, err := odeConvSolve(s, T, &ode.Settings{Step: h})
			if err != nil {
				return nil, err
			}
			pt.h = h
			mr.fixed = append(mr.fixed, pt)
		}
		hs, es := make([]float64, len(mr.fixed)), make([]float64, len(mr.fixed))
		for i, p := range mr.fixed {
			hs[i], es[i] = p.h, p.err
		}
		f := &mr.fixedFit
		f.slope, f.used, f.lo, f.hi = odeConvFit(hs, es, c.ErrorFloor, c.FitPoints)
		mr.local = odeConvLocal(hs, es, c.ErrorFloor)
		if mr.adaptive {
			for _, rt := range res.rtols {
				if err := env.Context().Err(); err != nil {
					return nil, err
				}
				env.Progress(done, total, fmt.Sprintf("%s, rtol %.2g", name, rt))
				done++
				pt, err := odeConvSolve(s, T, &ode.Settings{RTol: rt, ATol: c.ATolRatio * rt, MaxSteps: 1 << 22})
				if err != nil {
					return nil, err
				}
				pt.rtol = rt
				mr.adapt = append(mr.adapt, pt)
			}
			inv, es := make([]float64, len(mr.adapt)), make([]float64, len(mr.adapt))
			for i, p := range mr.adapt {
				inv[i], es[i] = 1/float64(p.fevals), p.err
			}
			a := &mr.adaptFit
			a.slope, a.used, a.lo, a.hi = odeConvFit(inv, es, c.ErrorFloor, c.FitPointsAdaptive)
			a.lo, a.hi = 1/a.lo, 1/a.hi
		} else {
			done += len(res.rtols)
		}
		res.methods = append(res.methods, mr)
	}
	return res, nil
}

// unstable lists the fixed-step solves whose error exceeds 1 (step
// sizes beyond the stability limit), left out of the figure.
func (r *odeConvResult) unstable() []string {
	var out []string
	for _, mr := range r.methods {
		for _, p := range mr.fixed {
			if !(p.err <= 1) {
				out = append(out, fmt.Sprintf("%s at h = %s (error %s)", mr.name, runner.Num(p.h), runner.Num(p.err)))
			}
		}
	}
	return out
}

// hasAdaptive reports whether any method ran adaptively.
func (r *odeConvResult) hasAdaptive() bool {
	return slices.ContainsFunc(r.methods, func(m odeConvMethod) bool { return m.adaptive })
}

func odeConvFigures(dir runner.Dir, c odeConvConfig, res *odeConvResult) error {
	var fixed []plots.Series
	for _, mr := range res.methods {
		sr := plots.Series{Name: fmt.Sprintf("%s: order %d, measured %.2f", mr.name, mr.order, mr.fixedFit.slope), Points: true}
		for _, p := range mr.fixed {
			if p.err <= 1 { // unstable step sizes have no accuracy at all
				sr.X, sr.Y = append(sr.X, p.h), append(sr.Y, p.err)
			}
		}
		fixed = append(fixed, sr)
	}
	if _, err := plots.Save(dir.Path("error_vs_step.png"), plots.Line{
		Title:  "Fixed steps: global error at T against step size",
		X:      plots.Axis{Label: "step size h", Log: true},
		Y:      plots.Axis{Label: "error", Log: true},
		Series: fixed,
	}, nil); err != nil {
		return err
	}
	if !res.hasAdaptive() {
		return nil
	}
	var work []plots.Series
	for _, mr := range res.methods {
		if !mr.adaptive {
			continue
		}
		sr := plots.Series{Name: fmt.Sprintf("%s: work-order %.2f", mr.name, mr.adaptFit.slope), Points: true}
		for _, p := range mr.adapt {
			sr.X, sr.Y = append(sr.X, float64(p.fevals)), append(sr.Y, p.err)
		}
		work = append(work, sr)
	}
	_, err := plots.Save(dir.Path("error_vs_work.png"), plots.Line{
		Title:  "Adaptive steps: global error against work",
		X:      plots.Axis{Label: "f evaluations", Log: true},
		Y:      plots.Axis{Label: "error", Log: true},
		Series: work,
	}, nil)
	return err
}

func odeConvReport(rep *runner.Report, c odeConvConfig, res *odeConvResult) {
	T := c.TEnd
	rep.Heading("Problem")
	rep.Paraf("Two decoupled, non-autonomous, nonlinear equations with closed-form solutions, "+
		"`y1' = cos(t)·y1` (`y1 = exp(sin t)`) and `y2' = −2t·y2²` (`y2 = 1/(1+t²)`), `y(0) = (1, 1)`, on [0, %g]. "+
		"The global error is the normwise relative error at T, `max_i |y_i(T) − exact_i| / max_i |exact_i|`. "+
		"Rodas4 gets the exact Jacobian and ∂f/∂t. A measured order is the least-squares slope of log(error) "+
		"against log(step size), or against log(1/work) for the adaptive runs, over the %d (adaptive: %d) finest points "+
		"whose error is above %g, below which rounding errors take over.",
		T, c.FitPoints, c.FitPointsAdaptive, c.ErrorFloor)

	rep.Heading("Fixed steps: error against step size")
	ns := res.ns
	rep.Paraf("Each method takes n equal steps on [0, %g] for n = %d, %d, …, %d (`Settings.Step = T/n`); "+
		"the error estimate of the adaptive tableaus is ignored.", T, ns[0], 2*ns[0], ns[len(ns)-1])
	caption := "Global error at T (normwise relative) against the step size, log-log, with each method's theoretical and measured order."
	if u := res.unstable(); len(u) > 0 {
		caption += fmt.Sprintf(" Not shown, errors above 1 (step sizes beyond the stability limit): %s.", strings.Join(u, "; "))
	}
	rep.Figure("error_vs_step.png", caption)
	var floored []string
	smallest := math.Inf(1)
	for _, mr := range res.methods {
		for _, p := range mr.fixed {
			smallest = min(smallest, p.err)
		}
		if last := mr.fixed[len(mr.fixed)-1]; !odeConvUsable(last.err, c.ErrorFloor) {
			floored = append(floored, mr.name)
		}
	}
	rep.Claim(len(floored) == 0,
		fmt.Sprintf("Every method's error at the finest step is above the floor %g: every point is in the asymptotic range or before it.", c.ErrorFloor),
		fmt.Sprintf("At the finest step the error of %s is below the floor %g (the smallest error is %s): rounding, not truncation, sets it there, "+
			"and those points are left out of the fits.", strings.Join(floored, ", "), c.ErrorFloor, runner.Num(smallest)))

	if res.hasAdaptive() {
		rep.Heading("Adaptive steps: error against work")
		rep.Paraf("The adaptive methods (PI controller, automatic initial step) run with rtol from %g down to %g, "+
			"%d values per decade, and atol = %g·rtol. Work is counted in evaluations of f (Rodas4 also forms one "+
			"Jacobian and one LU factorisation per step, not counted here). With error ∝ h^p and work ∝ 1/h, "+
			"the error falls as work^(−p): the measured work-order is minus the slope of the log-log line.",
			c.RTolMax, c.RTolMin, c.RTolPerDecade, c.ATolRatio)
		rep.Figure("error_vs_work.png", "Global error at T (normwise relative) against the number of f evaluations for each adaptive method, one point per rtol, with its measured work-order.")
		rep.Para("Work and error at every whole decade of rtol (cells: f evaluations / global error):")
		header := []string{"rtol"}
		for _, mr := range res.methods {
			if mr.adaptive {
				header = append(header, mr.name)
			}
		}
		wt := rep.Table(header...)
		for i, rt := range res.rtols {
			if i%c.RTolPerDecade != 0 {
				continue
			}
			row := []any{rt}
			for _, mr := range res.methods {
				if mr.adaptive {
					p := mr.adapt[i]
					row = append(row, fmt.Sprintf("%d / %s", p.fevals, runner.Num(p.err)))
				}
			}
			wt.Row(row...)
		}
	}

	rep.Heading("Measured orders")
	rep.Paraf("The fixed-step order is fitted over the %d finest step sizes with error above %g; the adaptive work-order over the "+
		"%d tightest tolerances with error above %g. A fixed-step check passes when |measured − theoretical| ≤ %g, "+
		"an adaptive one when it is within %g: an adaptive run's step sizes vary along the interval and jump a little with rtol, "+
		"so its error-against-work line is noisier than the fixed-step one. The local slopes are those between successive step sizes "+
		"(halving h), from the coarsest to the finest above the floor.",
		c.FitPoints, c.ErrorFloor, c.FitPointsAdaptive, c.ErrorFloor, c.OrderTol, c.WorkOrderTol)
	ot := rep.Table("method", "theoretical order", "fixed step: measured order", "fitted over h", "local slopes", "adaptive: measured work-order", "fitted over f evaluations")
	for _, mr := range res.methods {
		f := mr.fixedFit
		fixedRange := fmt.Sprintf("%d points, %s … %s", f.used, runner.Num(f.lo), runner.Num(f.hi))
		local := "—"
		if len(mr.local) > 0 {
			local = fmt.Sprintf("%.2f → %.2f", mr.local[0], mr.local[len(mr.local)-1])
		}
		adapt, adaptRange := "— (fixed step only)", "—"
		if mr.adaptive {
			a := mr.adaptFit
			adapt = fmt.Sprintf("%.2f", a.slope)
			adaptRange = fmt.Sprintf("%d points, %.0f … %.0f", a.used, a.lo, a.hi)
		}
		ot.Row(mr.name, mr.order, fmt.Sprintf("%.2f", f.slope), fixedRange, local, adapt, adaptRange)
	}
	if i := slices.IndexFunc(res.methods, func(m odeConvMethod) bool { return m.name == "Tsit5" }); i >= 0 && len(res.methods[i].local) > 1 {
		mr := res.methods[i]
		first, last := mr.local[0], mr.local[len(mr.local)-1]
		rep.Paraf("Tsit5's fifth-order error coefficients are minimised by design, so higher-order terms weigh more than usual at large steps: "+
			"its local slope %s from %.2f at the coarsest steps to %.2f at the finest above the floor, and its fitted order, %.2f, "+
			"is %s the theoretical %d by %.2f.",
			runner.Trend(mr.local), first, last, mr.fixedFit.slope, runner.Choose(mr.fixedFit.slope >= float64(mr.order), "above", "below"),
			mr.order, math.Abs(mr.fixedFit.slope-float64(mr.order)))
	}
	for _, mr := range res.methods {
		rep.Metric(mr.name+" fixed-step order", mr.fixedFit.slope)
		if mr.adaptive {
			rep.Metric(mr.name+" adaptive work-order", mr.adaptFit.slope)
		}
	}
	worstOrder := 0.0
	for _, mr := range res.methods {
		worstOrder = max(worstOrder, math.Abs(mr.fixedFit.slope-float64(mr.order)))
	}
	rep.Metric("largest |fixed-step order − theoretical order|", worstOrder)
	for _, mr := range res.methods {
		d := math.Abs(mr.fixedFit.slope - float64(mr.order))
		rep.CheckTrue(fmt.Sprintf("%s fixed-step order within ±%g of %d", mr.name, c.OrderTol, mr.order),
			d <= float64(c.OrderTol), fmt.Sprintf("measured %.2f over %d points", mr.fixedFit.slope, mr.fixedFit.used))
	}
	for _, mr := range res.methods {
		if !mr.adaptive {
			continue
		}
		d := math.Abs(mr.adaptFit.slope - float64(mr.order))
		rep.CheckTrue(fmt.Sprintf("%s adaptive work-order within ±%g of %d", mr.name, c.WorkOrderTol, mr.order),
			d <= float64(c.WorkOrderTol), fmt.Sprintf("measured %.2f over %d points", mr.adaptFit.slope, mr.adaptFit.used))
	}
}
