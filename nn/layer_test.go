package nn

import (
	"math"
	"slices"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Every layer's gradients with respect to its input and its parameters,
// reverse and forward mode against central differences, and (for the
// smooth ones) second order too.
func TestLayerGradients(t *testing.T) {
	rng := newRNG(1)
	cases := []struct {
		name      string
		layer     Layer
		firstOnly bool
		x         []int
	}{
		{"linear", NewLinear(rng, 3, 4, nil), false, []int{2, 3}},
		{"linear_3d_input", NewLinear(rng, 3, 2, nil), false, []int{2, 2, 3}},
		{"linear_tanh", NewSequential([]int{3}, NewLinear(rng, 3, 4, nil), Tanh()), false, []int{2, 3}},
		{"relu", NewSequential([]int{3}, NewLinear(rng, 3, 4, nil), ReLU()), true, []int{3, 3}},
		{"tanh", Tanh(), false, []int{2, 3}},
		{"sigmoid", Sigmoid(), false, []int{2, 3}},
		{"softplus", Softplus(), false, []int{2, 3}},
		{"gelu", GELU(), false, []int{2, 3}},
		{"layernorm", NewLayerNorm(4, 0), false, []int{3, 4}},
		{"layernorm_3d", NewLayerNorm(3, 1e-3), false, []int{2, 2, 3}},
		{"flatten_linear", NewSequential([]int{2, 2}, NewFlatten(), NewLinear(rng, 4, 2, nil), Softplus()), false, []int{2, 2, 2}},
		{"residual", NewResidual(NewSequential(nil, NewLinear(rng, 3, 3, nil), Tanh())), false, []int{2, 3}},
		{"conv2d", NewConv2D(rng, 2, 2, 3, 3, nil), false, []int{1, 2, 4, 4}},
		{"conv2d_stride2_pad1", NewConv2D(rng, 2, 3, 3, 2, &Conv2DSettings{Stride: 2, Padding: 1}), false, []int{2, 2, 4, 5}},
		{"maxpool_2", NewMaxPool2D(2, 0), false, []int{2, 2, 4, 5}},
		{"maxpool_3_stride_1", NewMaxPool2D(3, 1), false, []int{1, 2, 5, 4}},
		{"maxpool_2_stride_3", NewMaxPool2D(2, 3), true, []int{1, 1, 7, 8}},
		{"avgpool_2", NewAvgPool2D(2, 0), false, []int{2, 1, 5, 4}},
		{"avgpool_2_stride_1", NewAvgPool2D(2, 1), false, []int{1, 2, 3, 4}},
		{"lenet_tiny", NewSequential([]int{1, 6, 6},
			NewConv2D(rng, 1, 2, 3, 3, &Conv2DSettings{Padding: 1}), ReLU(), NewMaxPool2D(2, 0),
			NewConv2D(rng, 2, 2, 2, 2, nil), Tanh(), NewAvgPool2D(2, 0),
			NewFlatten(), NewLinear(rng, 2, 3, nil)), true, []int{2, 1, 6, 6}},
		{"cnn_smooth", NewSequential([]int{2, 5, 5},
			NewConv2D(rng, 2, 2, 3, 3, &Conv2DSettings{Padding: 1, Stride: 2}), Tanh(), NewAvgPool2D(2, 1),
			NewFlatten(), NewLinear(rng, 8, 2, nil), GELU()), false, []int{2, 2, 5, 5}},
		{"rnn", NewRNN(rng, 2, 3, nil), false, []int{2, 4, 2}},
		{"rnn_last_step", NewSequential([]int{-1, 2}, NewRNN(rng, 2, 3, nil), NewLastStep()), false, []int{2, 3, 2}},
		{"gru", NewGRU(rng, 2, 3, nil), false, []int{2, 3, 2}},
		{"lstm", NewLSTM(rng, 2, 2, nil), false, []int{2, 3, 2}},
		{"layernorm_over_2d", NewLayerNormOver([]int{2, 3}, nil), false, []int{2, 2, 3}},
		{"layernorm_noaffine", NewLayerNormOver([]int{3}, &NormSettings{NoAffine: true}), false, []int{2, 2, 3}},
		{"groupnorm", NewGroupNorm(2, 4, nil), false, []int{2, 4, 3}},
		{"groupnorm_image", NewGroupNorm(2, 2, &NormSettings{Eps: 1e-3}), false, []int{2, 2, 2, 2}},
		{"batchnorm1d_train", NewBatchNorm1D(3, nil), false, []int{4, 3}},
		{"batchnorm1d_train_3d", NewBatchNorm1D(2, nil), false, []int{3, 2, 4}},
		{"batchnorm2d_train", NewBatchNorm2D(2, &BatchNormSettings{NoAffine: true}), false, []int{2, 2, 2, 3}},
		{"batchnorm2d_eval", evalMode(NewBatchNorm2D(2, nil)), false, []int{2, 2, 2, 3}},
		{"batchnorm_mlp", NewSequential([]int{3}, NewLinear(rng, 3, 4, nil), NewBatchNorm1D(4, nil), Tanh()), false, []int{5, 3}},
		{"rnn_2layers", NewRNN(rng, 2, 2, &RNNSettings{Layers: 2}), false, []int{2, 3, 2}},
		{"gru_bidir", NewGRU(rng, 2, 2, &RNNSettings{Bidirectional: true}), false, []int{2, 3, 2}},
		{"lstm_2layers_bidir", NewLSTM(rng, 1, 2, &RNNSettings{Layers: 2, Bidirectional: true}), false, []int{1, 3, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkLayer(t, c.layer, rng, c.firstOnly, c.x...)
		})
	}
}

// Dropout with a fixed mask (the random stream restarted for every
// evaluation) is a linear map, checked like any layer; in evaluation mode
// it is the identity.
func TestDropout(t *testing.T) {
	x := randTensor(newRNG(2), 4, 5)
	f := func(v ...*adjoint.Var) *adjoint.Var {
		d := NewDropout(newRNG(3), 0.4)
		return adjoint.Tanh(d.Forward(v[0]))
	}
	r := adjoint.Check(f, []*adjoint.Tensor{x}, nil)
	if err := r.Err(fdTol, adTol); err != nil {
		t.Error(err)
	}

	d := NewDropout(newRNG(3), 0.4)
	y := d.Forward(adjoint.Const(x)).Value()
	dropped := 0
	for i, v := range y.Data {
		switch {
		case v == 0:
			dropped++
		case math.Abs(v-x.Data[i]/0.6) > 1e-15:
			t.Fatalf("kept element %d is %v, want %v/0.6", i, v, x.Data[i])
		}
	}
	if dropped == 0 || dropped == len(y.Data) {
		t.Errorf("dropped %d of %d elements", dropped, len(y.Data))
	}
	again := NewDropout(newRNG(3), 0.4).Forward(adjoint.Const(x)).Value()
	if !slices.Equal(y.Data, again.Data) {
		t.Error("same seed gave a different mask")
	}

	m := NewSequential([]int{5}, d)
	SetTraining(m, false)
	if d.Training() {
		t.Fatal("SetTraining on the container did not reach the Dropout layer")
	}
	xv := adjoint.Const(x)
	if m.Forward(xv) != xv {
		t.Error("evaluation mode is not the identity")
	}

	// Over many elements the kept fraction is near 1−p.
	big := adjoint.Const(adjoint.Full(1, 100, 100))
	y = NewDropout(newRNG(4), 0.25).Forward(big).Value()
	kept := 0
	for _, v := range y.Data {
		if v != 0 {
			kept++
		}
	}
	if f := float64(kept) / 1e4; math.Abs(f-0.75) > 0.02 {
		t.Errorf("kept fraction %v, want about 0.75", f)
	}
}

func TestParamNamesAndOrder(t *testing.T) {
	rng := newRNG(5)
	m := NewSequential([]int{4},
		NewLinear(rng, 4, 4, nil), Tanh(),
		NewResidual(NewSequential(nil, NewLayerNorm(4, 0), NewLinear(rng, 4, 4, nil))),
		NewLinear(rng, 4, 2, nil))
	var names []string
	for _, p := range m.Params() {
		names = append(names, p.Name)
	}
	want := []string{"layer0.weight", "layer0.bias",
		"layer2.layer0.gain", "layer2.layer0.bias", "layer2.layer1.weight", "layer2.layer1.bias",
		"layer3.weight", "layer3.bias"}
	if !slices.Equal(names, want) {
		t.Errorf("names %q\nwant %q", names, want)
	}
	// The same leaves every time.
	a, b := Vars(m), Vars(m)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("Params returned different leaves on two calls")
		}
	}
	layers, _ := groupByLayer(m.Params())
	if !slices.Equal(layers, []string{"layer0", "layer2.layer0", "layer2.layer1", "layer3"}) {
		t.Errorf("layers %q", layers)
	}
	if p, ok := Find(m.Params(), "layer3.bias"); !ok || !slices.Equal(p.Value().Shape, []int{2}) {
		t.Error("Find layer3.bias")
	}
	if n := NumElements(m.Params()); n != 20+8+20+10 {
		t.Errorf("NumElements = %d", n)
	}
	if LayerOf("weight") != "model" {
		t.Error(`LayerOf("weight")`)
	}
}

