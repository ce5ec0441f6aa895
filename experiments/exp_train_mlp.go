package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/plot/palette/moreland"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/nn"
	"github.com/adjointkit/adjointkit/plots"
)

// This file registers the train_mlp experiment: an MLP classifier trained
// with Adam on two interleaved spirals, with its loss and accuracy curves,
// decision boundary, and the gradient flow (per-layer gradient norms and
// update ratios) recorded by nn.Trainer over training.

// trainMLPConfig is the [params] table of the train_mlp experiment.
type trainMLPConfig struct {
	Points      int        `toml:"points"`       // training points, half per spiral, 20 to 20000
	TestPoints  int        `toml:"test_points"`  // held-out points from the same distribution, 0 to 20000
	Turns       float64    `toml:"turns"`        // turns of each spiral, 0.25 to 5
	Noise       float64    `toml:"noise"`        // standard deviation of the noise added to each coordinate, 0 to 1
	Hidden      []int      `toml:"hidden"`       // widths of the hidden layers, each 1 to 1024 (1 to 8 layers)
	Activation  string     `toml:"activation"`   // "tanh", "relu", "gelu" or "sigmoid"
	Steps       int        `toml:"steps"`        // Adam steps (full batch), 1 to 100000
	LR          float64    `toml:"lr"`           // Adam learning rate
	Grid        int        `toml:"grid"`         // cells per side of the decision-boundary map, 10 to 400
	MinAccuracy runner.Tol `toml:"min_accuracy"` // the final training accuracy must reach this, 0 to 1
	Tol         runner.Tol `toml:"tol"`          // Trainer records vs independent recomputation, relative
	FDTol       runner.Tol `toml:"fd_tol"`       // gradient check at initialisation, relative
}

// Validate checks every key's range.
func (c trainMLPConfig) Validate() error {
	errs := []error{
		runner.InRange("points", c.Points, 20, 20000),
		runner.InRange("test_points", c.TestPoints, 0, 20000),
		runner.InRange("turns", c.Turns, 0.25, 5),
		runner.InRange("noise", c.Noise, 0, 1),
		runner.OneOf("activation", c.Activation, "tanh", "relu", "gelu", "sigmoid"),
		runner.InRange("steps", c.Steps, 1, 100000),
		runner.InRange("lr", c.LR, 1e-6, 1),
		runner.InRange("grid", c.Grid, 10, 400),
		runner.InRange("min_accuracy", c.MinAccuracy, 0, 1),
		runner.InRange("tol", c.Tol, 0, 1),
		runner.InRange("fd_tol", c.FDTol, 0, 1),
	}
	if len(c.Hidden) < 1 || len(c.Hidden) > 8 {
		errs = append(errs, runner.ParamErrorf("hidden", "must list 1 to 8 hidden-layer widths, got %d", len(c.Hidden)))
	}
	for i, w := range c.Hidden {
		errs = append(errs, runner.InRange(fmt.Sprintf("hidden[%d]", i), w, 1, 1024))
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[trainMLPConfig, trainMLPResult]{
		Name:    "train_mlp",
		Theme:   "nn",
		Summary: "An MLP classifier trained with Adam on two interleaved spirals: loss and accuracy curves, decision boundary, gradient flow over training.",
		Defaults: func() trainMLPConfig {
			return trainMLPConfig{
				Points: 400, TestPoints: 400, Turns: 1.5, Noise: 0.04,
				Hidden: []int{32, 32}, Activation: "tanh",
				Steps: 1000, LR: 0.01, Grid: 100, MinAccuracy: 0.97,
				Tol: 1e-12, FDTol: 1e-6,
			}
		},
		Headline: "test accuracy",
		Quick: func(c *trainMLPConfig) {
			// Fewer points and steps on the same spirals. 400 steps, not
			// fewer: 100 points of 1.5-turn spirals need about 300 to reach
			// min_accuracy (200 reach 0.68).
			c.Points = min(c.Points, 100)
			c.TestPoints = min(c.TestPoints, 100)
			c.Steps = min(c.Steps, 400)
			c.Grid = min(c.Grid, 40)
		},
		Compute: computeTrainMLP,
		Figures: trainMLPFigures,
		Report:  trainMLPReport,
	})
}

