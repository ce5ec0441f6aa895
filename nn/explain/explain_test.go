package explain

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/floats"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn"
)

// expScore is f(x) = exp(w·x) per row of x [B, n].
func expScore(w []float64) Score {
	wt := adjoint.Const(adjoint.FromData(slices.Clone(w), len(w), 1))
	return func(x *adjoint.Var) *adjoint.Var {
		return adjoint.Reshape(adjoint.Exp(adjoint.MatMul(x, wt)), x.Shape()[0])
	}
}

// linearScore is f(x) = w·x + c per row.
func linearScore(w []float64, c float64) Score {
	wt := adjoint.Const(adjoint.FromData(slices.Clone(w), len(w), 1))
	return func(x *adjoint.Var) *adjoint.Var {
		return adjoint.Reshape(adjoint.AddScalar(adjoint.MatMul(adjoint.Reshape(x, x.Shape()[0], -1), wt), c), x.Shape()[0])
	}
}

// TestIGClosedForm compares integrated gradients of f(x) = exp(w·x) from
// the zero baseline with the closed form x_i w_i (e^s − 1)/s, s = w·x, and
// checks each rule's order of convergence.
func TestIGClosedForm(t *testing.T) {
	w := []float64{0.7, -0.4, 1.1}
	x := adjoint.FromData([]float64{0.9, 0.5, 0.8}, 1, 3)
	s := floats.Dot(w, x.Data)
	want := make([]float64, 3)
	for i := range want {
		want[i] = x.Data[i] * w[i] * math.Expm1(s) / s
	}
	errAt := func(r Rule, m int) float64 {
		res := IntegratedGradients(expScore(w), x, &IGSettings{Steps: m, Rule: r})
		e := 0.0
		for i, v := range res.Attribution.Data {
			e = math.Max(e, math.Abs(v-want[i]))
		}
		return e
	}
	// Ratios of errors at m and 2m: 2 for first-order rules, 4 for
	// second-order ones (within 10%: the asymptotic ratio is approached
	// from one side as m grows).
	for _, c := range []struct {
		r     Rule
		ratio float64
	}{{RiemannLeft, 2}, {RiemannRight, 2}, {RiemannMiddle, 4}, {RiemannTrapezoid, 4}} {
		for _, m := range []int{16, 32, 64} {
			got := errAt(c.r, m) / errAt(c.r, 2*m)
			if math.Abs(got/c.ratio-1) > 0.1 {
				t.Errorf("%v: error ratio m=%d to m=%d is %.3f, want %.0f", c.r, m, 2*m, got, c.ratio)
			}
		}
	}
	// Gauss–Legendre with m nodes is exact for polynomials of degree
	// 2m−1; e^{αs} is resolved to rounding by 8 nodes.
	if e := errAt(GaussLegendre, 8); e > 1e-14 {
		t.Errorf("Gauss–Legendre with 8 nodes: error %g, want rounding", e)
	}
	if e2, e4 := errAt(GaussLegendre, 2), errAt(GaussLegendre, 4); !(e4 < e2/100) {
		t.Errorf("Gauss–Legendre errors %g (2 nodes) and %g (4): want faster than any power", e2, e4)
	}
}

func TestRuleNodes(t *testing.T) {
	for _, r := range Rules {
		a, w := r.Nodes(7)
		if math.Abs(floats.Sum(w)-1) > 1e-14 {
			t.Errorf("%v: weights sum to %v", r, floats.Sum(w))
		}
		for _, v := range a {
			if v < 0 || v > 1 {
				t.Errorf("%v: node %v outside [0, 1]", r, v)
			}
		}
	}
	if a, _ := RiemannTrapezoid.Nodes(3); !slices.Equal(a, []float64{0, 0.5, 1}) {
		t.Errorf("trapezoid nodes %v", a)
	}
}