// Apply with explicit values is the functional form: it computes what
// Forward computes when given the model's own leaves, uses other values
// when given them, and never changes the model. A MAML-style meta-gradient
// through one inner gradient step (second order) matches finite
// differences.
func TestFunctionalApply(t *testing.T) {
	rng := newRNG(6)
	m := NewSequential([]int{1}, NewLinear(rng, 1, 5, nil), Tanh(), NewLinear(rng, 5, 1, nil))
	x1, y1 := adjoint.Const(randTensor(rng, 6, 1)), adjoint.Const(randTensor(rng, 6, 1))
	x2, y2 := adjoint.Const(randTensor(rng, 6, 1)), adjoint.Const(randTensor(rng, 6, 1))

	if a, b := m.Forward(x1).Value(), m.Apply(Vars(m), x1).Value(); !slices.Equal(a.Data, b.Data) {
		t.Fatal("Forward and Apply(Vars) differ")
	}
	if a, b := Forward(m, x1), Predict(m, x1); !slices.Equal(a.Value().Data, b.Value().Data) || !a.Tracked() || b.Tracked() {
		t.Fatalf("Forward (tracked %v) and Predict (tracked %v) differ or record wrongly", a.Tracked(), b.Tracked())
	}
	if parts := m.Split(Vars(m)); len(parts) != 3 || len(parts[0]) != 2 || len(parts[1]) != 0 || parts[2][1] != Vars(m)[3] {
		t.Fatal("Split")
	}
	before := make([][]float64, 0)
	for _, p := range m.Params() {
		before = append(before, slices.Clone(p.Value().Data))
	}

	const alpha = 0.1
	meta := func(theta []*adjoint.Var, second bool) *adjoint.Var {
		inner := MSE(m.Apply(theta, x1), y1)
		var g []*adjoint.Var
		if second {
			g = adjoint.GradGraph(inner, theta...)
		} else {
			g = adjoint.Backward(inner, theta, nil)
		}
		fast := make([]*adjoint.Var, len(theta))
		for i := range theta {
			fast[i] = adjoint.Sub(theta[i], adjoint.Scale(g[i], alpha))
		}
		return MSE(m.Apply(fast, x2), y2)
	}
	theta := Vars(m)
	grads := adjoint.Grad(meta(theta, true), theta...)

	for i, p := range m.Params() {
		if !slices.Equal(p.Value().Data, before[i]) {
			t.Fatalf("Apply changed parameter %s", p.Name)
		}
	}
	// Central differences of the meta-loss, parameter by parameter.
	const h = 1e-5
	var maxErr, maxRef float64
	for i, p := range m.Params() {
		d := p.Value().Data
		for j := range d {
			old := d[j]
			eval := func(v float64) float64 {
				d[j] = v
				th := make([]*adjoint.Var, len(theta))
				for k, q := range m.Params() {
					th[k] = adjoint.Param(q.Value())
				}
				return meta(th, false).Item()
			}
			fd := (eval(old+h) - eval(old-h)) / (2 * h)
			d[j] = old
			maxErr = max(maxErr, math.Abs(fd-grads[i].Data[j]))
			maxRef = max(maxRef, math.Abs(fd))
		}
	}
	if maxErr/maxRef > 1e-7 {
		t.Errorf("meta-gradient vs finite differences: relative error %g", maxErr/maxRef)
	}

	// A first-order-only meta-gradient (no GradGraph) differs: the second
	// order term matters here, so the test above is not vacuous.
	fo := adjoint.Grad(meta(theta, false), theta...)
	if d := maxAbsDiff(fo[0].Data, grads[0].Data); d < 1e-6 {
		t.Errorf("first-order approximation equals the exact meta-gradient (diff %g)", d)
	}
}

