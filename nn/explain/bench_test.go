package explain

import (
	"math/rand/v2"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn"
)

// mnistCNN is the default classifier of the MNIST experiments: conv 3×3
// (8), ReLU, max pool, conv 3×3 (16), ReLU, max pool, dense 10.
func mnistCNN() (nn.Layer, *adjoint.Tensor) {
	rng := rand.New(rand.NewPCG(1, 2))
	model := nn.NewSequential([]int{1, 28, 28},
		nn.NewConv2D(rng, 1, 8, 3, 3, &nn.Conv2DSettings{Padding: 1}), nn.ReLU(), nn.NewMaxPool2D(2, 2),
		nn.NewConv2D(rng, 8, 16, 3, 3, &nn.Conv2DSettings{Padding: 1}), nn.ReLU(), nn.NewMaxPool2D(2, 2),
		nn.NewFlatten(), nn.NewLinear(rng, 784, 10, nil))
	x := adjoint.New(1, 1, 28, 28)
	for i := range x.Data {
		x.Data[i] = rng.Float64()
	}
	return model, x
}

// BenchmarkIntegratedGradients times integrated gradients of one 28×28
// image with 64 Gauss–Legendre steps (one batch of 64 path points).
func BenchmarkIntegratedGradients(b *testing.B) {
	model, x := mnistCNN()
	f := Logit(model, 3)
	b.ReportAllocs()
	for b.Loop() {
		IntegratedGradients(f, x, &IGSettings{Steps: 64})
	}
}

// BenchmarkPGD times 10 L∞ PGD steps on a batch of 32 images.
func BenchmarkPGD(b *testing.B) {
	model, x1 := mnistCNN()
	x := adjoint.New(32, 1, 28, 28)
	for i := range 32 {
		copy(x.Data[i*784:], x1.Data)
	}
	labels := make([]int, 32)
	f := CrossEntropyLoss(model, labels)
	b.ReportAllocs()
	for b.Loop() {
		PGD(f, x, &AttackSettings{Epsilon: 0.1, Steps: 10})
	}
}
