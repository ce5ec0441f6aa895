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

// hyperLRConfig is the [params] table of the hypergradient_lr experiment:
// a per-step learning-rate schedule for training a small MLP, learnt by
// hypergradient descent through the unrolled training run.
type hyperLRConfig struct {
	InnerSteps int        `toml:"inner_steps"` // training steps unrolled, 1 to 10000
	Hidden     int        `toml:"hidden"`      // width of the two tanh layers, 1 to 256
	NTrain     int        `toml:"n_train"`     // training points, 1 to 10000
	NVal       int        `toml:"n_val"`       // validation points, 1 to 10000
	Noise      float64    `toml:"noise"`       // standard deviation of the target noise, 0 to 10
	InitLR     float64    `toml:"init_lr"`     // initial learning rate of every step
	Momentum   float64    `toml:"momentum"`    // fixed SGD momentum, 0 to 0.99
	MetaIters  int        `toml:"meta_iters"`  // hypergradient steps, 1 to 10000
	MetaLR     float64    `toml:"meta_lr"`     // Adam step size on the schedule
	MaxLR      float64    `toml:"max_lr"`      // the schedule is kept in [0, max_lr]
	Snapshots  int        `toml:"snapshots"`   // binomial checkpointing snapshots, 1 to 10000
	FDSteps    int        `toml:"fd_steps"`    // schedule entries checked by finite differences, 1 to 10000
	FDTol      runner.Tol `toml:"fd_tol"`      // tolerance of hypergradient vs finite differences
	MinGain    runner.Tol `toml:"min_gain"`    // the validation loss must fall by at least this factor, 0 to 1
}

// Validate checks every key's range.
func (c hyperLRConfig) Validate() error {
	return errors.Join(
		runner.InRange("inner_steps", c.InnerSteps, 1, 10000),
		runner.InRange("hidden", c.Hidden, 1, 256),
		runner.InRange("n_train", c.NTrain, 1, 10000),
		runner.InRange("n_val", c.NVal, 1, 10000),
		runner.InRange("noise", c.Noise, 0, 10),
		runner.InRange("init_lr", c.InitLR, 1e-6, 10),
		runner.InRange("momentum", c.Momentum, 0, 0.99),
		runner.InRange("meta_iters", c.MetaIters, 1, 10000),
		runner.InRange("meta_lr", c.MetaLR, 1e-6, 1),
		runner.InRange("max_lr", c.MaxLR, 1e-6, 100),
		runner.InRange("snapshots", c.Snapshots, 1, 10000),
		runner.InRange("fd_steps", c.FDSteps, 1, 10000),
		runner.InRange("fd_tol", c.FDTol, 0, 1),
		runner.InRange("min_gain", c.MinGain, 0, 1),
	)
}

func init() {
	runner.RegisterLegacy(runner.LegacySpec[hyperLRConfig]{
		Name:    "hypergradient_lr",
		Theme:   "metalearn",
		Summary: "A per-step learning-rate schedule for training a small MLP, learnt by hypergradient descent through 100+ unrolled SGD steps; exact hypergradient vs finite differences.",
		Defaults: func() hyperLRConfig {
			return hyperLRConfig{
				InnerSteps: 100, Hidden: 16, NTrain: 32, NVal: 64, Noise: 0.05, InitLR: 0.05, Momentum: 0.5,
				MetaIters: 40, MetaLR: 0.01, MaxLR: 1, Snapshots: 10, FDSteps: 12, FDTol: 1e-6, MinGain: 0.5,
			}
		},
		Quick: func(c *hyperLRConfig) {
			c.InnerSteps = min(c.InnerSteps, 40)
			c.Hidden = min(c.Hidden, 8)
			// 16 meta-steps, not fewer: the learnt schedule must cut the
			// validation loss to min_gain times its initial value, which at
			// this size takes about 10 (6 reach only 0.61, 16 reach 0.36).
			c.MetaIters = min(c.MetaIters, 16)
			c.FDSteps = min(c.FDSteps, 3)
		},
		Run: runHyperLR,
	})
}

// hyperLRProblem is the regression task: y = sin(3x) + x/2 + noise on
// x ∈ [−1, 1].
type hyperLRProblem struct {
	model      *nn.Sequential
	init       []*adjoint.Tensor
	inner      metalearn.Objective
	outer      func(ps []*adjoint.Var) *adjoint.Var
	xval, yval *adjoint.Tensor
	xtr, ytr   *adjoint.Tensor
}

