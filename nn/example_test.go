package nn_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn"
)

// A model is a Sequential of layers with named parameters; its gradients
// come from the adjoint core.
func ExampleSequential() {
	rng := rand.New(rand.NewPCG(1, 2))
	model := nn.NewSequential([]int{1, 8, 8},
		nn.NewConv2D(rng, 1, 4, 3, 3, &nn.Conv2DSettings{Padding: 1}), nn.ReLU(),
		nn.NewMaxPool2D(2, 0),
		nn.NewFlatten(),
		nn.NewLinear(rng, 64, 10, nn.HeNormal(1)))
	fmt.Println(model)
	for _, p := range model.Params() {
		fmt.Println(p.Name, p.Value().Shape)
	}
	x := adjoint.Const(adjoint.New(5, 1, 8, 8))
	loss := nn.SoftmaxCrossEntropy(model.Forward(x), []int{0, 1, 2, 3, 4})
	grads := adjoint.Grad(loss, nn.Vars(model)...)
	fmt.Println(len(grads), "gradients")
	// Output:
	// Sequential[Conv2D(1→4, 3×3, stride 1, pad 1) relu MaxPool2D(2, stride 2) Flatten Linear(64→10)]
	// layer0.weight [4 1 3 3]
	// layer0.bias [4]
	// layer4.weight [64 10]
	// layer4.bias [10]
	// 4 gradients
}

// Shape errors are caught when the model is built.
func ExampleNewSequential_shapeError() {
	rng := rand.New(rand.NewPCG(1, 2))
	defer func() { fmt.Println(recover()) }()
	nn.NewSequential([]int{784},
		nn.NewLinear(rng, 784, 256, nil), nn.ReLU(),
		nn.NewLinear(rng, 128, 10, nil))
	// Output:
	// nn: NewSequential: layer 2 Linear(128→10) cannot take sample shape [256] (the output of layer 1 relu): 256 features (last dimension), want 128
}

// Apply evaluates a model at parameter values other than its own without
// changing it: here the fast weights of one MAML inner step, whose
// meta-gradient with respect to the original weights is exact (second
// order through the inner gradient).
func ExampleSequential_Apply() {
	rng := rand.New(rand.NewPCG(3, 4))
	model := nn.NewSequential([]int{1}, nn.NewLinear(rng, 1, 8, nil), nn.Tanh(), nn.NewLinear(rng, 8, 1, nil))
	x := adjoint.Const(adjoint.FromData([]float64{-1, 0, 1}, 3, 1))
	y := adjoint.Const(adjoint.FromData([]float64{0.5, 0, -0.5}, 3, 1))

	theta := nn.Vars(model)
	inner := nn.MSE(model.Apply(theta, x), y)
	g := adjoint.GradGraph(inner, theta...) // differentiable gradient
	fast := make([]*adjoint.Var, len(theta))
	for i := range theta {
		fast[i] = adjoint.Sub(theta[i], adjoint.Scale(g[i], 0.1))
	}
	outer := nn.MSE(model.Apply(fast, x), y)
	meta := adjoint.Grad(outer, theta...)
	fmt.Printf("inner loss %.4f, after one step %.4f, %d meta-gradients\n", inner.Item(), outer.Item(), len(meta))
	// Output: inner loss 0.6742, after one step 0.3225, 4 meta-gradients
}

