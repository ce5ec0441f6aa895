package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/gonum/diff/fd"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/nn"
	"github.com/adjointkit/adjointkit/nn/data"
	"github.com/adjointkit/adjointkit/nn/explain"
	"github.com/adjointkit/adjointkit/plots"
)

// adversarialConfig is the [params] table of adversarial_mnist.
type adversarialConfig struct {
	Model       mnistModelConfig `toml:"model"`        // the classifier ([params.model]); shared with mnist_classifier through the cache
	Images      int              `toml:"images"`       // test images attacked (the first ones), 10 to 10000
	EpsLInf     []float64        `toml:"eps_linf"`     // L∞ radii, in pixel units (pixels are 0 to 1), increasing, 0 to 1, at least two
	EpsL2       []float64        `toml:"eps_l2"`       // L2 radii, in pixel units, increasing, 0 to 28, at least two
	PGDSteps    int              `toml:"pgd_steps"`    // PGD iterations, step 2.5·ε/steps, 1 to 200
	RandomStart bool             `toml:"random_start"` // start PGD at a uniform random point of the ball
	Examples    int              `toml:"examples"`     // rows of perturbed digits shown, 1 to 10
	GradImages  int              `toml:"grad_images"`  // test images of the input-gradient norm distribution, 10 to 10000
	FDPixels    int              `toml:"fd_pixels"`    // pixels whose loss gradient is checked, per image, 1 to 64
	FDImages    int              `toml:"fd_images"`    // images of that check, 1 to 16
	FDStep      float64          `toml:"fd_step"`      // central-difference step, 1e-9 to 1e-3
	FDJitter    float64          `toml:"fd_jitter"`    // uniform noise added to the checked images to break max-pool ties, 0 to 0.1
	FDTol       runner.Tol       `toml:"fd_tol"`       // input gradient vs central differences, normwise relative, 0 to 1
	BallTol     runner.Tol       `toml:"ball_tol"`     // largest excess of a perturbation's norm over ε, or of a pixel outside [0, 1], accepted (rounding), 0 to 1e-6
}

// Validate checks every key.
func (c adversarialConfig) Validate() error {
	errs := append(c.Model.validate(),
		runner.InRange("images", c.Images, 10, 10000),
		runner.InRange("pgd_steps", c.PGDSteps, 1, 200),
		runner.InRange("examples", c.Examples, 1, 10),
		runner.InRange("grad_images", c.GradImages, 10, 10000),
		runner.InRange("fd_pixels", c.FDPixels, 1, 64),
		runner.InRange("fd_images", c.FDImages, 1, 16),
		runner.InRange("fd_step", c.FDStep, 1e-9, 1e-3),
		runner.InRange("fd_jitter", c.FDJitter, 0, 0.1),
		runner.InRange("fd_tol", c.FDTol, 0, 1),
		runner.InRange("ball_tol", c.BallTol, 0, 1e-6))
	for _, e := range []struct {
		key string
		v   []float64
		max float64
	}{{"eps_linf", c.EpsLInf, 1}, {"eps_l2", c.EpsL2, 28}} {
		if len(e.v) < 2 {
			errs = append(errs, runner.ParamErrorf(e.key, "must list at least two radii, got %d", len(e.v)))
		}
		for i, v := range e.v {
			if v < 0 || v > e.max || i > 0 && v <= e.v[i-1] {
				errs = append(errs, runner.ParamErrorf(e.key, "entry %d (%v) must be between 0 and %v and above the one before", i, v, e.max))
			}
		}
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[adversarialConfig, adversarialResult]{
		Name:    "adversarial_mnist",
		Theme:   "nn",
		Summary: "How little a trained MNIST classifier needs: FGSM and PGD perturbations (L∞ and L2) from input gradients, accuracy against their size, and the input-gradient norms.",
		Title: func(c adversarialConfig) string {
			return fmt.Sprintf("FGSM and PGD against an MNIST CNN trained on %d images (%d test images attacked)", c.Model.TrainSize, c.Images)
		},
		Headline: "pgd_accuracy_linf_max_eps",
		Defaults: func() adversarialConfig {
			return adversarialConfig{Model: defaultMNISTModel(), Images: 200,
				EpsLInf: []float64{0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3}, EpsL2: []float64{0, 0.5, 1, 1.5, 2, 3},
				PGDSteps: 10, RandomStart: true, Examples: 4, GradImages: 1000,
				FDPixels: 6, FDImages: 2, FDStep: 1e-6, FDJitter: 0.01, FDTol: 1e-6, BallTol: 1e-12}
		},
		Quick: func(c *adversarialConfig) {
			quickMNISTModel(&c.Model)
			c.Images = min(c.Images, 40)
			c.GradImages = min(c.GradImages, 200)
			c.PGDSteps = min(c.PGDSteps, 5)
			c.Examples = min(c.Examples, 2)
		},
		Compute: computeAdversarial,
		Figures: adversarialFigures,
		Report:  adversarialReport,
	})
}