func newHyperLRProblem(r *runner.LegacyRun, c hyperLRConfig) *hyperLRProblem {
	rng := r.Rand()
	model := nn.NewSequential([]int{1},
		nn.NewLinear(rng, 1, c.Hidden, nn.GlorotNormal(1)), nn.Tanh(),
		nn.NewLinear(rng, c.Hidden, c.Hidden, nn.GlorotNormal(1)), nn.Tanh(),
		nn.NewLinear(rng, c.Hidden, 1, nn.GlorotNormal(1)))
	data := func(n int) (*adjoint.Tensor, *adjoint.Tensor) {
		x, y := adjoint.New(n, 1), adjoint.New(n, 1)
		for i := range n {
			x.Data[i] = -1 + 2*rng.Float64()
			y.Data[i] = math.Sin(3*x.Data[i]) + x.Data[i]/2 + c.Noise*rng.NormFloat64()
		}
		return x, y
	}
	p := &hyperLRProblem{model: model, init: nn.ParamValues(model.Params())}
	p.xtr, p.ytr = data(c.NTrain)
	p.xval, p.yval = data(c.NVal)
	xtr, ytr := adjoint.Const(p.xtr), adjoint.Const(p.ytr)
	xva, yva := adjoint.Const(p.xval), adjoint.Const(p.yval)
	p.inner = func(_ int, ps []*adjoint.Var) *adjoint.Var { return nn.MSE(model.Apply(ps, xtr), ytr) }
	p.outer = func(ps []*adjoint.Var) *adjoint.Var { return nn.MSE(model.Apply(ps, xva), yva) }
	return p
}

// hyper returns the hyperparameters with the schedule lr as constants.
func (p *hyperLRProblem) hyper(c hyperLRConfig, lr []float64) metalearn.Hyper {
	return metalearn.Hyper{LR: adjoint.Const(adjoint.FromData(slices.Clone(lr), len(lr))), Schedule: metalearn.PerStep,
		Momentum: adjoint.Const(adjoint.Scalar(c.Momentum))}
}

// valLoss trains with schedule lr (no gradient) and returns the validation
// loss and the training loss at every step.
func (p *hyperLRProblem) valLoss(c hyperLRConfig, lr []float64) (float64, []float64, error) {
	var train []float64
	ps := make([]*adjoint.Var, len(p.init))
	for i, t := range p.init {
		ps[i] = adjoint.Const(t)
	}
	final, err := metalearn.Unroll(metalearn.SGD{}, p.hyper(c, lr), ps, p.inner, len(lr),
		&metalearn.UnrollSettings{FirstOrder: true, OnStep: func(_ int, l float64) { train = append(train, l) }})
	if err != nil {
		return 0, nil, err
	}
	return p.outer(final).Item(), train, nil
}

