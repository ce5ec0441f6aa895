package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/stat"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/nn"
	"github.com/adjointkit/adjointkit/nn/data"
	"github.com/adjointkit/adjointkit/nn/explain"
	"github.com/adjointkit/adjointkit/plots"
)

// attributionConfig is the [params] table of attribution_mnist.
type attributionConfig struct {
	Model             mnistModelConfig `toml:"model"`               // the classifier ([params.model]); shared with mnist_classifier through the cache
	Digits            int              `toml:"digits"`              // rows of the grid: the first correctly classified test image of digits 0, 1, …; 1 to 10
	IGSteps           int              `toml:"ig_steps"`            // integrated-gradient steps for the grid and the sanity checks, 2 to 1024
	IGRule            string           `toml:"ig_rule"`             // their quadrature rule: gausslegendre, riemann_left, riemann_right, riemann_middle, riemann_trapezoid
	Baseline          string           `toml:"baseline"`            // integrated gradients' baseline: "black" (all zeros) or "mean" (the mean training image)
	SmoothSamples     int              `toml:"smoothgrad_samples"`  // noisy copies per SmoothGrad map, 1 to 1000
	SmoothSigma       float64          `toml:"smoothgrad_sigma"`    // SmoothGrad's noise standard deviation, in pixel units (pixels are 0 to 1), 0.001 to 1
	OcclusionWindow   int              `toml:"occlusion_window"`    // side of the occluding patch in pixels, 1 to 14
	OcclusionStride   int              `toml:"occlusion_stride"`    // step between patches, 1 to 14
	CompletenessSteps []int            `toml:"completeness_steps"`  // step counts of the completeness study (2 to 4096 each, at least two)
	CompletenessN     int              `toml:"completeness_images"` // test images whose completeness gaps are averaged, 1 to 100
	SanityN           int              `toml:"sanity_images"`       // test images of the randomisation test and the deletion/insertion curves, 1 to 500
	CurveSteps        int              `toml:"curve_steps"`         // increments of the deletion and insertion curves, 2 to 784
	FDPixels          int              `toml:"fd_pixels"`           // pixels whose saliency is checked against central differences, 1 to 64
	FDStep            float64          `toml:"fd_step"`             // central-difference step in pixel units, 1e-9 to 1e-3
	FDJitter          float64          `toml:"fd_jitter"`           // uniform noise added to the checked image to break max-pool ties, 0 to 0.1
	FDTol             runner.Tol       `toml:"fd_tol"`              // saliency vs central differences, normwise relative, 0 to 1
	CompletenessTol   runner.Tol       `toml:"completeness_tol"`    // largest completeness gap of the grid's integrated gradients, relative to |f(x) − f(x′)|, 0 to 1
	MaxRandomCorr     runner.Tol       `toml:"max_random_corr"`     // largest rank correlation of gradient and SmoothGrad maps with the trained model's once every layer is random, 0 to 1
}

// Validate checks every key.
func (c attributionConfig) Validate() error {
	errs := append(c.Model.validate(),
		runner.InRange("digits", c.Digits, 1, 10),
		runner.InRange("ig_steps", c.IGSteps, 2, 1024),
		runner.OneOf("ig_rule", c.IGRule, ruleNames()...),
		runner.OneOf("baseline", c.Baseline, "black", "mean"),
		runner.InRange("smoothgrad_samples", c.SmoothSamples, 1, 1000),
		runner.InRange("smoothgrad_sigma", c.SmoothSigma, 0.001, 1),
		runner.InRange("occlusion_window", c.OcclusionWindow, 1, 14),
		runner.InRange("occlusion_stride", c.OcclusionStride, 1, 14),
		runner.InRange("completeness_images", c.CompletenessN, 1, 100),
		runner.InRange("sanity_images", c.SanityN, 1, 500),
		runner.InRange("curve_steps", c.CurveSteps, 2, 784),
		runner.InRange("fd_pixels", c.FDPixels, 1, 64),
		runner.InRange("fd_step", c.FDStep, 1e-9, 1e-3),
		runner.InRange("fd_jitter", c.FDJitter, 0, 0.1),
		runner.InRange("max_random_corr", c.MaxRandomCorr, 0, 1),
		runner.InRange("fd_tol", c.FDTol, 0, 1),
		runner.InRange("completeness_tol", c.CompletenessTol, 0, 1))
	if len(c.CompletenessSteps) < 2 {
		errs = append(errs, runner.ParamErrorf("completeness_steps", "must list at least two step counts, got %d", len(c.CompletenessSteps)))
	}
	for i, m := range c.CompletenessSteps {
		if m < 2 || m > 4096 {
			errs = append(errs, runner.ParamErrorf("completeness_steps", "entry %d must be between 2 and 4096, got %d", i, m))
		}
	}
	return errors.Join(errs...)
}

