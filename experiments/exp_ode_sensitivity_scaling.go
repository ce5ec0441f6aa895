package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/stat"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/ode"
	"github.com/adjointkit/adjointkit/physics"
	"github.com/adjointkit/adjointkit/plots"
)

// This file registers the ode_sensitivity_scaling experiment: the cost of
// the gradient of an ODE solution with respect to p parameters, from p ≈ 10
// to p ≈ 10⁴, for a small neural vector field; the adjoint methods cost a
// few forward solves whatever p, forward sensitivities and finite
// differences cost a number proportional to p.

// odeScalConfig is the [params] table of the ode_sensitivity_scaling
// experiment.
type odeScalConfig struct {
	// State is the state dimension n of the vector field.
	State int `toml:"state"`
	// Hidden lists the hidden widths h; each gives p = 2nh + h + n
	// parameters.
	Hidden []int `toml:"hidden"`
	// TEnd is the final time of the solve on [0, T].
	TEnd float64 `toml:"t_end"`
	// RTol and ATol are the tolerances of every solve of the scaling runs.
	RTol float64 `toml:"rtol"`
	ATol float64 `toml:"atol"`
	// ForwardMaxParams and FDMaxParams: forward sensitivities and finite
	// differences, whose cost grows with p, run only up to these p.
	ForwardMaxParams int `toml:"forward_max_params"`
	FDMaxParams      int `toml:"fd_max_params"`
	// MinTime is how long each timing is repeated for at least (the fastest
	// repetition counts); at most MaxReps repetitions are made.
	MinTime time.Duration `toml:"min_time"`
	MaxReps int           `toml:"max_reps"`
	// CheckRTol is the tolerance of the accuracy check at the smallest p,
	// where every method is compared; CheckTol the allowed normwise
	// relative difference.
	CheckRTol float64    `toml:"check_rtol"`
	CheckTol  runner.Tol `toml:"check_tol"`
}

// Validate checks every key's range.
func (c odeScalConfig) Validate() error {
	errs := []error{
		runner.InRange("state", c.State, 1, 64),
		runner.InRange("t_end", c.TEnd, 0.01, 1000.0),
		runner.InRange("rtol", c.RTol, 1e-12, 1e-2),
		runner.InRange("atol", c.ATol, 1e-14, 1e-2),
		runner.InRange("forward_max_params", c.ForwardMaxParams, 0, 1_000_000),
		runner.InRange("fd_max_params", c.FDMaxParams, 0, 1_000_000),
		runner.InRange("min_time", c.MinTime, 0, time.Minute),
		runner.InRange("max_reps", c.MaxReps, 1, 10000),
		runner.InRange("check_rtol", c.CheckRTol, 1e-13, 1e-2),
		runner.InRange("check_tol", c.CheckTol, 0.0, 1.0),
	}
	if len(c.Hidden) == 0 {
		errs = append(errs, runner.ParamErrorf("hidden", "is empty: give at least one hidden width"))
	}
	for i, h := range c.Hidden {
		errs = append(errs, runner.InRange(fmt.Sprintf("hidden[%d]", i), h, 1, 100_000))
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[odeScalConfig, odeScalResult]{
		Name:    "ode_sensitivity_scaling",
		Theme:   "ode",
		Summary: "Cost of an ODE gradient against the number of parameters (10 to 10^4, neural vector field): adjoints stay flat, forward sensitivities and finite differences grow with p.",
		Defaults: func() odeScalConfig {
			return odeScalConfig{
				State: 4, Hidden: []int{1, 3, 10, 30, 100, 300, 1100},
				TEnd: 5, RTol: 1e-6, ATol: 1e-8,
				ForwardMaxParams: 3000, FDMaxParams: 3000,
				MinTime: 100 * time.Millisecond, MaxReps: 200,
				CheckRTol: 1e-10, CheckTol: 1e-6,
			}
		},
		Headline: "largest pairwise difference",
		Quick: func(c *odeScalConfig) {
			small := slices.DeleteFunc(slices.Clone(c.Hidden), func(h int) bool { return h > 30 })
			if len(small) == 0 && len(c.Hidden) > 0 {
				small = []int{slices.Min(c.Hidden)} // keep the file's smallest width
			}
			c.Hidden = small
			c.ForwardMaxParams = min(c.ForwardMaxParams, 300)
			c.FDMaxParams = min(c.FDMaxParams, 100)
			c.MinTime = min(c.MinTime, 5*time.Millisecond)
			c.MaxReps = min(c.MaxReps, 5)
		},
		Compute: computeODESensitivityScaling,
		Figures: odeScalFigures,
		Report:  odeScalReport,
	})
}

