package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/floats"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/metalearn"
	"github.com/adjointkit/adjointkit/nn"
	"github.com/adjointkit/adjointkit/plots"
)

// unrollLengthConfig is the [params] table of the unroll_length experiment:
// how the meta-gradient of a loss after T inner SGD steps behaves as T grows,
// for several inner learning rates, and how biased truncation is.
type unrollLengthConfig struct {
	LRs         []float64  `toml:"lrs"`          // inner learning rates compared (each 1e-6 to 100)
	Lengths     []int      `toml:"lengths"`      // unroll lengths T, increasing (each 1 to 100000)
	Hidden      int        `toml:"hidden"`       // width of the two tanh layers, 1 to 256
	NTrain      int        `toml:"n_train"`      // training points, 1 to 10000
	NVal        int        `toml:"n_val"`        // validation points, 1 to 10000
	Snapshots   int        `toml:"snapshots"`    // binomial checkpointing snapshots, 1 to 10000
	TruncLength int        `toml:"trunc_length"` // unroll length of the truncation study, 1 to 100000
	Truncations []int      `toml:"truncations"`  // truncation lengths K (each 1 to trunc_length)
	FDLength    int        `toml:"fd_length"`    // unroll length of the finite-difference check, 1 to 10000
	FDTol       runner.Tol `toml:"fd_tol"`       // tolerance of meta-gradient vs finite differences
	TruncTol    runner.Tol `toml:"trunc_tol"`    // tolerance of truncation K = T vs the full meta-gradient (rounding only)
}

// Validate checks every key's range.
func (c unrollLengthConfig) Validate() error {
	errs := []error{
		runner.InRange("hidden", c.Hidden, 1, 256),
		runner.InRange("n_train", c.NTrain, 1, 10000),
		runner.InRange("n_val", c.NVal, 1, 10000),
		runner.InRange("snapshots", c.Snapshots, 1, 10000),
		runner.InRange("trunc_length", c.TruncLength, 1, 100000),
		runner.InRange("fd_length", c.FDLength, 1, 10000),
		runner.InRange("fd_tol", c.FDTol, 0, 1),
		runner.InRange("trunc_tol", c.TruncTol, 0, 1),
	}
	if len(c.LRs) == 0 || len(c.LRs) > 8 {
		errs = append(errs, runner.ParamErrorf("lrs", "must list 1 to 8 learning rates, got %d", len(c.LRs)))
	}
	for _, v := range c.LRs {
		if !(v >= 1e-6 && v <= 100) {
			errs = append(errs, runner.ParamErrorf("lrs", "values must be between 1e-06 and 100, got %v", v))
			break
		}
	}
	if len(c.Lengths) == 0 || !slices.IsSorted(c.Lengths) || c.Lengths[0] < 1 || c.Lengths[len(c.Lengths)-1] > 100000 {
		errs = append(errs, runner.ParamErrorf("lengths", "must be a non-empty increasing list of lengths between 1 and 100000, got %v", c.Lengths))
	}
	if len(c.Truncations) == 0 {
		errs = append(errs, runner.ParamErrorf("truncations", "must list at least one truncation length"))
	}
	for _, k := range c.Truncations {
		if c.TruncLength < 1 || c.TruncLength > 100000 {
			break // checked once trunc_length is valid
		}
		if k < 1 || k > c.TruncLength {
			errs = append(errs, runner.ParamErrorf("truncations", "values must be between 1 and trunc_length = %d, got %d", c.TruncLength, k))
			break
		}
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[unrollLengthConfig, unrollLengthResult]{
		Name:    "unroll_length",
		Theme:   "metalearn",
		Summary: "Meta-gradient norm against unroll length for several inner learning rates: long unrolls make meta-gradients explode, and truncating them biases the gradient.",
		Defaults: func() unrollLengthConfig {
			return unrollLengthConfig{
				LRs: []float64{0.3, 1, 2, 3}, Lengths: []int{1, 2, 5, 10, 20, 50, 100, 200, 1000},
				Hidden: 8, NTrain: 32, NVal: 64, Snapshots: 16,
				TruncLength: 200, Truncations: []int{1, 2, 5, 10, 20, 50, 100, 200},
				FDLength: 10, FDTol: 1e-6, TruncTol: 1e-12,
			}
		},
		Headline: "dL/deta vs central differences (max rel)",
		Quick: func(c *unrollLengthConfig) {
			c.Lengths = slices.DeleteFunc(slices.Clone(c.Lengths), func(n int) bool { return n > 50 })
			if len(c.Lengths) == 0 {
				c.Lengths = []int{1}
			}
			c.TruncLength = min(c.TruncLength, 40)
			c.Truncations = slices.DeleteFunc(slices.Clone(c.Truncations), func(k int) bool { return k > c.TruncLength })
			if len(c.Truncations) == 0 {
				c.Truncations = []int{c.TruncLength}
			}
			c.Hidden = min(c.Hidden, 6)
			c.FDLength = min(c.FDLength, 5)
		},
		Compute: computeUnrollLength,
		Figures: unrollLengthFigures,
		Report:  unrollLengthReport,
	})
}

