package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/plot/palette/moreland"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/plots"
)

// logisticConfig is the [params] table of the logistic experiment: logistic
// regression p = σ(wᵀx + b) with binary cross-entropy on two Gaussian blobs
// in the plane, trained by gradient descent on adjoint gradients.
type logisticConfig struct {
	N           int        `toml:"n"`            // number of points, 10 to 100000 (half in each class)
	Center0     []float64  `toml:"center0"`      // mean of class 0, two numbers
	Center1     []float64  `toml:"center1"`      // mean of class 1, two numbers
	Std         float64    `toml:"std"`          // standard deviation of each blob, 0.01 to 100
	Steps       int        `toml:"steps"`        // gradient-descent steps, 1 to 100000
	LR          float64    `toml:"lr"`           // learning rate, 1e-6 to 100
	Grid        int        `toml:"grid"`         // cells per side of the probability map, 4 to 400
	MinAccuracy runner.Tol `toml:"min_accuracy"` // the final training accuracy must reach this, 0 to 1
	GradTol     runner.Tol `toml:"grad_tol"`     // tolerance of autodiff vs closed-form gradient (relative)
	FDTol       runner.Tol `toml:"fd_tol"`       // tolerance of comparisons against finite differences (relative)
}

// Validate checks every key's range.
func (c logisticConfig) Validate() error {
	errs := []error{
		runner.InRange("n", c.N, 10, 100000),
		runner.InRange("std", c.Std, 0.01, 100),
		runner.InRange("steps", c.Steps, 1, 100000),
		runner.InRange("lr", c.LR, 1e-6, 100),
		runner.InRange("grid", c.Grid, 4, 400),
		runner.InRange("min_accuracy", c.MinAccuracy, 0, 1),
		runner.InRange("grad_tol", c.GradTol, 0, 1),
		runner.InRange("fd_tol", c.FDTol, 0, 1),
	}
	for _, p := range []struct {
		key string
		v   []float64
	}{{"center0", c.Center0}, {"center1", c.Center1}} {
		if len(p.v) != 2 {
			errs = append(errs, runner.ParamErrorf(p.key, "must have 2 elements (a point in the plane), got %d", len(p.v)))
			continue
		}
		for _, v := range p.v {
			if !(math.Abs(v) <= 1e3) {
				errs = append(errs, runner.ParamErrorf(p.key, "elements must be between -1000 and 1000, got %v", v))
				break
			}
		}
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[logisticConfig, logisticResult]{
		Name:    "logistic",
		Theme:   "adjoint",
		Summary: "Logistic regression on two Gaussian blobs by gradient descent: the autodiff gradient equals Xᵀ(p − y)/n, with loss curve, accuracy and decision boundary.",
		Defaults: func() logisticConfig {
			return logisticConfig{
				N: 200, Center0: []float64{-1.5, -1}, Center1: []float64{1.5, 1}, Std: 1,
				Steps: 300, LR: 0.5, Grid: 60, MinAccuracy: 0.9, GradTol: 1e-12, FDTol: 1e-6,
			}
		},
		Headline: "final loss",
		Quick: func(c *logisticConfig) {
			c.N = min(c.N, 100)
			c.Steps = min(c.Steps, 100)
			c.Grid = min(c.Grid, 30)
		},
		Compute: computeLogistic,
		Figures: logisticFigures,
		Report:  logisticReport,
	})
}

// logisticData is the training set: X is n×3 with a column of ones for the
// bias, so that θ = (w₁, w₂, b) and z = X θ.
type logisticData struct {
	n    int
	X, y []float64 // X row-major n×3, y in {0, 1}
}

// newLogisticData draws n/2 points of class 0 and the rest of class 1.
func newLogisticData(rng *rand.Rand, c logisticConfig) logisticData {
	d := logisticData{n: c.N, X: make([]float64, 3*c.N), y: make([]float64, c.N)}
	for i := range c.N {
		ctr := c.Center0
		if i >= c.N/2 {
			ctr, d.y[i] = c.Center1, 1
		}
		d.X[3*i] = ctr[0] + c.Std*rng.NormFloat64()
		d.X[3*i+1] = ctr[1] + c.Std*rng.NormFloat64()
		d.X[3*i+2] = 1
	}
	return d
}

