package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/nn"
	"github.com/adjointkit/adjointkit/plots"
)

// This file registers the residual experiment: a plain deep MLP and the
// same MLP with identity skip connections around every hidden layer, with
// the same weights, compared by their per-layer gradient norms at
// initialisation and by their training-loss curves.

// residualConfig is the [params] table of the residual experiment.
type residualConfig struct {
	Depth       int        `toml:"depth"`       // hidden width→width layers, 2 to 200
	Width       int        `toml:"width"`       // units per hidden layer, 2 to 512
	Activations []string   `toml:"activations"` // each "tanh", "sigmoid" or "relu": one pair of nets per activation
	InitScale   float64    `toml:"init_scale"`  // weight gain g of the hidden layers: W ~ N(0, g²/width)
	Branch      float64    `toml:"branch"`      // residual branch multiplier α: h + α·φ(hW + b); 0 means 1/√depth
	Samples     int        `toml:"samples"`     // training points, 8 to 10000
	Steps       int        `toml:"steps"`       // Adam steps (full batch), 1 to 100000
	LR          float64    `toml:"lr"`          // Adam learning rate
	Tol         runner.Tol `toml:"tol"`         // identity-highway and recorder consistency checks, relative
	FDTol       runner.Tol `toml:"fd_tol"`      // gradient check of a small residual net, relative
}

// Validate checks every key's range.
func (c residualConfig) Validate() error {
	errs := []error{}
	if len(c.Activations) == 0 {
		errs = append(errs, runner.ParamErrorf("activations", "must list at least one activation"))
	}
	for i, a := range c.Activations {
		errs = append(errs, runner.OneOf(fmt.Sprintf("activations[%d]", i), a, "tanh", "sigmoid", "relu"))
	}
	return errors.Join(append(errs,
		runner.InRange("depth", c.Depth, 2, 200),
		runner.InRange("width", c.Width, 2, 512),
		runner.InRange("init_scale", c.InitScale, 0.01, 10),
		runner.InRange("branch", c.Branch, 0, 10),
		runner.InRange("samples", c.Samples, 8, 10000),
		runner.InRange("steps", c.Steps, 1, 100000),
		runner.InRange("lr", c.LR, 1e-6, 1),
		runner.InRange("tol", c.Tol, 0, 1),
		runner.InRange("fd_tol", c.FDTol, 0, 1),
	)...)
}

func init() {
	runner.Register(runner.Spec[residualConfig, residualResult]{
		Name:    "residual",
		Theme:   "nn",
		Summary: "Plain vs residual MLPs of equal depth with the same weights: per-layer gradient norms at initialisation and training-loss curves.",
		Defaults: func() residualConfig {
			return residualConfig{
				Depth: 30, Width: 16, Activations: []string{"relu", "tanh"}, InitScale: 1, Branch: 0,
				Samples: 128, Steps: 400, LR: 3e-3, Tol: 1e-12, FDTol: 1e-6,
			}
		},
		Headline: "reverse and forward mode vs central differences (max rel)",
		Quick: func(c *residualConfig) {
			c.Depth = min(c.Depth, 10)
			c.Steps = min(c.Steps, 30)
			c.Samples = min(c.Samples, 32)
		},
		Compute: computeResidual,
		Figures: residualFigures,
		Report:  residualReport,
	})
}

// residualTarget is the function the nets learn on [−1, 1]².
func residualTarget(x1, x2 float64) float64 {
	return math.Sin(math.Pi*x1) * math.Cos(math.Pi*x2)
}

// residualNets builds the plain and the residual net with identical
// weights (copied, not shared): input layer, depth hidden layers, linear
// read-out. The residual net wraps each hidden layer as h + α·φ(hW + b).
func residualNets(rng *rand.Rand, c residualConfig, actName string, alpha float64) (plain, res *nn.Sequential) {
	act := func() *nn.Activation { a, _ := activation(actName); return a }
	scale := nn.NewActivation(fmt.Sprintf("×%.3g", alpha), func(v *adjoint.Var) *adjoint.Var { return adjoint.Scale(v, alpha) })
	pl := []nn.Layer{nn.NewLinear(rng, 2, c.Width, nn.GlorotNormal(1)), act()}
	rl := []nn.Layer{nn.NewLinear(rng, 2, c.Width, nil), act()}
	for range c.Depth {
		pl = append(pl, nn.NewLinear(rng, c.Width, c.Width, nn.GlorotNormal(c.InitScale)), act())
		rl = append(rl, nn.NewResidual(nn.NewSequential(nil, nn.NewLinear(rng, c.Width, c.Width, nil), act(), scale)))
	}
	pl = append(pl, nn.NewLinear(rng, c.Width, 1, nn.GlorotNormal(1)))
	rl = append(rl, nn.NewLinear(rng, c.Width, 1, nil))
	plain, res = nn.NewSequential([]int{2}, pl...), nn.NewSequential([]int{2}, rl...)
	// Same parameters in the same order: copy the plain net's values.
	pv, rv := nn.ParamValues(plain.Params()), nn.ParamValues(res.Params())
	for i := range pv {
		copy(rv[i].Data, pv[i].Data)
	}
	return plain, res
}