// unrollLengthProblem is regression of y = (sin 3x + x/2)/2 on x ∈ [−1, 1]
// by a small tanh network with a tanh output, so that the loss stays bounded
// at any learning rate; the meta-loss is the validation MSE after training.
type unrollLengthProblem struct {
	init  []*adjoint.Tensor
	inner metalearn.Objective
	outer func(ps []*adjoint.Var) *adjoint.Var
}

func newUnrollLengthProblem(rng *rand.Rand, c unrollLengthConfig) unrollLengthProblem {
	model := nn.NewSequential([]int{1},
		nn.NewLinear(rng, 1, c.Hidden, nn.GlorotNormal(1)), nn.Tanh(),
		nn.NewLinear(rng, c.Hidden, c.Hidden, nn.GlorotNormal(1)), nn.Tanh(),
		nn.NewLinear(rng, c.Hidden, 1, nn.GlorotNormal(1)), nn.Tanh())
	data := func(n int) (*adjoint.Var, *adjoint.Var) {
		x, y := adjoint.New(n, 1), adjoint.New(n, 1)
		for i := range n {
			x.Data[i] = -1 + 2*rng.Float64()
			y.Data[i] = (math.Sin(3*x.Data[i]) + x.Data[i]/2) / 2
		}
		return adjoint.Const(x), adjoint.Const(y)
	}
	xtr, ytr := data(c.NTrain)
	xva, yva := data(c.NVal)
	return unrollLengthProblem{
		init:  nn.ParamValues(model.Params()),
		inner: func(_ int, ps []*adjoint.Var) *adjoint.Var { return nn.MSE(model.Apply(ps, xtr), ytr) },
		outer: func(ps []*adjoint.Var) *adjoint.Var { return nn.MSE(model.Apply(ps, xva), yva) },
	}
}

// grad returns the meta-gradient of the validation loss after n SGD steps
// with learning rate lr: dL/dη and dL/dθ₀, through the checkpointed engine.
func (p unrollLengthProblem) grad(lr float64, n int, s *metalearn.UnrollSettings) (metalearn.UnrollResult, error) {
	h := metalearn.Hyper{LR: adjoint.Const(adjoint.Scalar(lr))}
	return metalearn.UnrollGrad(metalearn.SGD{}, h, p.init, p.inner, p.outer, n, s)
}

// unrollLengthCell is one (learning rate, length) result.
type unrollLengthCell struct {
	loss, dEta, dTheta float64 // validation loss, |dL/dη|, ‖dL/dθ₀‖
	ok                 bool    // false if the run diverged
}

// unrollLengthTrunc is the truncation study of one learning rate.
type unrollLengthTrunc struct {
	lr     float64
	relErr []float64 // ‖g_K − g‖/‖g‖ for each K of truncations
	cosine []float64 // cos∠(g_K, g)
}

// unrollLengthResult is what computeUnrollLength finds.
type unrollLengthResult struct {
	cells [][]unrollLengthCell // [learning rate][length]
	// profiles holds, for each learning rate, ‖dL/dθ_k‖ for k = 0 … T
	// along the longest unroll; nil where that run diverged.
	profiles     [][]float64
	maxStored    int                 // the most states the engine stored in any run
	trunc        []unrollLengthTrunc // learning rates whose full run at trunc_length did not diverge
	truncFullErr float64             // truncation K = T against the full gradient, largest over the rates
	fdErrs       []float64           // [learning rate] dL/dη vs central differences at fd_length
	seconds      float64             // wall time of every unroll
}