// loss is the mean binary cross-entropy of σ(X θ) in its stable softplus
// form, mean(softplus(z) − y·z), as a traced program; z is returned too.
func (d logisticData) loss(theta *adjoint.Var) (L, z *adjoint.Var) {
	X := adjoint.Const(adjoint.FromData(d.X, d.n, 3))
	y := adjoint.Const(adjoint.FromData(d.y, d.n, 1))
	z = adjoint.MatMul(X, adjoint.Reshape(theta, 3, 1))
	return adjoint.Mean(adjoint.Sub(adjoint.Softplus(z), adjoint.Mul(y, z))), z
}

// closedForm returns p = σ(X θ), the loss, the gradient Xᵀ(p − y)/n and the
// Hessian Xᵀ diag(p(1 − p)) X / n, with plain loops.
func (d logisticData) closedForm(theta []float64) (p []float64, L float64, grad []float64, hess *mat.SymDense) {
	p = make([]float64, d.n)
	grad = make([]float64, 3)
	hess = mat.NewSymDense(3, nil)
	nf := float64(d.n)
	for i := range d.n {
		x := d.X[3*i : 3*i+3]
		z := x[0]*theta[0] + x[1]*theta[1] + x[2]*theta[2]
		p[i] = 1 / (1 + math.Exp(-z))
		// softplus(z) − y z, computed without overflow
		sp := math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z)))
		L += (sp - d.y[i]*z) / nf
		for a := range 3 {
			grad[a] += (p[i] - d.y[i]) * x[a] / nf
			for b := a; b < 3; b++ {
				hess.SetSym(a, b, hess.At(a, b)+p[i]*(1-p[i])*x[a]*x[b]/nf)
			}
		}
	}
	return p, L, grad, hess
}

// termScale returns max over the components a of Σᵢ |(pᵢ − yᵢ) xᵢₐ| / n:
// the size of the terms whose sum is the gradient, which sets the scale of
// its rounding error however much they cancel.
func (d logisticData) termScale(p []float64) float64 {
	var s [3]float64
	for i := range d.n {
		for a := range 3 {
			s[a] += math.Abs((p[i] - d.y[i]) * d.X[3*i+a])
		}
	}
	return max(s[0], s[1], s[2]) / float64(d.n)
}

// logisticSymData returns every entry of a symmetric matrix, row by row.
func logisticSymData(s mat.Symmetric) []float64 {
	n := s.SymmetricDim()
	out := make([]float64, 0, n*n)
	for i := range n {
		for j := range n {
			out = append(out, s.At(i, j))
		}
	}
	return out
}

// accuracy is the fraction of points whose class is predicted by p ≥ ½.
func (d logisticData) accuracy(p []float64) float64 {
	right := 0
	for i, pi := range p {
		if (pi >= 0.5) == (d.y[i] == 1) {
			right++
		}
	}
	return float64(right) / float64(d.n)
}

// logisticResult is what computeLogistic finds.
type logisticResult struct {
	data           logisticData
	theta          []float64 // final (w₁, w₂, b)
	losses, gnorms []float64 // loss and ‖dL/dθ‖ at steps 0 … steps
	// Max over steps of: the gradient's error relative to the size of the
	// terms summed (see termScale), its plain normwise relative error, its
	// largest absolute error, and dL/dz's relative error; and the step of
	// the first.
	worstGrad, worstGradPlain, worstGradAbs, worstGradDz float64
	worstStep                                            int
	lossCF                                               float64   // closed-form loss at the final θ
	gradCF                                               []float64 // closed-form gradient at the final θ
	termScale                                            float64   // termScale at the final θ
	acc                                                  float64   // training accuracy at the final θ
	hessErr                                              float64   // adjoint Hessian vs closed form, final θ
	check                                                adjoint.CheckResult
	seconds                                              float64
}