// trainMLPSpirals draws n points on two interleaved spirals: class k ∈ {0, 1}
// at radius t and angle 2π·turns·t + kπ, t uniform on (0.05, 1], plus
// Gaussian noise. X is n×2, labels alternate 0, 1.
func trainMLPSpirals(rng *rand.Rand, n int, turns, noise float64) (*adjoint.Tensor, []int) {
	x := adjoint.New(n, 2)
	labels := make([]int, n)
	for i := range n {
		k := i % 2
		t := 0.05 + 0.95*rng.Float64()
		a := 2*math.Pi*turns*t + float64(k)*math.Pi
		x.Data[2*i] = t*math.Cos(a) + noise*rng.NormFloat64()
		x.Data[2*i+1] = t*math.Sin(a) + noise*rng.NormFloat64()
		labels[i] = k
	}
	return x, labels
}

// trainMLPModel builds the classifier 2 → hidden… → 2 (logits).
func trainMLPModel(rng *rand.Rand, c trainMLPConfig) *nn.Sequential {
	var layers []nn.Layer
	in := 2
	for _, w := range c.Hidden {
		var init nn.Init = nn.GlorotUniform(1)
		if c.Activation == "relu" {
			init = nn.HeUniform(1)
		}
		var act *nn.Activation
		switch c.Activation {
		case "tanh":
			act = nn.Tanh()
		case "relu":
			act = nn.ReLU()
		case "gelu":
			act = nn.GELU()
		case "sigmoid":
			act = nn.Sigmoid()
		}
		layers = append(layers, nn.NewLinear(rng, in, w, init), act)
		in = w
	}
	layers = append(layers, nn.NewLinear(rng, in, 2, nil))
	return nn.NewSequential([]int{2}, layers...)
}

// trainMLPResult is what computeTrainMLP finds.
type trainMLPResult struct {
	x                   *adjoint.Tensor // training points, n×2
	labels              []int
	hist                *nn.History // the Trainer's record of every step
	acc                 []float64   // training accuracy before each step's update
	finalLoss, finalAcc float64
	testAcc             float64 // NaN without test points
	recErr              float64 // the Trainer's step-0 record vs adjoint.Grad
	nfd                 int     // training points of the gradient checks
	params, narrowP     int     // parameters of the model and of the narrow net
	narrowHidden        []int
	check, narrowCheck  adjoint.CheckResult
	box                 [4]float64 // xmin, xmax, ymin, ymax of the probability map
	p1                  []float64  // p(spiral 1) on the grid×grid map, row 0 at the bottom
	seconds             float64
}

