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

	"gonum.org/v1/gonum/mat"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/plots"
)

// fwdRevConfig is the [params] table of the forward_vs_reverse experiment,
// which times the Jacobian of f(x) = tanh(W x + b), f: R^d → R^k, by forward
// mode (d tangent passes) and by reverse mode (k adjoint passes).
type fwdRevConfig struct {
	// Dims are the input sizes d, each 1 to 100000.
	Dims []int `toml:"dims"`
	// Outputs are the output sizes k, each 1 to 1000.
	Outputs []int `toml:"outputs"`
	// WeightScale sets W's entries to N(0, weight_scale²/d) and b's to
	// N(0, weight_scale²), so that W x + b stays of order one for any d.
	WeightScale float64 `toml:"weight_scale"`
	// FullFwdWork is the largest d²·k (multiply-adds of a forward-mode
	// Jacobian) for which every forward pass is run; above it forward mode
	// runs sample_passes passes and its time is extrapolated to d passes.
	FullFwdWork float64 `toml:"full_fwd_work"`
	// SamplePasses is the number of forward passes run when forward mode is
	// sampled, 1 to 100000.
	SamplePasses int `toml:"sample_passes"`
	// MinTime is how long each timing is repeated for at least (the fastest
	// repetition counts); at most MaxReps repetitions are made.
	MinTime time.Duration `toml:"min_time"`
	// MaxReps bounds the repetitions of one timing, 1 to 1000.
	MaxReps int `toml:"max_reps"`
	// FDDim and FDOutputs are the small size at which both modes are
	// checked against finite differences (and second order) by
	// adjoint.Check.
	FDDim     int `toml:"fd_dim"`
	FDOutputs int `toml:"fd_outputs"`
	// ModeTol is the tolerance of forward vs reverse mode (relative);
	// FDTol that of each mode vs finite differences.
	ModeTol runner.Tol `toml:"mode_tol"`
	FDTol   runner.Tol `toml:"fd_tol"`
}

// Validate checks every key's range.
func (c fwdRevConfig) Validate() error {
	errs := []error{
		runner.InRange("weight_scale", c.WeightScale, 1e-3, 1e3),
		runner.InRange("full_fwd_work", c.FullFwdWork, 1, 1e13),
		runner.InRange("sample_passes", c.SamplePasses, 1, 100000),
		runner.InRange("min_time", c.MinTime, 0, time.Minute),
		runner.InRange("max_reps", c.MaxReps, 1, 1000),
		runner.InRange("fd_dim", c.FDDim, 1, 200),
		runner.InRange("fd_outputs", c.FDOutputs, 1, 200),
		runner.InRange("mode_tol", c.ModeTol, 0, 1),
		runner.InRange("fd_tol", c.FDTol, 0, 1),
	}
	if len(c.Dims) == 0 || len(c.Dims) > 40 {
		errs = append(errs, runner.ParamErrorf("dims", "must list between 1 and 40 sizes, got %d", len(c.Dims)))
	}
	for _, d := range c.Dims {
		if d < 1 || d > 100000 {
			errs = append(errs, runner.ParamErrorf("dims", "every size must be between 1 and 100000, got %d", d))
			break
		}
	}
	if len(c.Outputs) == 0 || len(c.Outputs) > 10 {
		errs = append(errs, runner.ParamErrorf("outputs", "must list between 1 and 10 sizes, got %d", len(c.Outputs)))
	}
	for _, k := range c.Outputs {
		if k < 1 || k > 1000 {
			errs = append(errs, runner.ParamErrorf("outputs", "every size must be between 1 and 1000, got %d", k))
			break
		}
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[fwdRevConfig, fwdRevResult]{
		Name:    "forward_vs_reverse",
		Theme:   "adjoint",
		Summary: "Jacobians of f: Rᵈ → Rᵏ by forward mode (d passes) and reverse mode (k passes): time against d and k, and the crossover at d = k.",
		Defaults: func() fwdRevConfig {
			return fwdRevConfig{
				Dims:         []int{5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000},
				Outputs:      []int{1, 10, 100},
				WeightScale:  1,
				FullFwdWork:  2e9,
				SamplePasses: 500,
				MinTime:      30 * time.Millisecond,
				MaxReps:      50,
				FDDim:        12,
				FDOutputs:    4,
				ModeTol:      1e-12,
				FDTol:        1e-6,
			}
		},
		Headline: "reverse mode vs finite differences (rel)",
		Quick: func(c *fwdRevConfig) {
			small := slices.DeleteFunc(slices.Clone(c.Dims), func(d int) bool { return d > 1000 })
			if len(small) == 0 {
				small = []int{slices.Min(c.Dims)}
			}
			c.Dims = small
			c.FullFwdWork = min(c.FullFwdWork, 2e7)
			c.SamplePasses = min(c.SamplePasses, 50)
			c.MinTime = min(c.MinTime, 2*time.Millisecond)
			c.MaxReps = min(c.MaxReps, 5)
		},
		Compute: computeFwdRev,
		Figures: fwdRevFigures,
		Report:  fwdRevReport,
	})
}

