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
	GraphTol   runner.Tol `toml:"graph_tol"`   // tolerance of the checkpointed engine vs the recorded graph (rounding only)
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
		runner.InRange("graph_tol", c.GraphTol, 0, 1),
		runner.InRange("min_gain", c.MinGain, 0, 1),
	)
}

func init() {
	runner.Register(runner.Spec[hyperLRConfig, hyperLRResult]{
		Name:    "hypergradient_lr",
		Theme:   "metalearn",
		Summary: "A per-step learning-rate schedule for training a small MLP, learnt by hypergradient descent through 100+ unrolled SGD steps; exact hypergradient vs finite differences.",
		Defaults: func() hyperLRConfig {
			return hyperLRConfig{
				InnerSteps: 100, Hidden: 16, NTrain: 32, NVal: 64, Noise: 0.05, InitLR: 0.05, Momentum: 0.5,
				MetaIters: 40, MetaLR: 0.01, MaxLR: 1, Snapshots: 10, FDSteps: 12, FDTol: 1e-6, GraphTol: 1e-10, MinGain: 0.5,
			}
		},
		Quick:   hyperLRQuick,
		Compute: computeHyperLR,
		Figures: hyperLRFigures,
		Report:  hyperLRReport,

		Headline: "validation MSE, learnt schedule",
	})
}