// computeLogistic trains the model by gradient descent on adjoint
// gradients, comparing each gradient with its closed form, then checks
// second order.
func computeLogistic(env *runner.Env, c logisticConfig) (*logisticResult, error) {
	data := newLogisticData(env.Rand(), c)
	res := &logisticResult{data: data, losses: make([]float64, 0, c.Steps+1), gnorms: make([]float64, 0, c.Steps+1)}
	theta := make([]float64, 3) // w₁, w₂, b; start at zero
	var theta1 []float64        // the first iterate, where adjoint.Check runs
	start := time.Now()
	for step := 0; step <= c.Steps; step++ {
		if err := env.Context().Err(); err != nil {
			return nil, err
		}
		env.Progress(step, c.Steps, fmt.Sprintf("step %d", step))
		th := adjoint.Param(adjoint.FromData(append([]float64(nil), theta...), 3))
		L, z := data.loss(th)
		g := adjoint.Backward(L, []*adjoint.Var{th, z}, nil)
		gAD, gz := g[0].Value().Data, g[1].Value().Data

		p, _, gCF, _ := data.closedForm(theta)
		var diff float64
		for a := range gCF {
			diff = max(diff, math.Abs(gAD[a]-gCF[a]))
		}
		if e := diff / data.termScale(p); e > res.worstGrad || math.IsNaN(e) {
			res.worstGrad, res.worstStep = e, step
		}
		res.worstGradAbs = max(res.worstGradAbs, diff)
		res.worstGradPlain = max(res.worstGradPlain, relErr(gAD, gCF))
		resid := make([]float64, data.n) // dL/dz = (p − y)/n, per sample
		for i := range resid {
			resid[i] = (p[i] - data.y[i]) / float64(data.n)
		}
		res.worstGradDz = max(res.worstGradDz, relErr(gz, resid))

		res.losses = append(res.losses, L.Item())
		res.gnorms = append(res.gnorms, math.Hypot(math.Hypot(gAD[0], gAD[1]), gAD[2]))
		if step < c.Steps {
			for a := range theta {
				theta[a] -= c.LR * gAD[a]
			}
		}
		if step == 0 {
			theta1 = append([]float64(nil), theta...)
		}
	}
	res.seconds = time.Since(start).Seconds()
	res.theta = theta

	p, lossCF, gFinal, hessCF := data.closedForm(theta)
	res.lossCF, res.gradCF, res.termScale, res.acc = lossCF, gFinal, data.termScale(p), data.accuracy(p)

	// Second order at the final point: adjoint Hessian vs closed form.
	// adjoint.Check (reverse, forward, finite differences, both orders) at
	// the first iterate, where the gradient is still large: near the
	// optimum it is small and finite differences resolve it only to their
	// absolute error.
	f := func(th *adjoint.Var) *adjoint.Var { L, _ := data.loss(th); return L }
	hessAD := adjoint.Hessian(nil, f, adjoint.FromData(append([]float64(nil), theta...), 3))
	res.hessErr = relErr(logisticSymData(hessAD), logisticSymData(hessCF))
	res.check = adjoint.Check(func(xs ...*adjoint.Var) *adjoint.Var { return f(xs[0]) },
		[]*adjoint.Tensor{adjoint.FromData(theta1, 3)}, &adjoint.CheckSettings{Seed: uint64(env.Seed)})
	return res, nil
}

func logisticFigures(dir runner.Dir, c logisticConfig, res *logisticResult) error {
	steps := make([]float64, len(res.losses))
	for i := range steps {
		steps[i] = float64(i)
	}
	opt := &plots.Options{WidthPx: 640, HeightPx: 400}
	box := logisticBox(res.data)
	return parallel([]func() error{
		func() error {
			_, err := plots.Save(dir.Path("loss.png"), plots.Line{
				Title:  "Training loss",
				X:      plots.Axis{Label: "gradient-descent step"},
				Y:      plots.Axis{Label: "mean cross-entropy"},
				Series: []plots.Series{{Name: "L", X: steps, Y: res.losses}},
				Legend: plots.NoLegend,
			}, opt)
			return err
		},
		func() error {
			_, err := plots.Save(dir.Path("grad_norm.png"), plots.Line{
				Title:  "Gradient norm",
				X:      plots.Axis{Label: "gradient-descent step"},
				Y:      plots.Axis{Label: "‖dL/dθ‖", Log: true},
				Series: []plots.Series{{Name: "‖dL/dθ‖", X: steps, Y: res.gnorms}},
				Legend: plots.NoLegend,
			}, opt)
			return err
		},
		func() error { return logisticScatter(dir.Path("data.png"), res.data, res.theta, box) },
		func() error { return logisticMap(dir.Path("probability.png"), res.theta, box, c.Grid) },
	})
}

