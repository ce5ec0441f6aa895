package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/metalearn"
	"github.com/adjointkit/adjointkit/nn"
	"github.com/adjointkit/adjointkit/plots"
)

// mamlSinusoidConfig is the [params] table of the maml_sinusoid experiment:
// the sinusoid regression benchmark of Finn, Abbeel and Levine (2017).
type mamlSinusoidConfig struct {
	Shots             []int      `toml:"shots"`               // K, support points per task (each 1 to 100)
	Iterations        int        `toml:"iterations"`          // meta-iterations of every method, 1 to 1000000
	MetaBatch         int        `toml:"meta_batch"`          // tasks per meta-iteration, 1 to 1000
	Hidden            int        `toml:"hidden"`              // width of the two hidden ReLU layers, 1 to 1000
	InnerLR           float64    `toml:"inner_lr"`            // adaptation step size (training and evaluation)
	MetaLR            float64    `toml:"meta_lr"`             // Adam step size of the meta-optimiser (and of pretraining)
	ReptileInnerLR    float64    `toml:"reptile_inner_lr"`    // Reptile's inner step size during meta-training
	ReptileInnerSteps int        `toml:"reptile_inner_steps"` // Reptile's inner steps during meta-training, 1 to 100
	ReptileBatch      int        `toml:"reptile_batch"`       // Reptile's tasks per meta-iteration, 1 to 1000
	EvalTasks         int        `toml:"eval_tasks"`          // held-out tasks, 1 to 100000
	EvalPoints        int        `toml:"eval_points"`         // query points per held-out task, 1 to 10000
	AdaptSteps        int        `toml:"adapt_steps"`         // adaptation steps at evaluation, 1 to 100
	FDCoords          int        `toml:"fd_coords"`           // parameters checked by finite differences, 1 to 10000
	FDTol             runner.Tol `toml:"fd_tol"`              // tolerance of meta-gradient vs finite differences
	BeatFactor        runner.Tol `toml:"beat_factor"`         // MAML's 1-step MSE must be below this times the pretrained one's
	// OutcomeCheck is what the outcome check requires: "beat_pretrained"
	// (MAML's one-step MSE below beat_factor × the pretrained network's)
	// or "loss_falls" (MAML's meta-training loss falls from the first to
	// the last fifth of training), for runs too short to separate the
	// methods.
	OutcomeCheck string `toml:"outcome_check"`
}

// Validate checks every key's range.
func (c mamlSinusoidConfig) Validate() error {
	errs := []error{
		runner.InRange("iterations", c.Iterations, 1, 1000000),
		runner.InRange("meta_batch", c.MetaBatch, 1, 1000),
		runner.InRange("hidden", c.Hidden, 1, 1000),
		runner.InRange("inner_lr", c.InnerLR, 1e-6, 10),
		runner.InRange("meta_lr", c.MetaLR, 1e-7, 1),
		runner.InRange("reptile_inner_lr", c.ReptileInnerLR, 1e-6, 10),
		runner.InRange("reptile_inner_steps", c.ReptileInnerSteps, 1, 100),
		runner.InRange("reptile_batch", c.ReptileBatch, 1, 1000),
		runner.InRange("eval_tasks", c.EvalTasks, 1, 100000),
		runner.InRange("eval_points", c.EvalPoints, 1, 10000),
		runner.InRange("adapt_steps", c.AdaptSteps, 1, 100),
		runner.InRange("fd_coords", c.FDCoords, 1, 10000),
		runner.InRange("fd_tol", c.FDTol, 0, 1),
		runner.InRange("beat_factor", c.BeatFactor, 0, 1),
		runner.OneOf("outcome_check", c.OutcomeCheck, "beat_pretrained", "loss_falls"),
	}
	if len(c.Shots) == 0 || len(c.Shots) > 4 {
		errs = append(errs, runner.ParamErrorf("shots", "must list 1 to 4 values, got %d", len(c.Shots)))
	}
	for _, k := range c.Shots {
		if k < 1 || k > 100 {
			errs = append(errs, runner.ParamErrorf("shots", "values must be between 1 and 100, got %d", k))
			break
		}
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[mamlSinusoidConfig, mamlSineResult]{
		Headline: "MAML MSE after 1 step, largest K",
		Name:     "maml_sinusoid",
		Theme:    "metalearn",
		Summary:  "MAML, first-order MAML, Reptile and a jointly pretrained network on the sinusoid regression benchmark of Finn et al. (2017): held-out MSE after 0, 1, 5 and 10 adaptation steps.",
		Defaults: mamlSineDefaults,
		Quick: func(c *mamlSinusoidConfig) {
			c.Shots = c.Shots[len(c.Shots)-1:]
			c.Hidden = min(c.Hidden, 20)
			c.Iterations = min(c.Iterations, 200)
			c.MetaBatch = min(c.MetaBatch, 5)
			c.ReptileBatch = min(c.ReptileBatch, 2)
			c.EvalTasks = min(c.EvalTasks, 30)
			c.EvalPoints = min(c.EvalPoints, 30)
			c.FDCoords = min(c.FDCoords, 6)
			// 200 iterations are far too few to separate MAML from the
			// pretrained network (the default run needs 1000): the quick run
			// checks that MAML's meta-training makes progress instead.
			c.OutcomeCheck = "loss_falls"
		},
		Compute: computeMAMLSinusoid,
		Figures: mamlSineFigures,
		Report:  mamlSineReport,
	})
}