// hyperLRQuick shrinks the run for -quick: fewer unrolled steps,
// meta-steps and finite-difference entries. The check that the learnt
// schedule cuts the validation loss below min_gain = 0.5 times its initial
// value stays, so the quick size must make it hold with a margin for any
// seed. It did not when the quick run also halved the width to 8 and took
// 16 meta-steps: over seeds 1–20 the ratio reached 0.48 (seed 3), 0.505
// (seed 6) and 0.86 (seed 12); a width-8 network sometimes barely improves
// however long the schedule is tuned (seed 12 still 0.48 after 40
// meta-steps). With the default width 16, 40 steps and 24 meta-steps the
// largest ratio over seeds 1–30 is 0.33 (seed 14); the default run's is
// 0.42 over seeds 1–20.
func hyperLRQuick(c *hyperLRConfig) {
	c.InnerSteps = min(c.InnerSteps, 40)
	c.MetaIters = min(c.MetaIters, 24)
	c.FDSteps = min(c.FDSteps, 3)
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

func newHyperLRProblem(rng *rand.Rand, c hyperLRConfig) *hyperLRProblem {
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

// hyperLRSnapshot is the schedule after some meta-steps.
type hyperLRSnapshot struct {
	iteration int
	lr        []float64
}

// hyperLRFDStep is the step of the 4-point central differences.
const hyperLRFDStep = 1e-4

// hyperLRGrid is the grid of constant learning rates compared with the
// learnt schedule (those up to max_lr).
var hyperLRGrid = []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1}

// hyperLRResult is what computeHyperLR finds.
type hyperLRResult struct {
	lr0, learnt []float64         // the initial and the learnt schedule
	snapshots   []hyperLRSnapshot // the schedule at a quarter and half of the meta-steps
	metaLoss    []float64         // validation MSE before each meta-step, and at the end
	v0, v1      float64           // validation MSE with the initial and the learnt schedule
	train0      []float64         // training MSE at every step, initial schedule
	train1      []float64         // the same, learnt schedule
	bestLR      float64           // the best constant rate on hyperLRGrid
	bestVal     float64           // its validation MSE

	// The checks at the initial schedule.
	graphErr  float64                  // checkpointed engine vs the recorded graph, max rel.
	fdErr     float64                  // engine vs central differences, max rel.
	fdEntries int                      // schedule entries checked by finite differences
	bitEqual  bool                     // Binomial equals StoreAll bit for bit
	rec       adjoint.RecurrenceResult // the checkpointed engine's work
	peakAll   int                      // states StoreAll kept
	hyperNorm float64                  // ‖dL/dη‖ at the initial schedule

	metaSeconds float64 // wall time of the hypergradient descent
}

func computeHyperLR(env *runner.Env, c hyperLRConfig) (*hyperLRResult, error) {
	p := newHyperLRProblem(env.Rand(), c)
	n := c.InnerSteps
	res := &hyperLRResult{lr0: make([]float64, n)}
	for k := range res.lr0 {
		res.lr0[k] = c.InitLR
	}
	lr0 := res.lr0
	policy := adjoint.Binomial(c.Snapshots)

	// Verification at the initial schedule: the hypergradient from the
	// checkpointed engine against (a) the recorded graph of the whole run,
	// (b) StoreAll bit for bit, (c) finite differences of the whole run.
	r0, err := metalearn.UnrollGrad(metalearn.SGD{}, p.hyper(c, lr0), p.init, p.inner, p.outer, n, &metalearn.UnrollSettings{Policy: policy})
	if err != nil {
		return nil, fmt.Errorf("hypergradient at the initial schedule: %w", err)
	}
	rAll, err := metalearn.UnrollGrad(metalearn.SGD{}, p.hyper(c, lr0), p.init, p.inner, p.outer, n, nil)
	if err != nil {
		return nil, fmt.Errorf("hypergradient at the initial schedule, StoreAll: %w", err)
	}
	res.rec, res.peakAll = r0.Recurrence, rAll.Recurrence.PeakStored
	res.hyperNorm = floats.Norm(r0.HyperGrad[0].Data, 2)
	res.bitEqual = slices.Equal(r0.HyperGrad[0].Data, rAll.HyperGrad[0].Data) && slices.Equal(flatTensors(r0.ParamsGrad), flatTensors(rAll.ParamsGrad))
	lrVar := adjoint.Param(adjoint.FromData(slices.Clone(lr0), n))
	h := p.hyper(c, lr0)
	h.LR = lrVar
	ps := make([]*adjoint.Var, len(p.init))
	for i, t := range p.init {
		ps[i] = adjoint.Param(t)
	}
	final, err := metalearn.Unroll(metalearn.SGD{}, h, ps, p.inner, n, nil)
	if err != nil {
		return nil, fmt.Errorf("recorded graph of the initial run: %w", err)
	}
	res.graphErr = relErr(r0.HyperGrad[0].Data, adjoint.Grad(p.outer(final), lrVar)[0].Data)

	var fdIdx []int
	for i := range c.FDSteps {
		fdIdx = append(fdIdx, i*(n-1)/max(1, c.FDSteps-1))
	}
	fdIdx = slices.Compact(fdIdx)
	res.fdEntries = len(fdIdx)
	var ad, num []float64
	for _, k := range fdIdx {
		var f [4]float64
		for i, d := range []float64{2 * hyperLRFDStep, hyperLRFDStep, -hyperLRFDStep, -2 * hyperLRFDStep} {
			lr := slices.Clone(lr0)
			lr[k] += d
			if f[i], _, err = p.valLoss(c, lr); err != nil {
				return nil, fmt.Errorf("finite differences at schedule entry %d: %w", k, err)
			}
		}
		num = append(num, (-f[0]+8*f[1]-8*f[2]+f[3])/(12*hyperLRFDStep))
		ad = append(ad, r0.HyperGrad[0].Data[k])
	}
	res.fdErr = relErr(ad, num)

	// Hypergradient descent on the schedule.
	metaStart := time.Now()
	opt, err := metalearn.OptimizeHyper(metalearn.SGD{}, p.hyper(c, lr0), p.init, p.inner, p.outer, n, &metalearn.HyperOptSettings{
		Iterations: c.MetaIters,
		Optimizer:  nn.NewAdam(c.MetaLR),
		Unroll:     &metalearn.UnrollSettings{Policy: policy},
		Project: func(h []*adjoint.Tensor) {
			for i, v := range h[0].Data {
				h[0].Data[i] = min(max(v, 0), c.MaxLR)
			}
		},
		OnIteration: func(it int, _ metalearn.UnrollResult, h []*adjoint.Tensor) error {
			env.Progress(it, c.MetaIters, "hypergradient step")
			if it == c.MetaIters/4 || it == c.MetaIters/2 {
				res.snapshots = append(res.snapshots, hyperLRSnapshot{iteration: it, lr: slices.Clone(h[0].Data)})
			}
			return env.Context().Err()
		},
	})
	if err != nil {
		return nil, fmt.Errorf("hypergradient descent: %w", err)
	}
	res.metaSeconds = time.Since(metaStart).Seconds()
	res.metaLoss = opt.Loss
	res.learnt = slices.Clone(opt.Hyper.LR.Value().Data)
	if res.v0, res.train0, err = p.valLoss(c, lr0); err != nil {
		return nil, fmt.Errorf("training with the initial schedule: %w", err)
	}
	if res.v1, res.train1, err = p.valLoss(c, res.learnt); err != nil {
		return nil, fmt.Errorf("training with the learnt schedule: %w", err)
	}
	// The best constant learning rate on a grid, for comparison; a rate
	// whose training fails is left out.
	res.bestVal = math.Inf(1)
	for _, lr := range hyperLRGrid {
		if lr > c.MaxLR {
			break
		}
		sched := make([]float64, n)
		for k := range sched {
			sched[k] = lr
		}
		v, _, err := p.valLoss(c, sched)
		if err == nil && v < res.bestVal {
			res.bestLR, res.bestVal = lr, v
		}
	}
	return res, nil
}

func hyperLRFigures(dir runner.Dir, c hyperLRConfig, res *hyperLRResult) error {
	n := c.InnerSteps
	steps := make([]float64, n)
	for k := range steps {
		steps[k] = float64(k)
	}
	series := []plots.Series{{Name: "initial", X: steps, Y: res.lr0}}
	for _, s := range res.snapshots {
		series = append(series, plots.Series{Name: fmt.Sprintf("after %d meta-steps", s.iteration), X: steps, Y: s.lr})
	}
	series = append(series, plots.Series{Name: fmt.Sprintf("learnt (%d meta-steps)", c.MetaIters), X: steps, Y: res.learnt})
	if _, err := plots.Save(dir.Path("schedule.png"), plots.Line{
		Title: "Learning-rate schedule", X: plots.Axis{Label: "training step k"}, Y: plots.Axis{Label: "learning rate ηₖ"},
		Series: series,
	}, &plots.Options{WidthPx: 760, HeightPx: 420}); err != nil {
		return err
	}
	its := make([]float64, len(res.metaLoss))
	for i := range its {
		its[i] = float64(i)
	}
	validation := []plots.Series{{Name: "learnt schedule", X: its, Y: res.metaLoss, Points: true}}
	if !math.IsInf(res.bestVal, 1) {
		validation = append(validation, plots.Series{Name: fmt.Sprintf("best constant η = %g", res.bestLR),
			X: []float64{0, its[len(its)-1]}, Y: []float64{res.bestVal, res.bestVal}, Reference: true, Dash: plots.Dashed})
	}
	if _, err := plots.Save(dir.Path("validation.png"), plots.Line{
		Title: "Validation loss after training", X: plots.Axis{Label: "meta-iteration"}, Y: plots.Axis{Label: "validation MSE", Log: true},
		Series: validation,
	}, &plots.Options{WidthPx: 680, HeightPx: 400}); err != nil {
		return err
	}
	_, err := plots.Save(dir.Path("training.png"), plots.Line{
		Title: "Training loss during the inner run", X: plots.Axis{Label: "training step k"}, Y: plots.Axis{Label: "training MSE", Log: true},
		Series: []plots.Series{{Name: fmt.Sprintf("constant η = %g", c.InitLR), X: steps, Y: res.train0}, {Name: "learnt schedule", X: steps, Y: res.train1}},
	}, &plots.Options{WidthPx: 680, HeightPx: 400})
	return err
}

func hyperLRReport(rep *runner.Report, c hyperLRConfig, res *hyperLRResult) {
	n := c.InnerSteps
	rep.Heading("Setup")
	rep.Paraf("A 1-%d-%d-1 tanh network is trained by %d steps of full-batch SGD (momentum %g) on %d points of y = sin 3x + x/2 + noise (σ = %g), "+
		"x ∈ [−1, 1], from a fixed initialisation. The learning rate ηₖ of every step is a hyperparameter: the hypergradient dL_val/dη of the "+
		"validation MSE (%d fresh points) through the whole unrolled run is computed by `metalearn.UnrollGrad` — the adjoint-state engine with "+
		"binomial checkpointing (%d snapshots), each step's VJP differentiating through its inner gradient (second order) — and the schedule is "+
		"updated by Adam (step %g), clipped to [0, %g], for %d meta-iterations, starting from ηₖ = %g.",
		c.Hidden, c.Hidden, n, c.Momentum, c.NTrain, c.Noise, c.NVal, c.Snapshots, c.MetaLR, c.MaxLR, c.MetaIters, c.InitLR)

	rep.Heading("Results")
	rep.Figure("schedule.png", "The learning-rate schedule ηₖ at the start, during and at the end of hypergradient descent.")
	rep.Figure("validation.png", fmt.Sprintf("Validation MSE after the %d-step training run at each meta-iteration, and that of the best constant learning rate on a grid.", n))
	rep.Figure("training.png", "Training MSE along the inner run, with the initial constant rate and with the learnt schedule.")
	tab := rep.Table("schedule", "validation MSE", "final training MSE")
	tab.Row(fmt.Sprintf("constant η = %g (initial)", c.InitLR), res.v0, res.train0[n-1])
	if !math.IsInf(res.bestVal, 1) {
		tab.Row(fmt.Sprintf("best constant η on a grid (%g)", res.bestLR), res.bestVal, "")
	}
	tab.Row("learnt schedule", res.v1, res.train1[n-1])
	text := fmt.Sprintf("The learnt schedule's validation MSE, %s, is %s the initial schedule's %s (a factor %.3g).",
		runner.Num(res.v1), runner.Compare(res.v1, res.v0), runner.Num(res.v0), res.v1/res.v0)
	if !math.IsInf(res.bestVal, 1) {
		text += fmt.Sprintf(" It is %s the %s of the best constant rate on the grid %s (η = %g).",
			runner.Compare(res.v1, res.bestVal), runner.Num(res.bestVal), hyperLRGridUpTo(c.MaxLR), res.bestLR)
	} else {
		text += " Training failed at every constant rate of the grid."
	}
	rep.Para(text)

	rep.Heading("Hypergradient checks (initial schedule)")
	ct := rep.Table("comparison", "max rel. error")
	ct.Row(fmt.Sprintf("engine (Binomial(%d)) vs recorded graph of the whole run", c.Snapshots), res.graphErr)
	ct.Row(fmt.Sprintf("engine vs 4-point central differences (h = %g) of the whole run, %d schedule entries", hyperLRFDStep, res.fdEntries), res.fdErr)
	rep.Paraf("The engine ran %d steps with %d step evaluations (%d recomputed) and at most %d stored states; StoreAll stored %d.",
		res.rec.Steps, res.rec.Evals, res.rec.Recomputed(), res.rec.PeakStored, res.peakAll)

	rep.Metric("validation MSE, initial schedule", res.v0)
	rep.Metric("validation MSE, learnt schedule", res.v1)
	rep.Metric("validation MSE, best constant rate", res.bestVal)
	rep.Metric("hypergradient norm at the initial schedule", res.hyperNorm)
	rep.Timing(fmt.Sprintf("hypergradient descent (%d meta-iterations of %d unrolled steps)", c.MetaIters, n), res.metaSeconds)
	rep.Check("hypergradient: engine vs finite differences of the whole training run", res.fdErr, c.FDTol)
	rep.Check("hypergradient: checkpointed engine vs recorded graph", res.graphErr, c.GraphTol)
	rep.CheckTrue(fmt.Sprintf("Binomial(%d) hypergradient equals StoreAll bit for bit", c.Snapshots), res.bitEqual,
		fmt.Sprintf("peak stored %d vs %d", res.rec.PeakStored, res.peakAll))
	rep.CheckTrue(fmt.Sprintf("validation MSE fell below %g × its initial value", c.MinGain), res.v1 < float64(c.MinGain)*res.v0,
		fmt.Sprintf("%.4g → %.4g (× %.3g)", res.v0, res.v1, res.v1/res.v0))
}

// hyperLRGridUpTo lists the grid rates up to maxLR: "0.01, 0.02, 0.05".
func hyperLRGridUpTo(maxLR float64) string {
	var s []string
	for _, lr := range hyperLRGrid {
		if lr <= maxLR {
			s = append(s, fmt.Sprint(lr))
		}
	}
	return strings.Join(s, ", ")
}
