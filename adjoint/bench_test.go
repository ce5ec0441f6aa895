package adjoint

import (
	"math/rand/v2"
	"testing"
)

// Workloads W1 (an MLP 784-256-256-10, batch 64, ReLU, softmax
// cross-entropy) and W2 (an MLP 1-40-40-1, batch 10, ReLU, MSE) of
// BENCHMARKS.md, which sets their timings beside PyTorch 1.13 and gorgonia
// v0.9.18 on the same workloads. Run with
//
//	GOMAXPROCS=1 go test ./adjoint -run '^$' -bench 'W[12]' -benchmem
//
// "Forward" records the graph as training would; "Inference" runs on
// constants (no graph); "ForwardBackward" adds the gradient of every
// parameter.

type mlp struct {
	ws, bs []*Var
}

func newMLP(rng *rand.Rand, sizes ...int) *mlp {
	m := &mlp{}
	for i := 0; i+1 < len(sizes); i++ {
		w := randInput(rng, anyReal, sizes[i], sizes[i+1])
		for j := range w.Data {
			w.Data[j] *= 1 / float64(sizes[i])
		}
		m.ws = append(m.ws, Param(w))
		m.bs = append(m.bs, Param(New(sizes[i+1])))
	}
	return m
}

func (m *mlp) params() []*Var { return append(append([]*Var{}, m.ws...), m.bs...) }

func (m *mlp) forward(x *Var, detached bool) *Var {
	h := x
	for i := range m.ws {
		w, b := m.ws[i], m.bs[i]
		if detached {
			w, b = Detach(w), Detach(b)
		}
		h = Add(MatMul(h, w), b)
		if i+1 < len(m.ws) {
			h = ReLU(h)
		}
	}
	return h
}

func softmaxCE(logits *Var, onehot *Tensor) *Var {
	return Neg(Mean(SumAxis(Mul(LogSoftmax(logits, 1), Const(onehot)), 1, false)))
}

func w1() (*mlp, *Var, *Tensor) {
	rng := rand.New(rand.NewPCG(1, 1))
	m := newMLP(rng, 784, 256, 256, 10)
	x := Const(randInput(rng, anyReal, 64, 784))
	labels := make([]int, 64)
	for i := range labels {
		labels[i] = rng.IntN(10)
	}
	return m, x, OneHot(labels, 10)
}

func w2() (*mlp, *Var, *Var) {
	rng := rand.New(rand.NewPCG(2, 2))
	return newMLP(rng, 1, 40, 40, 1), Const(randInput(rng, anyReal, 10, 1)), Const(randInput(rng, anyReal, 10, 1))
}

func BenchmarkW1Inference(b *testing.B) {
	m, x, y := w1()
	b.ReportAllocs()
	for b.Loop() {
		softmaxCE(m.forward(x, true), y)
	}
}

func BenchmarkW1Forward(b *testing.B) {
	m, x, y := w1()
	b.ReportAllocs()
	for b.Loop() {
		softmaxCE(m.forward(x, false), y)
	}
}

func BenchmarkW1ForwardBackward(b *testing.B) {
	m, x, y := w1()
	ps := m.params()
	b.ReportAllocs()
	for b.Loop() {
		Grad(softmaxCE(m.forward(x, false), y), ps...)
	}
}

func BenchmarkW2Inference(b *testing.B) {
	m, x, y := w2()
	b.ReportAllocs()
	for b.Loop() {
		Mean(Square(Sub(m.forward(x, true), y)))
	}
}

func BenchmarkW2Forward(b *testing.B) {
	m, x, y := w2()
	b.ReportAllocs()
	for b.Loop() {
		Mean(Square(Sub(m.forward(x, false), y)))
	}
}

func BenchmarkW2ForwardBackward(b *testing.B) {
	m, x, y := w2()
	ps := m.params()
	b.ReportAllocs()
	for b.Loop() {
		Grad(Mean(Square(Sub(m.forward(x, false), y))), ps...)
	}
}
