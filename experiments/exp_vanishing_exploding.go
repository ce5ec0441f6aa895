package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/nn"
	"github.com/adjointkit/adjointkit/plots"
)

// This file registers the vanishing_exploding experiment: gradient norms
// layer by layer in deep MLPs at initialisation, for several activations,
// depths and initialisation scales, and the per-layer growth factor of the
// backpropagated gradient against its mean-field prediction.

// vanExpConfig is the [params] table of the vanishing_exploding experiment.
type vanExpConfig struct {
	Width       int        `toml:"width"`       // units per layer (and input features), 2 to 1024
	Batch       int        `toml:"batch"`       // samples, 1 to 4096
	Depths      []int      `toml:"depths"`      // hidden layers of the nets, each 2 to 200
	Activations []string   `toml:"activations"` // any of "tanh", "sigmoid", "relu"
	Scales      []float64  `toml:"scales"`      // weight gains g: W ~ N(0, g²/width), each 0.01 to 10
	GrowthTol   runner.Tol `toml:"growth_tol"`  // |fitted/theory − 1| allowed for the growth factor
	FDTol       runner.Tol `toml:"fd_tol"`      // gradient check of a small net, relative
	ModeTol     runner.Tol `toml:"mode_tol"`    // reverse vs forward mode on the small nets, relative
}

// Validate checks every key's range.
func (c vanExpConfig) Validate() error {
	errs := []error{
		runner.InRange("width", c.Width, 2, 1024),
		runner.InRange("batch", c.Batch, 1, 4096),
		runner.InRange("growth_tol", c.GrowthTol, 0, 10),
		runner.InRange("fd_tol", c.FDTol, 0, 1),
		runner.InRange("mode_tol", c.ModeTol, 0, 1),
	}
	if len(c.Depths) == 0 {
		errs = append(errs, runner.ParamErrorf("depths", "must list at least one depth"))
	}
	for i, d := range c.Depths {
		errs = append(errs, runner.InRange(fmt.Sprintf("depths[%d]", i), d, 2, 200))
	}
	if len(c.Activations) == 0 {
		errs = append(errs, runner.ParamErrorf("activations", "must list at least one activation"))
	}
	for i, a := range c.Activations {
		errs = append(errs, runner.OneOf(fmt.Sprintf("activations[%d]", i), a, "tanh", "sigmoid", "relu"))
	}
	if len(c.Scales) == 0 {
		errs = append(errs, runner.ParamErrorf("scales", "must list at least one scale"))
	}
	for i, s := range c.Scales {
		errs = append(errs, runner.InRange(fmt.Sprintf("scales[%d]", i), s, 0.01, 10))
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[vanExpConfig, vanExpResult]{
		Name:    "vanishing_exploding",
		Theme:   "nn",
		Summary: "Per-layer gradient norms of deep tanh, sigmoid and ReLU MLPs at initialisation: the backward growth factor per layer is the weight gain times the RMS activation derivative.",
		Defaults: func() vanExpConfig {
			return vanExpConfig{
				Width: 64, Batch: 32,
				Depths:      []int{10, 20, 30, 50},
				Activations: []string{"tanh", "sigmoid", "relu"},
				Scales:      []float64{0.5, 1, 1.5, 2, 3},
				GrowthTol:   0.15, FDTol: 1e-6, ModeTol: 1e-12,
			}
		},
		Headline: "max |fitted/theory - 1|",
		Quick: func(c *vanExpConfig) {
			ds := make([]int, 0, len(c.Depths))
			for _, d := range c.Depths {
				ds = append(ds, min(d, 20))
			}
			slices.Sort(ds)
			c.Depths = slices.Compact(ds)
			// The width stays: the growth factor's fluctuations go as
			// 1/√width, and growth_tol is set for the configured width.
		},
		Compute: computeVanExp,
		Figures: vanExpFigures,
		Report:  vanExpReport,
	})
}