// A Trainer with a History recorder keeps the loss and per-layer gradient
// statistics of every step as plain slices, ready to plot.
func ExampleTrainer() {
	rng := rand.New(rand.NewPCG(5, 6))
	model := nn.NewSequential([]int{2}, nn.NewLinear(rng, 2, 16, nil), nn.Tanh(), nn.NewLinear(rng, 16, 1, nil))
	x := adjoint.Const(adjoint.FromData([]float64{0, 0, 0, 1, 1, 0, 1, 1}, 4, 2))
	y := adjoint.Const(adjoint.FromData([]float64{0, 1, 1, 0}, 4, 1)) // XOR

	var hist nn.History
	tr := &nn.Trainer{Model: model, Optimizer: nn.NewAdam(0.05), Recorder: &hist}
	_, err := tr.Run(300, func(step int, ps []*adjoint.Var) (*adjoint.Var, []*adjoint.Var) {
		return nn.BCEWithLogits(model.Apply(ps, x), y), nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("layers:", hist.Layers)
	fmt.Println("steps recorded:", len(hist.Loss))
	fmt.Printf("loss %.2f, below 0.01 at the end: %v\n", hist.Loss[0], hist.Loss[len(hist.Loss)-1] < 0.01)
	fmt.Println("first-layer gradient norms:", len(nn.Column(hist.LayerGradNorm, 0)))
	// Output:
	// layers: [layer0 layer2]
	// steps recorded: 300
	// loss 0.73, below 0.01 at the end: true
	// first-layer gradient norms: 300
}

// The gradient of a loss with respect to each hidden state of an RNN,
// ‖dL/dh_t‖, shrinks going back in time when the recurrent weights are
// contractive: here a linear RNN with W_h = 0.5·Q, Q orthogonal.
func ExampleHiddenGradNorms() {
	rng := rand.New(rand.NewPCG(7, 8))
	rnn := nn.NewRNN(rng, 2, 16, &nn.RNNSettings{Activation: nn.Identity(), RecurrentInit: nn.Orthogonal(0.5)})
	x := adjoint.Const(adjoint.Full(1, 4, 6, 2))
	hs := rnn.Run(nn.Vars(rnn), x, nil)
	loss := adjoint.Mean(adjoint.Square(hs[len(hs)-1]))
	for t, n := range nn.HiddenGradNorms(loss, hs) {
		fmt.Printf("t=%d %.4f\n", t+1, n/nn.HiddenGradNorms(loss, hs[len(hs)-1:])[0])
	}
	// Output:
	// t=1 0.0312
	// t=2 0.0625
	// t=3 0.1250
	// t=4 0.2500
	// t=5 0.5000
	// t=6 1.0000
}

// The gradient flow through each layer of a model, from one recorded
// reverse pass: the model is applied to an input in a scope, so each of its
// layers records its operations in a scope of its own.
func ExampleLayerFlows() {
	rng := rand.New(rand.NewPCG(1, 2))
	model := nn.NewSequential([]int{4},
		nn.NewLinear(rng, 4, 8, nil), nn.Tanh(),
		nn.NewLinear(rng, 8, 8, nil), nn.Tanh(),
		nn.NewLinear(rng, 8, 1, nil))
	x := adjoint.Const(adjoint.Full(0.5, 3, 4))
	ps := model.Params()
	out := model.Apply(nn.ParamVars(ps), adjoint.InScope(adjoint.NewScope("model"), x))
	loss := adjoint.Mean(adjoint.Square(out))

	var flow adjoint.Flow
	adjoint.Backward(loss, nn.ParamVars(ps), &adjoint.GradSettings{Flow: &flow})
	for _, lf := range nn.LayerFlows(ps, &flow) {
		fmt.Printf("%s (%v): ‖∂L/∂θ‖ %.3f, ‖∂L/∂h‖ %.3f, gain %.3f\n", lf.Layer, lf.Scope, lf.GradNorm, lf.OutGradNorm, lf.Gain)
	}
	// The first layer's gain is 0: its input, the data, is a constant.

	// Output:
	// layer0 (model/layer0): ‖∂L/∂θ‖ 0.087, ‖∂L/∂h‖ 0.036, gain 0.000
	// layer2 (model/layer2): ‖∂L/∂θ‖ 0.096, ‖∂L/∂h‖ 0.038, gain 1.074
	// layer4 (model/layer4): ‖∂L/∂θ‖ 0.072, ‖∂L/∂h‖ 0.031, gain 1.362
}

// Max pooling routes a window's gradient to its maximum, the first one in
// row-major order on ties.
func ExampleMaxPool2D() {
	x := adjoint.Param(adjoint.FromData([]float64{
		1, 3,
		3, 2,
	}, 1, 1, 2, 2))
	y := nn.NewMaxPool2D(2, 0).Forward(x)
	fmt.Println(y.Value().Data, adjoint.Grad(adjoint.Sum(y), x)[0].Data)
	// Output: [3] [0 1 0 0]
}

// Parameters are saved atomically and loaded by name; a model of another
// shape gets an error, not a panic.
func ExampleSave() {
	dir, err := os.MkdirTemp("", "nn-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.params")

	rng := rand.New(rand.NewPCG(9, 10))
	a := nn.NewSequential([]int{3}, nn.NewLinear(rng, 3, 4, nil))
	if err := nn.Save(path, a.Params()); err != nil {
		fmt.Println(err)
		return
	}
	b := nn.NewSequential([]int{3}, nn.NewLinear(rng, 3, 4, nil))
	fmt.Println(nn.Load(path, b.Params()))
	c := nn.NewSequential([]int{3}, nn.NewLinear(rng, 3, 5, nil))
	err = nn.Load(path, c.Params())
	fmt.Println(err != nil, errors.Is(err, nn.ErrMismatch))
	// Output:
	// <nil>
	// true true
}