// residualProfile is the gradient flow of one net at initialisation.
type residualProfile struct {
	weight []float64 // ‖dL/dW_l‖ of the hidden layers, l = 1 … depth
	hidden []float64 // ‖dL/dh_l‖, l = 0 … depth (h_0: the input layer's output)
	loss   float64
}

func residualMeasure(model *nn.Sequential, x, y *adjoint.Tensor, residual bool) (residualProfile, []*adjoint.Var, []*adjoint.Var) {
	params := model.Params()
	vars := nn.ParamVars(params)
	parts := model.Split(vars)
	layers := model.Children()
	// h_0 is the input layer's activation output, then the hidden blocks.
	h0 := layers[1].Apply(nil, layers[0].Apply(parts[0], adjoint.Const(x)))
	hs := []*adjoint.Var{h0}
	h := h0
	for i := 2; i < len(layers); i++ {
		h = layers[i].Apply(parts[i], h)
		if i < len(layers)-1 && (residual || i%2 == 1) {
			hs = append(hs, h)
		}
	}
	loss := nn.MSE(h, adjoint.Const(y))
	g := adjoint.Backward(loss, append(slices.Clip(vars), hs...), nil)
	grads := make([]*adjoint.Tensor, len(vars))
	for i := range vars {
		grads[i] = g[i].Value()
	}
	_, norms := nn.LayerGradNorms(params, grads)
	p := residualProfile{loss: loss.Item()}
	// Hidden layers are the groups after the input layer and before the
	// read-out.
	p.weight = slices.Clone(norms[1 : len(norms)-1])
	for j := range hs {
		p.hidden = append(p.hidden, g[len(vars)+j].Value().Norm())
	}
	gh := make([]*adjoint.Var, len(hs))
	for j := range hs {
		gh[j] = g[len(vars)+j]
	}
	return p, hs, gh
}

// residualPair is one activation's plain and residual nets and what they
// measured.
type residualPair struct {
	act                string
	plain, res         residualProfile
	plainHist, resHist *nn.History
	highwayErr         float64   // identity-highway identity, max normwise rel. error over blocks
	branchShare        []float64 // ‖branch term‖ / ‖dL/dh_l‖, l = 1 … depth
	recErr             float64   // Trainer step-0 record vs the profile
	fd                 adjoint.CheckResult
	plainT, resT       float64
	plainNet, resNet   *nn.Sequential
}

// residualResult is what computeResidual finds.
type residualResult struct {
	alpha     float64 // the branch multiplier used
	targetVar float64 // variance of the targets: the loss of the best constant prediction
	pairs     []residualPair
	trainT    float64 // wall time of all trainings, run concurrently
}

// residualTrain trains model with Adam on (x, y) and returns its history
// and the wall time.
func residualTrain(env *runner.Env, c residualConfig, model *nn.Sequential, x, y *adjoint.Tensor, what string) (*nn.History, float64, error) {
	start := time.Now()
	hist := &nn.History{}
	tr := &nn.Trainer{Model: model, Optimizer: nn.NewAdam(c.LR), Recorder: hist, Progress: env.StepProgress(what)}
	xc, yc := adjoint.Const(x), adjoint.Const(y)
	if _, err := tr.Run(c.Steps, func(_ int, ps []*adjoint.Var) (*adjoint.Var, []*adjoint.Var) {
		return nn.MSE(model.Apply(ps, xc), yc), nil
	}); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", what, err)
	}
	return hist, time.Since(start).Seconds(), nil
}