// vanExpNet is a deep MLP h_l = φ(h_{l−1} W_l + b_l), l = 1 … depth,
// read out by a fixed vector: L = mean over the batch of ⟨u, h_depth⟩.
type vanExpNet struct {
	model   *nn.Sequential
	depth   int
	act     string
	deriv   func(float64) float64
	readout *adjoint.Tensor // [width, 1]
}

func newVanExpNet(rng *rand.Rand, width, depth int, act string, scale float64) vanExpNet {
	a, d := activation(act)
	layers := make([]nn.Layer, 0, 2*depth)
	for range depth {
		// GlorotNormal on a square layer draws N(0, scale²/width): the
		// weight gain is scale.
		layers = append(layers, nn.NewLinear(rng, width, width, nn.GlorotNormal(scale)), a)
	}
	u := adjoint.New(width, 1)
	for i := range u.Data {
		u.Data[i] = rng.NormFloat64() / math.Sqrt(float64(width))
	}
	return vanExpNet{model: nn.NewSequential([]int{width}, layers...), depth: depth, act: act, deriv: d, readout: u}
}

// forward returns the loss, the pre-activations z_l and the hidden states
// h_l, l = 1 … depth, for the parameter values ps.
func (n vanExpNet) forward(ps []*adjoint.Var, x *adjoint.Var) (loss *adjoint.Var, zs, hs []*adjoint.Var) {
	parts := n.model.Split(ps)
	layers := n.model.Children()
	h := x
	for i, l := range layers {
		h = l.Apply(parts[i], h)
		if i%2 == 0 {
			zs = append(zs, h)
		} else {
			hs = append(hs, h)
		}
	}
	loss = adjoint.Mean(adjoint.MatMul(h, adjoint.Const(n.readout)))
	return loss, zs, hs
}

// vanExpNetResult is what one net measures at initialisation.
type vanExpNetResult struct {
	act          string
	scale        float64
	depth        int
	weightNorms  []float64 // ‖dL/dW_l‖ (weight and bias), l = 1 … depth
	hiddenNorms  []float64 // ‖dL/dh_l‖, l = 1 … depth
	fitted       float64   // exp(−slope) of log ‖dL/dh_l‖ against l
	rmsDeriv     float64   // RMS of φ'(z_l) over units, samples and layers 2 … depth
	meanDeriv    float64   // mean of φ'(z_l) over the same
	theory       float64   // scale × rmsDeriv
	gradientSpan float64   // ‖dL/dW_1‖ / ‖dL/dW_depth‖
}

// relErr is |fitted/theory − 1|.
func (r vanExpNetResult) relErr() float64 { return math.Abs(r.fitted/r.theory - 1) }

// vanExpResult is what computeVanExp finds: every net (activations, then
// gains, then depths, as in the configuration) and the gradient checks of
// the small nets.
type vanExpResult struct {
	nets                             []vanExpNetResult
	worstFD, worstSecond, worstModes float64
	seconds                          float64
}

// vanExpMeasure builds a net and measures its gradients on x.
func vanExpMeasure(rng *rand.Rand, c vanExpConfig, x *adjoint.Tensor, act string, scale float64, depth int) vanExpNetResult {
	net := newVanExpNet(rng, c.Width, depth, act, scale)
	params := net.model.Params()
	vars := nn.ParamVars(params)
	loss, zs, hs := net.forward(vars, adjoint.Const(x))
	g := adjoint.Backward(loss, append(slices.Clip(vars), hs...), nil)
	grads := make([]*adjoint.Tensor, len(vars))
	for i := range vars {
		grads[i] = g[i].Value()
	}
	_, wn := nn.LayerGradNorms(params, grads)
	hn := make([]float64, depth)
	for l := range depth {
		hn[l] = g[len(vars)+l].Value().Norm()
	}
	// The gradient reaching h_{l−1} is (dL/dh_l ⊙ φ'(z_l)) W_lᵀ, so the
	// backward factors involve φ'(z_l) for l = 2 … depth.
	var s1, s2 float64
	var cnt int
	for l := 1; l < depth; l++ {
		for _, z := range zs[l].Value().Data {
			d := net.deriv(z)
			s1 += d
			s2 += d * d
			cnt++
		}
	}
	res := vanExpNetResult{act: act, scale: scale, depth: depth, weightNorms: wn, hiddenNorms: hn,
		rmsDeriv: math.Sqrt(s2 / float64(cnt)), meanDeriv: s1 / float64(cnt)}
	res.theory = scale * res.rmsDeriv
	layers := make([]float64, depth)
	for l := range layers {
		layers[l] = float64(l)
	}
	res.fitted = math.Exp(-logSlope(layers, hn))
	res.gradientSpan = wn[0] / wn[depth-1]
	return res
}