// ruleNames lists the quadrature rules by their configuration names.
func ruleNames() []string {
	var s []string
	for _, r := range explain.Rules {
		s = append(s, r.String())
	}
	return s
}

// ruleByName returns the rule called name (a validated name).
func ruleByName(name string) explain.Rule {
	for _, r := range explain.Rules {
		if r.String() == name {
			return r
		}
	}
	panic("unknown rule " + name)
}

func init() {
	runner.Register(runner.Spec[attributionConfig, attributionResult]{
		Name:    "attribution_mnist",
		Theme:   "nn",
		Summary: "What a trained MNIST classifier looks at: gradient, gradient × input, integrated gradients, SmoothGrad and occlusion, with completeness, randomisation and deletion/insertion checks.",
		Title: func(c attributionConfig) string {
			return fmt.Sprintf("Attribution maps of an MNIST CNN trained on %d images", c.Model.TrainSize)
		},
		Headline: "ig_completeness_rel_max",
		Defaults: func() attributionConfig {
			return attributionConfig{Model: defaultMNISTModel(), Digits: 5, IGSteps: 64, IGRule: "gausslegendre",
				Baseline: "black", SmoothSamples: 32, SmoothSigma: 0.15, OcclusionWindow: 4, OcclusionStride: 2,
				CompletenessSteps: []int{2, 4, 8, 16, 32, 64, 128}, CompletenessN: 3,
				SanityN: 8, CurveSteps: 49, FDPixels: 8, FDStep: 1e-7, FDJitter: 0.01, FDTol: 1e-6,
				CompletenessTol: 0.05, MaxRandomCorr: 0.5}
		},
		Quick: func(c *attributionConfig) {
			quickMNISTModel(&c.Model)
			c.Digits = min(c.Digits, 3)
			c.SmoothSamples = min(c.SmoothSamples, 8)
			c.CompletenessN = min(c.CompletenessN, 2)
			c.SanityN = min(c.SanityN, 3)
			c.CompletenessSteps = slices.DeleteFunc(c.CompletenessSteps, func(m int) bool { return m > 64 })
			if len(c.CompletenessSteps) < 2 {
				c.CompletenessSteps = []int{4, 16}
			}
		},
		Compute: computeAttribution,
		Figures: attributionFigures,
		Report:  attributionReport,
	})
}

// attributionMethods are the columns of the grid, in order.
var attributionMethods = []string{"gradient", "gradient × input", "integrated gradients", "SmoothGrad", "occlusion"}

// attributionResult is what computeAttribution finds.
type attributionResult struct {
	m        *mnistModel
	testAcc  float64
	images   []int         // test images of the grid
	inputs   [][]float64   // their pixels
	maps     [][][]float64 // [image][method] attribution maps
	igDelta  []float64     // completeness gap of each grid image's integrated gradients
	igRange  []float64     // |f(x) − f(x′)| of each
	compStep []int
	compGap  [][]float64 // [rule][step] mean completeness gap over the images
	compRel  [][]float64 // the same relative to |f(x) − f(x′)|
	// Randomisation: stages[0] is the trained model, stages[k] has the top
	// k layers randomised.
	stages      []string    // the model's layer names: "trained", then the layers randomised
	stageLabels []string    // the same for a reader: "trained", "+dense", "+conv 2", …
	spearman    [][]float64 // [method][stage] mean rank correlation of |map| with the trained model's
	accRand     []float64   // accuracy on the sanity images at each stage
	// Deletion and insertion (methods, then "random order").
	curveFrac      []float64
	deletion       [][]float64 // [method][step] mean probability of the true class
	insertion      [][]float64
	delAUC, insAUC []float64
	// Saliency vs central differences.
	fdPixels   []int
	fdAD, fdFD []float64
	seconds    map[string]float64
}