func TestConstructionShapeErrors(t *testing.T) {
	rng := newRNG(7)
	mustPanic(t, func() {
		NewSequential([]int{784}, NewLinear(rng, 784, 256, nil), ReLU(), NewLinear(rng, 128, 10, nil))
	}, "nn: NewSequential", "layer 2", "Linear(128→10)", "[256]", "want 128", "layer 1 relu")
	mustPanic(t, func() {
		NewSequential([]int{1, 28, 28}, NewConv2D(rng, 1, 8, 3, 3, nil), ReLU(), NewMaxPool2D(2, 0),
			NewFlatten(), NewLinear(rng, 400, 10, nil))
	}, "nn: NewSequential", "layer 4 Linear(400→10)", "[1352]")
	mustPanic(t, func() {
		NewSequential([]int{3, 28, 28}, NewConv2D(rng, 1, 8, 3, 3, nil))
	}, "layer 0 Conv2D(1→8", "[3 28 28]", "3 channels, want 1")
	mustPanic(t, func() {
		NewSequential([]int{1, 2, 2}, NewConv2D(rng, 1, 8, 3, 3, nil))
	}, "smaller than the 3×3 kernel")
	mustPanic(t, func() {
		NewSequential([]int{8}, NewResidual(NewLinear(rng, 8, 4, nil)))
	}, "Residual(Linear(8→4))", "maps sample shape [8] to [4]")
	mustPanic(t, func() {
		NewSequential([]int{5, 3}, NewRNN(rng, 4, 6, nil))
	}, "RNN(4→6, tanh)", "3 input features, want 4")
	mustPanic(t, func() { NewSequential([]int{4}, NewMaxPool2D(2, 0)) }, "MaxPool2D", "want [channels height width]")
	mustPanic(t, func() { NewLinear(rng, 0, 3, nil) }, "nn: NewLinear")
	mustPanic(t, func() { NewLinear(nil, 2, 3, nil) }, "nn: NewLinear", "rand.Rand")
	mustPanic(t, func() { NewGRU(rng, 2, 3, &RNNSettings{Activation: ReLU()}) }, "nn: NewGRU")
	mustPanic(t, func() { NewDropout(rng, 1) }, "nn: NewDropout")

	// Unknown sizes (-1) pass through to layers that do not care.
	s := NewSequential([]int{-1, 4}, NewRNN(rng, 4, 6, nil), NewLastStep(), NewLinear(rng, 6, 2, nil))
	if out, err := s.OutShape([]int{-1, 4}); err != nil || !slices.Equal(out, []int{2}) {
		t.Errorf("OutShape = %v, %v", out, err)
	}
}