// residualRunPair builds and measures one activation's nets, and checks a
// small residual net against finite differences.
func residualRunPair(env *runner.Env, c residualConfig, act string, alpha float64, x, y *adjoint.Tensor) residualPair {
	p := residualPair{act: act}
	plain, res := residualNets(env.Rand(), c, act, alpha)
	p.plain, _, _ = residualMeasure(plain, x, y, false)
	var rhs, rgh []*adjoint.Var
	p.res, rhs, rgh = residualMeasure(res, x, y, true)

	// The identity highway, exactly: for a block h_l = h_{l−1} + B(h_{l−1}),
	// dL/dh_{l−1} = dL/dh_l + (dL/dh_l)·∂B/∂h_{l−1}. Recompute the right-hand
	// side block by block with a separate VJP through the branch alone and
	// compare it with the reverse pass through the whole net.
	parts := res.Split(nn.Vars(res))
	layers := res.Children()
	p.branchShare = make([]float64, c.Depth)
	for l := 1; l <= c.Depth; l++ {
		blk := layers[l+1].(*nn.Residual)
		in := adjoint.Param(rhs[l-1].Value())
		bout := blk.Children()[0].Apply(parts[l+1], in)
		up := rgh[l].Value()
		bt := adjoint.VJP(bout, up, in)[0]
		sum := make([]float64, len(up.Data))
		for i := range sum {
			sum[i] = up.Data[i] + bt.Data[i]
		}
		p.highwayErr = max(p.highwayErr, relErr(rgh[l-1].Value().Data, sum))
		p.branchShare[l-1] = bt.Norm() / up.Norm()
	}

	p.plainNet, p.resNet = plain, res

	// Gradient check of a small residual net.
	small := c
	small.Depth, small.Width = 3, 4
	_, sres := residualNets(env.Rand(), small, act, 0.5)
	rng := env.Rand()
	xs, ys := adjoint.New(5, 2), adjoint.New(5, 1)
	// ReLU has a kink at 0: central differences straddling it are wrong,
	// so draw inputs until no pre-activation is within 1e-3 of it (the
	// differences use steps of about 6e-6).
	for try := 0; try < 100; try++ {
		for i := range xs.Data {
			xs.Data[i] = 2*rng.Float64() - 1
		}
		if act != "relu" || residualMinPreact(sres, xs) > 1e-3 {
			break
		}
	}
	for i := range ys.Data {
		ys.Data[i] = rng.NormFloat64()
	}
	p.fd = adjoint.Check(func(v ...*adjoint.Var) *adjoint.Var {
		return nn.MSE(sres.Apply(v, adjoint.Const(xs)), adjoint.Const(ys))
	}, nn.ParamValues(sres.Params()), &adjoint.CheckSettings{Seed: uint64(env.Seed), FirstOrderOnly: act == "relu"})
	return p
}

func computeResidual(env *runner.Env, c residualConfig) (*residualResult, error) {
	res := &residualResult{alpha: c.Branch}
	if res.alpha == 0 {
		res.alpha = 1 / math.Sqrt(float64(c.Depth))
	}
	rng := env.Rand()
	x := adjoint.New(c.Samples, 2)
	y := adjoint.New(c.Samples, 1)
	for i := range c.Samples {
		x1, x2 := 2*rng.Float64()-1, 2*rng.Float64()-1
		x.Data[2*i], x.Data[2*i+1] = x1, x2
		y.Data[i] = residualTarget(x1, x2)
	}
	res.targetVar = stat.PopVariance(y.Data, nil)
	res.pairs = make([]residualPair, len(c.Activations))
	for i, act := range c.Activations {
		if err := env.Context().Err(); err != nil {
			return nil, err
		}
		res.pairs[i] = residualRunPair(env, c, act, res.alpha, x, y)
	}
	// The trainings are independent: run them on all cores.
	var jobs []func() error
	for i := range res.pairs {
		p := &res.pairs[i]
		jobs = append(jobs, func() (err error) {
			p.plainHist, p.plainT, err = residualTrain(env, c, p.plainNet, x, y, p.act+" plain net")
			return err
		}, func() (err error) {
			p.resHist, p.resT, err = residualTrain(env, c, p.resNet, x, y, p.act+" residual net")
			return err
		})
	}
	start := time.Now()
	if err := parallel(jobs); err != nil {
		return nil, err
	}
	res.trainT = time.Since(start).Seconds()
	for i := range res.pairs {
		residualFinish(&res.pairs[i], c)
	}
	return res, nil
}