// vanExpMinAbs returns the smallest |z| over the values zs.
func vanExpMinAbs(zs []*adjoint.Var) float64 {
	m := math.Inf(1)
	for _, z := range zs {
		for _, v := range z.Value().Data {
			m = min(m, math.Abs(v))
		}
	}
	return m
}

func computeVanExp(env *runner.Env, c vanExpConfig) (*vanExpResult, error) {
	rng := env.Rand()
	x := adjoint.New(c.Batch, c.Width)
	for i := range x.Data {
		x.Data[i] = rng.NormFloat64()
	}
	res := &vanExpResult{}
	total := len(c.Activations) * len(c.Scales) * len(c.Depths)
	start := time.Now()
	for _, act := range c.Activations {
		for _, s := range c.Scales {
			for _, d := range c.Depths {
				if err := env.Context().Err(); err != nil {
					return nil, err
				}
				env.Progress(len(res.nets), total, fmt.Sprintf("%s, scale %g, depth %d", act, s, d))
				res.nets = append(res.nets, vanExpMeasure(env.Rand(), c, x, act, s, d))
			}
		}
	}
	res.seconds = time.Since(start).Seconds()

	// A gradient check of a small net of each activation: reverse and
	// forward mode against central differences, first and second order.
	for _, act := range c.Activations {
		small := newVanExpNet(env.Rand(), 5, 3, act, 1.5)
		xs := adjoint.New(4, 5)
		// ReLU has a kink at 0: central differences straddling it are
		// wrong, so draw inputs until no pre-activation is within 1e-3 of
		// it (the differences use steps of about 6e-6).
		for try := 0; try < 100; try++ {
			for i := range xs.Data {
				xs.Data[i] = rng.NormFloat64()
			}
			_, zs, _ := small.forward(nn.ParamVars(small.model.Params()), adjoint.Const(xs))
			if act != "relu" || vanExpMinAbs(zs) > 1e-3 {
				break
			}
		}
		cr := adjoint.Check(func(v ...*adjoint.Var) *adjoint.Var {
			l, _, _ := small.forward(v, adjoint.Const(xs))
			return l
		}, nn.ParamValues(small.model.Params()), &adjoint.CheckSettings{Seed: uint64(env.Seed), FirstOrderOnly: act == "relu"})
		res.worstFD = max(res.worstFD, cr.RevFD.MaxRel, cr.FwdFD.MaxRel)
		res.worstModes = max(res.worstModes, cr.RevFwd.MaxRel)
		if cr.SecondOrder {
			res.worstSecond = max(res.worstSecond, cr.HessFD.MaxRel)
		}
	}
	return res, nil
}

// deepest returns the nets of the largest depth with activation act, in
// order of gain.
func (r *vanExpResult) deepest(act string, depth int) []vanExpNetResult {
	var out []vanExpNetResult
	for _, n := range r.nets {
		if n.act == act && n.depth == depth {
			out = append(out, n)
		}
	}
	return out
}