// adversarialResult is what computeAdversarial finds.
type adversarialResult struct {
	m       *mnistModel
	testAcc float64
	norms   []explain.Norm
	eps     [][]float64 // [norm][k]
	fgsm    [][]float64 // [norm][k] accuracy under FGSM
	pgd     [][]float64 // [norm][k] accuracy under PGD
	// Feasibility over every adversarial input made.
	checked        int     // adversarial inputs checked
	maxExcess      float64 // largest ‖δ‖ − ε (≤ 0 when inside)
	outOfBox       int     // inputs with a pixel outside [0, 1]
	maxBoxExcess   float64
	examples       []int       // test images shown
	exampleEps     float64     // their L∞ radius
	exOrig, exFGSM [][]float64 // pixels
	exPGD, exDelta [][]float64
	exPred         [][3]int  // predicted class: clean, FGSM, PGD
	gradL1, gradL2 []float64 // ‖∇ₓL‖ of the gradient images
	gradCorrect    []bool    // whether each is classified correctly
	fdImages       []int     // test images of the gradient check
	fdAD, fdFD     []float64
	fdWhere        []string
	seconds        map[string]float64
}

func computeAdversarial(env *runner.Env, c adversarialConfig) (*adversarialResult, error) {
	m, err := trainMNIST(env, c.Model)
	if err != nil {
		return nil, err
	}
	res := &adversarialResult{m: m, norms: []explain.Norm{explain.LInf, explain.L2},
		eps: [][]float64{c.EpsLInf, c.EpsL2}, seconds: map[string]float64{}, maxExcess: math.Inf(-1)}
	idx := data.Range(0, c.Images)
	x, labels := m.test.Batch(idx)
	predict := func(t *adjoint.Tensor) []int {
		return argmaxRows(nn.Predict(m.net, adjoint.Const(t)).Value())
	}
	accuracy := func(pred []int) float64 {
		n := 0
		for b, p := range pred {
			if p == labels[b] {
				n++
			}
		}
		return float64(n) / float64(len(pred))
	}
	res.testAcc = accuracy(predict(x))
	rng := env.Rand()
	t0 := time.Now()
	total := len(c.EpsLInf) + len(c.EpsL2)
	done := 0
	for ni, norm := range res.norms {
		var fg, pg []float64
		for _, eps := range res.eps[ni] {
			s := &explain.AttackSettings{Norm: norm, Epsilon: eps, Steps: c.PGDSteps, RandomStart: c.RandomStart, Rand: rng}
			// Attack in batches of 100 images.
			var pf, pp []int
			for from := 0; from < c.Images; from += 100 {
				to := min(from+100, c.Images)
				xb := adjoint.FromData(x.Data[from*784:to*784], to-from, 1, 28, 28)
				lb := explain.CrossEntropyLoss(m.net, labels[from:to])
				af := explain.FGSM(lb, xb, s)
				ap := explain.PGD(lb, xb, s)
				pf = append(pf, predict(af)...)
				pp = append(pp, predict(ap)...)
				for _, adv := range []*adjoint.Tensor{af, ap} {
					res.checkFeasible(adv, xb, norm, eps)
				}
				if err := env.Context().Err(); err != nil {
					return nil, err
				}
			}
			fg, pg = append(fg, accuracy(pf)), append(pg, accuracy(pp))
			done++
			env.Progress(done, total, fmt.Sprintf("%v attacks", norm))
		}
		res.fgsm, res.pgd = append(res.fgsm, fg), append(res.pgd, pg)
	}
	res.seconds["attacks"] = time.Since(t0).Seconds()

	// Examples: the first correctly classified images, attacked at the
	// middle L∞ radius.
	res.exampleEps = c.EpsLInf[len(c.EpsLInf)/2]
	clean := predict(x)
	for b := 0; b < c.Images && len(res.examples) < c.Examples; b++ {
		if clean[b] == labels[b] {
			res.examples = append(res.examples, b)
		}
	}
	if len(res.examples) > 0 {
		xe, le := m.test.Batch(res.examples)
		s := &explain.AttackSettings{Epsilon: res.exampleEps, Steps: c.PGDSteps, RandomStart: c.RandomStart, Rand: rng}
		le2 := explain.CrossEntropyLoss(m.net, le)
		af, ap := explain.FGSM(le2, xe, s), explain.PGD(le2, xe, s)
		pc, pf, pp := predict(xe), predict(af), predict(ap)
		for k := range res.examples {
			sl := func(t *adjoint.Tensor) []float64 { return slices.Clone(t.Data[k*784 : (k+1)*784]) }
			res.exOrig = append(res.exOrig, sl(xe))
			res.exFGSM = append(res.exFGSM, sl(af))
			res.exPGD = append(res.exPGD, sl(ap))
			d := sl(ap)
			for j := range d {
				d[j] -= xe.Data[k*784+j]
			}
			res.exDelta = append(res.exDelta, d)
			res.exPred = append(res.exPred, [3]int{pc[k], pf[k], pp[k]})
		}
	}

	// Input-gradient norms of the loss, image by image.
	t0 = time.Now()
	gi := data.Range(0, c.GradImages)
	for from := 0; from < len(gi); from += 200 {
		xb, lb := m.test.Batch(gi[from:min(from+200, len(gi))])
		_, g := explain.InputGradient(explain.CrossEntropyLoss(m.net, lb), xb)
		pred := predict(xb)
		for b := range lb {
			row := g.Data[b*784 : (b+1)*784]
			l1, l2 := 0.0, 0.0
			for _, v := range row {
				l1 += math.Abs(v)
				l2 = math.Hypot(l2, v)
			}
			res.gradL1 = append(res.gradL1, l1)
			res.gradL2 = append(res.gradL2, l2)
			res.gradCorrect = append(res.gradCorrect, pred[b] == lb[b])
		}
	}
	res.seconds["input-gradient norms"] = time.Since(t0).Seconds()

	// The input gradient of the loss against central differences, at the
	// attacked images of largest loss (a confident model's loss on most
	// images is about 1e-10, below what differences of the computed loss
	// can resolve), plus uniform noise (which breaks the exact max-pool
	// ties of quantised pixels, where the loss has kinks): the pixels of
	// largest |gradient| and as many at random.
	t0 = time.Now()
	perImage := nn.CrossEntropy(nn.Predict(m.net, adjoint.Const(x)), labels, &nn.ClassLossSettings{Reduction: nn.ReduceNone}).Value().Data
	res.fdImages = explain.Order(perImage)[:c.FDImages]
	xf, lf := m.test.Batch(res.fdImages)
	jitter(xf, c.FDJitter, rng)
	lossF := explain.CrossEntropyLoss(m.net, lf)
	_, g := explain.InputGradient(lossF, xf)
	for b := range c.FDImages {
		row := g.Data[b*784 : (b+1)*784]
		pix := checkPixels(row, c.FDPixels, rng)
		for _, j := range pix {
			at := b*784 + j
			xp := xf.Clone()
			res.fdAD = append(res.fdAD, g.Data[at])
			res.fdFD = append(res.fdFD, fd.Derivative(func(t float64) float64 {
				xp.Data[at] = xf.Data[at] + t
				return lossF(adjoint.Const(xp)).Item()
			}, 0, &fd.Settings{Formula: fd.Central, Step: c.FDStep}))
			res.fdWhere = append(res.fdWhere, fmt.Sprintf("image %d (loss %.3g), pixel (%d, %d)", res.fdImages[b], perImage[res.fdImages[b]], j/28, j%28))
		}
	}
	res.seconds["finite differences"] = time.Since(t0).Seconds()
	return res, nil
}

