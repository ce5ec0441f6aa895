package adjoint_test

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Take a Hessian: the dense Hessian of Rosenbrock's function
// f(x) = (1 − x₀)² + 100 (x₁ − x₀²)² at its minimum (1, 1), exact (a
// gradient of a gradient, no finite differences), and a Hessian-vector
// product without forming the matrix. By hand the Hessian there is
// [[802, −400], [−400, 200]].
func ExampleHessian() {
	f := func(x *adjoint.Var) *adjoint.Var {
		x0, x1 := adjoint.Index(x, 0), adjoint.Index(x, 1)
		a := adjoint.Square(adjoint.Sub(adjoint.ConstScalar(1), x0))
		b := adjoint.Square(adjoint.Sub(x1, adjoint.Square(x0)))
		return adjoint.Add(a, adjoint.Scale(b, 100))
	}
	x := adjoint.Vector(1, 1)
	h := adjoint.Hessian(nil, f, x)
	fmt.Printf("H =\n%v\n", mat.Formatted(h))
	hv := adjoint.HVP(f, x, adjoint.Vector(1, 0))
	fmt.Println("H·(1, 0) =", hv.Data)
	// Output:
	// H =
	// ⎡ 802  -400⎤
	// ⎣-400   200⎦
	// H·(1, 0) = [802 -400]
}