// attributionMaps computes every method's map for one image (a [1, 1,
// 28, 28] tensor) and class under parameters ps (the model's own, or
// randomised), returning the maps and the integrated-gradients result.
func attributionMaps(env *runner.Env, c attributionConfig, net nn.Layer, ps []*adjoint.Var, x *adjoint.Tensor, class int, baseline *adjoint.Tensor) ([][]float64, explain.IGResult) {
	logit := explain.Score(func(xv *adjoint.Var) *adjoint.Var {
		out := net.Apply(ps, xv)
		return adjoint.Reshape(adjoint.Take(out, 1, []int{class}), out.Shape()[0])
	})
	ig := explain.IntegratedGradients(logit, x, &explain.IGSettings{Steps: c.IGSteps, Rule: ruleByName(c.IGRule), Baseline: baseline})
	sgRand := env.Rand()
	return [][]float64{
		explain.Gradient(logit, x).Data,
		explain.GradientTimesInput(logit, x).Data,
		ig.Attribution.Data,
		explain.SmoothGrad(logit, x, sgRand, &explain.SmoothGradSettings{Samples: c.SmoothSamples, Sigma: c.SmoothSigma}).Data,
		explain.Occlusion(logit, x, &explain.OcclusionSettings{Window: c.OcclusionWindow, Stride: c.OcclusionStride}).Data,
	}, ig
}