// odeScalProblem builds the problem for hidden width h: random weights of
// scale 1/√max(n, h), a fixed initial state, the cost ½‖y(T)‖² … plus
// the target y(T) of a second random field, so that the gradient is not
// dominated by a few parameters.
func odeScalProblem(rng *rand.Rand, c odeScalConfig, h int) (ode.Problem, ode.Cost) {
	sys := physics.NeuralField{N: c.State, H: h}
	_, np := sys.Dims()
	p := make([]float64, np)
	for i := range p {
		p[i] = rng.NormFloat64() / math.Sqrt(float64(max(c.State, h)))
	}
	y0 := make([]float64, c.State)
	target := make([]float64, c.State)
	for i := range y0 {
		y0[i] = 0.5 * math.Cos(1.7*float64(i)+0.3)
		target[i] = 0.3 * math.Sin(1.1*float64(i)+0.5)
	}
	return ode.Problem{System: sys, T0: 0, T1: c.TEnd, Y0: y0, P: p}, ode.Cost{Terminal: ode.SquaredError(target)}
}

// odeScalFD returns central differences of G with respect to p (gonum's
// default step), each G from ode.Evaluate.
func odeScalFD(prob ode.Problem, cost ode.Cost, set *ode.Settings) ([]float64, error) {
	var ferr error
	g := fd.Gradient(nil, func(p []float64) float64 {
		q := prob
		q.P = p
		v, _, err := ode.Evaluate(q, cost, ode.DP5, set)
		if err != nil && ferr == nil {
			ferr = err
		}
		return v
	}, prob.P, &fd.Settings{Formula: fd.Central})
	return g, ferr
}

// odeScalMethod names a gradient method of the scaling runs.
type odeScalMethod struct {
	name string
	m    ode.Sensitivity // nil for finite differences
}

var odeScalMethods = []odeScalMethod{
	{"interpolating adjoint", &ode.Interpolating{}},
	{"discrete adjoint", &ode.Discrete{}},
	{"forward sensitivities", &ode.Forward{}},
	{"finite differences", nil},
}

// odeScalCell is one method's gradient at one p: its best wall time, its
// counted work (both passes) and its difference from the interpolating
// adjoint's gradient. ran is false where p exceeds the method's limit.
type odeScalCell struct {
	ran     bool
	seconds float64
	work    ode.Stats
	diff    float64
}

// odeScalRow is every method at one hidden width.
type odeScalRow struct {
	h, np      int
	solve      float64   // best wall time of a forward solve, s
	solveStats ode.Stats // its work
	cells      []odeScalCell
}

// workRatio is a cell's counted work — f evaluations, VJPs and JVPs —
// over the forward solve's f evaluations.
func (r odeScalRow) workRatio(i int) float64 {
	w := r.cells[i].work
	return float64(w.FEvals+w.VJPs+w.JVPs) / float64(r.solveStats.FEvals)
}

// odeScalResult is what computeODESensitivityScaling finds.
type odeScalResult struct {
	hidden []int // the widths, sorted, without repeats
	// np0 is the smallest p, checkGrads[i] method i's gradient there at
	// tight tolerances and worst the largest pairwise difference.
	np0        int
	checkGrads [][]float64
	worst      float64
	rows       []odeScalRow
}