// computeUnrollLength differentiates the validation loss through every
// (learning rate, length) unroll, through truncated unrolls, and by finite
// differences.
func computeUnrollLength(env *runner.Env, c unrollLengthConfig) (*unrollLengthResult, error) {
	p := newUnrollLengthProblem(env.Rand(), c)
	pol := adjoint.Binomial(c.Snapshots)
	start := time.Now()
	res := &unrollLengthResult{cells: make([][]unrollLengthCell, len(c.LRs)), profiles: make([][]float64, len(c.LRs))}
	total := len(c.LRs)*len(c.Lengths) + len(c.LRs) + len(c.LRs)
	done := 0
	step := func(what string) error {
		if err := env.Context().Err(); err != nil {
			return err
		}
		env.Progress(done, total, what)
		done++
		return nil
	}

	// Meta-gradient against unroll length.
	for i, lr := range c.LRs {
		res.cells[i] = make([]unrollLengthCell, len(c.Lengths))
		for j, n := range c.Lengths {
			if err := step(fmt.Sprintf("η = %g, T = %d", lr, n)); err != nil {
				return nil, err
			}
			var prof []float64
			s := &metalearn.UnrollSettings{Policy: pol}
			if j == len(c.Lengths)-1 {
				prof = make([]float64, n+1)
				s.OnAdjoint = func(k int, norm float64) { prof[k] = norm }
			}
			g, err := p.grad(lr, n, s)
			if errors.Is(err, adjoint.ErrNonFinite) {
				continue // diverged: left out
			}
			if err != nil {
				return nil, fmt.Errorf("η = %g, T = %d: %w", lr, n, err)
			}
			res.maxStored = max(res.maxStored, g.Recurrence.PeakStored)
			res.cells[i][j] = unrollLengthCell{loss: g.Loss, dEta: math.Abs(g.HyperGrad[0].Data[0]), dTheta: floats.Norm(flatTensors(g.ParamsGrad), 2), ok: true}
			if prof != nil {
				res.profiles[i] = prof
			}
		}
	}

	// Truncation bias at trunc_length.
	for _, lr := range c.LRs {
		if err := step(fmt.Sprintf("η = %g, truncation", lr)); err != nil {
			return nil, err
		}
		full, err := p.grad(lr, c.TruncLength, &metalearn.UnrollSettings{Policy: pol})
		if errors.Is(err, adjoint.ErrNonFinite) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("η = %g, T = %d: %w", lr, c.TruncLength, err)
		}
		g := append([]float64{full.HyperGrad[0].Data[0]}, flatTensors(full.ParamsGrad)...)
		truncated := func(k int) ([]float64, error) {
			tr, err := p.grad(lr, c.TruncLength, &metalearn.UnrollSettings{Policy: pol, Truncate: k})
			if err != nil {
				return nil, fmt.Errorf("η = %g, T = %d truncated to K = %d: %w", lr, c.TruncLength, k, err)
			}
			return append([]float64{tr.HyperGrad[0].Data[0]}, flatTensors(tr.ParamsGrad)...), nil
		}
		row := unrollLengthTrunc{lr: lr}
		for _, k := range c.Truncations {
			gt, err := truncated(k)
			if err != nil {
				return nil, err
			}
			row.relErr = append(row.relErr, floats.Distance(gt, g, 2)/floats.Norm(g, 2))
			row.cosine = append(row.cosine, floats.Dot(gt, g)/(floats.Norm(gt, 2)*floats.Norm(g, 2)))
		}
		res.trunc = append(res.trunc, row)
		// Truncating at K = T must give the full gradient, whether or not
		// truncations lists T (a -quick run's list does not).
		gt, err := truncated(c.TruncLength)
		if err != nil {
			return nil, err
		}
		res.truncFullErr = max(res.truncFullErr, relErr(gt, g))
	}

	// Finite differences of the whole run for every rate at fd_length.
	// The step shrinks with the gradient, so that it stays within the
	// length scale on which the (possibly chaotic) run is smooth.
	res.fdErrs = make([]float64, len(c.LRs))
	for li, lr := range c.LRs {
		if err := step(fmt.Sprintf("η = %g, finite differences", lr)); err != nil {
			return nil, err
		}
		g, err := p.grad(lr, c.FDLength, nil)
		if err != nil {
			return nil, fmt.Errorf("η = %g, T = %d: %w", lr, c.FDLength, err)
		}
		fdH := 1e-4 / max(1, math.Abs(g.HyperGrad[0].Data[0]))
		var f [4]float64
		for i, d := range []float64{2 * fdH, fdH, -fdH, -2 * fdH} {
			h := metalearn.Hyper{LR: adjoint.Const(adjoint.Scalar(lr + d))}
			ps := make([]*adjoint.Var, len(p.init))
			for i, t := range p.init {
				ps[i] = adjoint.Const(t)
			}
			final, err := metalearn.Unroll(metalearn.SGD{}, h, ps, p.inner, c.FDLength, &metalearn.UnrollSettings{FirstOrder: true})
			if err != nil {
				return nil, fmt.Errorf("η = %g + %g, T = %d: %w", lr, d, c.FDLength, err)
			}
			f[i] = p.outer(final).Item()
		}
		num := (-f[0] + 8*f[1] - 8*f[2] + f[3]) / (12 * fdH)
		res.fdErrs[li] = math.Abs(num-g.HyperGrad[0].Data[0]) / math.Abs(num)
	}
	res.seconds = time.Since(start).Seconds()
	return res, nil
}

