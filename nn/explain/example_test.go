package explain_test

import (
	"fmt"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn/explain"
)

// Integrated gradients of f(x) = x₁² + 3x₂ from the zero baseline: the
// attributions are x₁² and 3x₂ exactly, and they add up to f(x) − f(0).
func ExampleIntegratedGradients() {
	f := explain.Score(func(x *adjoint.Var) *adjoint.Var {
		x1 := adjoint.Reshape(adjoint.Slice(x, 1, 0, 1), -1)
		x2 := adjoint.Reshape(adjoint.Slice(x, 1, 1, 2), -1)
		return adjoint.Add(adjoint.Square(x1), adjoint.Scale(x2, 3))
	})
	x := adjoint.FromData([]float64{2, 1}, 1, 2)
	for _, rule := range []explain.Rule{explain.RiemannLeft, explain.GaussLegendre} {
		res := explain.IntegratedGradients(f, x, &explain.IGSettings{Steps: 4, Rule: rule})
		fmt.Printf("%-14s attributions %.4f, completeness gap %.1e\n", rule, res.Attribution.Data, res.Delta[0])
	}
	// Output:
	// riemann_left   attributions [3.0000 3.0000], completeness gap 1.0e+00
	// gausslegendre  attributions [4.0000 3.0000], completeness gap 0.0e+00
}

// FGSM moves each pixel by ε against the gradient's sign, within [0, 1].
func ExampleFGSM() {
	loss := explain.Loss(func(x *adjoint.Var) *adjoint.Var {
		w := adjoint.Const(adjoint.FromData([]float64{1, -1, 0}, 3, 1))
		return adjoint.Sum(adjoint.MatMul(x, w))
	})
	x := adjoint.FromData([]float64{0.5, 0.05, 0.5}, 1, 3)
	adv := explain.FGSM(loss, x, &explain.AttackSettings{Epsilon: 0.1})
	fmt.Printf("%.2f\n", adv.Data)
	// Output:
	// [0.60 0.00 0.50]
}