// fwdRevCell is the measurement at one (d, k).
type fwdRevCell struct {
	d, k           int
	fwdPasses      int     // passes actually run by forward mode
	sampled        bool    // forward mode ran fwdPasses < d passes
	fwd, rev, eval float64 // seconds per Jacobian (forward extrapolated if sampled) and per evaluation of f
	err            float64 // forward vs reverse, relative, over the columns compared
}

// fwdRevResult is what computeFwdRev measures: the sizes d and k, sorted
// and without repeats, the cells (cells[i][j] at k = ks[i], d = dims[j]),
// and adjoint.Check at the small size.
type fwdRevResult struct {
	dims, ks []int
	cells    [][]fwdRevCell
	check    adjoint.CheckResult
}

// fwdRevProblem is f(x) = tanh(W x + b) with W k×d and b k×1, x d×1.
type fwdRevProblem struct {
	W, b *adjoint.Var
	x    *adjoint.Tensor
}

// newFwdRevProblem draws W, b and x from rng.
func newFwdRevProblem(rng *rand.Rand, d, k int, scale float64) fwdRevProblem {
	w := adjoint.New(k, d)
	sd := scale / math.Sqrt(float64(d))
	for i := range w.Data {
		w.Data[i] = sd * rng.NormFloat64()
	}
	b := adjoint.New(k, 1)
	for i := range b.Data {
		b.Data[i] = scale * rng.NormFloat64()
	}
	x := adjoint.New(d, 1)
	for i := range x.Data {
		x.Data[i] = rng.NormFloat64()
	}
	return fwdRevProblem{W: adjoint.Const(w), b: adjoint.Const(b), x: x}
}

// f is the function whose Jacobian is taken.
func (p fwdRevProblem) f(x *adjoint.Var) *adjoint.Var {
	return adjoint.Tanh(adjoint.Add(adjoint.MatMul(p.W, x), p.b))
}

// sampledFwd computes columns 0..m-1 of the Jacobian by forward mode on one
// recorded graph, as JacobianFwd does for all d columns.
func (p fwdRevProblem) sampledFwd(m int) *mat.Dense {
	xp := adjoint.Param(p.x)
	y := p.f(xp)
	k, d := y.Size(), p.x.Size()
	dst := mat.NewDense(k, m, nil)
	dir := adjoint.New(d, 1)
	for j := range m {
		dir.Data[j] = 1
		t := adjoint.Tangent(y, []*adjoint.Var{xp}, []*adjoint.Var{adjoint.Const(dir)}, false)
		dst.SetCol(j, t.Value().Data)
		dir.Data[j] = 0
	}
	return dst
}

