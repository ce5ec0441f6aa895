package main

import (
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestLogisticClosedForm checks the closed-form gradient Xᵀ(p − y)/n, the
// reference of the logistic experiment, against central differences of the
// closed-form loss, independently of the adjoint core.
func TestLogisticClosedForm(t *testing.T) {
	c := *runner.Defaults[logisticConfig]("logistic", false)
	c.N = 40
	d := newLogisticData((&runner.Env{Seed: 2}).Rand(), c)
	theta := []float64{0.3, -0.7, 0.2}
	_, _, grad, hess := d.closedForm(theta)
	loss := func(th []float64) float64 { _, L, _, _ := d.closedForm(th); return L }
	num := fd.Gradient(nil, loss, theta, &fd.Settings{Formula: fd.Central})
	if e := relErr(grad, num); e > 1e-8 {
		t.Errorf("closed-form gradient %v, central differences %v: rel. error %g", grad, num, e)
	}
	numH := mat.NewSymDense(3, nil)
	fd.Hessian(numH, loss, theta, &fd.Settings{Formula: fd.Central})
	if e := relErr(logisticSymData(hess), logisticSymData(numH)); e > 1e-4 {
		t.Errorf("closed-form Hessian differs from central differences by %g", e)
	}
}

// TestLogisticRateSentence checks that the gradient-norm caption calls the
// decay a straight line only when the rates of the last two quarters agree.
func TestLogisticRateSentence(t *testing.T) {
	c := *runner.Defaults[logisticConfig]("logistic", false)
	c.Steps = 100
	for _, tc := range []struct {
		name     string
		norm     func(k float64) float64
		straight bool
	}{
		{"geometric", func(k float64) float64 { return math.Pow(0.97, k) }, true},
		{"algebraic", func(k float64) float64 { return 1 / (1 + k) }, false},
	} {
		res := &logisticResult{data: logisticData{n: 10}, theta: make([]float64, 3), gradCF: []float64{1, 1, 1}, termScale: 1}
		for k := range c.Steps + 1 {
			res.losses = append(res.losses, 1/(1+float64(k)))
			res.gnorms = append(res.gnorms, tc.norm(float64(k)))
		}
		var rep runner.Report
		logisticReport(&rep, c, res)
		if got := strings.Contains(rep.Text(), "nearly a straight line"); got != tc.straight {
			t.Errorf("%s decay: says straight line %v, want %v", tc.name, got, tc.straight)
		}
	}
}
