package nn

import (
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Workloads W1 (an MLP 784-256-256-10), W3 (a tanh RNN, hidden 64, T = 100)
// and W4 (a small CNN on 28×28 images) of BENCHMARKS.md, built with this
// package's layers; BENCHMARKS.md sets their timings beside PyTorch 1.13 and
// gorgonia v0.9.18 on the same workloads. Run with
//
//	GOMAXPROCS=1 go test ./nn -run '^$' -bench 'W[134]' -benchmem
//
// "Inference" evaluates on constants (no graph, like torch.no_grad);
// "Forward" records the graph as training does; "ForwardBackward" adds the
// reverse pass for the gradients the workload asks for.

func detached(vs []*adjoint.Var) []*adjoint.Var {
	out := make([]*adjoint.Var, len(vs))
	for i, v := range vs {
		out[i] = adjoint.Detach(v)
	}
	return out
}

func randLabels(n, k int) []int {
	rng := newRNG(99)
	l := make([]int, n)
	for i := range l {
		l[i] = rng.IntN(k)
	}
	return l
}

// W1: MLP 784-256-256-10, batch 64, ReLU, softmax cross-entropy.
func w1() (*Sequential, *adjoint.Var, []int) {
	rng := newRNG(1)
	m := NewSequential([]int{784},
		NewLinear(rng, 784, 256, HeNormal(1)), ReLU(),
		NewLinear(rng, 256, 256, HeNormal(1)), ReLU(),
		NewLinear(rng, 256, 10, nil))
	return m, adjoint.Const(randTensor(rng, 64, 784)), randLabels(64, 10)
}

func BenchmarkW1Inference(b *testing.B) {
	m, x, y := w1()
	ps := detached(Vars(m))
	b.ReportAllocs()
	for b.Loop() {
		SoftmaxCrossEntropy(m.Apply(ps, x), y)
	}
}

func BenchmarkW1Forward(b *testing.B) {
	m, x, y := w1()
	b.ReportAllocs()
	for b.Loop() {
		SoftmaxCrossEntropy(m.Forward(x), y)
	}
}

func BenchmarkW1ForwardBackward(b *testing.B) {
	m, x, y := w1()
	ps := Vars(m)
	b.ReportAllocs()
	for b.Loop() {
		adjoint.Grad(SoftmaxCrossEntropy(m.Apply(ps, x), y), ps...)
	}
}

// W3: tanh RNN, input 8, hidden 64, T = 100, batch 16, loss mean(h_T²),
// gradients with respect to W_h and b.
func w3() (*RNN, *adjoint.Var) {
	rng := newRNG(3)
	return NewRNN(rng, 8, 64, nil), adjoint.Const(randTensor(rng, 16, 100, 8))
}

func w3Loss(r *RNN, ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	hs := r.Run(ps, x, nil)
	return adjoint.Mean(adjoint.Square(hs[len(hs)-1]))
}

func BenchmarkW3Inference(b *testing.B) {
	r, x := w3()
	ps := detached(Vars(r))
	b.ReportAllocs()
	for b.Loop() {
		w3Loss(r, ps, x)
	}
}

func BenchmarkW3Forward(b *testing.B) {
	r, x := w3()
	ps := Vars(r)
	b.ReportAllocs()
	for b.Loop() {
		w3Loss(r, ps, x)
	}
}

func BenchmarkW3ForwardBackward(b *testing.B) {
	r, x := w3()
	ps := Vars(r)
	b.ReportAllocs()
	for b.Loop() {
		adjoint.Grad(w3Loss(r, ps, x), ps[1], ps[2])
	}
}

// W4: CNN on 1×28×28, batch 32: conv(1→8, 3×3) relu maxpool2 conv(8→16,
// 3×3) relu avgpool2 linear(400→10), softmax cross-entropy.
func w4() (*Sequential, *adjoint.Var, []int) {
	rng := newRNG(4)
	m := NewSequential([]int{1, 28, 28},
		NewConv2D(rng, 1, 8, 3, 3, nil), ReLU(), NewMaxPool2D(2, 0),
		NewConv2D(rng, 8, 16, 3, 3, nil), ReLU(), NewAvgPool2D(2, 0),
		NewFlatten(), NewLinear(rng, 400, 10, nil))
	return m, adjoint.Const(randTensor(rng, 32, 1, 28, 28)), randLabels(32, 10)
}

func BenchmarkW4Inference(b *testing.B) {
	m, x, y := w4()
	ps := detached(Vars(m))
	b.ReportAllocs()
	for b.Loop() {
		SoftmaxCrossEntropy(m.Apply(ps, x), y)
	}
}

func BenchmarkW4Forward(b *testing.B) {
	m, x, y := w4()
	b.ReportAllocs()
	for b.Loop() {
		SoftmaxCrossEntropy(m.Forward(x), y)
	}
}

func BenchmarkW4ForwardBackward(b *testing.B) {
	m, x, y := w4()
	ps := Vars(m)
	b.ReportAllocs()
	for b.Loop() {
		adjoint.Grad(SoftmaxCrossEntropy(m.Apply(ps, x), y), ps...)
	}
}

// W3 through the adjoint-state engine (Recurrence on the RNN's step, first
// order, re-tracing one step at a time): the gradient of W_x, W_h and b
// with all states stored, and with the O(√T) memory of Every(10).
func benchW3Engine(b *testing.B, policy adjoint.Policy) {
	r, x := w3()
	step, lay := r.Recurrence(x.Value())
	theta := lay.Pack(nil, ParamValues(r.Params())...)
	thetabar := make([]float64, len(theta))
	loss := adjoint.TracedLoss{Terminal: func(h, _ *adjoint.Var) *adjoint.Var {
		return adjoint.Mean(adjoint.Square(h))
	}}.AsLoss()
	h0 := make([]float64, 16*64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := adjoint.Recurrence(nil, thetabar, step, loss, h0, theta, 100, policy, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkW3EngineStoreAll(b *testing.B) { benchW3Engine(b, adjoint.StoreAll()) }
func BenchmarkW3EngineEvery10(b *testing.B)  { benchW3Engine(b, adjoint.Every(10)) }