func computeTrainMLP(env *runner.Env, c trainMLPConfig) (*trainMLPResult, error) {
	x, labels := trainMLPSpirals(env.Rand(), c.Points, c.Turns, c.Noise)
	res := &trainMLPResult{x: x, labels: labels, testAcc: math.NaN()}
	var xt *adjoint.Tensor
	var lt []int
	if c.TestPoints > 0 {
		xt, lt = trainMLPSpirals(env.Rand(), c.TestPoints, c.Turns, c.Noise)
	}
	model := trainMLPModel(env.Rand(), c)
	params := model.Params()
	xc := adjoint.Const(x)

	// At initialisation: the gradient by adjoint.Grad, for the Trainer's
	// step-0 record to be compared with, and adjoint.Check on a few points.
	vars := nn.ParamVars(params)
	loss0 := nn.SoftmaxCrossEntropy(model.Apply(vars, xc), labels)
	_, norms0 := nn.LayerGradNorms(params, adjoint.Grad(loss0, vars...))
	loss0v := loss0.Item()
	res.nfd = min(8, c.Points)
	xs := adjoint.FromData(x.Data[:2*res.nfd], res.nfd, 2)
	// First order on the model itself; second order (a Hessian by finite
	// differences of the gradient, one gradient per parameter pair column)
	// on a narrow net of the same depth and activation, where it is cheap.
	res.check = adjoint.Check(func(v ...*adjoint.Var) *adjoint.Var {
		return nn.SoftmaxCrossEntropy(model.Apply(v, adjoint.Const(xs)), labels[:res.nfd])
	}, nn.ParamValues(params), &adjoint.CheckSettings{Seed: uint64(env.Seed), FirstOrderOnly: true})
	narrowCfg := c
	narrowCfg.Hidden = make([]int, len(c.Hidden))
	for i := range narrowCfg.Hidden {
		narrowCfg.Hidden[i] = min(4, c.Hidden[i])
	}
	narrow := trainMLPModel(env.Rand(), narrowCfg)
	res.narrowCheck = adjoint.Check(func(v ...*adjoint.Var) *adjoint.Var {
		return nn.SoftmaxCrossEntropy(narrow.Apply(v, adjoint.Const(xs)), labels[:res.nfd])
	}, nn.ParamValues(narrow.Params()), &adjoint.CheckSettings{Seed: uint64(env.Seed), FirstOrderOnly: c.Activation == "relu"})
	res.params, res.narrowP, res.narrowHidden = nn.NumElements(params), nn.NumElements(narrow.Params()), narrowCfg.Hidden

	res.hist = &nn.History{}
	tr := &nn.Trainer{Model: model, Optimizer: nn.NewAdam(c.LR), Recorder: res.hist, Progress: env.StepProgress("training")}
	res.acc = make([]float64, 0, c.Steps)
	start := time.Now()
	if _, err := tr.Run(c.Steps, func(_ int, ps []*adjoint.Var) (*adjoint.Var, []*adjoint.Var) {
		logits := model.Apply(ps, xc)
		res.acc = append(res.acc, nn.Accuracy(logits.Value(), labels)) // before the update, like the loss
		return nn.SoftmaxCrossEntropy(logits, labels), nil
	}); err != nil {
		return nil, err
	}
	res.seconds = time.Since(start).Seconds()
	finalLogits := nn.Predict(model, xc)
	res.finalAcc = nn.Accuracy(finalLogits.Value(), labels)
	res.finalLoss = nn.SoftmaxCrossEntropy(finalLogits, labels).Item()
	if xt != nil {
		res.testAcc = nn.Accuracy(nn.Predict(model, adjoint.Const(xt)).Value(), lt)
	}
	res.recErr = max(relErr(res.hist.LayerGradNorm[0], norms0), math.Abs(res.hist.Loss[0]-loss0v)/loss0v)

	// Probability of class 1 on a grid over the data's box.
	box := [4]float64{math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)}
	for i := range c.Points {
		box[0], box[1] = min(box[0], x.Data[2*i]), max(box[1], x.Data[2*i])
		box[2], box[3] = min(box[2], x.Data[2*i+1]), max(box[3], x.Data[2*i+1])
	}
	pad := 0.08 * max(box[1]-box[0], box[3]-box[2])
	res.box = [4]float64{box[0] - pad, box[1] + pad, box[2] - pad, box[3] + pad}
	g := c.Grid
	gx := adjoint.New(g*g, 2)
	for row := range g {
		yv := res.box[2] + (float64(row)+0.5)/float64(g)*(res.box[3]-res.box[2])
		for col := range g {
			gx.Data[2*(row*g+col)] = res.box[0] + (float64(col)+0.5)/float64(g)*(res.box[1]-res.box[0])
			gx.Data[2*(row*g+col)+1] = yv
		}
	}
	prob := adjoint.Softmax(nn.Predict(model, adjoint.Const(gx)), 1).Value()
	res.p1 = make([]float64, g*g)
	for i := range res.p1 {
		res.p1[i] = prob.Data[2*i+1]
	}
	return res, nil
}

