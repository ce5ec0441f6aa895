package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/diff/fd"

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
	runner.RegisterLegacy(runner.LegacySpec[odeScalConfig]{
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
		Run: runODESensitivityScaling,
	})
}

// odeScalProblem builds the problem for hidden width h: random weights of
// scale 1/√max(n, h), a fixed initial state, the cost ½‖y(T)‖² … plus
// the target y(T) of a second random field, so that the gradient is not
// dominated by a few parameters.
func odeScalProblem(r *runner.LegacyRun, c odeScalConfig, h int) (ode.Problem, ode.Cost) {
	sys := physics.NeuralField{N: c.State, H: h}
	_, np := sys.Dims()
	rng := r.Rand()
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

func runODESensitivityScaling(r *runner.LegacyRun, c odeScalConfig) error {
	ctx := r.Context()
	hidden := slices.Clone(c.Hidden)
	slices.Sort(hidden)
	hidden = slices.Compact(hidden)
	set := &ode.Settings{RTol: c.RTol, ATol: c.ATol}

	r.Report.Heading("Problem")
	r.Report.Paraf("A neural vector field `y' = W2·tanh(W1·y + b1) + b2` with state dimension n = %d and h hidden units has "+
		"p = 2nh + h + n parameters; h = %v gives p from %d to %d. The weights are random (standard normal over √max(n, h)), "+
		"y(0) is fixed, the cost is `G = ½‖y(T) − y*‖²` for a fixed target y*, T = %g, and every solve is DP5 at rtol %g, "+
		"atol %g. The gradient dG/dp is computed by the interpolating adjoint, the discrete adjoint (`StoreAll`), forward "+
		"sensitivities (the tangent-linear system, p + n directions) and central finite differences (2p solves, gonum's "+
		"`fd.Gradient`). Forward sensitivities run only for p ≤ %d and finite differences for p ≤ %d (`forward_max_params`, "+
		"`fd_max_params`): beyond, their cost, which grows with p, would exceed the time budget of the default suite.",
		c.State, hidden, 2*c.State*hidden[0]+hidden[0]+c.State, 2*c.State*hidden[len(hidden)-1]+hidden[len(hidden)-1]+c.State,
		c.TEnd, c.RTol, c.ATol, c.ForwardMaxParams, c.FDMaxParams)

	type problem struct {
		prob ode.Problem
		cost ode.Cost
	}
	probs := make([]problem, len(hidden))
	for i, h := range hidden {
		probs[i].prob, probs[i].cost = odeScalProblem(r, c, h)
	}

	// Accuracy check at the smallest p and tight tolerances.
	prob0, cost0 := probs[0].prob, probs[0].cost
	_, np0 := prob0.System.Dims()
	tight := &ode.Settings{RTol: c.CheckRTol, ATol: c.CheckRTol * 1e-2}
	checkGrads := map[string][]float64{}
	for _, m := range odeScalMethods {
		if err := ctx.Err(); err != nil {
			return err
		}
		var g []float64
		if m.m == nil {
			fg, err := odeScalFD(prob0, cost0, tight)
			if err != nil {
				return fmt.Errorf("finite differences, p = %d: %w", np0, err)
			}
			g = fg
		} else {
			res, err := ode.Gradient(prob0, cost0, ode.DP5, m.m, tight)
			if err != nil {
				return fmt.Errorf("%s, p = %d: %w", m.name, np0, err)
			}
			g = res.DP
		}
		checkGrads[m.name] = g
	}
	r.Report.Heading("Accuracy at the smallest p")
	r.Report.Paraf("At p = %d every method computes dG/dp with every solve at rtol %g (atol %g). The table gives the normwise "+
		"relative difference max|g − g_ref| / max|g_ref| between each pair. Forward sensitivities and the two adjoints "+
		"approximate the exact gradient to about the solve tolerance. Central differences with gonum's step (about 6e-6) have a "+
		"truncation error of order step² ≈ 4e-11; the error of the solves is amplified by 1/step but largely cancels, because "+
		"the perturbed and unperturbed solves take nearly the same steps. A tolerance of %g is then far above what either "+
		"source of error can produce, and a wrong gradient (a missing term, a wrong sign, a mis-indexed parameter) fails it "+
		"by orders of magnitude.", np0, c.CheckRTol, tight.ATol, c.CheckTol)
	hdr := []string{"method"}
	for _, m := range odeScalMethods {
		hdr = append(hdr, "vs "+m.name)
	}
	ct := r.Report.Table(hdr...)
	var worst float64
	for _, a := range odeScalMethods {
		row := []any{a.name}
		for _, b := range odeScalMethods {
			e := relErr(checkGrads[a.name], checkGrads[b.name])
			worst = max(worst, e)
			row = append(row, e)
		}
		ct.Row(row...)
	}
	r.Report.Metric(fmt.Sprintf("p=%d largest pairwise difference", np0), worst)

	// The scaling runs.
	type cell struct {
		name    string
		ran     bool
		seconds float64
		work    ode.Stats
		diff    float64 // normwise difference from the interpolating adjoint
	}
	type row struct {
		h, np      int
		solve      float64
		solveStats ode.Stats
		cells      []cell
	}
	var rows []row
	var csv strings.Builder
	csv.WriteString("hidden,params,method,seconds,seconds_over_solve\n")
	total := len(hidden) * (1 + len(odeScalMethods))
	step := 0
	for hi, h := range hidden {
		prob, cost := probs[hi].prob, probs[hi].cost
		_, np := prob.System.Dims()
		var rw row
		rw.h, rw.np = h, np
		r.Progress(step, total, fmt.Sprintf("p = %d, forward solve", np))
		step++
		var solveErr error
		sec, err := bestTime(r.Context(), c.MinTime, c.MaxReps, func() error {
			_, st, err := ode.Evaluate(prob, cost, ode.DP5, set)
			rw.solveStats = st
			solveErr = err
			return err
		})
		if err != nil {
			return fmt.Errorf("p = %d, forward solve: %w", np, errors.Join(err, solveErr))
		}
		rw.solve = sec
		fmt.Fprintf(&csv, "%d,%d,forward solve,%.6g,1\n", h, np, sec)
		r.Report.Timing(fmt.Sprintf("p = %d, forward solve", np), sec)
		var ref []float64
		for _, m := range odeScalMethods {
			r.Progress(step, total, fmt.Sprintf("p = %d, %s", np, m.name))
			step++
			cl := cell{name: m.name}
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
				sec, err = bestTime(r.Context(), c.MinTime, c.MaxReps, func() error {
					var err error
					g, err = odeScalFD(prob, cost, set)
					return err
				})
				cl.work.FEvals = 2 * np * rw.solveStats.FEvals // every perturbed solve takes about as many
			} else {
				sec, err = bestTime(r.Context(), c.MinTime, c.MaxReps, func() error {
					res, err := ode.Gradient(prob, cost, ode.DP5, m.m, set)
					if err == nil {
						g = res.DP
						f, b := res.Forward, res.Backward
						cl.work = ode.Stats{FEvals: f.FEvals + b.FEvals, VJPs: f.VJPs + b.VJPs, JVPs: f.JVPs + b.JVPs,
							PeakStored: max(f.PeakStored, b.PeakStored)}
					}
					return err
				})
			}
			if err != nil {
				return fmt.Errorf("p = %d, %s: %w", np, m.name, err)
			}
			cl.ran, cl.seconds = true, sec
			if ref == nil {
				ref = g
			}
			cl.diff = relErr(g, ref)
			rw.cells = append(rw.cells, cl)
			fmt.Fprintf(&csv, "%d,%d,%s,%.6g,%.6g\n", h, np, m.name, sec, sec/rw.solve)
			r.Report.Timing(fmt.Sprintf("p = %d, %s (%.3g × forward solve)", np, m.name, sec/rw.solve), sec)
		}
		rows = append(rows, rw)
	}
	if err := os.WriteFile(r.Path("timings.csv"), []byte(csv.String()), 0o644); err != nil {
		return err
	}

	// Figures: measured time ratios, and counted work ratios.
	var timeSeries, workSeries []plots.Series
	for mi, m := range odeScalMethods {
		ts := plots.Series{Name: m.name, Points: true}
		ws := plots.Series{Name: m.name, Points: true}
		for _, rw := range rows {
			cl := rw.cells[mi]
			if !cl.ran {
				continue
			}
			ts.X, ts.Y = append(ts.X, float64(rw.np)), append(ts.Y, cl.seconds/rw.solve)
			w := float64(cl.work.FEvals+cl.work.VJPs+cl.work.JVPs) / float64(rw.solveStats.FEvals)
			ws.X, ws.Y = append(ws.X, float64(rw.np)), append(ws.Y, w)
		}
		timeSeries = append(timeSeries, ts)
		workSeries = append(workSeries, ws)
	}
	if _, err := plots.Save(r.Path("time_vs_params.png"), plots.Line{
		Title:  "gradient time / forward solve time",
		X:      plots.Axis{Label: "parameters p", Log: true},
		Y:      plots.Axis{Label: "time ratio", Log: true},
		Series: timeSeries,
		Legend: plots.TopLeft,
	}, nil); err != nil {
		return err
	}
	if _, err := plots.Save(r.Path("work_vs_params.png"), plots.Line{
		Title:  "(f evaluations + VJPs + JVPs) / forward solve's f evaluations",
		X:      plots.Axis{Label: "parameters p", Log: true},
		Y:      plots.Axis{Label: "work ratio", Log: true},
		Series: workSeries,
		Legend: plots.TopLeft,
	}, nil); err != nil {
		return err
	}

	r.Report.Heading("Cost against the number of parameters")
	r.Report.Paraf("Each time is the fastest of repeated runs (at least %v or %d runs) divided by the fastest forward solve "+
		"(`ode.Evaluate`) of the same problem. The measured times are in the Timings section and, at full precision, in "+
		"`timings.csv`; they are kept out of the tables so that the rest of the report is the same on every run.",
		c.MinTime, c.MaxReps)
	r.Report.Figure("time_vs_params.png", "Wall time of one gradient divided by the wall time of one forward solve, against p (log-log). "+
		"The adjoints cost a few forward solves at every p: one backward solve of n + p variables whose vector field is one VJP "+
		"(about two evaluations of f); forward sensitivities integrate p + n tangent directions and finite differences 2p solves, "+
		"so both grow linearly with p.")
	r.Report.Figure("work_vs_params.png", "The same comparison in counted work, which does not depend on the machine: evaluations "+
		"of f, VJPs and JVPs of all passes over the forward solve's f evaluations (finite differences: 2p times the forward "+
		"solve's count, the perturbed solves taking about as many steps).")
	r.Report.Figure("timings.csv", "Every measured time (seconds), one row per (p, method).")

	r.Report.Paraf("Counted work (deterministic). *f*, *VJP* and *JVP* sum both passes of a gradient; *steps* of the forward "+
		"solve; *peak stored* counts state-length vectors held for later use; *diff* is the normwise relative difference of dG/dp "+
		"from the interpolating adjoint's (at rtol %g: the methods differ by the solve tolerance).", c.RTol)
	wt := r.Report.Table("p", "forward solve: steps / f", "interpolating: f / VJP / peak stored", "discrete: f / VJP / peak stored",
		"forward sensitivities: f / JVP", "finite differences: solves", "diff discrete", "diff forward", "diff finite differences")
	for _, rw := range rows {
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
		for _, cl := range rw.cells {
			if cl.ran {
				w := float64(cl.work.FEvals+cl.work.VJPs+cl.work.JVPs) / float64(rw.solveStats.FEvals)
				r.Report.Metric(fmt.Sprintf("p=%d %s work ratio", rw.np, cl.name), w)
			}
		}
	}

	// Summary in counted work (deterministic).
	workRange := func(mi int) (lo, hi float64, pLo, pHi int) {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, rw := range rows {
			cl := rw.cells[mi]
			if !cl.ran {
				continue
			}
			w := float64(cl.work.FEvals+cl.work.VJPs+cl.work.JVPs) / float64(rw.solveStats.FEvals)
			if w < lo {
				lo, pLo = w, rw.np
			}
			if w > hi {
				hi, pHi = w, rw.np
			}
		}
		return lo, hi, pLo, pHi
	}
	iLo, iHi, _, _ := workRange(0)
	dLo, dHi, _, _ := workRange(1)
	summary := fmt.Sprintf("In counted work (a VJP or JVP counted as one evaluation of f), a gradient costs %s–%s forward solves with the interpolating adjoint and %s–%s with the "+
		"discrete adjoint over the whole range of p.", runner.Num(iLo), runner.Num(iHi), runner.Num(dLo), runner.Num(dHi))
	if fLo, fHi, pLo, pHi := workRange(2); !math.IsInf(fLo, 0) {
		summary += fmt.Sprintf(" Forward sensitivities cost %s forward solves at p = %d and %s at p = %d.", runner.Num(fLo), pLo, runner.Num(fHi), pHi)
	}
	if fLo, fHi, pLo, pHi := workRange(3); !math.IsInf(fLo, 0) {
		summary += fmt.Sprintf(" Finite differences cost %s at p = %d and %s at p = %d.", runner.Num(fLo), pLo, runner.Num(fHi), pHi)
	}
	summary += " The measured time ratios (Timings, figure) follow the same pattern, with a somewhat larger constant for the adjoints " +
		"because a VJP costs more than an evaluation of f and the backward solve carries p quadrature variables."
	r.Report.Para(summary)

	r.Report.Check(fmt.Sprintf("p = %d: adjoints, forward sensitivities and finite differences agree (every pair)", np0), worst, c.CheckTol)
	return nil
}