func runHyperLR(r *runner.LegacyRun, c hyperLRConfig) error {
	rep := r.Report
	p := newHyperLRProblem(r, c)
	n := c.InnerSteps
	lr0 := make([]float64, n)
	for k := range lr0 {
		lr0[k] = c.InitLR
	}
	policy := adjoint.Binomial(c.Snapshots)

	// Verification at the initial schedule: the hypergradient from the
	// checkpointed engine against (a) the recorded graph of the whole run,
	// (b) StoreAll bit for bit, (c) finite differences of the whole run.
	r0, err := metalearn.UnrollGrad(metalearn.SGD{}, p.hyper(c, lr0), p.init, p.inner, p.outer, n, &metalearn.UnrollSettings{Policy: policy})
	if err != nil {
		return err
	}
	rAll, err := metalearn.UnrollGrad(metalearn.SGD{}, p.hyper(c, lr0), p.init, p.inner, p.outer, n, nil)
	if err != nil {
		return err
	}
	bitEqual := slices.Equal(r0.HyperGrad[0].Data, rAll.HyperGrad[0].Data) && slices.Equal(flatTensors(r0.ParamsGrad), flatTensors(rAll.ParamsGrad))
	lrVar := adjoint.Param(adjoint.FromData(slices.Clone(lr0), n))
	h := p.hyper(c, lr0)
	h.LR = lrVar
	ps := make([]*adjoint.Var, len(p.init))
	for i, t := range p.init {
		ps[i] = adjoint.Param(t)
	}
	final, err := metalearn.Unroll(metalearn.SGD{}, h, ps, p.inner, n, nil)
	if err != nil {
		return err
	}
	graphGrad := adjoint.Grad(p.outer(final), lrVar)[0].Data
	graphErr := relErr(r0.HyperGrad[0].Data, graphGrad)

	fdIdx := make([]int, 0, c.FDSteps)
	for i := range c.FDSteps {
		fdIdx = append(fdIdx, i*(n-1)/max(1, c.FDSteps-1))
	}
	fdIdx = slices.Compact(fdIdx)
	var ad, num []float64
	const fdH = 1e-4
	for _, k := range fdIdx {
		at := func(d float64) (float64, error) {
			lr := slices.Clone(lr0)
			lr[k] += d
			v, _, err := p.valLoss(c, lr)
			return v, err
		}
		var f [4]float64
		for i, d := range []float64{2 * fdH, fdH, -fdH, -2 * fdH} {
			if f[i], err = at(d); err != nil {
				return err
			}
		}
		num = append(num, (-f[0]+8*f[1]-8*f[2]+f[3])/(12*fdH))
		ad = append(ad, r0.HyperGrad[0].Data[k])
	}
	fdErr := relErr(ad, num)

	// Hypergradient descent on the schedule.
	var schedules [][]float64
	var metaStart = time.Now()
	res, err := metalearn.OptimizeHyper(metalearn.SGD{}, p.hyper(c, lr0), p.init, p.inner, p.outer, n, &metalearn.HyperOptSettings{
		Iterations: c.MetaIters,
		Optimizer:  nn.NewAdam(c.MetaLR),
		Unroll:     &metalearn.UnrollSettings{Policy: policy},
		Project: func(h []*adjoint.Tensor) {
			for i, v := range h[0].Data {
				h[0].Data[i] = min(max(v, 0), c.MaxLR)
			}
		},
		OnIteration: func(it int, _ metalearn.UnrollResult, h []*adjoint.Tensor) error {
			r.Progress(it, c.MetaIters, "hypergradient step")
			if it == c.MetaIters/4 || it == c.MetaIters/2 {
				schedules = append(schedules, slices.Clone(h[0].Data))
			}
			return r.Context().Err()
		},
	})
	if err != nil {
		return err
	}
	metaSecs := time.Since(metaStart).Seconds()
	learnt := slices.Clone(res.Hyper.LR.Value().Data)
	v0, train0, err := p.valLoss(c, lr0)
	if err != nil {
		return err
	}
	v1, train1, err := p.valLoss(c, learnt)
	if err != nil {
		return err
	}
	// The best constant learning rate on a grid, for comparison.
	bestLR, bestVal := 0.0, math.Inf(1)
	for _, lr := range []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1} {
		if lr > c.MaxLR {
			break
		}
		sched := make([]float64, n)
		for k := range sched {
			sched[k] = lr
		}
		v, _, err := p.valLoss(c, sched)
		if err == nil && v < bestVal {
			bestLR, bestVal = lr, v
		}
	}

	// Figures.
	steps := make([]float64, n)
	for k := range steps {
		steps[k] = float64(k)
	}
	series := []plots.Series{{Name: "initial", X: steps, Y: lr0}}
	for i, s := range schedules {
		it := []int{c.MetaIters / 4, c.MetaIters / 2}[i]
		series = append(series, plots.Series{Name: fmt.Sprintf("after %d meta-steps", it), X: steps, Y: s})
	}
	series = append(series, plots.Series{Name: fmt.Sprintf("learnt (%d meta-steps)", c.MetaIters), X: steps, Y: learnt})
	opt := &plots.Options{WidthPx: 760, HeightPx: 420}
	if _, err := plots.Save(r.Path("schedule.png"), plots.Line{
		Title: "Learning-rate schedule", X: plots.Axis{Label: "training step k"}, Y: plots.Axis{Label: "learning rate ηₖ"},
		Series: series, Legend: plots.Outside,
	}, opt); err != nil {
		return err
	}
	its := make([]float64, len(res.Loss))
	for i := range its {
		its[i] = float64(i)
	}
	if _, err := plots.Save(r.Path("validation.png"), plots.Line{
		Title: "Validation loss after training", X: plots.Axis{Label: "meta-iteration"}, Y: plots.Axis{Label: "validation MSE", Log: true},
		Series: []plots.Series{{Name: "learnt schedule", X: its, Y: res.Loss, Points: true},
			{Name: fmt.Sprintf("best constant η = %g", bestLR), X: []float64{0, its[len(its)-1]}, Y: []float64{bestVal, bestVal}}},
		Legend: plots.TopRight,
	}, &plots.Options{WidthPx: 680, HeightPx: 400}); err != nil {
		return err
	}
	if _, err := plots.Save(r.Path("training.png"), plots.Line{
		Title: "Training loss during the inner run", X: plots.Axis{Label: "training step k"}, Y: plots.Axis{Label: "training MSE", Log: true},
		Series: []plots.Series{{Name: fmt.Sprintf("constant η = %g", c.InitLR), X: steps, Y: train0}, {Name: "learnt schedule", X: steps, Y: train1}},
		Legend: plots.TopRight,
	}, &plots.Options{WidthPx: 680, HeightPx: 400}); err != nil {
		return err
	}

	rep.Heading("Setup")
	rep.Paraf("A 1-%d-%d-1 tanh network is trained by %d steps of full-batch SGD (momentum %g) on %d points of y = sin 3x + x/2 + noise (σ = %g), "+
		"x ∈ [−1, 1], from a fixed initialisation. The learning rate ηₖ of every step is a hyperparameter: the hypergradient dL_val/dη of the "+
		"validation MSE (%d fresh points) through the whole unrolled run is computed by metalearn.UnrollGrad — the adjoint-state engine with "+
		"binomial checkpointing (%d snapshots), each step's VJP differentiating through its inner gradient (second order) — and the schedule is "+
		"updated by Adam (step %g), clipped to [0, %g], for %d meta-iterations, starting from ηₖ = %g.",
		c.Hidden, c.Hidden, n, c.Momentum, c.NTrain, c.Noise, c.NVal, c.Snapshots, c.MetaLR, c.MaxLR, c.MetaIters, c.InitLR)
	rep.Heading("Results")
	rep.Figure("schedule.png", "The learning-rate schedule ηₖ at the start, during and at the end of hypergradient descent.")
	rep.Figure("validation.png", fmt.Sprintf("Validation MSE after the %d-step training run at each meta-iteration, and that of the best constant learning rate on a grid.", n))
	rep.Figure("training.png", "Training MSE along the inner run, with the initial constant rate and with the learnt schedule.")
	tab := rep.Table("schedule", "validation MSE", "final training MSE")
	tab.Row(fmt.Sprintf("constant η = %g (initial)", c.InitLR), v0, train0[n-1])
	tab.Row(fmt.Sprintf("best constant η on a grid (%g)", bestLR), bestVal, "")
	tab.Row("learnt schedule", v1, train1[n-1])
	rep.Heading("Hypergradient checks (initial schedule)")
	ct := rep.Table("comparison", "max rel. error")
	ct.Row(fmt.Sprintf("engine (Binomial(%d)) vs recorded graph of the whole run", c.Snapshots), graphErr)
	ct.Row(fmt.Sprintf("engine vs 4-point central differences (h = %g) of the whole run, %d schedule entries", fdH, len(fdIdx)), fdErr)
	rep.Paraf("The engine ran %d steps with %d step evaluations (%d recomputed) and at most %d stored states; StoreAll stored %d.",
		r0.Recurrence.Steps, r0.Recurrence.Evals, r0.Recurrence.Recomputed(), r0.Recurrence.PeakStored, rAll.Recurrence.PeakStored)

	rep.Metric("validation MSE, initial schedule", v0)
	rep.Metric("validation MSE, learnt schedule", v1)
	rep.Metric("validation MSE, best constant rate", bestVal)
	rep.Metric("hypergradient norm at the initial schedule", flatNorm(r0.HyperGrad[0].Data))
	rep.Timing(fmt.Sprintf("hypergradient descent (%d meta-iterations of %d unrolled steps)", c.MetaIters, n), metaSecs)
	rep.Check("hypergradient: engine vs finite differences of the whole training run", fdErr, c.FDTol)
	rep.Check("hypergradient: checkpointed engine vs recorded graph", graphErr, 1e-10)
	rep.CheckTrue(fmt.Sprintf("Binomial(%d) hypergradient equals StoreAll bit for bit", c.Snapshots), bitEqual, fmt.Sprintf("peak stored %d vs %d", r0.Recurrence.PeakStored, rAll.Recurrence.PeakStored))
	rep.CheckTrue(fmt.Sprintf("validation MSE fell below %g × its initial value", c.MinGain), v1 < float64(c.MinGain)*v0, fmt.Sprintf("%.4g → %.4g", v0, v1))
	return nil
}

// flatTensors concatenates the data of ts.
func flatTensors(ts []*adjoint.Tensor) []float64 {
	var out []float64
	for _, t := range ts {
		out = append(out, t.Data...)
	}
	return out
}

// flatNorm is the Euclidean norm of v.
func flatNorm(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}