func unrollLengthFigures(dir runner.Dir, c unrollLengthConfig, res *unrollLengthResult) error {
	lengths := make([]float64, len(c.Lengths))
	for j, n := range c.Lengths {
		lengths[j] = float64(n)
	}
	var sEta, sTheta, sLoss []plots.Series
	for i, lr := range c.LRs {
		ye, yt, yl := make([]float64, len(c.Lengths)), make([]float64, len(c.Lengths)), make([]float64, len(c.Lengths))
		for j, cell := range res.cells[i] {
			ye[j], yt[j], yl[j] = math.NaN(), math.NaN(), math.NaN()
			if cell.ok {
				ye[j], yt[j], yl[j] = cell.dEta, cell.dTheta, cell.loss
			}
		}
		name := fmt.Sprintf("η = %g", lr)
		sEta = append(sEta, plots.Series{Name: name, X: lengths, Y: ye, Points: true})
		sTheta = append(sTheta, plots.Series{Name: name, X: lengths, Y: yt, Points: true})
		sLoss = append(sLoss, plots.Series{Name: name, X: lengths, Y: yl, Points: true})
	}
	opt := &plots.Options{WidthPx: 720, HeightPx: 420}
	for _, f := range []struct {
		file, title, ylabel string
		series              []plots.Series
	}{
		{"grad_lr.png", "Hypergradient against unroll length", "|dL/dη|", sEta},
		{"grad_init.png", "Meta-gradient w.r.t. the initial weights", "‖dL/dθ₀‖", sTheta},
		{"loss.png", "Validation loss after T steps", "validation MSE", sLoss},
	} {
		if _, err := plots.Save(dir.Path(f.file), plots.Line{
			Title: f.title, X: plots.Axis{Label: "unroll length T", Log: true}, Y: plots.Axis{Label: f.ylabel, Log: true},
			Series: f.series,
		}, opt); err != nil {
			return err
		}
	}
	var sAdj []plots.Series
	for i, prof := range res.profiles {
		ks := make([]float64, len(prof))
		for k := range ks {
			ks[k] = float64(k)
		}
		// A diverged run keeps its legend entry with no line, so colours
		// match the other figures.
		sAdj = append(sAdj, plots.Series{Name: fmt.Sprintf("η = %g", c.LRs[i]), X: ks, Y: prof})
	}
	if _, err := plots.Save(dir.Path("adjoint.png"), plots.Line{
		Title: fmt.Sprintf("Adjoint of the parameters along a %d-step unroll", c.Lengths[len(c.Lengths)-1]), X: plots.Axis{Label: "inner step k"},
		Y: plots.Axis{Label: "‖dL/dθₖ‖", Log: true}, Series: sAdj,
	}, opt); err != nil {
		return err
	}
	var ks []float64 // K < T: K = T is the full gradient
	for _, k := range c.Truncations {
		if k < c.TruncLength {
			ks = append(ks, float64(k))
		}
	}
	var sTr []plots.Series
	for _, row := range res.trunc {
		sTr = append(sTr, plots.Series{Name: fmt.Sprintf("η = %g", row.lr), X: ks, Y: row.relErr[:len(ks)], Points: true, Color: slices.Index(c.LRs, row.lr) + 1})
	}
	_, err := plots.Save(dir.Path("truncation.png"), plots.Line{
		Title: fmt.Sprintf("Truncation bias, T = %d", c.TruncLength), X: plots.Axis{Label: "steps backpropagated K", Log: true},
		Y: plots.Axis{Label: "‖g_K − g‖ / ‖g‖", Log: true}, Series: sTr,
	}, opt)
	return err
}