// logisticRate returns the mean factor per step by which the gradient norm
// falls from step a to step b.
func logisticRate(g []float64, a, b int) float64 {
	return math.Pow(g[b]/g[a], 1/float64(b-a))
}

func logisticReport(rep *runner.Report, c logisticConfig, res *logisticResult) {
	data, theta := res.data, res.theta
	losses, gnorms := res.losses, res.gnorms
	lossAD := losses[len(losses)-1]
	rep.Heading("Data and model")
	rep.Paraf("%d points in the plane: %d of class 0 around (%g, %g) and %d of class 1 around (%g, %g), each coordinate with standard deviation %g. "+
		"The model is p = σ(z), z = w₁x₁ + w₂x₂ + b, written as z = X θ with θ = (w₁, w₂, b) and a column of ones in X. "+
		"The loss is the mean binary cross-entropy in its stable softplus form, L = mean(softplus(z) − y·z), which equals "+
		"−mean(y log p + (1 − y) log(1 − p)) without ever taking the log of a rounded-off 0 or 1. "+
		"Gradient descent starts at θ = 0 and takes %d steps of size %g, each with the gradient from one reverse pass of the adjoint core.",
		data.n, data.n/2, c.Center0[0], c.Center0[1], data.n-data.n/2, c.Center1[0], c.Center1[1], c.Std, c.Steps, c.LR)
	rep.Para("The closed forms the autodiff results are compared with, computed with plain loops:")
	rep.Code("dL/dz = (p − y) / n                 (per sample: the residual)\n" +
		"dL/dθ = Xᵀ (p − y) / n              (dL/dw = Σ (pᵢ − yᵢ) xᵢ / n, dL/db = mean(p − y))\n" +
		"d²L/dθ² = Xᵀ diag(p ⊙ (1 − p)) X / n")

	rep.Heading("Training")
	rep.Figure("loss.png", fmt.Sprintf("Mean binary cross-entropy at each step: %s at θ = 0 (log 2 = %s, since σ(0) = ½ for every point), "+
		"%s to %s after %d steps.", runner.Num(losses[0]), runner.Num(math.Ln2), runner.Trend(losses), runner.Num(lossAD), c.Steps))
	caption := fmt.Sprintf("Norm of the adjoint gradient at each step, on a log axis: it %s from %s to %s.",
		runner.Trend(gnorms), runner.Num(gnorms[0]), runner.Num(gnorms[len(gnorms)-1]))
	if n := len(gnorms) - 1; n >= 8 {
		// Geometric decay is a straight line on the log axis: the same
		// factor per step over the third and the last quarter of the run.
		r3, r4 := logisticRate(gnorms, n/2, 3*n/4), logisticRate(gnorms, 3*n/4, n)
		caption += fmt.Sprintf(" The loss is convex, so gradient descent with a small enough step cannot get stuck, and near a minimum the norm "+
			"decays geometrically: by the same factor every step, a straight line on this axis. Here it falls by %.3g%% per step over the "+
			"third quarter of the run and by %.3g%% over the last: %s.",
			100*(1-r3), 100*(1-r4), runner.Choose(math.Abs(math.Log(r4)/math.Log(r3)-1) < 0.1,
				"rates within 10% of each other, nearly a straight line", "the rate still changes by more than 10%, not yet a straight line"))
	}
	rep.Figure("grad_norm.png", caption)
	rep.Heading("Decision boundary")
	rep.Figure("data.png", "The training points and the learnt decision boundary wᵀx + b = 0, where p = ½.")
	rep.Figure("probability.png", "The learnt probability of class 1 over the plane (white: p = ½, the decision boundary).")

	rep.Heading("Results")
	gFinal := math.Hypot(math.Hypot(res.gradCF[0], res.gradCF[1]), res.gradCF[2])
	tab := rep.Table("quantity", "value")
	tab.Row("w₁, w₂, b", fmt.Sprintf("%.6g, %.6g, %.6g", theta[0], theta[1], theta[2]))
	tab.Row("initial loss", losses[0])
	tab.Row("final loss (adjoint / closed form)", fmt.Sprintf("%.10g / %.10g", lossAD, res.lossCF))
	tab.Row("final ‖dL/dθ‖", gFinal)
	tab.Row("training accuracy", res.acc)
	tab.Row("max |difference|, dL/dθ autodiff vs Xᵀ(p − y)/n, over all steps", res.worstGradAbs)
	tab.Row("max difference relative to max |dL/dθ|, over all steps", res.worstGradPlain)
	tab.Row("max difference relative to max Σ|(pᵢ − yᵢ)xᵢ|/n, over all steps", fmt.Sprintf("%s (worst at step %d)", runner.Num(res.worstGrad), res.worstStep))
	tab.Row("max rel. error, dL/dz autodiff vs (p − y)/n, over all steps", res.worstGradDz)
	tab.Row("rel. error, Hessian autodiff vs Xᵀ diag(p(1 − p)) X / n, final θ", res.hessErr)

	var gMax float64
	for _, v := range res.gradCF {
		gMax = max(gMax, math.Abs(v))
	}
	rep.Paraf("As gradient descent converges, dL/dθ = Xᵀ(p − y)/n becomes a sum of terms that nearly cancel: at the final θ the terms' "+
		"scale max Σᵢ|(pᵢ − yᵢ)xᵢ|/n is %s, %s times the largest gradient component %s. Any two ways of "+
		"summing them (blocked products in the adjoint core, a plain loop here) differ by rounding of the order of ε times the size of the terms, "+
		"not of the small result. The gradient check therefore divides the difference by that scale, which is at least |dL/dθ|; "+
		"the plain relative error is shown too.",
		runner.Num(res.termScale), runner.Num(res.termScale/gMax), runner.Num(gMax))
	cr := res.check
	rep.Subheading("adjoint.Check at the first iterate θ₁")
	ct := rep.Table("comparison", "max abs. error", "max rel. error")
	ct.Row("reverse mode vs finite differences", cr.RevFD.MaxAbs, cr.RevFD.MaxRel)
	ct.Row("forward mode vs finite differences", cr.FwdFD.MaxAbs, cr.FwdFD.MaxRel)
	ct.Row("reverse vs forward mode", cr.RevFwd.MaxAbs, cr.RevFwd.MaxRel)
	ct.Row("duality ⟨u, J v⟩ vs ⟨Jᵀu, v⟩", cr.Duality.MaxAbs, cr.Duality.MaxRel)
	ct.Row("Hessian: reverse-over-reverse vs FD of the gradient", cr.HessFD.MaxAbs, cr.HessFD.MaxRel)
	ct.Row("Hessian: reverse-over-reverse vs forward-over-reverse", cr.HessFwdRev.MaxAbs, cr.HessFwdRev.MaxRel)

	rep.Metric("final loss", lossAD)
	rep.Metric("training accuracy", res.acc)
	rep.Metric("w1", theta[0])
	rep.Metric("w2", theta[1])
	rep.Metric("b", theta[2])
	rep.Metric("max abs diff autodiff vs closed-form gradient", res.worstGradAbs)
	rep.Metric("max rel err autodiff vs closed-form gradient (term-scaled)", res.worstGrad)
	rep.Timing(fmt.Sprintf("training (%d steps, with closed-form comparisons)", c.Steps), res.seconds)

	rep.Check("dL/dθ: autodiff vs Xᵀ(p − y)/n, every step", res.worstGrad, c.GradTol)
	rep.Check("dL/dz: autodiff vs (p − y)/n per sample, every step", res.worstGradDz, c.GradTol)
	rep.Check("loss: autodiff vs closed form, final θ", math.Abs(lossAD-res.lossCF)/math.Abs(res.lossCF), c.GradTol)
	rep.Check("Hessian: autodiff vs Xᵀ diag(p(1 − p)) X / n, final θ", res.hessErr, c.GradTol)
	rep.Check("adjoint.Check: reverse mode vs finite differences", cr.RevFD.MaxRel, c.FDTol)
	rep.Check("adjoint.Check: forward mode vs finite differences", cr.FwdFD.MaxRel, c.FDTol)
	rep.Check("adjoint.Check: Hessian vs finite differences of the gradient", cr.HessFD.MaxRel, c.FDTol)
	rep.Check("adjoint.Check: Hessian reverse-over-reverse vs forward-over-reverse", cr.HessFwdRev.MaxRel, c.GradTol)
	rep.CheckTrue("loss decreased", lossAD < losses[0], fmt.Sprintf("%.4g → %.4g", losses[0], lossAD))
	rep.CheckTrue(fmt.Sprintf("training accuracy ≥ %g", c.MinAccuracy), res.acc >= float64(c.MinAccuracy), fmt.Sprintf("accuracy %.4g", res.acc))
}

