package nn

import (
	"math"
	"slices"
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

	// With a positive weight p: y = 1, z = −800 costs p·800; y = 0,
	// z = −800 nothing; the gradient is (−p·y·σ(−z) + (1−y)·σ(z))/4.
	lp := BCEWithLogitsLoss(z, tg, &BCEWithLogitsSettings{PosWeight: adjoint.Vector(2, 3, 0.5, 1)})
	if lp.Item() != (800+3*800+0+0)/4.0 {
		t.Errorf("BCEWithLogitsLoss with pos weight = %v, want %v", lp.Item(), (800+3*800)/4.0)
	}
	gp := adjoint.Grad(lp, z)[0].Data
	for i, want := range []float64{0.25, -0.75, 0, 0} {
		if math.Abs(gp[i]-want) > 1e-15 {
			t.Errorf("BCEWithLogitsLoss gradient %d = %v, want %v", i, gp[i], want)
		}
	}
	// Moderate logits: accurate where softplus(z) − y·z would cancel
	// (y = 1, z = 40: the loss is softplus(−40) ≈ 4.25e-18).
	small := BCEWithLogitsLoss(adjoint.Const(adjoint.Vector(40)), adjoint.Const(adjoint.Vector(1)),
		&BCEWithLogitsSettings{PosWeight: adjoint.Vector(1)}).Item()
	if want := math.Log1p(math.Exp(-40)); math.Abs(small-want) > 1e-15*want {
		t.Errorf("loss at z = 40, y = 1: %v, want %v", small, want)
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

// The new losses, first and second order, with respect to every
// differentiable argument; probabilities come through a sigmoid or a
// softmax so that the finite differences stay inside the domain.
func TestPyTorchLossGradients(t *testing.T) {
	rng := newRNG(32)
	labels := []int{2, 0, 1, 2}
	labelsK := []int{0, 2, 1, 1, 0, 2}
	w := []float64{0.5, 2, 1.5}
	cases := []struct {
		name   string
		shapes [][]int
		f      func(v ...*adjoint.Var) *adjoint.Var
	}{
		{"huber", [][]int{{3, 4}, {3, 4}}, func(v ...*adjoint.Var) *adjoint.Var { return Huber(v[0], v[1], 0.7, ReduceMean) }},
		{"huber_none", [][]int{{3, 4}, {3, 4}}, func(v ...*adjoint.Var) *adjoint.Var { return Huber(v[0], v[1], 1.5, ReduceNone) }},
		{"smoothl1", [][]int{{3, 4}, {3, 4}}, func(v ...*adjoint.Var) *adjoint.Var { return SmoothL1(v[0], v[1], 0.4, ReduceSum) }},
		{"l1", [][]int{{3, 4}, {3, 4}}, func(v ...*adjoint.Var) *adjoint.Var { return SmoothL1(v[0], v[1], 0, ReduceMean) }},
		{"nll", [][]int{{4, 3}}, func(v ...*adjoint.Var) *adjoint.Var {
			return NLL(v[0], labels, &ClassLossSettings{Weight: w, Ignore: true, IgnoreIndex: 1})
		}},
		{"ce", [][]int{{4, 3}}, func(v ...*adjoint.Var) *adjoint.Var { return CrossEntropy(v[0], labels, nil) }},
		{"ce_all_options", [][]int{{4, 3}}, func(v ...*adjoint.Var) *adjoint.Var {
			return CrossEntropy(v[0], labels, &ClassLossSettings{Weight: w, Ignore: true, IgnoreIndex: 0, LabelSmoothing: 0.2})
		}},
		{"ce_kdim_none", [][]int{{2, 3, 3}}, func(v ...*adjoint.Var) *adjoint.Var {
			return CrossEntropy(v[0], labelsK, &ClassLossSettings{Reduction: ReduceNone, LabelSmoothing: 0.1, Ignore: true, IgnoreIndex: 1})
		}},
		{"ce_soft", [][]int{{4, 3}, {4, 3}}, func(v ...*adjoint.Var) *adjoint.Var {
			return CrossEntropySoft(v[0], adjoint.Softmax(v[1], 1), &ClassLossSettings{Weight: w, LabelSmoothing: 0.1})
		}},
		{"bce", [][]int{{3, 4}, {3, 4}}, func(v ...*adjoint.Var) *adjoint.Var {
			return BCE(adjoint.Sigmoid(v[0]), adjoint.Sigmoid(v[1]), &BCESettings{Weight: adjoint.Vector(1, 2, 0.5, 1)})
		}},
		{"bce_logits_pos_weight", [][]int{{3, 4}, {3, 4}}, func(v ...*adjoint.Var) *adjoint.Var {
			return BCEWithLogitsLoss(v[0], adjoint.Sigmoid(v[1]), &BCEWithLogitsSettings{Weight: adjoint.Vector(1, 2, 0.5, 1),
				PosWeight: adjoint.Vector(3, 0.5, 1, 2), Reduction: ReduceSum})
		}},
		{"kldiv", [][]int{{3, 4}, {3, 4}}, func(v ...*adjoint.Var) *adjoint.Var {
			return KLDiv(adjoint.LogSoftmax(v[0], 1), adjoint.Softmax(v[1], 1), &KLDivSettings{Reduction: ReduceBatchMean})
		}},
		{"kldiv_log_target", [][]int{{3, 4}, {3, 4}}, func(v ...*adjoint.Var) *adjoint.Var {
			return KLDiv(v[0], adjoint.LogSoftmax(v[1], 1), &KLDivSettings{Reduction: ReduceNone, LogTarget: true})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var xs []*adjoint.Tensor
			for _, s := range c.shapes {
				xs = append(xs, randTensor(rng, s...))
			}
			r := adjoint.Check(c.f, xs, nil)
			if err := r.Err(fdTol, adTol); err != nil || !r.SecondOrder {
				t.Errorf("%v (second order %v)\n%v", err, r.SecondOrder, r)
			}
		})
	}
}

// Semantics that PyTorch defines and the fixtures do not reach: every
// label ignored, probabilities at the bounds, the gradient that ignored
// labels and the padding row do not get, misuse.
func TestLossEdgeCases(t *testing.T) {
	z := adjoint.Param(adjoint.FromData([]float64{1, 2, 3, 4, 5, 6}, 2, 3))
	all := &ClassLossSettings{Ignore: true, IgnoreIndex: 2}
	if v := CrossEntropy(z, []int{2, 2}, all).Item(); !math.IsNaN(v) {
		t.Errorf("mean over no counted labels = %v, want NaN (0/0, as PyTorch)", v)
	}
	all.Reduction = ReduceSum
	if v := CrossEntropy(z, []int{2, 2}, all).Item(); v != 0 {
		t.Errorf("sum over no counted labels = %v, want 0", v)
	}
	// An ignored row gets no gradient; a weighted mean divides by the
	// counted weights: here one row of weight 4, so the loss is that row's
	// −log softmax.
	l := CrossEntropy(z, []int{1, 0}, &ClassLossSettings{Weight: []float64{4, 1, 1}, Ignore: true, IgnoreIndex: 1})
	want := math.Log(math.Exp(4)+math.Exp(5)+math.Exp(6)) - 4
	if math.Abs(l.Item()-want) > 1e-15 {
		t.Errorf("weighted mean %v, want %v", l.Item(), want)
	}
	g := adjoint.Grad(l, z)[0].Data
	if g[0] != 0 || g[1] != 0 || g[2] != 0 {
		t.Errorf("ignored row has gradient %v", g[:3])
	}
	// BCE at the bounds: log clamped at −100, finite derivative.
	p := adjoint.Param(adjoint.Vector(0, 1, 0, 1))
	y := adjoint.Const(adjoint.Vector(0, 1, 1, 0))
	b := BCE(p, y, &BCESettings{Reduction: ReduceNone})
	if !slices.Equal(b.Value().Data, []float64{0, 0, 100, 100}) {
		t.Errorf("BCE at the bounds %v, want [0 0 100 100]", b.Value().Data)
	}
	for i, v := range adjoint.Grad(adjoint.Sum(b), p)[0].Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("BCE gradient %d at the bound is %v", i, v)
		}
	}
	// KL of a distribution from itself is zero, with p·log p = 0 at p = 0.
	pt := adjoint.Const(adjoint.FromData([]float64{0.5, 0.5, 0, 0.25, 0.75, 0}, 2, 3))
	logq := adjoint.Log(adjoint.Const(adjoint.FromData([]float64{0.5, 0.5, 1e-300, 0.25, 0.75, 1e-300}, 2, 3)))
	if v := KLDiv(logq, pt, &KLDivSettings{Reduction: ReduceSum}).Item(); math.Abs(v) > 1e-16 {
		t.Errorf("KL(p‖p) = %v", v)
	}
	mustPanic(t, func() { BCE(adjoint.Const(adjoint.Vector(1.5)), adjoint.Const(adjoint.Vector(1)), nil) }, "nn: BCE", "1.5", "[0, 1]")
	mustPanic(t, func() { CrossEntropy(z, []int{0, 3}, nil) }, "nn: CrossEntropy", "label 3")
	mustPanic(t, func() { CrossEntropy(z, []int{0, 1}, &ClassLossSettings{Weight: []float64{1}}) }, "1 class weights for 3 classes")
	mustPanic(t, func() { NLL(z, []int{0, 1}, &ClassLossSettings{LabelSmoothing: 0.1}) }, "nn: NLL", "LabelSmoothing")
	mustPanic(t, func() { CrossEntropySoft(z, z, &ClassLossSettings{Ignore: true}) }, "nn: CrossEntropySoft", "Ignore")
	mustPanic(t, func() { Huber(z, z, 0, ReduceMean) }, "nn: Huber", "delta")
	mustPanic(t, func() { Huber(z, z, 1, ReduceBatchMean) }, "nn: Huber", "batchmean")
	mustPanic(t, func() { CrossEntropy(adjoint.Const(adjoint.New(4)), []int{0}, nil) }, "nn: CrossEntropy", "[batch classes ...]")
}
