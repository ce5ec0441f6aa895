package main

import (
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
)

// TestLogisticClosedForm checks the closed-form gradient Xᵀ(p − y)/n, the
// reference of the logistic experiment, against central differences of the
// closed-form loss, independently of the adjoint core.
func TestLogisticClosedForm(t *testing.T) {
	c := *registry["logistic"].defaults().(*logisticConfig)
	c.N = 40
	d := newLogisticData(&Run{Seed: 2}, c)
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

// TestLogisticRun runs the quick configuration with a hand-made Run.
func TestLogisticRun(t *testing.T) {
	t.Chdir(t.TempDir())
	e := registry["logistic"]
	c := e.defaults().(*logisticConfig)
	e.quick(c)
	r := &Run{Seed: 5, Report: &Report{}}
	if err := runLogistic(r, *c); err != nil {
		t.Fatal(err)
	}
	if s := r.Report.status(); s != statusPass {
		t.Errorf("status %s, want PASS; failed: %v", s, r.Report.failed())
	}
}
