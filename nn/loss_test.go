package nn

import (
	"math"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
)

func TestLossValues(t *testing.T) {
	p := adjoint.Const(adjoint.Vector(1, 2, 3))
	y := adjoint.Const(adjoint.Vector(1, 0, 5))
	if got := MSE(p, y).Item(); got != 8.0/3 {
		t.Errorf("MSE = %v, want 8/3", got)
	}

	z := []float64{-3, -0.5, 0, 0.7, 4}
	tg := []float64{0, 1, 0.5, 1, 0}
	var want float64
	for i := range z {
		s := 1 / (1 + math.Exp(-z[i]))
		want -= tg[i]*math.Log(s) + (1-tg[i])*math.Log(1-s)
	}
	want /= float64(len(z))
	got := BCEWithLogits(adjoint.Const(adjoint.Vector(z...)), adjoint.Const(adjoint.Vector(tg...))).Item()
	if math.Abs(got-want) > 1e-15 {
		t.Errorf("BCEWithLogits = %v, want %v", got, want)
	}

	logits := adjoint.FromData([]float64{1, 2, 3, 0.5, -1, 2}, 2, 3)
	labels := []int{2, 0}
	want = 0
	for i, l := range labels {
		row := logits.Data[3*i : 3*i+3]
		var s float64
		for _, v := range row {
			s += math.Exp(v)
		}
		want += math.Log(s) - row[l]
	}
	want /= 2
	if got := SoftmaxCrossEntropy(adjoint.Const(logits), labels).Item(); math.Abs(got-want) > 1e-15 {
		t.Errorf("SoftmaxCrossEntropy = %v, want %v", got, want)
	}
	if a := Accuracy(logits, []int{2, 0}); a != 0.5 {
		t.Errorf("Accuracy = %v, want 0.5", a)
	}
}

// Huge logits neither overflow nor lose the loss or its gradient.
func TestLossStability(t *testing.T) {
	z := adjoint.Param(adjoint.Vector(800, -800, 800, -800))
	tg := adjoint.Const(adjoint.Vector(0, 1, 1, 0))
	l := BCEWithLogits(z, tg)
	if l.Item() != 400 { // (800 + 800 + 0 + 0)/4
		t.Errorf("BCEWithLogits = %v, want 400", l.Item())
	}
	g := adjoint.Grad(l, z)[0].Data // (σ(z) − y)/4
	for i, want := range []float64{0.25, -0.25, 0, 0} {
		if math.Abs(g[i]-want) > 1e-15 {
			t.Errorf("BCE gradient %d = %v, want %v", i, g[i], want)
		}
	}

	lg := adjoint.Param(adjoint.FromData([]float64{1000, 0, -1000, 0, 1e4, 0}, 2, 3))
	ce := SoftmaxCrossEntropy(lg, []int{1, 0})
	if ce.Item() != (1000+1e4)/2 {
		t.Errorf("SoftmaxCrossEntropy = %v, want %v", ce.Item(), (1000+1e4)/2)
	}
	gc := adjoint.Grad(ce, lg)[0].Data // (softmax − onehot)/2
	for i, want := range []float64{0.5, -0.5, 0, -0.5, 0.5, 0} {
		if math.Abs(gc[i]-want) > 1e-15 {
			t.Errorf("CE gradient %d = %v, want %v", i, gc[i], want)
		}
	}
}

func TestLossGradients(t *testing.T) {
	rng := newRNG(31)
	tg := adjoint.Const(adjoint.FromData([]float64{0, 1, 0.3, 1, 0, 0.8}, 2, 3))
	cases := []struct {
		name string
		f    func(v ...*adjoint.Var) *adjoint.Var
	}{
		{"mse", func(v ...*adjoint.Var) *adjoint.Var { return MSE(v[0], v[1]) }},
		{"bce_logits", func(v ...*adjoint.Var) *adjoint.Var { return BCEWithLogits(v[0], tg) }},
		{"softmax_ce", func(v ...*adjoint.Var) *adjoint.Var { return SoftmaxCrossEntropy(v[0], []int{2, 0}) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := adjoint.Check(c.f, []*adjoint.Tensor{randTensor(rng, 2, 3), randTensor(rng, 2, 3)}, nil)
			if err := r.Err(fdTol, adTol); err != nil {
				t.Error(err)
			}
		})
	}
	mustPanic(t, func() { SoftmaxCrossEntropy(adjoint.Const(adjoint.New(2, 3)), []int{0, 3}) }, "nn: SoftmaxCrossEntropy", "label 3")
	mustPanic(t, func() { SoftmaxCrossEntropy(adjoint.Const(adjoint.New(2, 3)), []int{0}) }, "nn: SoftmaxCrossEntropy", "[2 3]")
	mustPanic(t, func() { MSE(adjoint.Const(adjoint.New(2, 3)), adjoint.Const(adjoint.New(3, 2))) }, "nn: MSE")
}
