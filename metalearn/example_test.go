package metalearn_test

import (
	"fmt"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/metalearn"
)

// MAML on a one-dimensional quadratic task, inner loss (θ−1)², outer loss
// (θ−2)²: after one step of size 0.1, φ = θ − 0.2(θ−1), and the
// meta-gradient 2(φ−2)·dφ/dθ has the factor dφ/dθ = 0.8 that first-order
// MAML leaves out.
func ExampleMAML_MetaGrad() {
	sq := func(c float64) func(ps []*adjoint.Var) *adjoint.Var {
		return func(ps []*adjoint.Var) *adjoint.Var { return adjoint.Sum(adjoint.Square(adjoint.AddScalar(ps[0], -c))) }
	}
	task := metalearn.Task{Inner: sq(1), Outer: sq(2)}
	theta := []*adjoint.Tensor{adjoint.Vector(0)}
	for _, first := range []bool{false, true} {
		r, err := metalearn.MAML{InnerLR: 0.1, FirstOrder: first}.MetaGrad(theta, []metalearn.Task{task})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("first order %v: loss %.4f, meta-gradient %.4f\n", first, r.Loss, r.Grad[0].Data[0])
	}
	// Output:
	// first order false: loss 3.2400, meta-gradient -2.8800
	// first order true: loss 3.2400, meta-gradient -3.6000
}

// The hypergradient of a validation loss with respect to the learning rate
// of 1000 steps of gradient descent, through the adjoint engine with 10
// snapshots: memory for 10 states instead of 1000. In closed form
// θₙ = 1 − (1−2η)ⁿ and dL/dη = 2(θₙ−1.2)·2n(1−2η)ⁿ⁻¹ = −181.38.
func ExampleUnrollGrad() {
	inner := func(_ int, ps []*adjoint.Var) *adjoint.Var { // training loss (θ−1)²
		return adjoint.Sum(adjoint.Square(adjoint.AddScalar(ps[0], -1)))
	}
	outer := func(ps []*adjoint.Var) *adjoint.Var { // validation loss (θ−1.2)²
		return adjoint.Sum(adjoint.Square(adjoint.AddScalar(ps[0], -1.2)))
	}
	h := metalearn.Hyper{LR: adjoint.Const(adjoint.Scalar(0.001))}
	r, err := metalearn.UnrollGrad(metalearn.SGD{}, h, []*adjoint.Tensor{adjoint.Vector(0)}, inner, outer, 1000,
		&metalearn.UnrollSettings{Policy: adjoint.Binomial(10)})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("θ₁₀₀₀ = %.4f, validation loss %.4f, dL/dη = %.2f\n", r.Params[0].Data[0], r.Loss, r.HyperGrad[0].Data[0])
	fmt.Printf("%d steps, at most %d stored states\n", r.Recurrence.Steps, r.Recurrence.PeakStored)
	// Output:
	// θ₁₀₀₀ = 0.8649, validation loss 0.1123, dL/dη = -181.38
	// 1000 steps, at most 10 stored states
}

// iMAML on the one-dimensional task of the MAML example with λ = 1: the
// proximal inner problem min (φ−1)² + ½(φ−θ)² has the solution
// φ* = (2+θ)/3, so at θ = 0 the outer loss (φ*−2)² is 16/9 and its
// meta-gradient 2(φ*−2)/3 = −8/9, found here without differentiating
// through the inner steps.
func ExampleIMAML_MetaGrad() {
	sq := func(c float64) func(ps []*adjoint.Var) *adjoint.Var {
		return func(ps []*adjoint.Var) *adjoint.Var { return adjoint.Sum(adjoint.Square(adjoint.AddScalar(ps[0], -c))) }
	}
	task := metalearn.Task{Inner: sq(1), Outer: sq(2)}
	m := metalearn.IMAML{Lambda: 1, InnerLR: 0.2, InnerSteps: 100}
	r, err := m.MetaGrad([]*adjoint.Tensor{adjoint.Vector(0)}, []metalearn.Task{task})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f, meta-gradient %.4f, CG iterations %d\n", r.Loss, r.Grad[0].Data[0], r.CGIterations)
	// Output: loss 1.7778, meta-gradient -0.8889, CG iterations 1
}
