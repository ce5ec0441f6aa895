package nn

import (
	"fmt"

	"github.com/adjointkit/adjointkit/adjoint"
)

// LayerNorm normalises each sample over its last dimension (the features)
// to zero mean and unit variance, then scales and shifts it:
//
//	y = (x − μ)/√(σ² + ε) ⊙ gain + bias,
//
// with μ and σ² the mean and the (biased) variance over the features. It
// works on inputs of any rank ≥ 2 whose last dimension is the feature
// count, and is smooth, so its derivatives of every order are exact.
//
// Parameters: "gain" [features] (initially ones), "bias" [features]
// (initially zeros).
type LayerNorm struct {
	features int
	eps      float64
	g, b     Param
}

var _ Layer = (*LayerNorm)(nil)

// NewLayerNorm returns a LayerNorm over the given number of features. eps
// is added to the variance; zero means 1e-5.
func NewLayerNorm(features int, eps float64) *LayerNorm {
	if features <= 0 || eps < 0 {
		panic(fmt.Sprintf("nn: NewLayerNorm: features %d must be positive and eps %g non-negative", features, eps))
	}
	if eps == 0 {
		eps = 1e-5
	}
	return &LayerNorm{features: features, eps: eps,
		g: newParam("gain", adjoint.Full(1, features)),
		b: newParam("bias", adjoint.New(features))}
}

// String describes the layer, as in "LayerNorm(64)".
func (l *LayerNorm) String() string { return fmt.Sprintf("LayerNorm(%d)", l.features) }

// Params returns the gain and the bias.
func (l *LayerNorm) Params() []Param { return []Param{l.g, l.b} }

// OutShape returns in, which must end with the feature count.
func (l *LayerNorm) OutShape(in []int) ([]int, error) {
	if len(in) == 0 || in[len(in)-1] != l.features {
		return nil, fmt.Errorf("sample shape %v, want %d features in the last dimension", in, l.features)
	}
	return append([]int(nil), in...), nil
}

// Apply normalises x with the given gain and bias values.
func (l *LayerNorm) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(l, ps, l.g, l.b)
	checkInput(l, x)
	xc := adjoint.Sub(x, adjoint.MeanAxis(x, -1, true))
	v := adjoint.MeanAxis(adjoint.Square(xc), -1, true)
	y := adjoint.Div(xc, adjoint.Sqrt(adjoint.AddScalar(v, l.eps)))
	return adjoint.Add(adjoint.Mul(y, ps[0]), ps[1])
}

// Forward normalises x with the layer's own gain and bias.
func (l *LayerNorm) Forward(x *adjoint.Var) *adjoint.Var { return l.Apply(Vars(l), x) }