func computeAttribution(env *runner.Env, c attributionConfig) (*attributionResult, error) {
	m, err := trainMNIST(env, c.Model)
	if err != nil {
		return nil, err
	}
	res := &attributionResult{m: m, seconds: map[string]float64{}}
	all := data.Range(0, m.test.N)
	pred := mnistPredict(m.net, m.test, all)
	res.testAcc = accuracyOf(pred, m.test, all)
	correct := func(i int) bool { return pred[i] == int(m.test.Labels[i]) }

	var baseline *adjoint.Tensor
	if c.Baseline == "mean" {
		baseline = adjoint.New(1, 1, 28, 28)
		for i := range m.train.N {
			for j := range 784 {
				baseline.Data[j] += float64(m.train.Pixels[i*784+j]) / 255 / float64(m.train.N)
			}
		}
	}
	// The grid's images: the first correctly classified test image of
	// each digit, 0, 1, … .
	for d := range c.Digits {
		for i := range m.test.N {
			if int(m.test.Labels[i]) == d && correct(i) {
				res.images = append(res.images, i)
				break
			}
		}
	}
	ps := nn.Vars(m.net)
	t0 := time.Now()
	for k, i := range res.images {
		x, labels := m.test.Batch([]int{i})
		maps, ig := attributionMaps(env, c, m.net, ps, x, labels[0], baseline)
		res.inputs = append(res.inputs, x.Data)
		res.maps = append(res.maps, maps)
		res.igDelta = append(res.igDelta, ig.Delta[0])
		res.igRange = append(res.igRange, math.Abs(ig.Score[0]-ig.BaselineScore[0]))
		env.Progress(k+1, len(res.images), "attribution maps")
	}
	res.seconds["attribution maps"] = time.Since(t0).Seconds()
	if err := env.Context().Err(); err != nil {
		return nil, err
	}

	// Completeness: the gap of integrated gradients against the number of
	// steps, for every rule, over the first correctly classified images.
	t0 = time.Now()
	res.compStep = c.CompletenessSteps
	var compImgs []int
	for i := 0; i < m.test.N && len(compImgs) < c.CompletenessN; i++ {
		if correct(i) {
			compImgs = append(compImgs, i)
		}
	}
	xc, lc := m.test.Batch(compImgs)
	for _, r := range explain.Rules {
		gaps, rel := make([]float64, len(c.CompletenessSteps)), make([]float64, len(c.CompletenessSteps))
		for si, steps := range c.CompletenessSteps {
			for b := range compImgs {
				xb := adjoint.FromData(xc.Data[b*784:(b+1)*784], 1, 1, 28, 28)
				ig := explain.IntegratedGradients(explain.Logit(m.net, lc[b]), xb, &explain.IGSettings{Steps: steps, Rule: r, Baseline: baseline})
				gaps[si] += ig.Delta[0] / float64(len(compImgs))
				rel[si] += ig.Delta[0] / math.Abs(ig.Score[0]-ig.BaselineScore[0]) / float64(len(compImgs))
			}
		}
		res.compGap = append(res.compGap, gaps)
		res.compRel = append(res.compRel, rel)
		if err := env.Context().Err(); err != nil {
			return nil, err
		}
	}
	res.seconds["completeness study"] = time.Since(t0).Seconds()

	// Sanity images: the first correctly classified ones after the grid's.
	var sanity []int
	for i := 0; i < m.test.N && len(sanity) < c.SanityN; i++ {
		if correct(i) {
			sanity = append(sanity, i)
		}
	}
	// Cascading randomisation, top layer first.
	t0 = time.Now()
	params := m.net.Params()
	layers := explain.Layers(params)
	res.stages = append([]string{"trained"}, layers...)
	res.stageLabels = []string{"trained"}
	kinds := layerKinds(m.net)
	for _, l := range layers {
		res.stageLabels = append(res.stageLabels, "+"+kinds[l])
	}
	randRng := env.Rand()
	trained := make([][][]float64, len(sanity))
	res.spearman = make([][]float64, len(attributionMethods))
	for mi := range res.spearman {
		res.spearman[mi] = make([]float64, len(res.stages))
	}
	for st := range res.stages {
		vals := ps
		if st > 0 {
			vals = explain.Randomized(params, layers[:st], randRng)
		}
		xs, ls := m.test.Batch(sanity)
		logits := m.net.Apply(vals, adjoint.Const(xs)).Value()
		hits := 0
		for b, p := range argmaxRows(logits) {
			if p == ls[b] {
				hits++
			}
		}
		res.accRand = append(res.accRand, float64(hits)/float64(len(sanity)))
		for b := range sanity {
			xb := adjoint.FromData(xs.Data[b*784:(b+1)*784], 1, 1, 28, 28)
			maps, _ := attributionMaps(env, c, m.net, vals, xb, ls[b], baseline)
			if st == 0 {
				trained[b] = maps
			}
			for mi := range maps {
				res.spearman[mi][st] += explain.Spearman(absAll(trained[b][mi]), absAll(maps[mi])) / float64(len(sanity))
			}
		}
		env.Progress(st+1, len(res.stages), "randomisation test")
		if err := env.Context().Err(); err != nil {
			return nil, err
		}
	}
	res.seconds["randomisation test"] = time.Since(t0).Seconds()

	// Deletion and insertion curves of the true class's probability, in
	// the order of each method's map, and in random orders.
	t0 = time.Now()
	orderRng := env.Rand()
	nCurves := len(attributionMethods) + 1
	res.deletion = make([][]float64, nCurves)
	res.insertion = make([][]float64, nCurves)
	for b, i := range sanity {
		x, labels := m.test.Batch([]int{i})
		prob := explain.Probability(m.net, labels[0])
		for k := range nCurves {
			var order []int
			if k < len(attributionMethods) {
				order = explain.Order(trained[b][k])
			} else {
				order = orderRng.Perm(784)
			}
			frac, del := explain.DeletionCurve(prob, x, order, &explain.CurveSettings{Steps: c.CurveSteps})
			_, ins := explain.InsertionCurve(prob, x, order, &explain.CurveSettings{Steps: c.CurveSteps})
			res.curveFrac = frac
			if res.deletion[k] == nil {
				res.deletion[k] = make([]float64, len(frac))
				res.insertion[k] = make([]float64, len(frac))
			}
			for j := range frac {
				res.deletion[k][j] += del[j] / float64(len(sanity))
				res.insertion[k][j] += ins[j] / float64(len(sanity))
			}
		}
	}
	for k := range nCurves {
		res.delAUC = append(res.delAUC, explain.AUC(res.curveFrac, res.deletion[k]))
		res.insAUC = append(res.insAUC, explain.AUC(res.curveFrac, res.insertion[k]))
	}
	res.seconds["deletion and insertion curves"] = time.Since(t0).Seconds()

	// Saliency against central differences of the logit, on the grid's
	// first image: the pixels of largest |gradient| and as many others.
	// MNIST's pixels are quantised (many equal 0 or 1 exactly), so
	// max-pool windows hold exact ties, where the logit has a kink and no
	// derivative; uniform noise of ±fd_jitter breaks the ties, and the
	// check runs at that nearby point.
	t0 = time.Now()
	x0, l0 := m.test.Batch(res.images[:1])
	jitter(x0, c.FDJitter, randRng)
	logit := explain.Logit(m.net, l0[0])
	grad := explain.Gradient(logit, x0).Data
	res.fdPixels = checkPixels(grad, c.FDPixels, randRng)
	for _, j := range res.fdPixels {
		xp := x0.Clone()
		res.fdAD = append(res.fdAD, grad[j])
		res.fdFD = append(res.fdFD, fd.Derivative(func(t float64) float64 {
			xp.Data[j] = x0.Data[j] + t
			return logit(adjoint.Const(xp)).Value().Data[0]
		}, 0, &fd.Settings{Formula: fd.Central, Step: c.FDStep}))
	}
	res.seconds["finite differences"] = time.Since(t0).Seconds()
	return res, nil
}