// logisticBox returns the data's bounding box, widened by 5% on each side:
// xmin, xmax, ymin, ymax.
func logisticBox(d logisticData) [4]float64 {
	b := [4]float64{math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)}
	for i := range d.n {
		x, y := d.X[3*i], d.X[3*i+1]
		b[0], b[1] = min(b[0], x), max(b[1], x)
		b[2], b[3] = min(b[2], y), max(b[3], y)
	}
	dx, dy := 0.05*(b[1]-b[0]), 0.05*(b[3]-b[2])
	return [4]float64{b[0] - dx, b[1] + dx, b[2] - dy, b[3] + dy}
}

// logisticScatter plots the two classes as points and the decision
// boundary θ₁x + θ₂y + θ₃ = 0 as a line across box.
func logisticScatter(path string, d logisticData, theta []float64, box [4]float64) error {
	var g0, g1, line plots.Series
	g0.Name, g1.Name, line.Name = "class 0", "class 1", "boundary p = ½"
	g0.NoLine, g1.NoLine = true, true
	for i := range d.n {
		g := &g0
		if d.y[i] == 1 {
			g = &g1
		}
		g.X, g.Y = append(g.X, d.X[3*i]), append(g.Y, d.X[3*i+1])
	}
	// Parametrise the boundary along its longer extent in the box.
	const m = 45
	w1, w2, b := theta[0], theta[1], theta[2]
	for j := range m {
		t := float64(j) / (m - 1)
		var x, y float64
		if math.Abs(w2) >= math.Abs(w1) { // y as a function of x
			x = box[0] + t*(box[1]-box[0])
			y = -(w1*x + b) / w2
		} else {
			y = box[2] + t*(box[3]-box[2])
			x = -(w2*y + b) / w1
		}
		if x >= box[0] && x <= box[1] && y >= box[2] && y <= box[3] {
			line.X, line.Y = append(line.X, x), append(line.Y, y)
		}
	}
	series := []plots.Series{g0, g1}
	if len(line.X) > 0 {
		series = append(series, line)
	}
	_, err := plots.Save(path, plots.Line{
		Title:  "Training data and decision boundary",
		X:      plots.Axis{Label: "x₁"},
		Y:      plots.Axis{Label: "x₂"},
		Series: series,
	}, &plots.Options{WidthPx: 680, HeightPx: 500})
	return err
}

// logisticMap draws p = σ(wᵀx + b) over box on a grid×grid heat map.
func logisticMap(path string, theta []float64, box [4]float64, grid int) error {
	z := make([]float64, grid*grid)
	for r := range grid { // row 0 at the bottom (OriginLower)
		y := box[2] + (float64(r)+0.5)/float64(grid)*(box[3]-box[2])
		for c := range grid {
			x := box[0] + (float64(c)+0.5)/float64(grid)*(box[1]-box[0])
			z[r*grid+c] = 1 / (1 + math.Exp(-(theta[0]*x + theta[1]*y + theta[2])))
		}
	}
	_, err := plots.Save(path, plots.HeatMap{
		Title:  "Learnt probability of class 1",
		XLabel: "x₁", YLabel: "x₂", ColorLabel: "p = σ(wᵀx + b)",
		Z: z, Rows: grid, Cols: grid,
		XExtent:     plots.Extent{Min: box[0], Max: box[1]},
		YExtent:     plots.Extent{Min: box[2], Max: box[3]},
		OriginLower: true,
		ColorMap:    moreland.SmoothBlueRed(),
		ZRange:      plots.Extent{Min: 0, Max: 1},
	}, &plots.Options{WidthPx: 600, HeightPx: 500})
	return err
}
