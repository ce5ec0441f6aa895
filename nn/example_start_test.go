package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn"
)

// Train a small model: a 2-16-1 tanh network learns XOR by full-batch Adam.
// Each step records the loss, asks the adjoint core for the gradient of
// every parameter and lets the optimiser update the model's tensors in
// place; Predict then evaluates the trained model without recording a
// graph.
func Example() {
	rng := rand.New(rand.NewPCG(1, 2))
	model := nn.NewSequential([]int{2},
		nn.NewLinear(rng, 2, 16, nil), nn.Tanh(),
		nn.NewLinear(rng, 16, 1, nil))
	x := adjoint.Const(adjoint.FromData([]float64{0, 0, 0, 1, 1, 0, 1, 1}, 4, 2))
	y := adjoint.Const(adjoint.FromData([]float64{0, 1, 1, 0}, 4, 1))

	opt := nn.NewAdam(0.05)
	params := nn.ParamValues(model.Params())
	for step := range 300 {
		loss := nn.BCEWithLogits(model.Forward(x), y)
		grads := adjoint.Grad(loss, nn.Vars(model)...)
		opt.Step(params, grads)
		if step%100 == 0 {
			fmt.Printf("step %d: loss %.4f\n", step, loss.Item())
		}
	}
	p := adjoint.Sigmoid(nn.Predict(model, x)).Value().Data
	fmt.Printf("P(xor = 1): %.3f\n", p)
	// Output:
	// step 0: loss 0.7017
	// step 100: loss 0.0011
	// step 200: loss 0.0005
	// P(xor = 1): [0.000 1.000 1.000 0.000]
}