// checkFeasible records, for every row of adv, how far its perturbation
// from x exceeds eps in the norm and whether it left [0, 1].
func (res *adversarialResult) checkFeasible(adv, x *adjoint.Tensor, norm explain.Norm, eps float64) {
	size, inBox := explain.Perturbation(adv, x, norm, 0, 1)
	for b := range size {
		res.checked++
		res.maxExcess = math.Max(res.maxExcess, size[b]-eps)
		if !inBox[b] {
			res.outOfBox++
		}
	}
	for _, v := range adv.Data {
		res.maxBoxExcess = math.Max(res.maxBoxExcess, math.Max(-v, v-1))
	}
}

func adversarialFigures(dir runner.Dir, c adversarialConfig, res *adversarialResult) error {
	for ni, norm := range res.norms {
		unit := "ε (L∞, pixel units)"
		file := "accuracy_linf.png"
		if norm == explain.L2 {
			unit, file = "ε (L2, pixel units)", "accuracy_l2.png"
		}
		pct := func(v []float64) []float64 {
			out := make([]float64, len(v))
			for i, a := range v {
				out[i] = 100 * a
			}
			return out
		}
		if _, err := plots.Save(dir.Path(file), plots.Line{
			Title: fmt.Sprintf("Accuracy on %d test images under %v attacks of radius ε", c.Images, norm),
			X:     plots.Axis{Label: unit},
			Y:     plots.Axis{Label: "accuracy (%)"},
			Series: []plots.Series{
				{Name: "FGSM", X: res.eps[ni], Y: pct(res.fgsm[ni]), Points: true},
				{Name: fmt.Sprintf("PGD, %d steps", c.PGDSteps), X: res.eps[ni], Y: pct(res.pgd[ni]), Points: true},
			},
		}, &plots.Options{HeightPx: 420}); err != nil {
			return err
		}
	}
	if len(res.examples) > 0 {
		var rows [][]plots.Image
		var labels []string
		for k, i := range res.examples {
			p := res.exPred[k]
			im := func(pix []float64, pred int) plots.Image {
				return plots.Image{Pix: pix, Width: 28, Height: 28, Label: fmt.Sprintf("predicted %d", pred)}
			}
			rows = append(rows, []plots.Image{im(res.exOrig[k], p[0]), im(res.exFGSM[k], p[1]), im(res.exPGD[k], p[2]),
				{Pix: res.exDelta[k], Width: 28, Height: 28, Scale: 1}})
			labels = append(labels, fmt.Sprintf("test image %d", i))
		}
		if err := saveImageGrid(dir.Path("examples.png"), plots.ImageGrid{
			Title:     fmt.Sprintf("Test images attacked at L∞ radius ε = %s", runner.Num(res.exampleEps)),
			Images:    rows,
			RowLabels: labels,
			ColLabels: []string{"input", "FGSM", "PGD", "PGD's perturbation"},
			Scales: append(slices.Clone(mnistPixelScale),
				plots.ImageScale{Palette: plots.Diverging, PerImage: true, ColorBar: true, Label: "perturbation / max |perturbation|"}),
		}, 700); err != nil {
			return err
		}
	}
	// Empirical distribution of ‖∇ₓL‖₂, correct and misclassified images apart.
	var series []plots.Series
	for _, want := range []bool{true, false} {
		var v []float64
		for i, ok := range res.gradCorrect {
			if ok == want {
				v = append(v, res.gradL2[i])
			}
		}
		if len(v) == 0 {
			continue
		}
		sort.Float64s(v)
		frac := make([]float64, len(v))
		for i := range v {
			frac[i] = float64(i+1) / float64(len(v))
		}
		name := fmt.Sprintf("classified correctly (%d)", len(v))
		if !want {
			name = fmt.Sprintf("misclassified (%d)", len(v))
		}
		series = append(series, plots.Series{Name: name, X: v, Y: frac})
	}
	_, err := plots.Save(dir.Path("gradnorm.png"), plots.Line{
		Title:  fmt.Sprintf("Distribution of the loss's input-gradient norm over %d test images", len(res.gradL2)),
		X:      plots.Axis{Label: "||∇_x L||_2", Log: true},
		Y:      plots.Axis{Label: "fraction of images with a smaller norm"},
		Series: series,
	}, &plots.Options{HeightPx: 420})
	return err
}

