package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Dropout zeroes each input element with probability p during training and
// scales the survivors by 1/(1−p), so that the expected output equals the
// input (inverted dropout). In evaluation mode it is the identity.
//
// The masks come from the *rand.Rand given to NewDropout, so a run is
// reproducible from its seed; every Apply in training mode draws a fresh
// mask and advances that stream. The mask is a constant of the graph:
// gradients flow through the kept elements, scaled by 1/(1−p). A Dropout
// layer must not be applied from several goroutines at once in training
// mode (a *rand.Rand is not safe for concurrent use).
type Dropout struct {
	p        float64
	rng      *rand.Rand
	training bool
}

var (
	_ Layer         = (*Dropout)(nil)
	_ TrainingModer = (*Dropout)(nil)
)

// NewDropout returns a Dropout layer with drop probability p in [0, 1),
// drawing its masks from rng. It starts in training mode; use SetTraining
// (or the package function SetTraining on a whole model) to switch.
func NewDropout(rng *rand.Rand, p float64) *Dropout {
	if !(p >= 0 && p < 1) {
		panic(fmt.Sprintf("nn: NewDropout: probability %g outside [0, 1)", p))
	}
	if rng == nil {
		panic("nn: NewDropout: nil *rand.Rand (the package keeps no global random state)")
	}
	return &Dropout{p: p, rng: rng, training: true}
}

// String describes the layer, as in "Dropout(0.5)".
func (d *Dropout) String() string { return fmt.Sprintf("Dropout(%g)", d.p) }

// SetTraining switches between training (dropping) and evaluation
// (identity).
func (d *Dropout) SetTraining(training bool) { d.training = training }

// Training reports whether the layer is in training mode.
func (d *Dropout) Training() bool { return d.training }

// Params returns nil.
func (d *Dropout) Params() []Param { return nil }

// OutShape returns in.
func (d *Dropout) OutShape(in []int) ([]int, error) { return append([]int(nil), in...), nil }

// Apply drops elements of x in training mode and returns x unchanged in
// evaluation mode; ps must be empty.
func (d *Dropout) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(d, ps)
	if !d.training || d.p == 0 {
		return x
	}
	mask := adjoint.New(x.Shape()...)
	keep := 1 / (1 - d.p)
	for i := range mask.Data {
		if d.rng.Float64() >= d.p {
			mask.Data[i] = keep
		}
	}
	return adjoint.Mul(x, adjoint.Const(mask))
}

// Forward applies the layer.
func (d *Dropout) Forward(x *adjoint.Var) *adjoint.Var { return d.Apply(nil, x) }
