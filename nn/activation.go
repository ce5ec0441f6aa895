package nn

import (
	"fmt"
	"math"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Activation is a parameter-free elementwise layer such as ReLU or tanh.
// Every activation in this package is built from the adjoint core's
// operations, so it is differentiable to every order (ReLU's derivative is
// piecewise constant, taken as 0 at 0).
type Activation struct {
	name string
	f    func(*adjoint.Var) *adjoint.Var
}

var _ Layer = (*Activation)(nil)

// NewActivation returns an activation layer applying f, which must be
// elementwise (shape-preserving), under the given name.
func NewActivation(name string, f func(*adjoint.Var) *adjoint.Var) *Activation {
	if f == nil {
		panic("nn: NewActivation: nil function")
	}
	return &Activation{name: name, f: f}
}

// ReLU returns the activation max(x, 0).
func ReLU() *Activation { return &Activation{"relu", adjoint.ReLU} }

// Tanh returns the activation tanh x.
func Tanh() *Activation { return &Activation{"tanh", adjoint.Tanh} }

// Sigmoid returns the logistic activation 1/(1+e⁻ˣ).
func Sigmoid() *Activation { return &Activation{"sigmoid", adjoint.Sigmoid} }

// Softplus returns the activation log(1+eˣ), a smooth ReLU.
func Softplus() *Activation { return &Activation{"softplus", adjoint.Softplus} }

// Identity returns the activation x ↦ x (for linear networks and linear
// recurrences).
func Identity() *Activation {
	return &Activation{"identity", func(x *adjoint.Var) *adjoint.Var { return x }}
}

// GELU returns the Gaussian error linear unit x·Φ(x) in its tanh form
//
//	GELU(x) = x/2 · (1 + tanh(√(2/π)·(x + 0.044715·x³))),
//
// which differs from the exact x·Φ(x) by less than 5e-4 (the core has no
// erf operation) and is what GPT-2 and PyTorch's approximate="tanh" use.
// It is smooth, so its derivatives of every order are exact.
func GELU() *Activation { return &Activation{"gelu", gelu} }

func gelu(x *adjoint.Var) *adjoint.Var {
	c := math.Sqrt(2 / math.Pi)
	inner := adjoint.Scale(adjoint.Add(x, adjoint.Scale(adjoint.Mul(x, adjoint.Square(x)), 0.044715)), c)
	return adjoint.Mul(adjoint.Scale(x, 0.5), adjoint.AddScalar(adjoint.Tanh(inner), 1))
}

// String returns the activation's name.
func (a *Activation) String() string { return a.name }

// Params returns nil: activations have no parameters.
func (a *Activation) Params() []Param { return nil }

// OutShape returns in: activations keep the shape.
func (a *Activation) OutShape(in []int) ([]int, error) { return append([]int(nil), in...), nil }

// Apply applies the activation elementwise; ps must be empty.
func (a *Activation) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(a, ps)
	y := a.f(x)
	if !matchShape(y.Shape(), x.Shape()) {
		panic(fmt.Sprintf("nn: activation %s changed shape %v to %v", a.name, x.Shape(), y.Shape()))
	}
	return y
}

// Forward applies the activation.
func (a *Activation) Forward(x *adjoint.Var) *adjoint.Var { return a.Apply(nil, x) }