// fwdRevRelErr is the normwise relative error max|a−b| / max|b| of two
// matrices of the same shape.
func fwdRevRelErr(a, b mat.Matrix) float64 {
	ra, ca := a.Dims()
	x, y := make([]float64, 0, ra*ca), make([]float64, 0, ra*ca)
	for i := range ra {
		for j := range ca {
			x, y = append(x, a.At(i, j)), append(y, b.At(i, j))
		}
	}
	return relErr(x, y)
}

// computeFwdRev measures every (d, k) of the configuration and checks both
// modes against finite differences at a small size.
func computeFwdRev(env *runner.Env, c fwdRevConfig) (*fwdRevResult, error) {
	res := &fwdRevResult{
		dims: slices.Compact(slices.Sorted(slices.Values(c.Dims))),
		ks:   slices.Compact(slices.Sorted(slices.Values(c.Outputs))),
	}
	total, done := len(res.dims)*len(res.ks), 0
	for _, k := range res.ks {
		row := make([]fwdRevCell, 0, len(res.dims))
		for _, d := range res.dims {
			env.Progress(done, total, fmt.Sprintf("d = %d, k = %d", d, k))
			cell, err := measureFwdRev(env, c, d, k)
			if err != nil {
				return nil, err
			}
			row = append(row, cell)
			done++
		}
		res.cells = append(res.cells, row)
	}
	env.Progress(total, total, "finite differences")

	// Small size: both modes against finite differences, and second order.
	fp := newFwdRevProblem(env.Rand(), c.FDDim, c.FDOutputs, c.WeightScale)
	res.check = adjoint.Check(func(xs ...*adjoint.Var) *adjoint.Var { return fp.f(xs[0]) },
		[]*adjoint.Tensor{fp.x}, &adjoint.CheckSettings{Seed: uint64(env.Seed)})
	return res, nil
}

// measureFwdRev times one evaluation of f, the reverse-mode Jacobian and the
// forward-mode Jacobian (or a sample of its passes) at one (d, k), and
// compares the two Jacobians.
func measureFwdRev(env *runner.Env, c fwdRevConfig, d, k int) (fwdRevCell, error) {
	ctx := env.Context()
	p := newFwdRevProblem(env.Rand(), d, k, c.WeightScale)
	cell := fwdRevCell{d: d, k: k, fwdPasses: d}
	var err error
	cell.eval, err = bestTime(ctx, c.MinTime, c.MaxReps, func() error { p.f(adjoint.Const(p.x)); return nil })
	if err != nil {
		return cell, err
	}
	var jr, jf *mat.Dense
	cell.rev, err = bestTime(ctx, c.MinTime, c.MaxReps, func() error { jr = adjoint.JacobianRev(jr, p.f, p.x); return nil })
	if err != nil {
		return cell, err
	}
	if float64(d)*float64(d)*float64(k) <= c.FullFwdWork {
		cell.fwd, err = bestTime(ctx, c.MinTime, c.MaxReps, func() error { jf = adjoint.JacobianFwd(jf, p.f, p.x); return nil })
		if err != nil {
			return cell, err
		}
		cell.err = fwdRevRelErr(jf, jr)
		return cell, nil
	}
	m := min(c.SamplePasses, d)
	cell.fwdPasses, cell.sampled = m, m < d
	var js *mat.Dense
	t, err := bestTime(ctx, c.MinTime, c.MaxReps, func() error { js = p.sampledFwd(m); return nil })
	if err != nil {
		return cell, err
	}
	cell.fwd = t * float64(d) / float64(m)
	cell.err = fwdRevRelErr(js, jr.Slice(0, k, 0, m))
	return cell, nil
}

// column returns pick of every cell at ks[i], in order of d.
func (r *fwdRevResult) column(i int, pick func(fwdRevCell) float64) []float64 {
	v := make([]float64, len(r.dims))
	for j, cl := range r.cells[i] {
		v[j] = pick(cl)
	}
	return v
}

// fitFrom is the index of the first size d of the slope fits: the larger
// half of the sizes, where the fixed cost of a pass (recording the graph,
// allocating) matters least. It is len(dims) if there are fewer than two
// sizes to fit.
func (r *fwdRevResult) fitFrom() int {
	if len(r.dims) < 2 {
		return len(r.dims)
	}
	return min(len(r.dims)/2, len(r.dims)-2)
}

