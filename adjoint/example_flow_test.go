package adjoint_test

import (
	"fmt"

	"github.com/adjointkit/adjointkit/adjoint"
)

// A record of a reverse pass through a chain y = Σ (3·tanh(x))²: the
// cotangent at every value and how each operation scaled it, then the
// same pass folded into its two scopes.
func ExampleFlow() {
	x := adjoint.Param(adjoint.Vector(0.5, -1))
	model := adjoint.NewScope("model")
	h := adjoint.Scale(adjoint.Tanh(adjoint.InScope(model.Child("layer"), x)), 3)
	y := adjoint.Sum(adjoint.Square(adjoint.InScope(model.Child("loss"), h)))

	var f adjoint.Flow
	g := adjoint.Backward(y, []*adjoint.Var{x}, &adjoint.GradSettings{Flow: &f})
	name := func(n int) string {
		if f.Nodes[n].Op == "" {
			return "param"
		}
		return f.Nodes[n].Op
	}
	for n, nd := range f.Nodes {
		fmt.Printf("%-6s %-11v ‖v̄‖ = %.4f", name(n), nd.Scope, nd.Cotangent)
		for _, in := range nd.Inputs {
			fmt.Printf("  gain to %s %.4f", name(in.Node), in.Gain)
		}
		fmt.Println()
	}
	fmt.Printf("‖∂y/∂x‖ = %.4f\n", g[0].Value().Norm())
	for _, u := range f.Fold(1).Units {
		fmt.Printf("unit %s: ‖v̄‖ = %.4f\n", u.Name, u.Cotangent)
	}
	// Output:
	// param  model/layer ‖v̄‖ = 8.7144
	// tanh   model/layer ‖v̄‖ = 16.0349  gain to param 0.5435
	// scale  model/layer ‖v̄‖ = 5.3450  gain to tanh 3.0000
	// square model/loss  ‖v̄‖ = 1.4142  gain to scale 3.7795
	// sum_to model/loss  ‖v̄‖ = 1.0000  gain to square 1.4142
	// ‖∂y/∂x‖ = 8.7144
	// unit layer: ‖v̄‖ = 5.3450
	// unit loss: ‖v̄‖ = 1.0000
}