// TestIGCompleteness checks the completeness gap: zero (to rounding) for
// a linear score and any rule; for a ReLU network, what IGResult reports
// is recomputed from its own parts, and it shrinks with more steps.
func TestIGCompleteness(t *testing.T) {
	w := []float64{0.3, -1.2, 0.5, 2}
	x := adjoint.FromData([]float64{1, 2, -1, 0.5, 0.2, 0.1, 0.3, -0.4}, 2, 4)
	base := adjoint.FromData([]float64{0.1, 0.1, 0.1, 0.1}, 1, 4)
	for _, r := range Rules {
		res := IntegratedGradients(linearScore(w, 0.7), x, &IGSettings{Steps: 5, Rule: r, Baseline: base})
		for b, d := range res.Delta {
			if d > 1e-14 {
				t.Errorf("%v, linear score, input %d: delta %g", r, b, d)
			}
			for i := range 4 {
				if want := (x.Data[b*4+i] - 0.1) * w[i]; math.Abs(res.Attribution.Data[b*4+i]-want) > 1e-15 {
					t.Errorf("%v: attribution %v, want %v", r, res.Attribution.Data[b*4+i], want)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	model := nn.NewSequential([]int{4}, nn.NewLinear(rng, 4, 16, nil), nn.ReLU(), nn.NewLinear(rng, 16, 3, nil))
	for _, p := range model.Params() { // biases too, so that the path crosses ReLU kinks
		for i := range p.Value().Data {
			p.Value().Data[i] = rng.NormFloat64()
		}
	}
	f := Logit(model, 1)
	prev, first := math.Inf(1), 0.0
	for _, m := range []int{4, 32, 256} {
		res := IntegratedGradients(f, x, &IGSettings{Steps: m, Rule: RiemannMiddle, BatchSize: 7})
		fx := nn.Predict(model, adjoint.Const(x)).Value()
		f0 := nn.Predict(model, adjoint.Const(adjoint.New(2, 4))).Value()
		if m == 4 {
			t.Logf("f(x) − f(0) = %v, %v", fx.At(0, 1)-f0.At(0, 1), fx.At(1, 1)-f0.At(1, 1))
		}
		worst := 0.0
		for b := range 2 {
			sum := floats.Sum(res.Attribution.Data[b*4 : (b+1)*4])
			want := math.Abs(sum - (fx.At(b, 1) - f0.At(b, 1)))
			if math.Abs(res.Delta[b]-want) > 1e-12 {
				t.Errorf("m=%d input %d: delta %v, recomputed %v", m, b, res.Delta[b], want)
			}
			worst = math.Max(worst, res.Delta[b])
		}
		t.Logf("m=%d: largest delta %g", m, worst)
		if worst > prev {
			t.Errorf("delta grew from %g to %g at m=%d", prev, worst, m)
		}
		if m == 4 {
			first = worst
		}
		prev = worst
	}
	// The gradient of a ReLU network jumps along the path, so every rule
	// converges only like 1/m: from 4 to 256 steps, by a factor near 64.
	if prev > 3*first*4/256 {
		t.Errorf("delta %g at 256 steps, %g at 4: falls slower than 1/m", prev, first)
	}
}

// smoothCNN is a small convolutional network with smooth activations, so
// that central differences are accurate everywhere.
func smoothCNN(rng *rand.Rand) nn.Layer {
	return nn.NewSequential([]int{1, 6, 6},
		nn.NewConv2D(rng, 1, 3, 3, 3, &nn.Conv2DSettings{Padding: 1}), nn.Tanh(), nn.NewAvgPool2D(2, 2),
		nn.NewFlatten(), nn.NewLinear(rng, 27, 4, nil))
}

// TestGradientVsFiniteDifferences checks saliency against central
// differences (gonum diff/fd) of the score, and gradient × input against
// its definition.
func TestGradientVsFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	model := smoothCNN(rng)
	x := adjoint.New(2, 1, 6, 6)
	for i := range x.Data {
		x.Data[i] = rng.Float64()
	}
	f := Logit(model, 2)
	g := Gradient(f, x)
	gi := GradientTimesInput(f, x)
	for b := range 2 {
		row := slices.Clone(x.Data[b*36 : (b+1)*36])
		want := fd.Gradient(nil, func(v []float64) float64 {
			return f(adjoint.Const(adjoint.FromData(slices.Clone(v), 1, 1, 6, 6))).Value().Data[0]
		}, row, &fd.Settings{Formula: fd.Central, Step: 1e-5})
		got := g.Data[b*36 : (b+1)*36]
		if e := adjoint.Compare(got, want).MaxRel; e > 1e-8 {
			t.Errorf("input %d: gradient vs central differences: relative error %g", b, e)
		}
		for j, v := range got {
			if gi.Data[b*36+j] != v*row[j] {
				t.Fatalf("gradient × input differs from the product at %d", j)
			}
		}
	}
}

func TestSmoothGradLinear(t *testing.T) {
	w := []float64{0.5, -1, 2, 0.25}
	x := adjoint.FromData([]float64{0.1, 0.2, 0.3, 0.4}, 1, 4)
	sg := SmoothGrad(linearScore(w, 0), x, rand.New(rand.NewPCG(1, 1)), &SmoothGradSettings{Samples: 10, BatchSize: 3})
	for i, v := range sg.Data {
		if math.Abs(v-w[i]) > 1e-15 {
			t.Errorf("SmoothGrad of a linear score: %v, want the gradient %v", sg.Data, w)
			break
		}
	}
}

// TestOcclusionLinear: for f = w·x and patches of one pixel, occlusion
// is w_j x_j; for non-overlapping 2×2 patches each pixel gets its
// patch's total.
func TestOcclusionLinear(t *testing.T) {
	w := make([]float64, 16)
	x := adjoint.New(1, 1, 4, 4)
	for i := range w {
		w[i] = float64(i%5) - 2
		x.Data[i] = float64(i) / 10
	}
	f := linearScore(w, 1)
	one := Occlusion(f, x, &OcclusionSettings{Window: 1, Stride: 1})
	for j := range w {
		if math.Abs(one.Data[j]-w[j]*x.Data[j]) > 1e-14 {
			t.Errorf("window 1: pixel %d: %v, want %v", j, one.Data[j], w[j]*x.Data[j])
		}
	}
	two := Occlusion(f, x, &OcclusionSettings{Window: 2, Stride: 2, BatchSize: 3})
	for r := range 4 {
		for c := range 4 {
			sum := 0.0
			for _, q := range [][2]int{{0, 0}, {0, 1}, {1, 0}, {1, 1}} {
				j := (r/2*2+q[0])*4 + c/2*2 + q[1]
				sum += w[j] * x.Data[j]
			}
			if got := two.Data[r*4+c]; math.Abs(got-sum) > 1e-14 {
				t.Errorf("window 2: pixel (%d,%d): %v, want %v", r, c, got, sum)
			}
		}
	}
}

// TestSpearman uses the example of Wikipedia's article on Spearman's
// rank correlation (IQ against hours of television a week), whose
// coefficient is −29/165, and a case with ties.
func TestSpearman(t *testing.T) {
	iq := []float64{106, 100, 86, 101, 99, 103, 97, 113, 112, 110}
	tv := []float64{7, 27, 2, 50, 28, 29, 20, 12, 6, 17}
	if got := Spearman(iq, tv); math.Abs(got+29.0/165) > 1e-14 {
		t.Errorf("Spearman = %v, want %v", got, -29.0/165)
	}
	if got := Spearman([]float64{1, 2, 3}, []float64{10, 40, 90}); math.Abs(got-1) > 1e-15 {
		t.Errorf("monotone: %v", got)
	}
	// Ties: ranks of {1, 2, 2, 3} are {1, 2.5, 2.5, 4}.
	if r := ranks([]float64{1, 2, 2, 3}); !slices.Equal(r, []float64{1, 2.5, 2.5, 4}) {
		t.Errorf("ranks with ties: %v", r)
	}
}

func TestCurves(t *testing.T) {
	w := []float64{3, 1, 2, 0.5}
	x := adjoint.FromData([]float64{1, 1, 1, 1}, 1, 4)
	f := linearScore(w, 0)
	order := Order(GradientTimesInput(f, x).Data)
	if !slices.Equal(order, []int{0, 2, 1, 3}) {
		t.Fatalf("order %v", order)
	}
	frac, del := DeletionCurve(f, x, order, &CurveSettings{Steps: 4})
	if !slices.Equal(frac, []float64{0, 0.25, 0.5, 0.75, 1}) || !slices.Equal(del, []float64{6.5, 3.5, 1.5, 0.5, 0}) {
		t.Errorf("deletion: %v %v", frac, del)
	}
	_, ins := InsertionCurve(f, x, order, &CurveSettings{Steps: 4})
	if !slices.Equal(ins, []float64{0, 3, 5, 6, 6.5}) {
		t.Errorf("insertion: %v", ins)
	}
	if a := AUC(frac, del); math.Abs(a-(6.5/2+3.5+1.5+0.5+0)/4) > 1e-15 {
		t.Errorf("AUC %v", a)
	}
}

func TestRandomized(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	model := nn.NewSequential([]int{4}, nn.NewLinear(rng, 4, 8, nil), nn.ReLU(), nn.NewLinear(rng, 8, 3, nil))
	ps := model.Params()
	layers := Layers(ps)
	if !slices.Equal(layers, []string{"layer2", "layer0"}) {
		t.Fatalf("Layers = %v", layers)
	}
	vals := Randomized(ps, layers[:1], rng)
	for i, p := range ps {
		same := slices.Equal(vals[i].Value().Data, p.Value().Data)
		if top := nn.LayerOf(p.Name) == "layer2"; same == top {
			t.Errorf("%s: randomised %v, want %v", p.Name, !same, top)
		}
	}
	// The model itself is unchanged and still applies with the values.
	model.Apply(vals, adjoint.Const(adjoint.New(1, 4)))
}

// TestAttacksLinear: for the loss l = w·x the best L∞ step is ε·sign(w)
// and the best L2 step ε·w/‖w‖; FGSM and PGD both find them.
func TestAttacksLinear(t *testing.T) {
	w := []float64{0.5, -2, 0, 1}
	f := Loss(func(x *adjoint.Var) *adjoint.Var { return adjoint.Sum(linearScore(w, 0)(x)) })
	x := adjoint.FromData([]float64{0.5, 0.5, 0.5, 0.5, 0.1, 0.9, 0.5, 0.5}, 2, 4)
	eps := 0.2
	norm := math.Sqrt(floats.Dot(w, w))
	for _, c := range []struct {
		norm Norm
		step func(wi float64) float64
	}{
		{LInf, func(wi float64) float64 { return eps * sign0(wi) }},
		{L2, func(wi float64) float64 { return eps * wi / norm }},
	} {
		for _, attack := range []func(Loss, *adjoint.Tensor, *AttackSettings) *adjoint.Tensor{FGSM, PGD} {
			adv := attack(f, x, &AttackSettings{Norm: c.norm, Epsilon: eps, Min: -10, Max: 10, Steps: 20})
			for j, v := range adv.Data {
				if want := x.Data[j] + c.step(w[j%4]); math.Abs(v-want) > 1e-12 {
					t.Errorf("%v: element %d: %v, want %v", c.norm, j, v, want)
				}
			}
		}
	}
}

func sign0(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// TestPGDStaysFeasible runs PGD with random starts on a ReLU network and
// checks every perturbed input against the ball and the box.
func TestPGDStaysFeasible(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	model := nn.NewSequential([]int{1, 6, 6},
		nn.NewConv2D(rng, 1, 4, 3, 3, nil), nn.ReLU(), nn.NewMaxPool2D(2, 2), nn.NewFlatten(), nn.NewLinear(rng, 16, 3, nil))
	x := adjoint.New(5, 1, 6, 6)
	for i := range x.Data {
		x.Data[i] = math.Round(rng.Float64()) // many pixels at the box's edges
	}
	labels := []int{0, 1, 2, 0, 1}
	for _, norm := range []Norm{LInf, L2} {
		for _, eps := range []float64{0.05, 0.3, 2} {
			s := &AttackSettings{Norm: norm, Epsilon: eps, Steps: 7, RandomStart: true, Rand: rng}
			for _, adv := range []*adjoint.Tensor{PGD(CrossEntropyLoss(model, labels), x, s), FGSM(CrossEntropyLoss(model, labels), x, s)} {
				size, inBox := Perturbation(adv, x, norm, 0, 1)
				for b := range size {
					if size[b] > eps*(1+1e-12) || !inBox[b] {
						t.Errorf("%v ε=%v input %d: perturbation %v, in box %v", norm, eps, b, size[b], inBox[b])
					}
				}
			}
		}
	}
}

// TestPGDIncreasesLoss: on a trained-looking network the attack must not
// lower the loss.
func TestPGDIncreasesLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	model := smoothCNN(rng)
	x := adjoint.New(3, 1, 6, 6)
	for i := range x.Data {
		x.Data[i] = rng.Float64()
	}
	f := CrossEntropyLoss(model, []int{0, 1, 2})
	l0, _ := InputGradient(f, x)
	lf, _ := InputGradient(f, FGSM(f, x, &AttackSettings{Epsilon: 0.1}))
	lp, _ := InputGradient(f, PGD(f, x, &AttackSettings{Epsilon: 0.1, Steps: 10}))
	if !(lf > l0 && lp >= lf*(1-1e-9)) {
		t.Errorf("losses: clean %v, FGSM %v, PGD %v; want them to rise", l0, lf, lp)
	}
}