func trainMLPFigures(dir runner.Dir, c trainMLPConfig, res *trainMLPResult) error {
	hist := res.hist
	steps := make([]float64, c.Steps)
	for i := range steps {
		steps[i] = float64(i)
	}
	var gf, uf []plots.Series
	for j, name := range hist.Layers {
		gf = append(gf, plots.Series{Name: name, X: steps, Y: nn.Column(hist.LayerGradNorm, j)})
		uf = append(uf, plots.Series{Name: name, X: steps, Y: nn.Column(hist.LayerUpdateRatio, j)})
	}
	var c0, c1 plots.Series
	c0.Name, c1.Name = "spiral 0", "spiral 1"
	for i := range c.Points {
		s := &c0
		if res.labels[i] == 1 {
			s = &c1
		}
		s.X, s.Y = append(s.X, res.x.Data[2*i]), append(s.Y, res.x.Data[2*i+1])
	}
	lineOpt := &plots.Options{WidthPx: 640, HeightPx: 400}
	return parallel([]func() error{
		func() error {
			_, err := plots.Save(dir.Path("loss.png"), plots.Line{
				Title: "Training loss", X: plots.Axis{Label: "Adam step"}, Y: plots.Axis{Label: "softmax cross-entropy", Log: true},
				Series: []plots.Series{{Name: "loss", X: steps, Y: hist.Loss}}, Legend: plots.NoLegend,
			}, lineOpt)
			return err
		},
		func() error {
			_, err := plots.Save(dir.Path("accuracy.png"), plots.Line{
				Title: "Training accuracy", X: plots.Axis{Label: "Adam step"}, Y: plots.Axis{Label: "fraction classified correctly"},
				Series: []plots.Series{{Name: "accuracy", X: steps, Y: res.acc}}, Legend: plots.NoLegend,
			}, lineOpt)
			return err
		},
		func() error {
			_, err := plots.Save(dir.Path("gradient_flow.png"), plots.Line{
				Title: "Gradient flow: per-layer gradient norm over training", X: plots.Axis{Label: "Adam step"},
				Y: plots.Axis{Label: "‖dL/dθ_layer‖", Log: true}, Series: gf,
			}, lineOpt)
			return err
		},
		func() error {
			_, err := plots.Save(dir.Path("update_ratio.png"), plots.Line{
				Title: "Per-layer update ratio ‖Δθ‖/‖θ‖ over training", X: plots.Axis{Label: "Adam step"},
				Y: plots.Axis{Label: "‖Δθ‖ / ‖θ‖", Log: true}, Series: uf,
			}, lineOpt)
			return err
		},
		func() error {
			_, err := plots.Save(dir.Path("data.png"), plots.Scatter{
				Title: "Two interleaved spirals (training set)", X: plots.Axis{Label: "x₁"}, Y: plots.Axis{Label: "x₂"},
				Groups: []plots.Series{c0, c1},
			}, &plots.Options{WidthPx: 600, HeightPx: 480})
			return err
		},
		func() error {
			_, err := plots.Save(dir.Path("decision_boundary.png"), plots.HeatMap{
				Title:  "Learnt probability of spiral 1",
				XLabel: "x₁", YLabel: "x₂", ColorLabel: "p(spiral 1)",
				Z: res.p1, Rows: c.Grid, Cols: c.Grid,
				XExtent:     plots.Extent{Min: res.box[0], Max: res.box[1]},
				YExtent:     plots.Extent{Min: res.box[2], Max: res.box[3]},
				OriginLower: true,
				ColorMap:    moreland.SmoothBlueRed(),
				ZRange:      plots.Extent{Min: 0, Max: 1},
			}, &plots.Options{WidthPx: 600, HeightPx: 500})
			return err
		},
	})
}

// trainMLPMedian returns the median of every layer's update ratio over the
// steps [from, to).
func trainMLPMedian(ratios [][]float64, from, to int) float64 {
	var v []float64
	for _, row := range ratios[from:to] {
		v = append(v, row...)
	}
	slices.Sort(v)
	if len(v) == 0 {
		return math.NaN()
	}
	return v[len(v)/2]
}

