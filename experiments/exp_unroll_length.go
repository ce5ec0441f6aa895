package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

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
		if k < 1 || k > c.TruncLength {
			errs = append(errs, runner.ParamErrorf("truncations", "values must be between 1 and trunc_length = %d, got %d", c.TruncLength, k))
			break
		}
	}
	return errors.Join(errs...)
}

func init() {
	runner.RegisterLegacy(runner.LegacySpec[unrollLengthConfig]{
		Name:    "unroll_length",
		Theme:   "metalearn",
		Summary: "Meta-gradient norm against unroll length for several inner learning rates: long unrolls make meta-gradients explode, and truncating them biases the gradient.",
		Defaults: func() unrollLengthConfig {
			return unrollLengthConfig{
				LRs: []float64{0.3, 1, 2, 3}, Lengths: []int{1, 2, 5, 10, 20, 50, 100, 200, 1000},
				Hidden: 8, NTrain: 32, NVal: 64, Snapshots: 16,
				TruncLength: 200, Truncations: []int{1, 2, 5, 10, 20, 50, 100, 200},
				FDLength: 10, FDTol: 1e-6,
			}
		},
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
		Run: runUnrollLength,
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

func newUnrollLengthProblem(r *runner.LegacyRun, c unrollLengthConfig) unrollLengthProblem {
	rng := r.Rand()
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

func runUnrollLength(r *runner.LegacyRun, c unrollLengthConfig) error {
	rep := r.Report
	p := newUnrollLengthProblem(r, c)
	pol := adjoint.Binomial(c.Snapshots)
	start := time.Now()

	// Meta-gradient against unroll length.
	cells := make([][]unrollLengthCell, len(c.LRs))
	var adjProfiles [][]float64 // ‖dL/dθ_k‖ against k for the longest unroll
	maxStored := 0
	for i, lr := range c.LRs {
		cells[i] = make([]unrollLengthCell, len(c.Lengths))
		for j, n := range c.Lengths {
			if err := r.Context().Err(); err != nil {
				return err
			}
			r.Progress(i*len(c.Lengths)+j, len(c.LRs)*len(c.Lengths), fmt.Sprintf("η = %g, T = %d", lr, n))
			var prof []float64
			s := &metalearn.UnrollSettings{Policy: pol}
			if j == len(c.Lengths)-1 {
				prof = make([]float64, n+1)
				s.OnAdjoint = func(k int, norm float64) { prof[k] = norm }
			}
			res, err := p.grad(lr, n, s)
			if errors.Is(err, adjoint.ErrNonFinite) {
				if prof != nil {
					adjProfiles = append(adjProfiles, nil)
				}
				continue // diverged: left out
			}
			if err != nil {
				return err
			}
			maxStored = max(maxStored, res.Recurrence.PeakStored)
			cells[i][j] = unrollLengthCell{loss: res.Loss, dEta: math.Abs(res.HyperGrad[0].Data[0]), dTheta: flatNorm(flatTensors(res.ParamsGrad)), ok: true}
			if prof != nil {
				adjProfiles = append(adjProfiles, prof)
			}
		}
	}

	// Truncation bias at trunc_length.
	type truncRow struct {
		lr              float64
		relErr, cosine  []float64
		full, truncated []float64 // dL/dη
	}
	var truncRows []truncRow
	var truncFullErr float64 // truncation K = T against the full gradient
	for _, lr := range c.LRs {
		full, err := p.grad(lr, c.TruncLength, &metalearn.UnrollSettings{Policy: pol})
		if errors.Is(err, adjoint.ErrNonFinite) {
			continue
		}
		if err != nil {
			return err
		}
		g := append([]float64{full.HyperGrad[0].Data[0]}, flatTensors(full.ParamsGrad)...)
		row := truncRow{lr: lr}
		for _, k := range c.Truncations {
			tr, err := p.grad(lr, c.TruncLength, &metalearn.UnrollSettings{Policy: pol, Truncate: k})
			if err != nil {
				return err
			}
			gt := append([]float64{tr.HyperGrad[0].Data[0]}, flatTensors(tr.ParamsGrad)...)
			row.relErr = append(row.relErr, unrollLengthDist(gt, g)/flatNorm(g))
			row.cosine = append(row.cosine, unrollLengthDot(gt, g)/(flatNorm(gt)*flatNorm(g)))
			row.full = append(row.full, g[0])
			row.truncated = append(row.truncated, gt[0])
			if k == c.TruncLength {
				truncFullErr = max(truncFullErr, relErr(gt, g))
			}
		}
		truncRows = append(truncRows, row)
	}

	// Finite differences of the whole run for every rate at fd_length.
	// The step shrinks with the gradient, so that it stays within the
	// length scale on which the (possibly chaotic) run is smooth.
	var fdErr float64
	fdErrs := make([]float64, len(c.LRs))
	for li, lr := range c.LRs {
		res, err := p.grad(lr, c.FDLength, nil)
		if err != nil {
			return fmt.Errorf("η = %g, T = %d: %w", lr, c.FDLength, err)
		}
		fdH := 1e-4 / max(1, math.Abs(res.HyperGrad[0].Data[0]))
		var f [4]float64
		for i, d := range []float64{2 * fdH, fdH, -fdH, -2 * fdH} {
			h := metalearn.Hyper{LR: adjoint.Const(adjoint.Scalar(lr + d))}
			ps := make([]*adjoint.Var, len(p.init))
			for i, t := range p.init {
				ps[i] = adjoint.Const(t)
			}
			final, err := metalearn.Unroll(metalearn.SGD{}, h, ps, p.inner, c.FDLength, &metalearn.UnrollSettings{FirstOrder: true})
			if err != nil {
				return err
			}
			f[i] = p.outer(final).Item()
		}
		num := (-f[0] + 8*f[1] - 8*f[2] + f[3]) / (12 * fdH)
		fdErrs[li] = math.Abs(num-res.HyperGrad[0].Data[0]) / math.Abs(num)
		fdErr = max(fdErr, fdErrs[li])
	}
	secs := time.Since(start).Seconds()

	// Figures.
	lengths := make([]float64, len(c.Lengths))
	for j, n := range c.Lengths {
		lengths[j] = float64(n)
	}
	var sEta, sTheta, sLoss []plots.Series
	for i, lr := range c.LRs {
		ye, yt, yl := make([]float64, len(c.Lengths)), make([]float64, len(c.Lengths)), make([]float64, len(c.Lengths))
		for j, cell := range cells[i] {
			ye[j], yt[j], yl[j] = math.NaN(), math.NaN(), math.NaN()
			if cell.ok {
				ye[j], yt[j], yl[j] = math.Log10(cell.dEta), math.Log10(cell.dTheta), cell.loss
			}
		}
		name := fmt.Sprintf("η = %g", lr)
		sEta = append(sEta, plots.Series{Name: name, X: lengths, Y: ye, Points: true})
		sTheta = append(sTheta, plots.Series{Name: name, X: lengths, Y: yt, Points: true})
		sLoss = append(sLoss, plots.Series{Name: name, X: lengths, Y: yl, Points: true})
	}
	opt := &plots.Options{WidthPx: 720, HeightPx: 420}
	// The meta-gradients span hundreds of decades: their logarithms are
	// plotted on a linear axis.
	for _, f := range []struct {
		file, title, ylabel string
		series              []plots.Series
		logY                bool
	}{
		{"grad_lr.png", "Hypergradient against unroll length", "log₁₀ |dL/dη|", sEta, false},
		{"grad_init.png", "Meta-gradient w.r.t. the initial weights", "log₁₀ ‖dL/dθ₀‖", sTheta, false},
		{"loss.png", "Validation loss after T steps", "validation MSE", sLoss, true},
	} {
		if _, err := plots.Save(r.Path(f.file), plots.Line{
			Title: f.title, X: plots.Axis{Label: "unroll length T", Log: true}, Y: plots.Axis{Label: f.ylabel, Log: f.logY},
			Series: f.series, Legend: plots.Outside,
		}, opt); err != nil {
			return err
		}
	}
	nLast := c.Lengths[len(c.Lengths)-1]
	var sAdj []plots.Series
	for i, prof := range adjProfiles {
		if prof == nil {
			continue
		}
		ks := make([]float64, len(prof))
		ly := make([]float64, len(prof))
		for k := range ks {
			ks[k] = float64(k)
			ly[k] = math.Log10(prof[k])
		}
		sAdj = append(sAdj, plots.Series{Name: fmt.Sprintf("η = %g", c.LRs[i]), X: ks, Y: ly})
	}
	if _, err := plots.Save(r.Path("adjoint.png"), plots.Line{
		Title: fmt.Sprintf("Adjoint of the parameters along a %d-step unroll", nLast), X: plots.Axis{Label: "inner step k"},
		Y: plots.Axis{Label: "log₁₀ ‖dL/dθ‖ at step k"}, Series: sAdj, Legend: plots.Outside,
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
	for _, row := range truncRows {
		sTr = append(sTr, plots.Series{Name: fmt.Sprintf("η = %g", row.lr), X: ks, Y: row.relErr[:len(ks)], Points: true})
	}
	if _, err := plots.Save(r.Path("truncation.png"), plots.Line{
		Title: fmt.Sprintf("Truncation bias, T = %d", c.TruncLength), X: plots.Axis{Label: "steps backpropagated K", Log: true},
		Y: plots.Axis{Label: "‖g_K − g‖ / ‖g‖", Log: true}, Series: sTr, Legend: plots.Outside,
	}, opt); err != nil {
		return err
	}

	// Report.
	rep.Heading("Setup")
	rep.Paraf("A 1-%d-%d-1 tanh network with a tanh output (so that the loss stays bounded whatever η) is trained by T steps of full-batch gradient "+
		"descent with learning rate η on %d points of y = (sin 3x + x/2)/2 from a fixed initialisation θ₀; the meta-loss is the validation MSE on %d other points. For each η and T the meta-gradients dL/dη and dL/dθ₀ are "+
		"computed exactly through the whole unroll by metalearn.UnrollGrad (second order, binomial checkpointing with %d snapshots: at most %d states stored "+
		"for any T). Runs whose training diverges are left out of the figures.",
		c.Hidden, c.Hidden, c.NTrain, c.NVal, c.Snapshots, maxStored)
	rep.Heading("Meta-gradient against unroll length")
	rep.Figure("grad_lr.png", "log₁₀ of the hypergradient |dL/dη| for each learning rate as the unroll grows (T on a log axis).")
	rep.Figure("grad_init.png", "log₁₀ of the meta-gradient norm with respect to the initial parameters.")
	rep.Figure("loss.png", "The validation loss itself: it settles while the meta-gradients of the large learning rates keep growing.")
	rep.Figure("adjoint.png", fmt.Sprintf("log₁₀ ‖dL/dθₖ‖ going back along the longest unroll (T = %d): the backward pass multiplies by (I − η∇²L) at each step, "+
		"which grows the adjoint along directions where η times the curvature exceeds 2 (or the curvature is negative).", nLast))
	// Growth rate of the largest rate's hypergradient over the longer unrolls.
	li := len(c.LRs) - 1
	var growth float64
	var g0, g1, n0, n1 = math.NaN(), math.NaN(), 0, 0
	for j, cell := range cells[li] {
		if cell.ok && c.Lengths[j] >= 10 {
			if math.IsNaN(g0) {
				g0, n0 = cell.dEta, c.Lengths[j]
			}
			g1, n1 = cell.dEta, c.Lengths[j]
		}
	}
	if n1 > n0 {
		growth = (math.Log10(g1) - math.Log10(g0)) / float64(n1-n0)
		rep.Paraf("With η = %g the hypergradient grows from %s at T = %d to %s at T = %d, about %.3g decades per inner step, "+
			"while the validation loss stays bounded (%s at T = %d): the meta-gradient explodes although training does not.",
			c.LRs[li], runner.Num(g0), n0, runner.Num(g1), n1, growth, runner.Num(cells[li][len(c.Lengths)-1].loss), c.Lengths[len(c.Lengths)-1])
		rep.Metric(fmt.Sprintf("log10 growth per step of |dL/deta|, eta=%g", c.LRs[li]), growth)
	}
	header := []string{"η"}
	for _, n := range c.Lengths {
		header = append(header, fmt.Sprintf("T = %d", n))
	}
	tab := rep.Table(header...)
	for i, lr := range c.LRs {
		row := []any{fmt.Sprintf("%g", lr)}
		for _, cell := range cells[i] {
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
	rep.Figure("truncation.png", "Relative error of the truncated meta-gradient against the number of steps backpropagated.")
	th := []string{"η"}
	for _, k := range c.Truncations {
		th = append(th, fmt.Sprintf("K = %d", k))
	}
	tt := rep.Table(th...)
	for _, row := range truncRows {
		cellsRow := []any{fmt.Sprintf("%g", row.lr)}
		for i := range row.relErr {
			cellsRow = append(cellsRow, fmt.Sprintf("%s (cos %.2f)", runner.Num(row.relErr[i]), row.cosine[i]))
		}
		tt.Row(cellsRow...)
	}

	rep.Heading("Finite-difference check")
	rep.Paraf("dL/dη at T = %d against 4-point central differences of the whole training run, with step h = 10⁻⁴/max(1, |dL/dη|) so that h stays "+
		"inside the region where the run depends smoothly on η.", c.FDLength)
	ft := rep.Table("η", "dL/dη rel. error")
	for i, lr := range c.LRs {
		ft.Row(fmt.Sprintf("%g", lr), fdErrs[i])
	}
	for i, lr := range c.LRs {
		last := cells[i][len(c.Lengths)-1]
		if last.ok {
			rep.Metric(fmt.Sprintf("|dL/deta| at T=%d, eta=%g", nLast, lr), last.dEta)
		}
	}
	rep.Timing("all unrolls", secs)
	rep.Check(fmt.Sprintf("dL/dη vs 4-point central differences of the whole run (T = %d, every η)", c.FDLength), fdErr, c.FDTol)
	rep.Check(fmt.Sprintf("truncation K = T equals the full meta-gradient (T = %d)", c.TruncLength), truncFullErr, 1e-12)
	rep.CheckTrue(fmt.Sprintf("binomial checkpointing kept at most %d states", c.Snapshots), maxStored <= c.Snapshots, fmt.Sprintf("peak %d", maxStored))
	return nil
}

// unrollLengthDist is ‖a − b‖.
func unrollLengthDist(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(s)
}

// unrollLengthDot is ⟨a, b⟩.
func unrollLengthDot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