// mamlSineDefaults returns the defaults of the [params] keys.
func mamlSineDefaults() mamlSinusoidConfig {
	return mamlSinusoidConfig{
		Shots: []int{5, 10}, Iterations: 1000, MetaBatch: 10, Hidden: 40,
		InnerLR: 0.01, MetaLR: 0.001,
		ReptileInnerLR: 0.02, ReptileInnerSteps: 5, ReptileBatch: 5,
		EvalTasks: 600, EvalPoints: 100, AdaptSteps: 10,
		FDCoords: 40, FDTol: 1e-6, BeatFactor: 0.8, OutcomeCheck: "beat_pretrained",
	}
}

// mamlSineTask is one sinusoid y = A sin(x − φ).
type mamlSineTask struct {
	amp, phase float64
}

// batch draws n points with x uniform in [−5, 5].
func (t mamlSineTask) batch(rng *rand.Rand, n int) metalearn.Batch {
	x, y := adjoint.New(n, 1), adjoint.New(n, 1)
	for i := range n {
		x.Data[i] = -5 + 10*rng.Float64()
		y.Data[i] = t.amp * math.Sin(x.Data[i]-t.phase)
	}
	return metalearn.Batch{X: x, Y: y}
}

// mamlSineDraw draws a task: amplitude U[0.1, 5], phase U[0, π].
func mamlSineDraw(rng *rand.Rand) mamlSineTask {
	return mamlSineTask{amp: 0.1 + 4.9*rng.Float64(), phase: math.Pi * rng.Float64()}
}

// mamlSineNet is the 1-h-h-1 ReLU network.
func mamlSineNet(rng *rand.Rand, h int) *nn.Sequential {
	return nn.NewSequential([]int{1},
		nn.NewLinear(rng, 1, h, nil), nn.ReLU(),
		nn.NewLinear(rng, h, h, nil), nn.ReLU(),
		nn.NewLinear(rng, h, 1, nil))
}

// mamlSineMethods are the methods compared, in table order.
var mamlSineMethods = []string{"MAML", "first-order MAML", "Reptile", "pretrained"}

// mamlSineTrained is one method's meta-trained parameters and curve.
type mamlSineTrained struct {
	params  []*adjoint.Tensor
	curve   []float64 // training loss per iteration
	seconds float64
}

// mamlSineTrain meta-trains one method for K shots from init. Progress is
// reported over the whole run: this training is units done0 … done0 +
// iterations of total.
func mamlSineTrain(env *runner.Env, c mamlSinusoidConfig, model *nn.Sequential, init []*adjoint.Tensor, method string, k int, rng *rand.Rand, done0, total int) (mamlSineTrained, error) {
	start := time.Now()
	params := make([]*adjoint.Tensor, len(init))
	for i, p := range init {
		params[i] = p.Clone()
	}
	opt := nn.NewAdam(c.MetaLR)
	out := mamlSineTrained{params: params, curve: make([]float64, 0, c.Iterations)}
	for it := range c.Iterations {
		if it%10 == 0 {
			if err := env.Context().Err(); err != nil {
				return out, err
			}
			env.Progress(done0+it, total, fmt.Sprintf("K=%d %s", k, method))
		}
		nb := c.MetaBatch
		if method == "Reptile" {
			nb = c.ReptileBatch
		}
		tasks := make([]metalearn.Task, nb)
		for i := range tasks {
			t := mamlSineDraw(rng)
			tasks[i] = metalearn.Supervised(model, nn.MSE, t.batch(rng, k), t.batch(rng, k))
		}
		var res metalearn.MetaResult
		var err error
		switch method {
		case "MAML", "first-order MAML":
			res, err = metalearn.MAML{InnerLR: c.InnerLR, FirstOrder: method != "MAML"}.MetaGrad(params, tasks)
		case "Reptile":
			res, err = metalearn.Reptile{InnerLR: c.ReptileInnerLR, InnerSteps: c.ReptileInnerSteps}.MetaGrad(params, tasks)
		case "pretrained": // the mean loss on the same data, no adaptation
			ps := make([]*adjoint.Var, len(params))
			for i, p := range params {
				ps[i] = adjoint.Param(p)
			}
			var tot *adjoint.Var
			for _, t := range tasks {
				l := adjoint.Add(t.Inner(ps), t.Outer(ps))
				if tot == nil {
					tot = l
				} else {
					tot = adjoint.Add(tot, l)
				}
			}
			tot = adjoint.Scale(tot, 1/float64(2*len(tasks)))
			res = metalearn.MetaResult{Loss: tot.Item(), Grad: adjoint.Grad(tot, ps...)}
		}
		if err != nil {
			return out, fmt.Errorf("%s, K=%d, iteration %d: %w", method, k, it, err)
		}
		out.curve = append(out.curve, res.Loss)
		opt.Step(params, res.Grad)
	}
	out.seconds = time.Since(start).Seconds()
	return out, nil
}