// fitted returns the least-squares slope of log(pick) against log d over
// the fit range at ks[i].
func (r *fwdRevResult) fitted(i int, pick func(fwdRevCell) float64) float64 {
	from := r.fitFrom()
	return logSlope(logs(floatsOf(r.dims[from:])), r.column(i, pick)[from:])
}

// Picks of a cell's times.
var (
	fwdRevFwd   = func(cl fwdRevCell) float64 { return cl.fwd }
	fwdRevRev   = func(cl fwdRevCell) float64 { return cl.rev }
	fwdRevEval  = func(cl fwdRevCell) float64 { return cl.eval }
	fwdRevRatio = func(cl fwdRevCell) float64 { return cl.fwd / cl.rev }
)

func fwdRevFigures(dir runner.Dir, c fwdRevConfig, res *fwdRevResult) error {
	var csv strings.Builder
	csv.WriteString("k,d,forward_passes,forward_passes_run,reverse_passes,forward_s,reverse_s,eval_s,forward_over_reverse\n")
	for _, row := range res.cells {
		for _, cl := range row {
			fmt.Fprintf(&csv, "%d,%d,%d,%d,%d,%.6g,%.6g,%.6g,%.6g\n", cl.k, cl.d, cl.d, cl.fwdPasses, cl.k, cl.fwd, cl.rev, cl.eval, cl.fwd/cl.rev)
		}
	}
	if err := os.WriteFile(dir.Path("timings.csv"), []byte(csv.String()), 0o644); err != nil {
		return err
	}

	k0 := res.ks[0]
	ds := floatsOf(res.dims)
	from := res.fitFrom()
	guides := func(series []plots.Series, slopes ...float64) []plots.Series {
		// A guide of each predicted slope through the fitted part of the
		// series it belongs to.
		for i, p := range slopes {
			if from >= len(ds) {
				break
			}
			series = append(series, slopeGuide(fmt.Sprintf("predicted slope %g", p), p, ds[from:], series[i].Y[from:], []plots.Dash{plots.Dashed, plots.Dotted}[i%2]))
		}
		return series
	}
	opt := &plots.Options{WidthPx: 720, HeightPx: 450}
	if _, err := plots.Save(dir.Path("time_k1.png"), plots.Line{
		Title: fmt.Sprintf("Jacobian of f: R^d → R^%d, wall time", k0),
		X:     plots.Axis{Label: "input size d", Log: true},
		Y:     plots.Axis{Label: "seconds", Log: true},
		Series: guides([]plots.Series{
			{Name: "forward mode (d passes)", X: ds, Y: res.column(0, fwdRevFwd), Points: true},
			{Name: fmt.Sprintf("reverse mode (%s)", runner.Count(k0, "pass", "passes")), X: ds, Y: res.column(0, fwdRevRev), Points: true},
			{Name: "one evaluation of f", X: ds, Y: res.column(0, fwdRevEval), Points: true},
		}, 2, 1),
	}, opt); err != nil {
		return err
	}
	inEvals := func(pick func(fwdRevCell) float64) func(fwdRevCell) float64 {
		return func(cl fwdRevCell) float64 { return pick(cl) / cl.eval }
	}
	if _, err := plots.Save(dir.Path("cost_ratio_k1.png"), plots.Line{
		Title: fmt.Sprintf("Jacobian time in units of one evaluation of f (k = %d)", k0),
		X:     plots.Axis{Label: "input size d", Log: true},
		Y:     plots.Axis{Label: "evaluations of f", Log: true},
		Series: guides([]plots.Series{
			{Name: "forward mode", X: ds, Y: res.column(0, inEvals(fwdRevFwd)), Points: true},
			{Name: "reverse mode", X: ds, Y: res.column(0, inEvals(fwdRevRev)), Points: true},
		}, 1, 0),
	}, opt); err != nil {
		return err
	}
	var rs []plots.Series
	for i, k := range res.ks {
		rs = append(rs, plots.Series{Name: fmt.Sprintf("k = %d", k), X: ds, Y: res.column(i, fwdRevRatio), Points: true})
	}
	rs = append(rs, plots.Series{Name: "equal time", X: []float64{ds[0], ds[len(ds)-1]}, Y: []float64{1, 1}, Reference: true})
	_, err := plots.Save(dir.Path("crossover.png"), plots.Line{
		Title:  "Forward-mode time / reverse-mode time (above 1: reverse mode is faster)",
		X:      plots.Axis{Label: "input size d", Log: true},
		Y:      plots.Axis{Label: "time ratio", Log: true},
		Series: rs,
	}, opt)
	return err
}

