package main

import (
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
	d := newLogisticData(&runner.LegacyRun{Seed: 2}, c)
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