func trainMLPReport(rep *runner.Report, c trainMLPConfig, res *trainMLPResult) {
	hist := res.hist
	rep.Heading("Setup")
	rep.Paraf("%d training points (and %d held-out test points) on two interleaved spirals of %g turns each: class k at radius t and angle 2π·%g·t + kπ, "+
		"t uniform on (0.05, 1], each coordinate with Gaussian noise of standard deviation %g. "+
		"The classifier is an MLP 2 → %v → 2 with %s activations (nn.Sequential of nn.Linear layers, Glorot/He uniform initialisation), "+
		"trained on the softmax cross-entropy (nn.SoftmaxCrossEntropy) with Adam (learning rate %g) for %d full-batch steps by nn.Trainer, "+
		"whose recorder (nn.History) keeps the loss, every layer's gradient norm and its update ratio ‖Δθ‖/‖θ‖ at every step.",
		c.Points, c.TestPoints, c.Turns, c.Turns, c.Noise, c.Hidden, c.Activation, c.LR, c.Steps)
	last := len(hist.Step) - 1
	rep.Heading("Training")
	rep.Figure("loss.png", fmt.Sprintf("Softmax cross-entropy at each step, before the step's update (log scale): %s at initialisation "+
		"(log 2 = %s would be an uninformed guess), %s after the last update.", runner.Num(hist.Loss[0]), runner.Num(math.Ln2), runner.Num(res.finalLoss)))
	rep.Figure("accuracy.png", fmt.Sprintf("Fraction of training points classified correctly at each step, before the step's update: %.1f%% at the start, %.1f%% after the last update.",
		100*res.acc[0], 100*res.finalAcc))
	rep.Heading("Decision boundary")
	rep.Figure("data.png", "The training set.")
	boundary := fmt.Sprintf("The learnt probability of spiral 1 over the plane; white is p = ½, the decision boundary, which has to wind between the two arms "+
		"to separate them: it classifies %.1f%% of the training points correctly", 100*res.finalAcc)
	if !math.IsNaN(res.testAcc) {
		boundary += fmt.Sprintf(" and %.1f%% of the held-out ones", 100*res.testAcc)
	}
	rep.Figure("decision_boundary.png", boundary+".")

	// The gradient flow in numbers: the first layer's gradient norm at
	// its lowest in the first half (the plateau), its highest after that
	// (the escape), and at the end; and the first over the last layer.
	first := nn.Column(hist.LayerGradNorm, 0)
	lastLayer := nn.Column(hist.LayerGradNorm, len(hist.Layers)-1)
	half := max(1, len(first)/2)
	lo := slices.Index(first, slices.Min(first[:half]))
	hi := lo + slices.Index(first[lo:], slices.Max(first[lo:]))
	rlo, rhi := math.Inf(1), math.Inf(-1)
	for i := range first {
		r := first[i] / lastLayer[i]
		rlo, rhi = min(rlo, r), max(rhi, r)
	}
	q := max(1, len(hist.LayerUpdateRatio)/4)
	early, late := trainMLPMedian(hist.LayerUpdateRatio, 0, q), trainMLPMedian(hist.LayerUpdateRatio, len(hist.LayerUpdateRatio)-q, len(hist.LayerUpdateRatio))
	rep.Heading("Gradient flow")
	rep.Figure("gradient_flow.png", "Norm of each layer's gradient (weights and bias together) at every step, as recorded by the Trainer (log scale). Layer names are nn.Sequential's: layer0 is the first Linear, the last one the read-out.")
	rep.Figure("update_ratio.png", fmt.Sprintf("Each layer's update ratio ‖Δθ‖/‖θ‖ at every step (log scale): how far Adam moves the layer relative to its size. "+
		"Its median over every layer is %s in the first quarter of the run and %s in the last: Adam's steps are normalised by its second-moment "+
		"estimate (β₂ = 0.999), which remembers the larger gradients of earlier steps, so they shrink as the gradients do.",
		runner.Num(early), runner.Num(late)))
	burst := first[hi] > 10*first[lo]
	rep.Paraf("The gradient of the first layer (%s) falls from %s at step 0 to its lowest in the first half of the run, %s at step %d; "+
		"after that it reaches at most %s (step %d) and ends at %s. %s "+
		"Over the whole run the first layer's gradient norm is %s to %s times the read-out's (%s): with Glorot initialisation and %s "+
		"the gradient reaches the first layer %s, unlike in the deep nets of vanishing_exploding.",
		hist.Layers[0], runner.Num(first[0]), runner.Num(first[lo]), lo, runner.Num(first[hi]), hi, runner.Num(first[len(first)-1]),
		runner.Choose(burst, "A minimum followed by a burst more than ten times larger is the mark of a plateau of the loss (a saddle) that training "+
			"then escapes, learning to wind the boundary between the arms.", "No burst ten times above the minimum follows it: no plateau of the loss shows here."),
		runner.Num(rlo), runner.Num(rhi), hist.Layers[len(hist.Layers)-1], runner.Count(len(c.Hidden), "hidden layer", "hidden layers"),
		runner.Choose(rlo > 0.1, "undiminished (never below a tenth)", "diminished at times"))

	rep.Heading("Results")
	t := rep.Table("quantity", "value")
	t.Row("initial loss", hist.Loss[0])
	t.Row("final loss", res.finalLoss)
	t.Row("final training accuracy", res.finalAcc)
	if !math.IsNaN(res.testAcc) {
		t.Row("test accuracy", res.testAcc)
	}
	gt := rep.Table("layer", "‖dL/dθ‖ at step 0", "at the last step", "update ratio at step 0", "at the last step")
	for j, name := range hist.Layers {
		gt.Row(name, hist.LayerGradNorm[0][j], hist.LayerGradNorm[last][j], hist.LayerUpdateRatio[0][j], hist.LayerUpdateRatio[last][j])
	}
	cr, cr2 := res.check, res.narrowCheck
	rep.Subheading("adjoint.Check at initialisation")
	rep.Paraf("The loss on the first %d training points, differentiated with respect to every weight and bias (%d parameters); "+
		"the Hessian checks use a net of the same depth and activation with hidden widths %v (%d parameters), where finite differences of the gradient are cheap.",
		res.nfd, res.params, res.narrowHidden, res.narrowP)
	ct := rep.Table("comparison", "max abs. error", "max rel. error")
	ct.Row("reverse mode vs central differences", cr.RevFD.MaxAbs, cr.RevFD.MaxRel)
	ct.Row("forward mode vs central differences", cr.FwdFD.MaxAbs, cr.FwdFD.MaxRel)
	ct.Row("reverse vs forward mode", cr.RevFwd.MaxAbs, cr.RevFwd.MaxRel)
	if cr2.SecondOrder {
		ct.Row("narrow net: Hessian, reverse-over-reverse vs differences of the gradient", cr2.HessFD.MaxAbs, cr2.HessFD.MaxRel)
		ct.Row("narrow net: Hessian, reverse-over-reverse vs forward-over-reverse", cr2.HessFwdRev.MaxAbs, cr2.HessFwdRev.MaxRel)
	}

	rep.Metric("initial loss", hist.Loss[0])
	rep.Metric("final loss", res.finalLoss)
	rep.Metric("final training accuracy", res.finalAcc)
	if !math.IsNaN(res.testAcc) {
		rep.Metric("test accuracy", res.testAcc)
	}
	rep.Timing(fmt.Sprintf("training (%d steps)", c.Steps), res.seconds)

	rep.CheckTrue(fmt.Sprintf("final training accuracy ≥ %g", c.MinAccuracy), res.finalAcc >= float64(c.MinAccuracy), fmt.Sprintf("accuracy %.4g", res.finalAcc))
	rep.CheckTrue("loss decreased", res.finalLoss < hist.Loss[0], fmt.Sprintf("%.4g → %.4g", hist.Loss[0], res.finalLoss))
	rep.Check("Trainer's step-0 record (loss, per-layer gradient norms) vs adjoint.Grad", res.recErr, c.Tol)
	rep.Check("adjoint.Check: reverse mode vs central differences", cr.RevFD.MaxRel, c.FDTol)
	rep.Check("adjoint.Check: reverse vs forward mode", cr.RevFwd.MaxRel, c.Tol)
	if cr2.SecondOrder {
		rep.Check("adjoint.Check (narrow net): Hessian vs central differences of the gradient", cr2.HessFD.MaxRel, c.FDTol)
	}
}