// fwdRevList writes sizes as "5, 10 and 20", or "5 … 10000 (11 sizes)"
// when there are more than four.
func fwdRevList(ds []int) string {
	switch n := len(ds); {
	case n == 0:
		return "none"
	case n == 1:
		return fmt.Sprint(ds[0])
	case n > 4:
		return fmt.Sprintf("%d … %d (%d sizes)", ds[0], ds[n-1], n)
	default:
		s := make([]string, n)
		for i, d := range ds {
			s[i] = fmt.Sprint(d)
		}
		return joinAnd(s)
	}
}

// fwdRevFewer says for which d each mode makes fewer passes at k.
func fwdRevFewer(dims []int, k int) string {
	groups := []struct {
		name string
		ds   []int
	}{{name: "forward"}, {name: "equal"}, {name: "reverse"}}
	for _, d := range dims {
		switch {
		case d < k:
			groups[0].ds = append(groups[0].ds, d)
		case d == k:
			groups[1].ds = append(groups[1].ds, d)
		default:
			groups[2].ds = append(groups[2].ds, d)
		}
	}
	var parts []string
	for _, g := range groups {
		switch len(g.ds) {
		case 0:
		case len(dims):
			return g.name + " at every d"
		default:
			parts = append(parts, g.name+" at d = "+fwdRevList(g.ds))
		}
	}
	return strings.Join(parts, "; ")
}