func residualFigures(dir runner.Dir, c residualConfig, res *residualResult) error {
	layerX := make([]float64, c.Depth)
	for i := range layerX {
		layerX[i] = float64(i + 1)
	}
	hidX := make([]float64, c.Depth+1)
	for i := range hidX {
		hidX[i] = float64(i)
	}
	stepX := make([]float64, c.Steps)
	for i := range stepX {
		stepX[i] = float64(i)
	}
	var jobs []func() error
	for _, p := range res.pairs {
		// Plain in the first colour, residual in the second; weight
		// gradients solid, hidden-state gradients dashed.
		ser := []plots.Series{
			{Name: "plain: ‖dL/dW_l‖", X: layerX, Y: p.plain.weight, Color: 1, Dash: plots.Solid},
			{Name: "residual: ‖dL/dW_l‖", X: layerX, Y: p.res.weight, Color: 2, Dash: plots.Solid},
			{Name: "plain: ‖dL/dh_l‖", X: hidX, Y: p.plain.hidden, Color: 1, Dash: plots.Dashed},
			{Name: "residual: ‖dL/dh_l‖", X: hidX, Y: p.res.hidden, Color: 2, Dash: plots.Dashed},
		}
		lser := []plots.Series{
			{Name: "plain", X: stepX, Y: p.plainHist.Loss},
			{Name: "residual", X: stepX, Y: p.resHist.Loss},
			{Name: "variance of the target", X: []float64{0, stepX[len(stepX)-1]}, Y: []float64{res.targetVar, res.targetVar}, Reference: true, Dash: plots.Dotted},
		}
		jobs = append(jobs, func() error {
			_, err := plots.Save(dir.Path("grads_init_"+p.act+".png"), plots.Line{
				Title:  fmt.Sprintf("%s, depth %d: gradient norms per layer at initialisation", p.act, c.Depth),
				X:      plots.Axis{Label: "hidden layer l (1 = input side)"},
				Y:      plots.Axis{Label: "gradient norm", Log: true},
				Series: ser,
			}, &plots.Options{WidthPx: 640, HeightPx: 440})
			return err
		}, func() error {
			_, err := plots.Save(dir.Path("loss_"+p.act+".png"), plots.Line{
				Title:  fmt.Sprintf("%s, depth %d: training loss", p.act, c.Depth),
				X:      plots.Axis{Label: "Adam step"},
				Y:      plots.Axis{Label: "mean squared error", Log: true},
				Series: lser,
			}, &plots.Options{WidthPx: 640, HeightPx: 420})
			return err
		})
	}
	return parallel(jobs)
}

// residualLower says how b compares with a as "N times lower" or "N times
// higher".
func residualLower(a, b float64) string {
	if b <= a {
		return fmt.Sprintf("%.3g times lower", a/b)
	}
	return fmt.Sprintf("%.3g times higher", b/a)
}

