package adjoint_test

import (
	"fmt"

	"github.com/adjointkit/adjointkit/adjoint"
)

// The gradient of a small function by reverse mode.
func ExampleGrad() {
	x := adjoint.Param(adjoint.Vector(1, 2, 3))
	y := adjoint.Sum(adjoint.Mul(x, adjoint.Mul(x, x))) // Σ xᵢ³
	g := adjoint.Grad(y, x)[0]
	fmt.Println(g.Data) // 3xᵢ²
	// Output: [3 12 27]
}

// Exact second derivatives: the gradient of a gradient.
func ExampleGradGraph() {
	x := adjoint.Param(adjoint.Scalar(2))
	y := adjoint.Mul(x, adjoint.Mul(x, x)) // x³
	dy := adjoint.GradGraph(y, x)[0]       // 3x², still differentiable
	d2y := adjoint.Grad(dy, x)[0]          // 6x
	fmt.Println(dy.Item(), d2y.Item())
	// Output: 12 12
}

// Forward mode gives a Jacobian-vector product in one pass.
func ExampleJVP() {
	f := func(x *adjoint.Var) *adjoint.Var { return adjoint.Mul(x, x) }
	y, ydot := adjoint.JVP(f, adjoint.Vector(1, 2), adjoint.Vector(1, 0))
	fmt.Println(y.Data, ydot.Data)
	// Output: [1 4] [2 0]
}

// Both Jacobian routines return the same matrix; choose by shape.
func ExampleJacobianRev() {
	f := func(x *adjoint.Var) *adjoint.Var {
		return adjoint.Concat(0, adjoint.Reshape(adjoint.Sum(x), 1), adjoint.Sin(x))
	}
	x := adjoint.Vector(0, 1)
	jr := adjoint.JacobianRev(nil, f, x)
	jf := adjoint.JacobianFwd(nil, f, x)
	for i := range 3 {
		fmt.Printf("%.4f %.4f | %.4f %.4f\n", jr.At(i, 0), jr.At(i, 1), jf.At(i, 0), jf.At(i, 1))
	}
	// Output:
	// 1.0000 1.0000 | 1.0000 1.0000
	// 1.0000 0.0000 | 1.0000 0.0000
	// 0.0000 0.5403 | 0.0000 0.5403
}

// A Hessian-vector product without forming the Hessian.
func ExampleHVP() {
	// f(x) = x0² x1, Hessian [[2x1, 2x0], [2x0, 0]].
	f := func(x *adjoint.Var) *adjoint.Var {
		return adjoint.Mul(adjoint.Square(adjoint.Slice(x, 0, 0, 1)), adjoint.Slice(x, 0, 1, 2))
	}
	hv := adjoint.HVP(f, adjoint.Vector(3, 5), adjoint.Vector(1, 0))
	fmt.Println(hv.Data)
	// Output: [10 6]
}

// Check compares reverse mode, forward mode and finite differences.
func ExampleCheck() {
	f := func(x ...*adjoint.Var) *adjoint.Var {
		return adjoint.Sum(adjoint.Tanh(adjoint.MatMul(x[0], x[1])))
	}
	a := adjoint.FromData([]float64{0.1, -0.4, 0.7, 0.2}, 2, 2)
	b := adjoint.FromData([]float64{0.3, 0.5, -0.6, 0.8}, 2, 2)
	r := adjoint.Check(f, []*adjoint.Tensor{a, b}, nil)
	fmt.Println(r.Err(1e-6, 1e-10) == nil, r.SecondOrder)
	// Output: true true
}

// A traced function used as a flat Func, for code that works on []float64.
func ExampleTracedFunc() {
	f := &adjoint.TracedFunc{F: adjoint.Exp, In: 2, Out: 2}
	xbar := make([]float64, 2)
	f.VJP(xbar, []float64{0, 1}, []float64{1, 1})
	fmt.Printf("%.4f\n", xbar)
	// Output: [1.0000 2.7183]
}

// The dense Hessian of a function of two arguments, mixed block included:
// f(a, b) = a²·b with a and b scalars, at a = 3, b = 5.
func ExampleHessianArgs() {
	f := func(xs ...*adjoint.Var) *adjoint.Var { return adjoint.Mul(adjoint.Square(xs[0]), xs[1]) }
	h := adjoint.HessianArgs(nil, f, []*adjoint.Tensor{adjoint.Scalar(3), adjoint.Scalar(5)})
	fmt.Println(h.At(0, 0), h.At(0, 1), h.At(1, 1)) // 2b, 2a, 0
	// Output: 10 6 0
}

// The bridge from a traced program to flat vectors: one recording answers
// the value, a VJP and a JVP of f(x, θ) = θ·x² for flat arguments.
func ExampleRecord() {
	f := func(in []*adjoint.Var) *adjoint.Var { return adjoint.Mul(in[1], adjoint.Square(in[0])) }
	r := adjoint.Record(f, adjoint.Vector(1, 2), adjoint.Scalar(3))
	xbar, thetabar := make([]float64, 2), make([]float64, 1)
	r.VJP([][]float64{xbar, thetabar}, []float64{1, 1}) // accumulates
	ydot := make([]float64, 2)
	r.JVP(ydot, []float64{1, 0}, nil) // along x only
	fmt.Println(r.Value(), xbar, thetabar, ydot)
	// Output: [3 12] [6 12] [5] [6 0]
}

// A small vector field written component by component.
func ExampleElements() {
	y := adjoint.Param(adjoint.Vector(2, 3))
	e := adjoint.Elements(y)
	f := adjoint.Stack(adjoint.Mul(e[0], e[1]), adjoint.Neg(e[0])) // (y₀y₁, −y₀)
	j := adjoint.JacobianRev(nil, func(v *adjoint.Var) *adjoint.Var {
		e := adjoint.Elements(v)
		return adjoint.Stack(adjoint.Mul(e[0], e[1]), adjoint.Neg(e[0]))
	}, y.Value())
	fmt.Println(f.Value().Data, j.RawMatrix().Data)
	// Output: [6 -2] [3 2 -1 0]
}