func vanExpFigures(dir runner.Dir, c vanExpConfig, res *vanExpResult) error {
	deep := slices.Max(c.Depths)
	ls := make([]float64, deep)
	for i := range ls {
		ls[i] = float64(i + 1)
	}
	var jobs []func() error
	for _, act := range c.Activations {
		var wser, hser []plots.Series
		for _, n := range res.deepest(act, deep) {
			wser = append(wser, plots.Series{Name: fmt.Sprintf("g = %g", n.scale), X: ls, Y: n.weightNorms})
			hser = append(hser, plots.Series{Name: fmt.Sprintf("g = %g", n.scale), X: ls, Y: n.hiddenNorms})
		}
		jobs = append(jobs,
			func() error {
				_, err := plots.Save(dir.Path("weight_grads_"+act+".png"), plots.Line{
					Title:  fmt.Sprintf("%s, depth %d: gradient norm per layer at initialisation", act, deep),
					X:      plots.Axis{Label: "layer l (1 = input side)"},
					Y:      plots.Axis{Label: "‖dL/dW_l‖ (weight and bias)", Log: true},
					Series: wser,
				}, &plots.Options{WidthPx: 640, HeightPx: 440})
				return err
			},
			func() error {
				_, err := plots.Save(dir.Path("hidden_grads_"+act+".png"), plots.Line{
					Title:  fmt.Sprintf("%s, depth %d: ‖dL/dh_l‖ at initialisation", act, deep),
					X:      plots.Axis{Label: "layer l (1 = input side)"},
					Y:      plots.Axis{Label: "‖dL/dh_l‖", Log: true},
					Series: hser,
				}, &plots.Options{WidthPx: 640, HeightPx: 440})
				return err
			})
	}
	var fitSer []plots.Series
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, act := range c.Activations {
		s := plots.Series{Name: act, NoLine: true}
		for _, n := range res.nets {
			if n.act == act {
				s.X, s.Y = append(s.X, n.theory), append(s.Y, n.fitted)
				lo, hi = min(lo, n.theory, n.fitted), max(hi, n.theory, n.fitted)
			}
		}
		fitSer = append(fitSer, s)
	}
	fitSer = append(fitSer, plots.Series{Name: "fitted = theory", X: []float64{lo, hi}, Y: []float64{lo, hi}, Reference: true})
	jobs = append(jobs, func() error {
		_, err := plots.Save(dir.Path("growth.png"), plots.Line{
			Title:  "Per-layer growth factor of ‖dL/dh_l‖: fitted vs g·rms(φ')",
			X:      plots.Axis{Label: "theory γ = g · rms(φ')", Log: true},
			Y:      plots.Axis{Label: "fitted γ", Log: true},
			Series: fitSer,
		}, &plots.Options{WidthPx: 560, HeightPx: 500})
		return err
	})
	return parallel(jobs)
}