func residualReport(rep *runner.Report, c residualConfig, res *residualResult) {
	alpha := res.alpha
	rep.Heading("Setup")
	rep.Paraf("Two MLPs from the plane to one output, each with an input layer Linear(2→%d) + φ, %d hidden layers of width %d and a linear read-out: "+
		"the plain net has hidden layers h_l = φ(h_{l−1}W_l + b_l); the residual net wraps each in an identity skip connection (nn.Residual), "+
		"h_l = h_{l−1} + α·φ(h_{l−1}W_l + b_l) with α = %.4g%s. "+
		"Both start from the same weights (drawn once, copied): hidden weights from N(0, g²/%d) with g = %g (nn.GlorotNormal(g)), biases zero. "+
		"They learn y = sin(πx₁)·cos(πx₂) from %d points uniform on [−1, 1]² with the mean squared error, full batch, %d Adam steps of learning rate %g, "+
		"for φ in %v. The Trainer records every step (nn.History).",
		c.Width, c.Depth, c.Width, alpha, runner.Choose(c.Branch == 0, " (1/√depth, so that the branches together add O(1) to the variance)", ""),
		c.Width, c.InitScale, c.Samples, c.Steps, c.LR, c.Activations)
	rep.Para("Backpropagation through a residual block adds the branch's contribution to the gradient instead of replacing it:")
	rep.Code("plain:     dL/dh_{l−1} = (dL/dh_l ⊙ φ'(z_l)) W_lᵀ\n" +
		"residual:  dL/dh_{l−1} = dL/dh_l + α (dL/dh_l ⊙ φ'(z_l)) W_lᵀ        (the identity highway)")
	rep.Para("so in the plain net the gradient is multiplied by a factor γ ≈ g·rms(φ') per layer (see vanishing_exploding), while in the residual net " +
		"it is carried to every layer unchanged, plus corrections of relative size about α·γ per block.")

	rep.Heading("Results")
	t := rep.Table("activation", "net", "‖dL/dW_1‖", "‖dL/dW_L‖", "‖dL/dW_1‖/‖dL/dW_L‖", "‖dL/dh_0‖/‖dL/dh_L‖", "initial loss", "final loss", "min loss")
	for _, p := range res.pairs {
		for _, n := range []struct {
			name string
			prof residualProfile
			hist *nn.History
		}{{"plain", p.plain, p.plainHist}, {"residual", p.res, p.resHist}} {
			w, h := n.prof.weight, n.prof.hidden
			t.Row(p.act, n.name, w[0], w[len(w)-1], w[0]/w[len(w)-1], h[0]/h[len(h)-1],
				n.hist.Loss[0], n.hist.Loss[len(n.hist.Loss)-1], slices.Min(n.hist.Loss))
		}
	}
	var roots []string
	for _, p := range res.pairs {
		roots = append(roots, fmt.Sprintf("%s (%s)", runner.Num(math.Pow(p.plain.hidden[0]/p.plain.hidden[c.Depth], 1/float64(c.Depth))), p.act))
	}
	rep.Paraf("‖dL/dh_0‖/‖dL/dh_L‖ is how much of the gradient at the top of the hidden stack reaches its bottom. For the plain net it is a product of "+
		"L = %d per-layer factors, whose geometric mean, its L-th root, is %s. The variance of the %d targets, the loss of the best constant prediction, is %s.",
		c.Depth, joinAnd(roots), c.Samples, runner.Num(res.targetVar))
	for _, p := range res.pairs {
		rep.Subheading(p.act)
		rep.Figure("grads_init_"+p.act+".png", fmt.Sprintf("%s: at initialisation, the norm of each hidden layer's parameter gradient (‖dL/dW_l‖, weight and bias; solid) and of the gradient with respect to each hidden state (‖dL/dh_l‖; dashed), plain and residual, log scale.", p.act))
		rep.Figure("loss_"+p.act+".png", fmt.Sprintf("%s: training loss of both nets from the same initial weights (log scale); the dotted line is the variance of the target.", p.act))
		lo, hi, mean := slices.Min(p.branchShare), slices.Max(p.branchShare), 0.0
		for _, v := range p.branchShare {
			mean += v / float64(len(p.branchShare))
		}
		pl, rs := p.plainHist.Loss, p.resHist.Loss
		rep.Paraf("The identity highway in numbers: in the residual net the branch adds a term of relative size ‖α(dL/dh_l ⊙ φ')W_lᵀ‖/‖dL/dh_l‖ between %.3g and %.3g (mean %.3g) "+
			"to the gradient passed down each block, so the gradient at the bottom is %.3g times the one at the top, against %.3g in the plain net. "+
			"After %d steps the plain net's loss is %.3g and the residual net's %.3g (%s).",
			lo, hi, mean, p.res.hidden[0]/p.res.hidden[c.Depth], p.plain.hidden[0]/p.plain.hidden[c.Depth],
			c.Steps, pl[len(pl)-1], rs[len(rs)-1], residualLower(pl[len(pl)-1], rs[len(rs)-1]))
		ct := rep.Table("adjoint.Check, small residual net (depth 3, width 4)", "max rel. error")
		ct.Row("reverse mode vs central differences", p.fd.RevFD.MaxRel)
		ct.Row("forward mode vs central differences", p.fd.FwdFD.MaxRel)
		if p.fd.SecondOrder {
			ct.Row("Hessian vs central differences of the gradient", p.fd.HessFD.MaxRel)
		}
		if p.act == "relu" {
			residualReLUNote(rep, c, res, p)
		}
	}

	var worstHighway, worstRec, worstFD, worstFDSecond float64
	for _, p := range res.pairs {
		worstHighway = max(worstHighway, p.highwayErr)
		worstRec = max(worstRec, p.recErr)
		worstFD = max(worstFD, p.fd.RevFD.MaxRel, p.fd.FwdFD.MaxRel)
		if p.fd.SecondOrder {
			worstFDSecond = max(worstFDSecond, p.fd.HessFD.MaxRel)
		}
		pl, rs := p.plainHist.Loss, p.resHist.Loss
		rep.Metric(p.act+" plain final loss", pl[len(pl)-1])
		rep.Metric(p.act+" residual final loss", rs[len(rs)-1])
		rep.Metric(p.act+" plain grad ratio first/last layer", p.plain.weight[0]/p.plain.weight[c.Depth-1])
		rep.Metric(p.act+" residual grad ratio first/last layer", p.res.weight[0]/p.res.weight[c.Depth-1])
		rep.Timing(fmt.Sprintf("%s: training plain net (%d steps)", p.act, c.Steps), p.plainT)
		rep.Timing(fmt.Sprintf("%s: training residual net (%d steps)", p.act, c.Steps), p.resT)
	}
	rep.Timing(fmt.Sprintf("all %d trainings, run concurrently", 2*len(res.pairs)), res.trainT)
	rep.Metric("reverse and forward mode vs central differences (max rel)", worstFD)
	rep.Check("identity highway: dL/dh_{l−1} = dL/dh_l + branch VJP, every block", worstHighway, c.Tol)
	rep.Check("Trainer's step-0 record (loss, per-layer gradient norms) vs nn.LayerGradNorms at initialisation", worstRec, c.Tol)
	rep.Check("adjoint.Check: small residual nets, reverse and forward mode vs central differences", worstFD, c.FDTol)
	if worstFDSecond > 0 {
		rep.Check("adjoint.Check: small residual nets, Hessian vs central differences", worstFDSecond, c.FDTol)
	}
}

