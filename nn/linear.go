package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Linear is the affine map y = x·W + b from in to out features. W is
// stored in×out (so no transpose is needed) and b has out elements. The
// input's last dimension must be in; any dimensions between the batch and
// the features (time steps, say) are carried along.
//
// Parameters: "weight" [in out], "bias" [out].
type Linear struct {
	in, out int
	w, b    Param
}

var _ Layer = (*Linear)(nil)

// NewLinear returns a Linear layer with weights drawn by init from rng,
// with fanIn = in and fanOut = out. A nil init means GlorotUniform(1) and a
// zero bias, the documented default; TorchDefault() gives PyTorch's
// (Kaiming-uniform with a = √5, and biases from U(−1/√in, 1/√in)).
func NewLinear(rng *rand.Rand, in, out int, init Init) *Linear {
	if in <= 0 || out <= 0 {
		panic(fmt.Sprintf("nn: NewLinear: sizes %d→%d must be positive", in, out))
	}
	w := initWeight("NewLinear", rng, init, in, out, in, out)
	b := initBias(rng, init, in, out, out)
	return &Linear{in: in, out: out, w: newParam("weight", w), b: newParam("bias", b)}
}

// String describes the layer, as in "Linear(784→256)".
func (l *Linear) String() string { return fmt.Sprintf("Linear(%d→%d)", l.in, l.out) }

// Params returns the weight and the bias.
func (l *Linear) Params() []Param { return []Param{l.w, l.b} }

// OutShape maps [..., in] to [..., out].
func (l *Linear) OutShape(in []int) ([]int, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("samples are scalars, want %d features", l.in)
	}
	if f := in[len(in)-1]; f != l.in {
		return nil, fmt.Errorf("%d features (last dimension), want %d", f, l.in)
	}
	out := append([]int(nil), in...)
	out[len(out)-1] = l.out
	return out, nil
}

// Apply returns x·W + b with the given weight and bias values.
func (l *Linear) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(l, ps, l.w, l.b)
	checkInput(l, x)
	s := x.Shape()
	if len(s) == 2 {
		return adjoint.MatMulAdd(x, ps[0], ps[1])
	}
	y := adjoint.MatMulAdd(adjoint.Reshape(x, -1, l.in), ps[0], ps[1])
	shape := append([]int(nil), s...)
	shape[len(shape)-1] = l.out
	return adjoint.Reshape(y, shape...)
}

// Forward applies the layer with its own parameters.
func (l *Linear) Forward(x *adjoint.Var) *adjoint.Var { return l.Apply(Vars(l), x) }