// params is p for hidden width h.
func (c odeScalConfig) params(h int) int { return 2*c.State*h + h + c.State }

// tight is the settings of the accuracy check at the smallest p.
func (c odeScalConfig) tight() *ode.Settings {
	return &ode.Settings{RTol: c.CheckRTol, ATol: c.CheckRTol * 1e-2}
}

func computeODESensitivityScaling(env *runner.Env, c odeScalConfig) (*odeScalResult, error) {
	ctx := env.Context()
	res := &odeScalResult{hidden: slices.Compact(slices.Sorted(slices.Values(c.Hidden)))}
	set := &ode.Settings{RTol: c.RTol, ATol: c.ATol}
	type problem struct {
		prob ode.Problem
		cost ode.Cost
	}
	probs := make([]problem, len(res.hidden))
	for i, h := range res.hidden {
		probs[i].prob, probs[i].cost = odeScalProblem(env.Rand(), c, h)
	}

	// Accuracy check at the smallest p and tight tolerances.
	prob0, cost0 := probs[0].prob, probs[0].cost
	_, res.np0 = prob0.System.Dims()
	total := 1 + len(res.hidden)*(1+len(odeScalMethods))
	env.Progress(0, total, fmt.Sprintf("accuracy check at p = %d", res.np0))
	for _, m := range odeScalMethods {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var g []float64
		if m.m == nil {
			fg, err := odeScalFD(prob0, cost0, c.tight())
			if err != nil {
				return nil, fmt.Errorf("finite differences, p = %d: %w", res.np0, err)
			}
			g = fg
		} else {
			r, err := ode.Gradient(prob0, cost0, ode.DP5, m.m, c.tight())
			if err != nil {
				return nil, fmt.Errorf("%s, p = %d: %w", m.name, res.np0, err)
			}
			g = r.DP
		}
		res.checkGrads = append(res.checkGrads, g)
	}
	for _, a := range res.checkGrads {
		for _, b := range res.checkGrads {
			res.worst = max(res.worst, relErr(a, b))
		}
	}

	// The scaling runs.
	step := 1
	for hi, h := range res.hidden {
		prob, cost := probs[hi].prob, probs[hi].cost
		_, np := prob.System.Dims()
		rw := odeScalRow{h: h, np: np}
		env.Progress(step, total, fmt.Sprintf("p = %d, forward solve", np))
		step++
		var solveErr error
		sec, err := bestTime(ctx, c.MinTime, c.MaxReps, func() error {
			_, st, err := ode.Evaluate(prob, cost, ode.DP5, set)
			rw.solveStats = st
			solveErr = err
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("p = %d, forward solve: %w", np, errors.Join(err, solveErr))
		}
		rw.solve = sec
		var ref []float64
		for _, m := range odeScalMethods {
			env.Progress(step, total, fmt.Sprintf("p = %d, %s", np, m.name))
			step++
			var cl odeScalCell
			limit := math.MaxInt
			switch m.name {
			case "forward sensitivities":
				limit = c.ForwardMaxParams
			case "finite differences":
				limit = c.FDMaxParams
			}
			if np > limit {
				rw.cells = append(rw.cells, cl)
				continue
			}
			var g []float64
			if m.m == nil {
				sec, err = bestTime(ctx, c.MinTime, c.MaxReps, func() error {
					var err error
					g, err = odeScalFD(prob, cost, set)
					return err
				})
				cl.work.FEvals = 2 * np * rw.solveStats.FEvals // every perturbed solve takes about as many
			} else {
				sec, err = bestTime(ctx, c.MinTime, c.MaxReps, func() error {
					r, err := ode.Gradient(prob, cost, ode.DP5, m.m, set)
					if err == nil {
						g = r.DP
						f, b := r.Forward, r.Backward
						cl.work = ode.Stats{FEvals: f.FEvals + b.FEvals, VJPs: f.VJPs + b.VJPs, JVPs: f.JVPs + b.JVPs,
							PeakStored: max(f.PeakStored, b.PeakStored)}
					}
					return err
				})
			}
			if err != nil {
				return nil, fmt.Errorf("p = %d, %s: %w", np, m.name, err)
			}
			cl.ran, cl.seconds = true, sec
			if ref == nil {
				ref = g
			}
			cl.diff = relErr(g, ref)
			rw.cells = append(rw.cells, cl)
		}
		res.rows = append(res.rows, rw)
	}
	return res, nil
}

// series returns method i's points (p, y(row)) over the rows where
// it ran.
func (r *odeScalResult) series(i int, y func(odeScalRow) float64) (ps, ys []float64) {
	for _, rw := range r.rows {
		if rw.cells[i].ran {
			ps, ys = append(ps, float64(rw.np)), append(ys, y(rw))
		}
	}
	return ps, ys
}

// exponent returns the least-squares slope of log(work ratio) against
// log p for method i, and whether it ran at two p or more.
func (r *odeScalResult) exponent(i int) (float64, bool) {
	ps, ws := r.series(i, func(rw odeScalRow) float64 { return rw.workRatio(i) })
	if len(ps) < 2 {
		return math.NaN(), false
	}
	lp, lw := make([]float64, len(ps)), make([]float64, len(ps))
	for k := range ps {
		lp[k], lw[k] = math.Log(ps[k]), math.Log(ws[k])
	}
	_, b := stat.LinearRegression(lp, lw, nil, false)
	return b, true
}

// odeScalPower formats a fitted exponent with two decimals, without the
// sign of a value that rounds to zero.
func odeScalPower(e float64) string {
	if math.Abs(e) < 0.005 {
		e = 0
	}
	return fmt.Sprintf("%.2f", e)
}

func odeScalFigures(dir runner.Dir, c odeScalConfig, res *odeScalResult) error {
	var csv strings.Builder
	csv.WriteString("hidden,params,method,seconds,seconds_over_solve\n")
	for _, rw := range res.rows {
		fmt.Fprintf(&csv, "%d,%d,forward solve,%.6g,1\n", rw.h, rw.np, rw.solve)
		for i, m := range odeScalMethods {
			if cl := rw.cells[i]; cl.ran {
				fmt.Fprintf(&csv, "%d,%d,%s,%.6g,%.6g\n", rw.h, rw.np, m.name, cl.seconds, cl.seconds/rw.solve)
			}
		}
	}
	if err := os.WriteFile(dir.Path("timings.csv"), []byte(csv.String()), 0o644); err != nil {
		return err
	}

	var timeSeries, workSeries []plots.Series
	for i, m := range odeScalMethods {
		ps, ts := res.series(i, func(rw odeScalRow) float64 { return rw.cells[i].seconds / rw.solve })
		timeSeries = append(timeSeries, plots.Series{Name: m.name, X: ps, Y: ts, Points: true})
		ps, ws := res.series(i, func(rw odeScalRow) float64 { return rw.workRatio(i) })
		name := m.name
		if e, ok := res.exponent(i); ok {
			name = fmt.Sprintf("%s (∝ p^{%s})", m.name, odeScalPower(e))
		}
		workSeries = append(workSeries, plots.Series{Name: name, X: ps, Y: ws, Points: true})
	}
	// A guide of slope 1 (work ∝ p) through the first point of forward
	// sensitivities, where they ran at two p or more.
	if ps, ws := res.series(2, func(rw odeScalRow) float64 { return rw.workRatio(2) }); len(ps) > 1 {
		pMax := float64(res.rows[len(res.rows)-1].np)
		workSeries = append(workSeries, plots.Series{Name: "∝ p", X: []float64{ps[0], pMax}, Y: []float64{ws[0], ws[0] * pMax / ps[0]}, Reference: true, Dash: plots.Dashed})
	}
	if _, err := plots.Save(dir.Path("time_vs_params.png"), plots.Line{
		Title:  "Gradient time / forward solve time",
		X:      plots.Axis{Label: "parameters p", Log: true},
		Y:      plots.Axis{Label: "time ratio", Log: true},
		Series: timeSeries,
	}, nil); err != nil {
		return err
	}
	_, err := plots.Save(dir.Path("work_vs_params.png"), plots.Line{
		Title:  "(f evaluations + VJPs + JVPs) / forward solve's f evaluations",
		X:      plots.Axis{Label: "parameters p", Log: true},
		Y:      plots.Axis{Label: "work ratio", Log: true},
		Series: workSeries,
	}, nil)
	return err
}

func odeScalReport(rep *runner.Report, c odeScalConfig, res *odeScalResult) {
	hidden := res.hidden
	rep.Heading("Problem")
	rep.Paraf("A neural vector field `y' = W2·tanh(W1·y + b1) + b2` with state dimension n = %d and h hidden units has "+
		"p = 2nh + h + n parameters; h = %v gives p from %d to %d. The weights are random (standard normal over √max(n, h)), "+
		"y(0) is fixed, the cost is `G = ½‖y(T) − y*‖²` for a fixed target y*, T = %g, and every solve is DP5 at rtol %g, "+
		"atol %g. The gradient dG/dp is computed by the interpolating adjoint, the discrete adjoint (`StoreAll`), forward "+
		"sensitivities (the tangent-linear system, p + n directions) and central finite differences (2p solves, gonum's "+
		"`fd.Gradient`). Forward sensitivities run only for p ≤ %d and finite differences for p ≤ %d (`forward_max_params`, "+
		"`fd_max_params`): beyond, their cost, which grows with p, would exceed the time budget of the default suite.",
		c.State, hidden, c.params(hidden[0]), c.params(hidden[len(hidden)-1]),
		c.TEnd, c.RTol, c.ATol, c.ForwardMaxParams, c.FDMaxParams)

	rep.Heading("Accuracy at the smallest p")
	rep.Paraf("At p = %d every method computes dG/dp with every solve at rtol %g (atol %g). The table gives the normwise "+
		"relative difference max|g − g_ref| / max|g_ref| between each pair. Forward sensitivities and the two adjoints "+
		"approximate the exact gradient to about the solve tolerance. Central differences with gonum's step (about 6e-6) have a "+
		"truncation error of order step² ≈ 4e-11; the error of the solves is amplified by 1/step but largely cancels, because "+
		"the perturbed and unperturbed solves take nearly the same steps. A wrong gradient (a missing term, a wrong sign, a "+
		"mis-indexed parameter) would differ by orders of magnitude more than either source of error.", res.np0, c.CheckRTol, c.tight().ATol)
	hdr := []string{"method"}
	for _, m := range odeScalMethods {
		hdr = append(hdr, "vs "+m.name)
	}
	ct := rep.Table(hdr...)
	for i, a := range odeScalMethods {
		row := []any{a.name}
		for j := range odeScalMethods {
			row = append(row, relErr(res.checkGrads[i], res.checkGrads[j]))
		}
		ct.Row(row...)
	}
	rep.Paraf("The largest pairwise difference is %s, %s the tolerance %s.",
		runner.Num(res.worst), runner.Compare(res.worst, float64(c.CheckTol)), runner.Num(float64(c.CheckTol)))
	rep.Metric(fmt.Sprintf("p=%d largest pairwise difference", res.np0), res.worst)
	rep.Metric("largest pairwise difference", res.worst)

	rep.Heading("Cost against the number of parameters")
	rep.Paraf("Each time is the fastest of repeated runs (at least %v or %d runs) divided by the fastest forward solve "+
		"(`ode.Evaluate`) of the same problem. The measured times are in the Timings section and, at full precision, in "+
		"`timings.csv`; they are kept out of the text and the tables so that the rest of the report is the same on every run.",
		c.MinTime, c.MaxReps)
	rep.Figure("time_vs_params.png", "Wall time of one gradient divided by the wall time of one forward solve, against p (log-log), as measured in this run. "+
		"An adjoint gradient is one backward solve of n + p variables whose vector field is one VJP (about two evaluations of f); forward "+
		"sensitivities integrate p + n tangent directions and finite differences make 2p solves.")
	rep.Figure("work_vs_params.png", "The same comparison in counted work, which does not depend on the machine: evaluations "+
		"of f, VJPs and JVPs of all passes over the forward solve's f evaluations (finite differences: 2p times the forward "+
		"solve's count, the perturbed solves taking about as many steps), with each method's fitted power of p and a guide ∝ p.")
	rep.Figure("timings.csv", "Every measured time (seconds), one row per (p, method).")

	rep.Paraf("Counted work (deterministic). *f*, *VJP* and *JVP* sum both passes of a gradient; *steps* of the forward "+
		"solve; *peak stored* counts state-length vectors held for later use; *diff* is the normwise relative difference of dG/dp "+
		"from the interpolating adjoint's (at rtol %g: the methods differ by the solve tolerance).", c.RTol)
	wt := rep.Table("p", "forward solve: steps / f", "interpolating: f / VJP / peak stored", "discrete: f / VJP / peak stored",
		"forward sensitivities: f / JVP", "finite differences: solves", "diff discrete", "diff forward", "diff finite differences")
	for _, rw := range res.rows {
		ip, dc, fw, fdc := rw.cells[0], rw.cells[1], rw.cells[2], rw.cells[3]
		fwS, fdS, dFw, dFd := "— (too costly)", "— (too costly)", "—", "—"
		if fw.ran {
			fwS = fmt.Sprintf("%d / %d", fw.work.FEvals, fw.work.JVPs)
			dFw = runner.Num(fw.diff)
		}
		if fdc.ran {
			fdS = fmt.Sprintf("%d", 2*rw.np)
			dFd = runner.Num(fdc.diff)
		}
		wt.Row(rw.np, fmt.Sprintf("%d / %d", rw.solveStats.Steps, rw.solveStats.FEvals),
			fmt.Sprintf("%d / %d / %d", ip.work.FEvals, ip.work.VJPs, ip.work.PeakStored),
			fmt.Sprintf("%d / %d / %d", dc.work.FEvals, dc.work.VJPs, dc.work.PeakStored),
			fwS, fdS, runner.Num(dc.diff), dFw, dFd)
		for i, cl := range rw.cells {
			if cl.ran {
				rep.Metric(fmt.Sprintf("p=%d %s work ratio", rw.np, odeScalMethods[i].name), rw.workRatio(i))
			}
		}
		rep.Timing(fmt.Sprintf("p = %d, forward solve", rw.np), rw.solve)
		for i, cl := range rw.cells {
			if cl.ran {
				rep.Timing(fmt.Sprintf("p = %d, %s (%.3g × forward solve)", rw.np, odeScalMethods[i].name, cl.seconds/rw.solve), cl.seconds)
			}
		}
	}

	// Summary in counted work (deterministic).
	var parts []string
	for i, m := range odeScalMethods {
		ps, ws := res.series(i, func(rw odeScalRow) float64 { return rw.workRatio(i) })
		if len(ps) == 0 {
			continue
		}
		part := fmt.Sprintf("%s %s–%s forward solves (p = %g to %g)", m.name, runner.Num(slices.Min(ws)), runner.Num(slices.Max(ws)), ps[0], ps[len(ps)-1])
		if e, ok := res.exponent(i); ok {
			part += fmt.Sprintf(", a fitted power p^%s", odeScalPower(e))
		}
		parts = append(parts, part)
	}
	rep.Paraf("In counted work (a VJP or JVP counted as one evaluation of f), one gradient costs: %s.", strings.Join(parts, "; "))

	rep.Check(fmt.Sprintf("p = %d: adjoints, forward sensitivities and finite differences agree (every pair)", res.np0), res.worst, c.CheckTol)
}