func fwdRevReport(rep *runner.Report, c fwdRevConfig, res *fwdRevResult) {
	dims, ks := res.dims, res.ks
	k0 := ks[0]
	rep.Heading("The function")
	rep.Para("f(x) = tanh(W x + b), x ∈ Rᵈ, W ∈ Rᵏˣᵈ with entries N(0, s²/d), b ∈ Rᵏ with entries N(0, s²), " +
		"so W x + b is of order one for every d. One evaluation costs about k·d multiply-adds; so does one pass of either mode. " +
		"`adjoint.JacobianFwd` makes one forward (tangent) pass per input, d in all, and builds the Jacobian column by column; " +
		"`adjoint.JacobianRev` makes one reverse (adjoint) pass per output, k in all, row by row. " +
		"By pass counts a Jacobian costs about k·d² multiply-adds by forward mode and k²·d by reverse mode, " +
		"so reverse mode should win when k < d and forward mode when k > d; the measurements below show how far that holds.")
	var sampled []string
	for _, row := range res.cells {
		for _, cl := range row {
			if cl.sampled {
				sampled = append(sampled, fmt.Sprintf("(d = %d, k = %d)", cl.d, cl.k))
			}
		}
	}
	if len(sampled) > 0 {
		rep.Paraf("To keep the run short, forward mode was not run in full where d²·k exceeds `full_fwd_work` = %g: at %s "+
			"it ran its first %d passes (columns) on one recorded graph, its time is that of those passes scaled by d / %d, "+
			"and those columns were compared with the reverse-mode Jacobian.",
			c.FullFwdWork, strings.Join(sampled, ", "), c.SamplePasses, c.SamplePasses)
	}
	rep.Paraf("Each time is the fastest of up to %d repetitions run for at least %v. Measured times vary from run to run, so they are "+
		"only in the figures, in `timings.csv` (every time at full precision) and in the Timings section, with the slopes fitted to them "+
		"and the sizes where the measured crossover lies; the rest of the report is the same on every run.", c.MaxReps, c.MinTime)

	from := res.fitFrom()
	rep.Heading("Time against input size")
	if from < len(dims) {
		rep.Figure("time_k1.png", fmt.Sprintf("Wall time of the Jacobian at k = %d and of one evaluation of f, on log-log axes. "+
			"The near-black guide lines have the slopes pass counts predict over d = %s: 2 for forward mode (d passes, each of cost ∝ d), "+
			"1 for reverse mode (%s of cost ∝ d); each is drawn through the middle of the times it is compared with. "+
			"The slopes fitted to the measured times are in the Timings section.",
			k0, fwdRevList(dims[from:]), runner.Count(k0, "pass", "passes")))
		rep.Figure("cost_ratio_k1.png", "The same Jacobian times divided by the time of one evaluation of f. By pass counts, reverse mode costs "+
			"a constant number of evaluations (the cheap-gradient principle) and forward mode a number growing like d: the guide lines have slopes 0 and 1.")
	} else {
		rep.Figure("time_k1.png", fmt.Sprintf("Wall time of the Jacobian at k = %d and of one evaluation of f (one size: no slopes to compare).", k0))
		rep.Figure("cost_ratio_k1.png", "The same Jacobian times divided by the time of one evaluation of f.")
	}

	rep.Heading("The crossover")
	rep.Figure("crossover.png", "Forward-mode time over reverse-mode time for each k: below the line y = 1 forward mode is faster, above it reverse mode. "+
		"Pass counts predict each curve to cross the line near d = k, where the two modes make the same number of passes; "+
		"how near depends on the relative cost of a tangent and an adjoint pass. Where the curves cross is in the Timings section.")
	rep.Figure("timings.csv", "Every measured time (seconds per Jacobian or per evaluation), one row per (k, d).")
	rep.Para("Passes each mode makes, the mode with fewer passes, and the agreement of the two Jacobians " +
		"(normwise relative error, largest over d; over the columns computed where forward mode was sampled):")
	tab := rep.Table("k", "sizes d", "reverse passes", "forward passes", "fewer passes", "forward mode sampled at", "forward vs reverse rel. err")
	worst := make([]float64, len(ks))
	for i, k := range ks {
		var at []int
		for _, cl := range res.cells[i] {
			worst[i] = max(worst[i], cl.err)
			if cl.sampled {
				at = append(at, cl.d)
			}
		}
		sampledAt := "—"
		if len(at) > 0 {
			sampledAt = "d = " + fwdRevList(at)
		}
		tab.Row(k, fwdRevList(dims), k, "d", fwdRevFewer(dims, k), sampledAt, worst[i])
	}

	rep.Heading("Finite differences at a small size")
	rep.Paraf("At d = %d, k = %d, `adjoint.Check` compares both modes with central differences, checks ⟨u, J v⟩ = ⟨Jᵀu, v⟩, "+
		"and compares the Hessian of a random projection ⟨w, f(x)⟩ by reverse-over-reverse, forward-over-reverse and differences of the gradient.", c.FDDim, c.FDOutputs)
	cr := res.check
	ct := rep.Table("comparison", "max abs. error", "max rel. error")
	ct.Row("reverse mode vs finite differences", cr.RevFD.MaxAbs, cr.RevFD.MaxRel)
	ct.Row("forward mode vs finite differences", cr.FwdFD.MaxAbs, cr.FwdFD.MaxRel)
	ct.Row("reverse vs forward mode", cr.RevFwd.MaxAbs, cr.RevFwd.MaxRel)
	ct.Row("duality ⟨u, J v⟩ vs ⟨Jᵀu, v⟩", cr.Duality.MaxAbs, cr.Duality.MaxRel)
	ct.Row("Hessian: reverse-over-reverse vs FD of the gradient", cr.HessFD.MaxAbs, cr.HessFD.MaxRel)
	ct.Row("Hessian: reverse-over-reverse vs forward-over-reverse", cr.HessFwdRev.MaxAbs, cr.HessFwdRev.MaxRel)

	// Metrics: pass counts (deterministic).
	dMax := dims[len(dims)-1]
	for _, k := range ks {
		rep.Metric(fmt.Sprintf("forward passes at d=%d, k=%d", dMax, k), float64(dMax))
		rep.Metric(fmt.Sprintf("reverse passes at d=%d, k=%d", dMax, k), float64(k))
	}

	// Timings: the largest d of each k here, every time in timings.csv.
	for i, k := range ks {
		cl := res.cells[i][len(dims)-1]
		est := ""
		if cl.sampled {
			est = fmt.Sprintf(", extrapolated from %d passes", cl.fwdPasses)
		}
		rep.Timing(fmt.Sprintf("k=%d d=%d: forward Jacobian%s", k, dMax, est), cl.fwd)
		rep.Timing(fmt.Sprintf("k=%d d=%d: reverse Jacobian", k, dMax), cl.rev)
		rep.Timing(fmt.Sprintf("k=%d d=%d: one evaluation of f", k, dMax), cl.eval)
	}
	rep.TimingNote("Times at the largest d are listed above; every (k, d) is in `timings.csv`.")
	if from < len(dims) {
		fs, rs, es := res.fitted(0, fwdRevFwd), res.fitted(0, fwdRevRev), res.fitted(0, fwdRevEval)
		rep.TimingNote(fmt.Sprintf("Slopes of log time against log d at k = %d, fitted by least squares over the larger half of the sizes, d = %s, as the guides of Figure 1 are: "+
			"forward mode %.2f (pass counts predict 2), reverse mode %.2f (predicted 1), one evaluation of f %.2f (predicted 1).",
			k0, fwdRevList(dims[from:]), fs, rs, es))
	}
	var cross []string
	for i, k := range ks {
		var faster []int
		for _, cl := range res.cells[i] {
			if cl.fwd < cl.rev {
				faster = append(faster, cl.d)
			}
		}
		switch len(faster) {
		case 0:
			cross = append(cross, fmt.Sprintf("at k = %d reverse mode was faster at every d", k))
		case len(dims):
			cross = append(cross, fmt.Sprintf("at k = %d forward mode was faster at every d", k))
		default:
			cross = append(cross, fmt.Sprintf("at k = %d forward mode was faster at d = %s and reverse mode at the other sizes", k, fwdRevList(faster)))
		}
	}
	rep.TimingNote("Measured crossover (pass counts predict d = k): " + strings.Join(cross, "; ") + ".")

	rep.Metric("reverse mode vs finite differences (rel)", cr.RevFD.MaxRel)
	// Checks.
	for i, k := range ks {
		rep.Check(fmt.Sprintf("forward = reverse Jacobian at k = %d, every d (%d sizes)", k, len(dims)), worst[i], c.ModeTol)
	}
	rep.Check(fmt.Sprintf("reverse mode vs finite differences (d = %d, k = %d)", c.FDDim, c.FDOutputs), cr.RevFD.MaxRel, c.FDTol)
	rep.Check(fmt.Sprintf("forward mode vs finite differences (d = %d, k = %d)", c.FDDim, c.FDOutputs), cr.FwdFD.MaxRel, c.FDTol)
	rep.Check("duality ⟨u, J v⟩ = ⟨Jᵀu, v⟩", cr.Duality.MaxRel, c.ModeTol)
	rep.CheckTrue("second-order checks ran", cr.SecondOrder, fmt.Sprintf("SecondOrder = %v", cr.SecondOrder))
	rep.Check("Hessian vs finite differences of the gradient", cr.HessFD.MaxRel, c.FDTol)
	rep.Check("Hessian reverse-over-reverse vs forward-over-reverse", cr.HessFwdRev.MaxRel, c.ModeTol)
}