func vanExpReport(rep *runner.Report, c vanExpConfig, res *vanExpResult) {
	deep := slices.Max(c.Depths)
	rep.Heading("Setup")
	rep.Paraf("MLPs h_l = φ(h_{l−1}W_l + b_l), l = 1 … L, of width %d with φ in %v, depths L in %v and weights drawn from N(0, g²/%d) "+
		"(nn.GlorotNormal(g) on square layers) for the weight gains g in %v; biases start at zero. "+
		"A batch of %d standard normal inputs goes through each net, and the loss reads out the last layer with a fixed random vector u, "+
		"L = mean_batch ⟨u, h_L⟩, so that dL/dh_L is the same for every net of a width and only the backward pass differs.",
		c.Width, c.Activations, c.Depths, c.Width, c.Scales, c.Batch)
	rep.Para("The gradient reaching layer l − 1 is dL/dh_{l−1} = (dL/dh_l ⊙ φ'(z_l)) W_lᵀ. For a random W_l with entries of variance g²/width, " +
		"independent of what it multiplies, ‖vW_lᵀ‖ ≈ g‖v‖, and ‖dL/dh_l ⊙ φ'(z_l)‖ ≈ rms(φ') ‖dL/dh_l‖, so each layer multiplies the gradient norm by")
	rep.Code("γ = g · rms(φ'(z))        (theory; rms over units, samples and layers 2 … L, measured on the forward pass)")
	rep.Para("and after L layers it has changed by γ^L: it vanishes for γ < 1 and explodes for γ > 1. " +
		"For ReLU rms(φ') = √(fraction of active units), about 1/√2 = 0.707 for symmetric pre-activations, so g = √2 (He initialisation) is critical; " +
		"tanh is critical at g = 1, and for larger g its units saturate and rms(φ') falls; sigmoid's derivative is at most 1/4, so γ ≤ g/4. " +
		"The fitted γ is exp(−slope) of the least-squares line through log ‖dL/dh_l‖ against l.")
	var measured []string
	for _, act := range c.Activations {
		nets := res.deepest(act, deep)
		first, last := nets[0], nets[len(nets)-1]
		var maxGamma float64
		for _, n := range nets {
			maxGamma = max(maxGamma, n.fitted)
		}
		measured = append(measured, fmt.Sprintf("%s, rms(φ') %s at g = %g and %s at g = %g, largest fitted γ %s (%s)",
			act, runner.Num(first.rmsDeriv), first.scale, runner.Num(last.rmsDeriv), last.scale, runner.Num(maxGamma),
			runner.Choose(maxGamma < 1, "below 1: the gradients vanish at every gain", "above 1: the gradients explode at the larger gains")))
	}
	rep.Paraf("Measured in the nets of depth %d: %s.", deep, strings.Join(measured, "; "))

	rep.Heading("Gradient norms per layer")
	for _, act := range c.Activations {
		var worst float64
		for _, n := range res.nets {
			if n.act == act {
				worst = max(worst, n.relErr())
			}
		}
		rep.Figure("weight_grads_"+act+".png", fmt.Sprintf("%s nets of depth %d: norm of each layer's parameter gradient at initialisation, one line per weight gain (log scale).", act, deep))
		rep.Figure("hidden_grads_"+act+".png", fmt.Sprintf("%s nets of depth %d: norm of the gradient with respect to each layer's output, one line per weight gain (log scale). "+
			"A constant factor γ per layer makes a straight line of slope −log γ from the input side; over every depth and gain the fitted γ of the %s nets "+
			"is within %.1f%% of g·rms(φ').", act, deep, act, 100*worst))
	}
	rep.Heading("Growth factor per layer")
	rep.Figure("growth.png", "Fitted per-layer factor against the prediction g·rms(φ'), every activation, gain and depth; the near-black line marks equality.")
	var worstRel float64
	worstName := ""
	for _, n := range res.nets {
		if e := n.relErr(); e > worstRel || math.IsNaN(e) {
			worstRel, worstName = e, fmt.Sprintf("%s, g = %g, L = %d", n.act, n.scale, n.depth)
		}
	}
	for _, act := range c.Activations {
		rep.Subheading(act)
		hdr := []string{"gain g"}
		for _, d := range c.Depths {
			hdr = append(hdr, fmt.Sprintf("fitted γ (L=%d)", d))
		}
		hdr = append(hdr, fmt.Sprintf("g·rms(φ') (L=%d)", deep), fmt.Sprintf("g·mean(φ') (L=%d)", deep), fmt.Sprintf("‖dL/dW_1‖/‖dL/dW_L‖ (L=%d)", deep))
		t := rep.Table(hdr...)
		for _, s := range c.Scales {
			row := []any{s}
			var last vanExpNetResult
			for _, n := range res.nets {
				if n.act == act && n.scale == s {
					row = append(row, fmt.Sprintf("%.4g", n.fitted))
					if n.depth == deep {
						last = n
					}
				}
			}
			row = append(row, fmt.Sprintf("%.4g", last.theory), fmt.Sprintf("%.4g", last.scale*last.meanDeriv), last.gradientSpan)
			t.Row(row...)
		}
	}
	step := 1 / math.Sqrt(float64(c.Width))
	shallow := slices.Min(c.Depths)
	spread := step / math.Sqrt(float64(shallow))
	rep.Paraf("The check allows |fitted/theory − 1| ≤ %g (`growth_tol`): log ‖dL/dh_l‖ is a random walk whose steps fluctuate about their mean "+
		"by O(1/√width), %s at width %d, so a slope fitted over L layers is off by about that over √L, %s at L = %d; "+
		"the tolerance is %s such standard deviations.",
		c.GrowthTol, runner.Num(step), c.Width, runner.Num(spread), shallow, runner.Num(float64(c.GrowthTol)/spread))
	var reluNote string
	for _, n := range res.deepest("relu", deep) {
		if n.scale == c.Scales[0] {
			reluNote = fmt.Sprintf(" For ReLU, whose derivative is 0 or 1, mean(φ') is the fraction f of active units and rms(φ') = √f: "+
				"here (g = %g, L = %d) mean %s and rms %s.", n.scale, deep, runner.Num(n.meanDeriv), runner.Num(n.rmsDeriv))
		}
	}
	rep.Paraf("The fitted factors follow g·rms(φ') to within %.1f%% (worst: %s). The plain mean of φ' (the next column) "+
		"underestimates the factor whenever φ' varies across units.%s "+
		"The remaining differences are finite-width fluctuations (each layer's factor deviates from g·rms(φ') by O(1/√width)) "+
		"and the correlation between φ'(z_l) and the gradient it multiplies, which mean-field theory neglects.",
		100*worstRel, worstName, reluNote)
	lo, hi := -1, -1
	for i, n := range res.nets {
		if n.depth != deep {
			continue
		}
		if lo < 0 || n.gradientSpan < res.nets[lo].gradientSpan {
			lo = i
		}
		if hi < 0 || n.gradientSpan > res.nets[hi].gradientSpan {
			hi = i
		}
	}
	nlo, nhi := res.nets[lo], res.nets[hi]
	rep.Paraf("The last column is the spread of gradients across the deepest nets: the first layer's gradient divided by the last layer's. "+
		"It ranges from %s (%s, g = %g), where the first layers get almost no gradient and a gradient step barely moves them, "+
		"to %s (%s, g = %g), where they get steps that much larger than the last layer's. It depends on the forward signal too "+
		"(dL/dW_l = h_{l−1}ᵀ (dL/dh_l ⊙ φ'(z_l))), so it need not follow γ^L.",
		runner.Num(nlo.gradientSpan), nlo.act, nlo.scale, runner.Num(nhi.gradientSpan), nhi.act, nhi.scale)

	rep.Subheading("Gradient check")
	rep.Paraf("For each activation a net of depth 3 and width 5 (gain 1.5) on 4 samples (for ReLU, inputs redrawn until no pre-activation lies within 1e-3 of the kink): adjoint.Check of the loss with respect to every weight and bias "+
		"(second order too for tanh and sigmoid). Worst relative errors: reverse/forward mode vs central differences %s, reverse vs forward mode %s, Hessian vs differences of the gradient %s.",
		runner.Num(res.worstFD), runner.Num(res.worstModes), runner.Num(res.worstSecond))

	for _, act := range c.Activations {
		for _, n := range res.deepest(act, deep) {
			rep.Metric(fmt.Sprintf("fitted growth %s g=%g", act, n.scale), n.fitted)
			rep.Metric(fmt.Sprintf("theory growth %s g=%g", act, n.scale), n.theory)
		}
	}
	rep.Metric("max |fitted/theory - 1|", worstRel)
	rep.Timing(fmt.Sprintf("forward + reverse of %d nets", len(res.nets)), res.seconds)

	rep.Check(fmt.Sprintf("growth factor: fitted vs g·rms(φ'), all %d nets (|ratio − 1|)", len(res.nets)), worstRel, c.GrowthTol)
	rep.Check("adjoint.Check: small nets, reverse and forward mode vs central differences", res.worstFD, c.FDTol)
	rep.Check("adjoint.Check: small nets, Hessian vs central differences of the gradient", res.worstSecond, c.FDTol)
	rep.Check("adjoint.Check: small nets, reverse vs forward mode", res.worstModes, c.ModeTol)
}