// layerKinds names the layers of a Sequential with parameters for a
// reader, by their parameters' layer names ("layer0" → "conv 1",
// "layer7" → "dense 1"), counting each kind from the input.
func layerKinds(net *nn.Sequential) map[string]string {
	names := map[string]string{}
	count := map[string]int{}
	for i, l := range net.Children() {
		kind := ""
		switch l.(type) {
		case *nn.Conv2D:
			kind = "conv"
		case *nn.Linear:
			kind = "dense"
		default:
			continue
		}
		count[kind]++
		names[fmt.Sprintf("layer%d", i)] = fmt.Sprintf("%s %d", kind, count[kind])
	}
	return names
}

// absAll returns the absolute values of v.
func absAll(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Abs(x)
	}
	return out
}

func attributionFigures(dir runner.Dir, c attributionConfig, res *attributionResult) error {
	// The grid: one row per digit, the input and then each method's map
	// on a range of its own, ±max |value|.
	var rows [][]plots.Image
	var labels []string
	for k, i := range res.images {
		row := []plots.Image{{Pix: res.inputs[k], Width: 28, Height: 28}}
		for _, mp := range res.maps[k] {
			row = append(row, plots.Image{Pix: mp, Width: 28, Height: 28, Scale: 1})
		}
		rows = append(rows, row)
		labels = append(labels, fmt.Sprintf("test image %d", i))
	}
	if err := saveImageGrid(dir.Path("grid.png"), plots.ImageGrid{
		Title:     "Attribution maps of the true class's logit",
		Images:    rows,
		RowLabels: labels,
		ColLabels: append([]string{"input"}, attributionMethods...),
		Scales: append(slices.Clone(mnistPixelScale),
			plots.ImageScale{Palette: plots.Diverging, PerImage: true, ColorBar: true, Label: "value / max |value| of its map"}),
	}, 900); err != nil {
		return err
	}

	// Completeness gap against steps, log-log, with slopes −1 and −2.
	steps := make([]float64, len(res.compStep))
	for i, m := range res.compStep {
		steps[i] = float64(m)
	}
	var series []plots.Series
	for ri, r := range explain.Rules {
		series = append(series, plots.Series{Name: plots.Escape(r.String()), X: steps, Y: res.compGap[ri], Points: true})
	}
	y0 := res.compGap[1][0] // a first-order rule's first gap anchors the guides
	series = append(series,
		plots.Series{Name: "slope −1", X: steps, Y: powerLaw(steps, y0, -1), Reference: true, Dash: plots.Dashed},
		plots.Series{Name: "slope −2", X: steps, Y: powerLaw(steps, y0, -2), Reference: true, Dash: plots.Dotted})
	if _, err := plots.Save(dir.Path("completeness.png"), plots.Line{
		Title:  "Integrated gradients: completeness gap |Σ IG − (f(x) − f(x′))| against steps",
		X:      plots.Axis{Label: "steps m", Log: true},
		Y:      plots.Axis{Label: "mean gap (logit units)", Log: true},
		Series: series,
	}, nil); err != nil {
		return err
	}

	// Randomisation: rank correlation after each stage of the cascade.
	var groups []plots.BarGroup
	for mi, name := range attributionMethods {
		groups = append(groups, plots.BarGroup{Name: name, Values: res.spearman[mi]})
	}
	if _, err := plots.Save(dir.Path("randomization.png"), plots.Bars{
		Title:      "Cascading randomisation: rank correlation of |map| with the trained model's",
		XLabel:     "layers randomised, from the output down",
		Y:          plots.Axis{Label: "Spearman ρ"},
		Categories: res.stageLabels,
		Groups:     groups,
		Legend:     plots.Outside,
	}, nil); err != nil {
		return err
	}

	// Deletion and insertion curves.
	names := append(slices.Clone(attributionMethods), "random order")
	for _, fig := range []struct {
		file, title string
		ys          [][]float64
	}{
		{"deletion.png", "Deletion: pixels set to black, most attributed first", res.deletion},
		{"insertion.png", "Insertion: pixels restored on black, most attributed first", res.insertion},
	} {
		var cs []plots.Series
		for k, n := range names {
			s := plots.Series{Name: n, X: res.curveFrac, Y: fig.ys[k]}
			if k == len(names)-1 {
				s.Reference, s.Dash = true, plots.Dashed
			}
			cs = append(cs, s)
		}
		if _, err := plots.Save(dir.Path(fig.file), plots.Line{
			Title:  fig.title,
			X:      plots.Axis{Label: "fraction of pixels"},
			Y:      plots.Axis{Label: "probability of the true class"},
			Series: cs,
		}, &plots.Options{HeightPx: 420}); err != nil {
			return err
		}
	}
	return nil
}