// residualReLUNote says what the ReLU pair shows: where the gain stands
// against ReLU's critical √2, and whether the plain net's training stalled
// at the variance of the target while the residual net's did not.
func residualReLUNote(rep *runner.Report, c residualConfig, res *residualResult, p residualPair) {
	pl, rs := p.plainHist.Loss, p.resHist.Loss
	plainEnd, resEnd := pl[len(pl)-1], rs[len(rs)-1]
	stalled := math.Abs(plainEnd/res.targetVar-1) < 0.05
	rep.Paraf("With ReLU the critical gain is √2 ≈ 1.41, and g = %g is %s it: the plain net's first hidden layer gets a gradient %s times "+
		"its last one's. Its loss ends at %s, %s the variance of the target (%s)%s. The residual net with the very same weights ends at %s, %s.",
		c.InitScale, runner.Compare(c.InitScale, math.Sqrt2), runner.Num(p.plain.weight[0]/p.plain.weight[c.Depth-1]),
		runner.Num(plainEnd), runner.Choose(stalled, "within 5% of", "not near"), runner.Num(res.targetVar),
		runner.Choose(stalled, ": training stalled at the best constant prediction", ""),
		runner.Num(resEnd), residualLower(plainEnd, resEnd)+" than the plain net's")
}

// residualFinish compares the Trainer's step-0 record with the profile
// measured at initialisation: they must be equal.
func residualFinish(p *residualPair, c residualConfig) {
	p.recErr = max(relErr(p.plainHist.LayerGradNorm[0][1:c.Depth+1], p.plain.weight),
		relErr(p.resHist.LayerGradNorm[0][1:c.Depth+1], p.res.weight),
		math.Abs(p.plainHist.Loss[0]-p.plain.loss)/p.plain.loss, math.Abs(p.resHist.Loss[0]-p.res.loss)/p.res.loss)
}

// residualMinPreact returns the smallest |z| over every pre-activation
// (the output of every Linear layer but the read-out) of model on x.
func residualMinPreact(model *nn.Sequential, x *adjoint.Tensor) float64 {
	parts := model.Split(nn.Vars(model))
	layers := model.Children()
	m := math.Inf(1)
	note := func(z *adjoint.Var) {
		for _, v := range z.Value().Data {
			m = min(m, math.Abs(v))
		}
	}
	h := adjoint.Const(x)
	for i, l := range layers[:len(layers)-1] {
		switch l := l.(type) {
		case *nn.Linear:
			h = l.Apply(parts[i], h)
			note(h)
			continue
		case *nn.Residual:
			blk := l.Children()[0].(*nn.Sequential)
			note(blk.Children()[0].Apply(blk.Split(parts[i])[0], h))
		}
		h = l.Apply(parts[i], h)
	}
	return m
}
