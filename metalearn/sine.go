package metalearn

import (
	"math"
	"math/rand/v2"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn"
)

// SineTasks draws n tasks of the sinusoid regression benchmark of Finn et
// al. (2017): y = A·sin(x − φ) with amplitude A ~ U[0.1, 5], phase
// φ ~ U[0, π] and inputs x ~ U[−5, 5], each task with k support and k query
// points (k×1 tensors) and the mean squared error as its loss on model.
// All randomness comes from rng, so a seed gives the same tasks.
func SineTasks(rng *rand.Rand, model Model, n, k int) []Task {
	tasks := make([]Task, n)
	for t := range tasks {
		a, ph := 0.1+4.9*rng.Float64(), math.Pi*rng.Float64()
		batch := func() Batch {
			x, y := adjoint.New(k, 1), adjoint.New(k, 1)
			for i := range k {
				x.Data[i] = -5 + 10*rng.Float64()
				y.Data[i] = a * math.Sin(x.Data[i]-ph)
			}
			return Batch{X: x, Y: y}
		}
		tasks[t] = Supervised(model, nn.MSE, batch(), batch())
	}
	return tasks
}