func TestRuntimeShapeErrors(t *testing.T) {
	rng := newRNG(8)
	lin := NewLinear(rng, 3, 4, nil)
	mustPanic(t, func() { lin.Forward(adjoint.Const(adjoint.New(2, 5))) },
		"nn: Linear(3→4)", "input shape [2 5]", "5 features", "want 3")
	mustPanic(t, func() { lin.Forward(adjoint.ConstScalar(1)) }, "nn: Linear(3→4)", "scalar")
	mustPanic(t, func() { lin.Apply(Vars(lin)[:1], adjoint.Const(adjoint.New(2, 3))) },
		"nn: Linear(3→4)", "1 parameter values, want 2")
	mustPanic(t, func() {
		lin.Apply([]*adjoint.Var{adjoint.Const(adjoint.New(4, 3)), adjoint.Const(adjoint.New(4))}, adjoint.Const(adjoint.New(2, 3)))
	}, "nn: Linear(3→4)", `"weight"`, "[4 3]", "want [3 4]")
	m := NewSequential([]int{3}, lin, Tanh())
	mustPanic(t, func() { m.Forward(adjoint.Const(adjoint.New(2, 4))) }, "nn: Sequential", "[2 4]", "[batch [3]]")
	conv := NewConv2D(rng, 2, 3, 3, 3, nil)
	mustPanic(t, func() { conv.Forward(adjoint.Const(adjoint.New(1, 1, 5, 5))) }, "nn: Conv2D(2→3", "1 channels, want 2")
	mustPanic(t, func() { conv.Forward(adjoint.Const(adjoint.New(1, 2, 5))) }, "nn: Conv2D(2→3", "want [channels height width]")
	rnn := NewRNN(rng, 2, 3, nil)
	mustPanic(t, func() { rnn.Run(Vars(rnn), adjoint.Const(adjoint.New(2, 4, 2)), adjoint.Const(adjoint.New(3, 3))) },
		"nn: RNN(2→3, tanh)", "initial state H shape [3 3], want [1 2 3]")
	mustPanic(t, func() { NewLayerNorm(4, 0).Forward(adjoint.Const(adjoint.New(2, 3))) }, "nn: LayerNorm(4)")
	mustPanic(t, func() { NewResidual(NewLinear(rng, 3, 2, nil)).Forward(adjoint.Const(adjoint.New(2, 3))) }, "nn: Residual")
}

// An RNN with a constant input and W_h = ρ·Q (Q orthogonal, identity
// activation) scales backpropagated gradients by exactly ρ per step:
// ‖dL/dh_{t−1}‖ = ρ‖dL/dh_t‖.
func TestLinearRNNGradientDecay(t *testing.T) {
	rng := newRNG(9)
	for _, rho := range []float64{0.5, 1, 1.5} {
		r := NewRNN(rng, 3, 8, &RNNSettings{Activation: Identity(), RecurrentInit: Orthogonal(rho)})
		x := adjoint.Const(randTensor(rng, 2, 12, 3))
		hs := r.Run(Vars(r), x, nil)
		loss := adjoint.Mean(adjoint.Square(hs[len(hs)-1]))
		norms := HiddenGradNorms(loss, hs)
		for i := 1; i < len(norms); i++ {
			if got := norms[i-1] / norms[i]; math.Abs(got-rho) > 1e-12*rho {
				t.Errorf("ρ = %v: ‖dL/dh_%d‖/‖dL/dh_%d‖ = %v", rho, i-1, i, got)
			}
		}
	}
}