func unrollLengthReport(rep *runner.Report, c unrollLengthConfig, res *unrollLengthResult) {
	nLast := c.Lengths[len(c.Lengths)-1]
	rep.Heading("Setup")
	rep.Paraf("A 1-%d-%d-1 tanh network with a tanh output (so that the loss stays bounded whatever η) is trained by T steps of full-batch gradient "+
		"descent with learning rate η on %d points of y = (sin 3x + x/2)/2 from a fixed initialisation θ₀; the meta-loss is the validation MSE on %d other points. "+
		"For each η and T the meta-gradients dL/dη and dL/dθ₀ are computed exactly through the whole unroll by `metalearn.UnrollGrad` "+
		"(second order, binomial checkpointing with %d snapshots: at most %d states stored for any T). Runs whose training diverges are left out of the figures.",
		c.Hidden, c.Hidden, c.NTrain, c.NVal, c.Snapshots, res.maxStored)

	rep.Heading("Meta-gradient against unroll length")
	rep.Figure("grad_lr.png", "The hypergradient |dL/dη| for each learning rate as the unroll grows.")
	rep.Figure("grad_init.png", "The norm of the meta-gradient with respect to the initial parameters, ‖dL/dθ₀‖.")
	rep.Figure("loss.png", "The validation loss itself after T steps.")
	rep.Figure("adjoint.png", fmt.Sprintf("‖dL/dθₖ‖ going back along the longest unroll (T = %d), from k = T to k = 0: the backward pass multiplies by (I − η∇²L) at each step, "+
		"which grows the adjoint along directions where η times the curvature exceeds 2 (or the curvature is negative).", nLast))
	var growth []string
	for i, lr := range c.LRs {
		if prof := res.profiles[i]; prof != nil {
			f := prof[0] / prof[len(prof)-1]
			growth = append(growth, fmt.Sprintf("%s by a factor %s for η = %g", runner.Choose(f > 1, "grows", "shrinks"), runner.Num(math.Max(f, 1/f)), lr))
		}
	}
	if len(growth) > 0 {
		rep.Paraf("From k = %d back to k = 0 the adjoint norm %s.", nLast, strings.Join(growth, "; "))
	}

	// Growth of the largest rate's hypergradient over the longer unrolls.
	li := len(c.LRs) - 1
	g0, g1, n0, n1 := math.NaN(), math.NaN(), 0, 0
	lossLo, lossHi := math.Inf(1), math.Inf(-1)
	for j, cell := range res.cells[li] {
		if cell.ok && c.Lengths[j] >= 10 {
			if math.IsNaN(g0) {
				g0, n0 = cell.dEta, c.Lengths[j]
			}
			g1, n1 = cell.dEta, c.Lengths[j]
			lossLo, lossHi = math.Min(lossLo, cell.loss), math.Max(lossHi, cell.loss)
		}
	}
	if n1 > n0 {
		growth := (math.Log10(g1) - math.Log10(g0)) / float64(n1-n0)
		rep.Paraf("With η = %g the hypergradient %s from %s at T = %d to %s at T = %d (%.3g decades per inner step), "+
			"while the validation loss after T steps, bounded by the tanh output, stays between %s and %s over the same lengths: %s",
			c.LRs[li], runner.Choose(g1 > g0, "grows", "does not grow"), runner.Num(g0), n0, runner.Num(g1), n1, growth,
			runner.Num(lossLo), runner.Num(lossHi),
			runner.Choose(g1 >= 1e3*g0,
				"the meta-gradient explodes (by more than three orders of magnitude) although training does not.",
				"at these lengths the meta-gradient does not grow by three orders of magnitude."))
		rep.Metric(fmt.Sprintf("log10 growth per step of |dL/deta|, eta=%g", c.LRs[li]), growth)
	}
	header := []string{"η"}
	for _, n := range c.Lengths {
		header = append(header, fmt.Sprintf("T = %d", n))
	}
	tab := rep.Table(header...)
	for i, lr := range c.LRs {
		row := []any{fmt.Sprintf("%g", lr)}
		for _, cell := range res.cells[i] {
			if cell.ok {
				row = append(row, cell.dEta)
			} else {
				row = append(row, "diverged")
			}
		}
		tab.Row(row...)
	}
	rep.Para("Table: |dL/dη| for each learning rate (rows) and unroll length (columns).")

	rep.Heading("Truncation bias")
	rep.Paraf("Truncated backpropagation differentiates only the last K of T = %d steps (the earlier ones are treated as constants and the gradient "+
		"with respect to θ₀ is passed straight through). The figure shows the relative error of the truncated meta-gradient g_K = (dL/dη, dL/dθ₀) against the full one.", c.TruncLength)
	rep.Figure("truncation.png", "Relative error of the truncated meta-gradient against the number of steps backpropagated, K < T.")
	th := []string{"η"}
	for _, k := range c.Truncations {
		th = append(th, fmt.Sprintf("K = %d", k))
	}
	tt := rep.Table(th...)
	var trends []string
	for _, row := range res.trunc {
		cells := []any{fmt.Sprintf("%g", row.lr)}
		for i := range row.relErr {
			cells = append(cells, fmt.Sprintf("%s (cos %.2f)", runner.Num(row.relErr[i]), row.cosine[i]))
		}
		tt.Row(cells...)
		// The trend over K < T, as in the figure (K = T is exact).
		var e []float64
		for i, k := range c.Truncations {
			if k < c.TruncLength {
				e = append(e, row.relErr[i])
			}
		}
		if n := len(e); n >= 2 {
			trends = append(trends, fmt.Sprintf("%s from %s at K = %d to %s at K = %d for η = %g",
				runner.Trend(e), runner.Num(e[0]), c.Truncations[0], runner.Num(e[n-1]), c.Truncations[n-1], row.lr))
		}
	}
	if len(trends) > 0 {
		rep.Paraf("As K grows towards T the relative error %s.", strings.Join(trends, "; "))
	}

	rep.Heading("Finite-difference check")
	rep.Paraf("dL/dη at T = %d against 4-point central differences of the whole training run, with step h = 10⁻⁴/max(1, |dL/dη|) so that h stays "+
		"inside the region where the run depends smoothly on η.", c.FDLength)
	ft := rep.Table("η", "dL/dη rel. error")
	for i, lr := range c.LRs {
		ft.Row(fmt.Sprintf("%g", lr), res.fdErrs[i])
	}
	for i, lr := range c.LRs {
		if last := res.cells[i][len(c.Lengths)-1]; last.ok {
			rep.Metric(fmt.Sprintf("|dL/deta| at T=%d, eta=%g", nLast, lr), last.dEta)
		}
	}
	rep.Timing("all unrolls", res.seconds)
	rep.Metric("dL/deta vs central differences (max rel)", slices.Max(res.fdErrs))
	rep.Check(fmt.Sprintf("dL/dη vs 4-point central differences of the whole run (T = %d, every η)", c.FDLength), slices.Max(res.fdErrs), c.FDTol)
	rep.Check(fmt.Sprintf("truncation K = T equals the full meta-gradient (T = %d)", c.TruncLength), res.truncFullErr, c.TruncTol)
	rep.CheckTrue(fmt.Sprintf("binomial checkpointing kept at most %d states", c.Snapshots), res.maxStored <= c.Snapshots, fmt.Sprintf("peak %d", res.maxStored))
}