func adversarialReport(rep *runner.Report, c adversarialConfig, res *adversarialResult) {
	m := res.m
	rep.Heading("Model and attacks")
	rep.Paraf("The classifier of mnist_classifier with this [params.model] table: %s, trained on %d images for %s. "+
		"On the first %d test images, attacked here, its accuracy is %.1f%%.",
		c.Model.describe(), m.train.N, runner.Count(c.Model.Epochs, "epoch", "epochs"), c.Images, 100*res.testAcc)
	start := "from the clean image"
	if c.RandomStart {
		start = "from a uniform random point of the ball"
	}
	rep.Paraf("FGSM takes one step of size ε along the sign of the loss's input gradient (L∞) or along the gradient scaled to length ε (L2), "+
		"then clips to [0, 1]. PGD takes %d steps of 2.5·ε/%d %s, each followed by the projection onto the ε-ball around the image and the clip to [0, 1]. "+
		"Every gradient is the cross-entropy's gradient with respect to the pixels, by one reverse pass.", c.PGDSteps, c.PGDSteps, start)

	rep.Heading("Accuracy against ε")
	for ni, norm := range res.norms {
		file := "accuracy_linf.png"
		if norm == explain.L2 {
			file = "accuracy_l2.png"
		}
		rep.Figure(file, fmt.Sprintf("Accuracy under FGSM and PGD against the %v radius ε.", norm))
		t := rep.Table("ε ("+norm.String()+")", "FGSM accuracy", "PGD accuracy")
		stronger := 0
		for k, e := range res.eps[ni] {
			t.Row(runner.Num(e), fmt.Sprintf("%.1f%%", 100*res.fgsm[ni][k]), fmt.Sprintf("%.1f%%", 100*res.pgd[ni][k]))
			if res.pgd[ni][k] <= res.fgsm[ni][k] {
				stronger++
			}
		}
		last := len(res.eps[ni]) - 1
		rep.Paraf("Under %v attacks the accuracy falls from %.1f%% to %.1f%% (FGSM) and %.1f%% (PGD) at ε = %s; PGD's accuracy is at most FGSM's at %d of %d radii.",
			norm, 100*res.pgd[ni][0], 100*res.fgsm[ni][last], 100*res.pgd[ni][last], runner.Num(res.eps[ni][last]), stronger, len(res.eps[ni]))
	}
	if len(res.examples) > 0 {
		var b strings.Builder
		for k, i := range res.examples {
			if k > 0 {
				b.WriteString("; ")
			}
			p := res.exPred[k]
			fmt.Fprintf(&b, "image %d: %d, FGSM %d, PGD %d", i, p[0], p[1], p[2])
		}
		rep.Figure("examples.png", fmt.Sprintf("Test images, their FGSM and PGD versions at L∞ radius ε = %s, and PGD's perturbation (divided by its largest |value|). "+
			"Predicted digits: %s.", runner.Num(res.exampleEps), b.String()))
	}

	rep.Heading("Input-gradient norms")
	var ok, bad []float64
	for i, good := range res.gradCorrect {
		if good {
			ok = append(ok, res.gradL2[i])
		} else {
			bad = append(bad, res.gradL2[i])
		}
	}
	medOK, medBad := median(ok), median(bad)
	rep.Figure("gradnorm.png", "Empirical distribution of ‖∇ₓL‖₂ of the cross-entropy, for correctly classified and misclassified test images.")
	if len(bad) > 0 {
		rep.Paraf("The median ‖∇ₓL‖₂ is %s for the %d correctly classified images and %s for the %d misclassified ones: "+
			"a first-order change of the loss by ε‖∇ₓL‖ is %s where the model is already wrong.",
			runner.Num(medOK), len(ok), runner.Num(medBad), len(bad), runner.Choose(medBad > medOK, "larger", "not larger"))
	} else {
		rep.Paraf("The median ‖∇ₓL‖₂ over the %d images is %s; none is misclassified.", len(ok), runner.Num(medOK))
	}

	rep.Heading("Checks")
	e := relErr(res.fdAD, res.fdFD)
	rep.Paraf("The loss's input gradient at %d pixels of the %s of largest loss among those attacked (the %d of largest |gradient| per image and the rest at random), by one reverse pass and by central differences with step %s, "+
		"at the images plus uniform noise of ±%s (MNIST's quantised pixels leave exact max-pool ties, where the loss has kinks; and on a confidently classified image the loss, about 1e-10, is below what differences of the computed loss resolve): "+
		"largest normwise relative difference %s, %s the tolerance %s.",
		len(res.fdAD), runner.Count(c.FDImages, "image", "images"), (c.FDPixels+1)/2, runner.Num(c.FDStep), runner.Num(c.FDJitter),
		runner.Num(e), runner.Compare(e, float64(c.FDTol)), runner.Num(float64(c.FDTol)))
	ft := rep.Table("where", "reverse pass", "central differences")
	for i, w := range res.fdWhere {
		ft.Row(w, fmt.Sprintf("%.9g", res.fdAD[i]), fmt.Sprintf("%.9g", res.fdFD[i]))
	}
	rep.Paraf("Every adversarial image made (%d, FGSM and PGD at every radius) was checked: the largest excess of ‖δ‖ over ε is %s "+
		"and %d images have a pixel outside [0, 1] (largest excursion %s).",
		res.checked, runner.Num(res.maxExcess), res.outOfBox, runner.Num(res.maxBoxExcess))

	rep.Metric("clean_accuracy", res.testAcc)
	for ni, norm := range res.norms {
		key := strings.ToLower(strings.ReplaceAll(norm.String(), "∞", "inf"))
		last := len(res.eps[ni]) - 1
		rep.Metric("fgsm_accuracy_"+key+"_max_eps", res.fgsm[ni][last])
		rep.Metric("pgd_accuracy_"+key+"_max_eps", res.pgd[ni][last])
	}
	rep.Metric("median_grad_l2_correct", medOK)
	rep.Metric("input_grad_fd_rel_err", e)
	rep.Metric("max_ball_excess", res.maxExcess)
	mnistTimings(rep, m)
	for _, k := range []string{"attacks", "input-gradient norms", "finite differences"} {
		rep.Timing(k, res.seconds[k])
	}
	rep.Check("input gradient vs central differences", e, c.FDTol)
	rep.Check(fmt.Sprintf("no perturbation leaves its ε-ball (largest ‖δ‖ − ε over %d images)", res.checked), math.Max(res.maxExcess, 0), c.BallTol)
	rep.Check(fmt.Sprintf("no pixel leaves [0, 1] (%d images outside; largest excursion)", res.outOfBox), math.Max(res.maxBoxExcess, 0), c.BallTol)
}

// median returns the median of v (NaN if empty); v is not changed.
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(v))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