// mamlSineEval adapts params to each held-out task and returns the mean
// query MSE after each number of steps in at (increasing).
func mamlSineEval(c mamlSinusoidConfig, model *nn.Sequential, params []*adjoint.Tensor, tasks []metalearn.Task, at []int) ([]float64, error) {
	per := make([][]float64, len(tasks)) // per task, summed in order below
	errs := make([]error, len(tasks))
	workers := max(1, min(runtime.GOMAXPROCS(0), len(tasks)))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ti := w; ti < len(tasks); ti += workers {
				t := tasks[ti]
				per[ti] = make([]float64, len(at))
				_, errs[ti] = metalearn.Adapt(params, t.Inner, c.InnerLR, at[len(at)-1], func(s int, ps []*adjoint.Tensor) {
					if i := slices.Index(at, s); i >= 0 {
						per[ti][i] = t.Outer(mamlSineConsts(ps)).Item()
					}
				})
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	mse := make([]float64, len(at))
	for _, p := range per {
		for i, v := range p {
			mse[i] += v / float64(len(tasks))
		}
	}
	return mse, nil
}

func mamlSineConsts(ts []*adjoint.Tensor) []*adjoint.Var {
	out := make([]*adjoint.Var, len(ts))
	for i, t := range ts {
		out[i] = adjoint.Const(t)
	}
	return out
}

// mamlSineFD compares the second-order MAML meta-gradient at params with
// central differences of the whole adaptation for n coordinates.
func mamlSineFD(params []*adjoint.Tensor, tasks []metalearn.Task, innerLR float64, n int, rng *rand.Rand) (float64, error) {
	m := metalearn.MAML{InnerLR: innerLR}
	r, err := m.MetaGrad(params, tasks)
	if err != nil {
		return 0, err
	}
	var ad, num []float64
	const h = 1e-6
	for range n {
		i := rng.IntN(len(params))
		j := rng.IntN(len(params[i].Data))
		d := params[i].Data
		old := d[j]
		d[j] = old + h
		rp, err1 := m.MetaGrad(params, tasks)
		d[j] = old - h
		rm, err2 := m.MetaGrad(params, tasks)
		d[j] = old
		if err := errors.Join(err1, err2); err != nil {
			return 0, err
		}
		num = append(num, (rp.Loss-rm.Loss)/(2*h))
		ad = append(ad, r.Grad[i].Data[j])
	}
	return relErr(ad, num), nil
}

// mamlSineRun is one method meta-trained for one K and evaluated.
type mamlSineRun struct {
	k            int
	method       string
	curve        []float64 // meta-training loss per iteration
	mse          []float64 // mean held-out query MSE after each of evalSteps
	trainSeconds float64
	evalSeconds  float64
}

// mamlSineShownTask is the held-out task drawn in task.png: the truth and
// the predictions of MAML and of the pretrained network on a grid, before
// and after adaptation.
type mamlSineShownTask struct {
	k          int
	task       mamlSineTask
	supportX   []float64
	supportY   []float64
	grid       []float64
	truth      []float64
	steps      []int                  // adaptation steps drawn
	prediction map[string][][]float64 // method → [step] predictions on grid
}

// mamlSineResult is what computeMAMLSinusoid finds.
type mamlSineResult struct {
	nparams   int
	evalSteps []int         // adaptation steps evaluated, increasing from 0
	runs      []mamlSineRun // by K, then in mamlSineMethods order
	fdErr     float64       // MAML meta-gradient vs central differences, largest over K
	shown     mamlSineShownTask
	// paper is the paper-scale config, configs/paper/maml_sinusoid_paper.toml,
	// which the report compares this run with.
	paper mamlSinusoidConfig
}

// run returns the run of method at K.
func (r *mamlSineResult) run(k int, method string) *mamlSineRun {
	for i := range r.runs {
		if r.runs[i].k == k && r.runs[i].method == method {
			return &r.runs[i]
		}
	}
	panic(fmt.Sprintf("maml_sinusoid: no run of %s at K = %d", method, k))
}

// mamlSinePaperFile is the paper-scale config, inside the embedded configs.
const mamlSinePaperFile = "configs/paper/maml_sinusoid_paper.toml"

// mamlSinePaperConfig decodes the [params] of the paper-scale config (the
// embedded copy of experiments/configs/paper/maml_sinusoid_paper.toml) on
// top of the defaults, as the runner would.
func mamlSinePaperConfig(defaults mamlSinusoidConfig) (mamlSinusoidConfig, error) {
	data, err := configFiles.ReadFile(mamlSinePaperFile)
	if err != nil {
		return defaults, err
	}
	file := struct {
		Experiment string             `toml:"experiment"`
		Title      string             `toml:"title"`
		Seed       int64              `toml:"seed"`
		Params     mamlSinusoidConfig `toml:"params"`
	}{Params: defaults}
	md, err := toml.Decode(string(data), &file)
	if err != nil {
		return defaults, fmt.Errorf("%s: %w", mamlSinePaperFile, err)
	}
	if keys := md.Undecoded(); len(keys) > 0 {
		return defaults, fmt.Errorf("%s: unknown keys %v", mamlSinePaperFile, keys)
	}
	return file.Params, file.Params.Validate()
}

// mamlSineEvalSteps returns the adaptation steps evaluated: 0, 1, 2, 3, 5,
// … up to adaptSteps, which is always included.
func mamlSineEvalSteps(adaptSteps int) []int {
	var steps []int
	for _, s := range []int{0, 1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100} {
		if s <= adaptSteps {
			steps = append(steps, s)
		}
	}
	if steps[len(steps)-1] != adaptSteps {
		steps = append(steps, adaptSteps)
	}
	return steps
}

// computeMAMLSinusoid meta-trains every method for every K and evaluates
// them on held-out tasks.
func computeMAMLSinusoid(env *runner.Env, c mamlSinusoidConfig) (*mamlSineResult, error) {
	paper, err := mamlSinePaperConfig(mamlSineDefaults())
	if err != nil {
		return nil, err
	}
	initRng := env.Rand()
	model := mamlSineNet(initRng, c.Hidden)
	init := nn.ParamValues(model.Params())
	evalRng := env.Rand()
	trainRng := env.Rand()
	fdRng := env.Rand()
	res := &mamlSineResult{nparams: nn.NumElements(model.Params()), evalSteps: mamlSineEvalSteps(c.AdaptSteps), paper: paper}

	// Progress counts meta-iterations over the whole run, so that the
	// runner's estimate of the time left does not jump between methods.
	total := len(c.Shots) * len(mamlSineMethods) * c.Iterations
	for ki, k := range c.Shots {
		// The held-out tasks: the same for every method.
		evalTasks := make([]metalearn.Task, c.EvalTasks)
		evalDefs := make([]mamlSineTask, c.EvalTasks)
		evalSupport := make([]metalearn.Batch, c.EvalTasks)
		for i := range evalTasks {
			t := mamlSineDraw(evalRng)
			evalDefs[i], evalSupport[i] = t, t.batch(evalRng, k)
			evalTasks[i] = metalearn.Supervised(model, nn.MSE, evalSupport[i], t.batch(evalRng, c.EvalPoints))
		}
		trained := map[string][]*adjoint.Tensor{}
		for mi, m := range mamlSineMethods {
			done := (ki*len(mamlSineMethods) + mi) * c.Iterations
			tr, err := mamlSineTrain(env, c, model, init, m, k, rand.New(rand.NewPCG(trainRng.Uint64(), uint64(ki))), done, total)
			if err != nil {
				return nil, err
			}
			env.Progress(done+c.Iterations, total, fmt.Sprintf("K=%d %s, evaluation", k, m))
			evalStart := time.Now()
			mse, err := mamlSineEval(c, model, tr.params, evalTasks, res.evalSteps)
			if err != nil {
				return nil, fmt.Errorf("%s, K=%d: evaluation: %w", m, k, err)
			}
			res.runs = append(res.runs, mamlSineRun{k: k, method: m, curve: tr.curve, mse: mse,
				trainSeconds: tr.seconds, evalSeconds: time.Since(evalStart).Seconds()})
			trained[m] = tr.params
		}
		// Finite differences of the whole adaptation at MAML's learnt weights.
		e, err := mamlSineFD(trained["MAML"], evalTasks[:min(2, len(evalTasks))], c.InnerLR, c.FDCoords, fdRng)
		if err != nil {
			return nil, fmt.Errorf("%d-shot tasks: finite-difference check: %w", k, err)
		}
		res.fdErr = max(res.fdErr, e)
		if ki == len(c.Shots)-1 {
			show := 0 // a task of middling amplitude, for a readable figure
			for i, d := range evalDefs {
				if d.amp >= 2.5 && d.amp <= 4.5 {
					show = i
					break
				}
			}
			res.shown, err = mamlSineShow(c, model, k, evalDefs[show], evalSupport[show], evalTasks[show], trained)
			if err != nil {
				return nil, fmt.Errorf("%d-shot tasks: the task shown: %w", k, err)
			}
		}
	}
	return res, nil
}

// mamlSineShowMethods are the methods whose predictions task.png draws.
var mamlSineShowMethods = []string{"MAML", "pretrained"}

// mamlSineShow adapts MAML's and the pretrained network's weights to one
// held-out task and records their predictions on a grid before adaptation,
// after one step and after adapt_steps steps.
func mamlSineShow(c mamlSinusoidConfig, model *nn.Sequential, k int, def mamlSineTask, support metalearn.Batch, task metalearn.Task, trained map[string][]*adjoint.Tensor) (mamlSineShownTask, error) {
	const n = 200
	sh := mamlSineShownTask{
		k: k, task: def, steps: slices.Compact([]int{0, 1, c.AdaptSteps}),
		supportX: slices.Clone(support.X.Data), supportY: slices.Clone(support.Y.Data),
		grid: make([]float64, n), truth: make([]float64, n), prediction: map[string][][]float64{},
	}
	grid := adjoint.New(n, 1)
	for i := range n {
		x := -5 + 10*float64(i)/(n-1)
		grid.Data[i], sh.grid[i] = x, x
		sh.truth[i] = def.amp * math.Sin(x-def.phase)
	}
	for _, m := range mamlSineShowMethods {
		_, err := metalearn.Adapt(trained[m], task.Inner, c.InnerLR, c.AdaptSteps, func(s int, ps []*adjoint.Tensor) {
			if slices.Contains(sh.steps, s) {
				y := model.Apply(mamlSineConsts(ps), adjoint.Const(grid)).Value().Data
				sh.prediction[m] = append(sh.prediction[m], slices.Clone(y))
			}
		})
		if err != nil {
			return sh, fmt.Errorf("%s: %w", m, err)
		}
	}
	return sh, nil
}

// mamlSineLogScale reports whether values spanning lo to hi are better read
// on a log axis: when they span at least a decade. Over less, a log axis
// has no decade to label and reads like an unevenly ticked linear one.
func mamlSineLogScale(lo, hi float64) bool { return lo > 0 && hi >= 10*lo }

// mamlSineRange returns the smallest and largest finite values of ys.
func mamlSineRange(ys ...[]float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, y := range ys {
		for _, v := range y {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	return lo, hi
}

// mamlSineSmoothWindow is the window of the training curves: a hundredth
// of the run.
func mamlSineSmoothWindow(iterations int) int { return max(1, iterations/100) }

// adaptationLog reports whether the adaptation figure of K uses a
// log axis.
func (r *mamlSineResult) adaptationLog(k int) bool {
	var all [][]float64
	for _, run := range r.runs {
		if run.k == k {
			all = append(all, run.mse)
		}
	}
	return mamlSineLogScale(mamlSineRange(all...))
}

// trainingCurves returns the smoothed training curves of the last K, in
// mamlSineMethods order, and whether they are drawn on a log axis.
func (r *mamlSineResult) trainingCurves(c mamlSinusoidConfig) (x [][]float64, y [][]float64, log bool) {
	k := c.Shots[len(c.Shots)-1]
	for _, m := range mamlSineMethods {
		xs, ys := mamlSineSmooth(r.run(k, m).curve, mamlSineSmoothWindow(c.Iterations))
		x, y = append(x, xs), append(y, ys)
	}
	return x, y, mamlSineLogScale(mamlSineRange(y...))
}

func mamlSineFigures(dir runner.Dir, c mamlSinusoidConfig, res *mamlSineResult) error {
	xs := make([]float64, len(res.evalSteps))
	for i, s := range res.evalSteps {
		xs[i] = float64(s)
	}
	for _, k := range c.Shots {
		var series []plots.Series
		for _, m := range mamlSineMethods {
			series = append(series, plots.Series{Name: m, X: xs, Y: res.run(k, m).mse, Points: true})
		}
		if _, err := plots.Save(dir.Path(fmt.Sprintf("adaptation_k%d.png", k)), plots.Line{
			Title:  fmt.Sprintf("Held-out MSE during adaptation, K = %d", k),
			X:      plots.Axis{Label: "gradient steps on the K support points"},
			Y:      plots.Axis{Label: "mean query MSE", Log: res.adaptationLog(k)},
			Series: series,
		}, &plots.Options{WidthPx: 760, HeightPx: 420}); err != nil {
			return err
		}
	}

	sh := res.shown
	task := []plots.Series{{Name: "true function", X: sh.grid, Y: sh.truth, Reference: true}}
	for _, m := range mamlSineShowMethods {
		for si, s := range sh.steps {
			name := fmt.Sprintf("%s, %s", m, runner.Count(s, "step", "steps"))
			task = append(task, plots.Series{Name: name, X: sh.grid, Y: sh.prediction[m][si], Color: slices.Index(mamlSineMethods, m) + 1, Dash: mamlSineStepDash(si, len(sh.steps))})
		}
	}
	task = append(task, plots.Series{Name: runner.Count(len(sh.supportX), "support point", "support points"), X: sh.supportX, Y: sh.supportY, NoLine: true, Color: 8})
	if _, err := plots.Save(dir.Path("task.png"), plots.Line{
		Title:  fmt.Sprintf("Adapting to one task (A = %.2f, φ = %.2f, K = %d)", sh.task.amp, sh.task.phase, sh.k),
		X:      plots.Axis{Label: "x"},
		Y:      plots.Axis{Label: "y"},
		Series: task,
		Legend: plots.Outside,
	}, &plots.Options{WidthPx: 800, HeightPx: 440}); err != nil {
		return err
	}

	x, y, log := res.trainingCurves(c)
	var curves []plots.Series
	for i, m := range mamlSineMethods {
		curves = append(curves, plots.Series{Name: m, X: x[i], Y: y[i]})
	}
	_, err := plots.Save(dir.Path("training.png"), plots.Line{
		Title:  fmt.Sprintf("Meta-training loss, K = %d", c.Shots[len(c.Shots)-1]),
		X:      plots.Axis{Label: "meta-iteration"},
		Y:      plots.Axis{Label: "training loss (window mean)", Log: log},
		Series: curves,
	}, &plots.Options{WidthPx: 760, HeightPx: 420})
	return err
}

// mamlSineStepDash is the dash of the si-th of n adaptation stages: dotted
// before adaptation, dashed after one step, solid at the end.
func mamlSineStepDash(si, n int) plots.Dash {
	switch {
	case si == n-1:
		return plots.Solid
	case si == 0:
		return plots.Dotted
	}
	return plots.Dashed
}

func mamlSineReport(rep *runner.Report, c mamlSinusoidConfig, res *mamlSineResult) {
	rep.Heading("Setup")
	rep.Paraf("Each task is a sinusoid y = A sin(x − φ) with amplitude A ~ U[0.1, 5] and phase φ ~ U[0, π], inputs x ~ U[−5, 5], "+
		"and mean squared error. The model is a 1-%d-%d-1 ReLU network (%d parameters), the same initialisation for every method. "+
		"Each method trains for %d meta-iterations with Adam (step %g): "+
		"**MAML** (second order) and **first-order MAML** adapt with one gradient step of size α = %g on K support points and are judged on K query points, %d tasks per meta-batch; "+
		"**Reptile** adapts with %d steps of size %g and moves towards the adapted weights, %d tasks per meta-batch; "+
		"the **pretrained** baseline minimises the mean MSE over all tasks' points jointly, %d tasks per batch. "+
		"Evaluation: %d held-out tasks, each adapted from the learnt weights by up to %d gradient steps of size α = %g on K support points and scored on %d query points.",
		c.Hidden, c.Hidden, res.nparams, c.Iterations, c.MetaLR,
		c.InnerLR, c.MetaBatch, c.ReptileInnerSteps, c.ReptileInnerLR, c.ReptileBatch, c.MetaBatch,
		c.EvalTasks, c.AdaptSteps, c.InnerLR, c.EvalPoints)
	mamlSineScale(rep, c, res.paper)

	var tableSteps []int // the columns of the table
	for _, s := range []int{0, 1, 5, 10} {
		if s <= c.AdaptSteps {
			tableSteps = append(tableSteps, s)
		}
	}
	header := []string{"K", "method"}
	for _, s := range tableSteps {
		header = append(header, fmt.Sprintf("MSE after %d", s))
	}
	rep.Heading("Held-out tasks")
	tab := rep.Table(header...)
	for _, run := range res.runs {
		row := []any{run.k, run.method}
		for _, s := range tableSteps {
			row = append(row, run.mse[slices.Index(res.evalSteps, s)])
		}
		tab.Row(row...)
	}
	last := len(res.evalSteps) - 1
	for _, k := range c.Shots {
		rep.Para(mamlSineRanking(res, k, 1) + " " + mamlSineRanking(res, k, last))
	}
	for _, k := range c.Shots {
		scale := runner.Choose(res.adaptationLog(k), "log scale", "linear scale")
		rep.Figure(fmt.Sprintf("adaptation_k%d.png", k), fmt.Sprintf("Mean MSE over %d held-out tasks after each adaptation step (α = %g), K = %d (%s).", c.EvalTasks, c.InnerLR, k, scale))
	}
	sh := res.shown
	rep.Figure("task.png", fmt.Sprintf("One held-out task (K = %d): the true sinusoid, the support points, and the predictions of MAML and of the pretrained network before adaptation (dotted) and after %s.",
		sh.k, mamlSineStepsText(sh.steps[1:])))

	_, _, log := res.trainingCurves(c)
	rep.Figure("training.png", fmt.Sprintf("Meta-training loss, each averaged over windows of %s (%s): for MAML and first-order MAML the query MSE after one adaptation step of size %g; "+
		"for Reptile the query MSE after its %s of size %g, a different adaptation, so its curve is not on the same footing; for the pretrained network its MSE without adaptation.",
		runner.Count(mamlSineSmoothWindow(c.Iterations), "iteration", "iterations"), runner.Choose(log, "log scale", "linear scale"),
		c.InnerLR, runner.Count(c.ReptileInnerSteps, "step", "steps"), c.ReptileInnerLR))

	rep.Heading("Meta-gradient check")
	rep.Paraf("The second-order meta-gradient (through the inner gradient, Hessian terms included) is compared, at MAML's learnt weights and on two held-out tasks, "+
		"with central differences (step 10⁻⁶) of the whole adapted loss for %d random parameters per K. The network is piecewise linear, so the meta-loss is piecewise polynomial "+
		"and central differences are exact up to rounding away from ReLU kinks.", c.FDCoords)
	if c.OutcomeCheck == "loss_falls" {
		rep.Para("This run (`outcome_check = \"loss_falls\"`, as -quick sets it) is trained far too briefly to separate the methods: instead of requiring MAML to beat the pretrained network, " +
			"it checks that MAML's meta-training loss falls. The default config makes the comparison.")
	}

	for _, run := range res.runs {
		rep.Timing(fmt.Sprintf("%s, K=%d: evaluation (%d tasks)", run.method, run.k, c.EvalTasks), run.evalSeconds)
		rep.Timing(fmt.Sprintf("%s, K=%d: meta-training (%d iterations)", run.method, run.k, c.Iterations), run.trainSeconds)
	}
	rep.Check("MAML meta-gradient vs central differences of the whole inner loop", res.fdErr, c.FDTol)
	rep.Metric("MAML MSE after 1 step, largest K", res.run(c.Shots[len(c.Shots)-1], "MAML").mse[1])
	for _, k := range c.Shots {
		mm, pm := res.run(k, "MAML").mse, res.run(k, "pretrained").mse
		rep.Metric(fmt.Sprintf("K=%d MAML MSE after 1 step", k), mm[1])
		rep.Metric(fmt.Sprintf("K=%d pretrained MSE after 1 step", k), pm[1])
		rep.Metric(fmt.Sprintf("K=%d MAML MSE after %d steps", k, c.AdaptSteps), mm[last])
		rep.Metric(fmt.Sprintf("K=%d pretrained MSE after %d steps", k, c.AdaptSteps), pm[last])
		if c.OutcomeCheck == "beat_pretrained" {
			rep.CheckTrue(fmt.Sprintf("K=%d: MAML after one step below %g × pretrained after one step", k, c.BeatFactor),
				mm[1] < float64(c.BeatFactor)*pm[1], fmt.Sprintf("%.4g vs %.4g", mm[1], pm[1]))
			continue
		}
		// A -quick run trains too briefly to separate the methods; it checks
		// that meta-training makes progress.
		curve := res.run(k, "MAML").curve
		_, sm := mamlSineSmooth(curve, max(1, len(curve)/5))
		rep.CheckTrue(fmt.Sprintf("K=%d (quick run): MAML's meta-training loss fell from the first to the last fifth", k),
			sm[len(sm)-1] < sm[0], fmt.Sprintf("%.4g → %.4g", sm[0], sm[len(sm)-1]))
	}
}

// mamlSineStepsText says "1 step and 10 steps" for steps [1, 10].
func mamlSineStepsText(steps []int) string {
	var parts []string
	for _, s := range steps {
		parts = append(parts, runner.Count(s, "step", "steps"))
	}
	return strings.Join(parts, " and ")
}

// mamlSineRanking says which method has the lowest held-out MSE at K after
// evalSteps[at] adaptation steps, and by how much.
func mamlSineRanking(res *mamlSineResult, k, at int) string {
	type entry struct {
		method string
		mse    float64
	}
	var es []entry
	for _, m := range mamlSineMethods {
		es = append(es, entry{m, res.run(k, m).mse[at]})
	}
	slices.SortStableFunc(es, func(a, b entry) int {
		switch {
		case a.mse < b.mse:
			return -1
		case a.mse > b.mse:
			return 1
		}
		return 0
	})
	var rest []string
	for _, e := range es[1:] {
		rest = append(rest, fmt.Sprintf("%s %s", e.method, runner.Num(e.mse)))
	}
	steps := res.evalSteps[at]
	return fmt.Sprintf("K = %d, after %s: %s has the lowest held-out MSE, %s (then %s).",
		k, runner.Count(steps, "adaptation step", "adaptation steps"), es[0].method, runner.Num(es[0].mse), strings.Join(rest, ", "))
}

// mamlSineScale says how this run's settings differ from the paper-scale
// config's, key by key, and how many task adaptations each trains on.
func mamlSineScale(rep *runner.Report, c, paper mamlSinusoidConfig) {
	var diffs []string
	cv, pv := reflect.ValueOf(c), reflect.ValueOf(paper)
	for i := range cv.NumField() {
		key := strings.Split(cv.Type().Field(i).Tag.Get("toml"), ",")[0]
		a, b := cv.Field(i).Interface(), pv.Field(i).Interface()
		if !reflect.DeepEqual(a, b) {
			diffs = append(diffs, fmt.Sprintf("`%s` = %v (paper scale: %v)", key, a, b))
		}
	}
	file := "`experiments/" + mamlSinePaperFile + "`"
	if len(diffs) == 0 {
		rep.Paraf("This run has the settings of the paper-scale config %s, those of Finn et al. (2017).", file)
		return
	}
	tasks, paperTasks := c.Iterations*c.MetaBatch, paper.Iterations*paper.MetaBatch
	size := "as large as"
	if tasks != paperTasks {
		size = runner.Choose(tasks < paperTasks, "smaller than", "larger than")
	}
	rep.Paraf("**Scale.** This run is %s the paper-scale config %s (Finn et al.'s settings): "+
		"it meta-trains MAML for %s iterations of %d tasks (%s task adaptations), the paper scale for %s iterations of %d tasks (%s task adaptations): "+
		"%s in iterations, %s in task adaptations. It differs from it in %s: %s. "+
		"Run the paper scale with `go run ./experiments -config %s`.",
		size, file, mamlSineCount(c.Iterations), c.MetaBatch, mamlSineCount(tasks),
		mamlSineCount(paper.Iterations), paper.MetaBatch, mamlSineCount(paperTasks),
		mamlSineRatio(c.Iterations, paper.Iterations), mamlSineRatio(tasks, paperTasks),
		runner.Count(len(diffs), "key", "keys"), strings.Join(diffs, ", "), "experiments/"+mamlSinePaperFile)
}

// mamlSineCount formats a count in groups of three digits: 1750000 as
// "1 750 000".
func mamlSineCount(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteRune(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mamlSineRatio writes a : b with the smaller side 1, as "1 : 70".
func mamlSineRatio(a, b int) string {
	num := func(r float64) string {
		if r >= 100 {
			return mamlSineCount(int(math.Round(r)))
		}
		return runner.Num(r)
	}
	if a <= b {
		return "1 : " + num(float64(b)/float64(a))
	}
	return num(float64(a)/float64(b)) + " : 1"
}

// mamlSineSmooth averages y over consecutive windows of w values.
func mamlSineSmooth(y []float64, w int) (xs, ys []float64) {
	for i := 0; i < len(y); i += w {
		j := min(i+w, len(y))
		var s float64
		for _, v := range y[i:j] {
			s += v
		}
		xs = append(xs, float64(i+j-1)/2)
		ys = append(ys, s/float64(j-i))
	}
	return xs, ys
}
