package metalearn_test

import (
	"math/rand/v2"
	"testing"

	"github.com/adjointkit/adjointkit/metalearn"
	"github.com/adjointkit/adjointkit/nn"
)

// sineNet returns the 1-40-40-1 ReLU network of the sinusoid benchmark.
func sineNet(rng *rand.Rand) *nn.Sequential {
	return nn.NewSequential([]int{1},
		nn.NewLinear(rng, 1, 40, nil), nn.ReLU(),
		nn.NewLinear(rng, 40, 40, nil), nn.ReLU(),
		nn.NewLinear(rng, 40, 1, nil))
}

// BenchmarkMAMLStep is workload W5: one second-order MAML meta-step on the
// sinusoid benchmark, 25 tasks, K = 10, one inner SGD step with lr 0.01, a
// 1-40-40-1 ReLU network. Run with GOMAXPROCS=1.
func BenchmarkMAMLStep(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	model := sineNet(rng)
	tasks := metalearn.SineTasks(rng, model, 25, 10)
	params := nn.ParamValues(model.Params())
	m := metalearn.MAML{InnerLR: 0.01, InnerSteps: 1}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.MetaGrad(params, tasks); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFOMAMLStep is W5 with first-order MAML.
func BenchmarkFOMAMLStep(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	model := sineNet(rng)
	tasks := metalearn.SineTasks(rng, model, 25, 10)
	params := nn.ParamValues(model.Params())
	m := metalearn.MAML{InnerLR: 0.01, InnerSteps: 1, FirstOrder: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.MetaGrad(params, tasks); err != nil {
			b.Fatal(err)
		}
	}
}