// powerLaw returns y0·(x/x[0])^p at every x.
func powerLaw(x []float64, y0, p float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = y0 * math.Pow(v/x[0], p)
	}
	return y
}

// slope returns the least-squares slope of log y against log x.
func slope(x, y []float64) float64 {
	lx, ly := make([]float64, len(x)), make([]float64, len(y))
	for i := range x {
		lx[i], ly[i] = math.Log(x[i]), math.Log(y[i])
	}
	_, b := stat.LinearRegression(lx, ly, nil, false)
	return b
}

func attributionReport(rep *runner.Report, c attributionConfig, res *attributionResult) {
	m := res.m
	rep.Heading("Model")
	rep.Paraf("The classifier of mnist_classifier with this [params.model] table: %s, trained on %d images for %s; test accuracy %.2f%%.",
		c.Model.describe(), m.train.N, runner.Count(c.Model.Epochs, "epoch", "epochs"), 100*res.testAcc)
	rep.Paraf("Every map explains the logit of the image's true class. Integrated gradients: %d steps of the %s rule from a %s baseline. "+
		"SmoothGrad: %d noisy copies, σ = %s. Occlusion: %d×%d black patches, stride %d.",
		c.IGSteps, plots.Escape(c.IGRule), c.Baseline, c.SmoothSamples, runner.Num(c.SmoothSigma), c.OcclusionWindow, c.OcclusionWindow, c.OcclusionStride)

	rep.Heading("Maps")
	rep.Figure("grid.png", fmt.Sprintf("Test images %s (rows) and their maps; each map is divided by its largest absolute value, "+
		"red for evidence for the class, blue against; the input column shows the pixels (0 to 1).", intList(res.images)))

	rep.Heading("Completeness of integrated gradients")
	worst := 0.0
	for k := range res.igDelta {
		worst = math.Max(worst, res.igDelta[k]/res.igRange[k])
	}
	rep.Paraf("For the grid's maps (%d %s steps), the largest completeness gap relative to |f(x) − f(x′)| is %s, %s the tolerance %s.",
		c.IGSteps, plots.Escape(c.IGRule), runner.Num(worst), runner.Compare(worst, float64(c.CompletenessTol)), runner.Num(float64(c.CompletenessTol)))
	rep.Figure("completeness.png", fmt.Sprintf("Mean completeness gap over %d test images against the number of steps, for each quadrature rule, with guides of slope −1 and −2.", c.CompletenessN))
	tb := rep.Table(append([]string{"rule"}, append(stepHeaders(res.compStep), "fitted slope")...)...)
	for ri, r := range explain.Rules {
		row := []any{r.String()}
		for _, g := range res.compGap[ri] {
			row = append(row, runner.Num(g))
		}
		row = append(row, fmt.Sprintf("%.2f", slope(stepsFloat(res.compStep), res.compGap[ri])))
		tb.Row(row...)
	}
	sl := make([]float64, len(explain.Rules))
	for ri := range explain.Rules {
		sl[ri] = slope(stepsFloat(res.compStep), res.compGap[ri])
	}
	steepest := slices.Min(sl)
	rep.Paraf("On a smooth integrand the left and right sums would converge with slope −1, midpoint and trapezoid with −2 and Gauss–Legendre faster still "+
		"(the unit tests of package explain confirm these orders on exp(w·x)). The gradient of a ReLU network jumps wherever the path crosses a kink; "+
		"here the fitted slopes are %s. %s", sentenceList(explain.Rules, sl),
		runner.Choose(steepest > -1.5, "None is steeper than −1.5: the kinks, not the rule's order, set the rate.",
			"Some rule converges faster than first order despite the kinks."))

	rep.Heading("Sanity checks")
	rep.Paraf("Cascading randomisation (Adebayo et al. 2018) on %d test images: the layers' weights are replaced by Gaussian draws "+
		"with each tensor's standard deviation, from the output layer down (%s), and each method's map is compared with the trained model's by "+
		"the Spearman rank correlation of absolute values. The accuracy on these images falls from %.0f%% to %.0f%%.",
		c.SanityN, strings.Join(res.stageLabels[1:], ", "), 100*res.accRand[0], 100*res.accRand[len(res.accRand)-1])
	rep.Figure("randomization.png", "Mean Spearman rank correlation of each method's |map| with the trained model's, after each stage of the cascade.")
	rt := rep.Table(append([]string{"method"}, res.stageLabels...)...)
	last := len(res.stages) - 1
	var kept, changed []string
	for mi, name := range attributionMethods {
		row := []any{name}
		for _, v := range res.spearman[mi] {
			row = append(row, fmt.Sprintf("%.3f", v))
		}
		rt.Row(row...)
		if res.spearman[mi][last] > 0.5 {
			kept = append(kept, fmt.Sprintf("%s (%.2f)", name, res.spearman[mi][last]))
		} else {
			changed = append(changed, fmt.Sprintf("%s (%.2f)", name, res.spearman[mi][last]))
		}
	}
	if len(changed) > 0 {
		rep.Paraf("With every layer random, the maps of %s keep a rank correlation of at most 0.5 with the trained model's: they depend on what the model learnt.", andList(changed))
	}
	if len(kept) > 0 {
		rep.Paraf("Those of %s stay above 0.5: gradient × input and integrated gradients from a black baseline multiply by the input, "+
			"and covering a black pixel with black changes nothing, so these maps vanish away from the digit whatever the weights are "+
			"and keep its shape, as Adebayo et al. observed.", andList(kept))
	}

	names := append(slices.Clone(attributionMethods), "random order")
	rep.Paraf("Deletion and insertion curves (Petsiuk et al. 2018) on the same %d images: pixels are set to black (deletion) "+
		"or restored onto a black image (insertion) in the order of each map, most positive first, in %d increments, "+
		"and the probability of the true class is followed; a faithful map gives a small deletion area and a large insertion area.", c.SanityN, c.CurveSteps)
	rep.Figure("deletion.png", "Mean probability of the true class as the most attributed pixels are removed; dashed: random order.")
	rep.Figure("insertion.png", "Mean probability of the true class as the most attributed pixels are restored; dashed: random order.")
	at := rep.Table("order", "deletion AUC (lower is better)", "insertion AUC (higher is better)")
	rnd := len(names) - 1
	for k, n := range names {
		at.Row(n, fmt.Sprintf("%.3f", res.delAUC[k]), fmt.Sprintf("%.3f", res.insAUC[k]))
	}
	var beat []string
	for k := range rnd {
		if res.delAUC[k] < res.delAUC[rnd] && res.insAUC[k] > res.insAUC[rnd] {
			beat = append(beat, names[k])
		}
	}
	rep.Paraf("%s beat the random order on both curves (random: deletion %.3f, insertion %.3f).",
		runner.Choose(len(beat) > 0, "The orders of "+andList(beat), "No method's order"), res.delAUC[rnd], res.insAUC[rnd])

	rep.Heading("Gradient check")
	e := relErr(res.fdAD, res.fdFD)
	rep.Paraf("The saliency (the logit's input gradient by one reverse pass) of test image %d at %d pixels (the %d of largest |gradient| and %d at random) "+
		"against central differences with step %s. MNIST's pixels are quantised, so max-pool windows hold exact ties where the logit has a kink; "+
		"the check runs at the image plus uniform noise of ±%s, which breaks them. Largest normwise relative difference %s, %s the tolerance %s.",
		res.images[0], len(res.fdPixels), (c.FDPixels+1)/2, len(res.fdPixels)-(c.FDPixels+1)/2, runner.Num(c.FDStep), runner.Num(c.FDJitter),
		runner.Num(e), runner.Compare(e, float64(c.FDTol)), runner.Num(float64(c.FDTol)))
	ft := rep.Table("pixel (row, col)", "reverse pass", "central differences")
	for i, j := range res.fdPixels {
		ft.Row(fmt.Sprintf("(%d, %d)", j/28, j%28), fmt.Sprintf("%.9g", res.fdAD[i]), fmt.Sprintf("%.9g", res.fdFD[i]))
	}

	rep.Metric("test_accuracy", res.testAcc)
	rep.Metric("ig_completeness_rel_max", worst)
	for ri, r := range explain.Rules {
		rep.Metric("completeness_gap_"+r.String()+"_max_steps", res.compGap[ri][len(res.compStep)-1])
	}
	for mi, name := range attributionMethods {
		key := strings.NewReplacer(" × ", "_x_", " ", "_").Replace(strings.ToLower(name))
		rep.Metric("spearman_all_random_"+key, res.spearman[mi][last])
		rep.Metric("deletion_auc_"+key, res.delAUC[mi])
		rep.Metric("insertion_auc_"+key, res.insAUC[mi])
	}
	rep.Metric("deletion_auc_random", res.delAUC[rnd])
	rep.Metric("insertion_auc_random", res.insAUC[rnd])
	rep.Metric("saliency_fd_rel_err", e)
	mnistTimings(rep, m)
	for _, k := range []string{"attribution maps", "completeness study", "randomisation test", "deletion and insertion curves", "finite differences"} {
		rep.Timing(k, res.seconds[k])
	}
	rep.Check("integrated gradients completeness gap / |f(x) − f(x′)|", worst, c.CompletenessTol)
	rep.Check("saliency vs central differences", e, c.FDTol)
	gi, si := slices.Index(attributionMethods, "gradient"), slices.Index(attributionMethods, "SmoothGrad")
	rep.Check("gradient and SmoothGrad maps change when every layer is randomised (Spearman ρ)", max(res.spearman[gi][last], res.spearman[si][last]), c.MaxRandomCorr)
	rep.CheckTrue("every method's order beats a random order on deletion and insertion", len(beat) == rnd,
		fmt.Sprintf("%d of %d methods", len(beat), rnd))
}

// stepHeaders returns "m = 2", "m = 4", … .
func stepHeaders(steps []int) []string {
	var h []string
	for _, m := range steps {
		h = append(h, fmt.Sprintf("m = %d", m))
	}
	return h
}

func stepsFloat(steps []int) []float64 {
	out := make([]float64, len(steps))
	for i, m := range steps {
		out[i] = float64(m)
	}
	return out
}

// sentenceList formats "rule a, rule b and rule c" with values.
func sentenceList(rules []explain.Rule, v []float64) string {
	var parts []string
	for i, r := range rules {
		parts = append(parts, fmt.Sprintf("%.2f (%s)", v[i], r))
	}
	return andList(parts)
}

// intList formats integers as "1, 2 and 3".
func intList(v []int) string {
	var parts []string
	for _, x := range v {
		parts = append(parts, fmt.Sprint(x))
	}
	return andList(parts)
}

// andList joins words as "a, b and c".
func andList(parts []string) string {
	if len(parts) <= 1 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
