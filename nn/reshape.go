package nn

import (
	"fmt"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Flatten reshapes each sample to a vector: [batch, d1, d2, ...] becomes
// [batch, d1·d2·…]. It shares the data (no copy).
type Flatten struct{}

var _ Layer = (*Flatten)(nil)

// NewFlatten returns a Flatten layer.
func NewFlatten() *Flatten { return &Flatten{} }

// String returns "Flatten".
func (*Flatten) String() string { return "Flatten" }

// Params returns nil.
func (*Flatten) Params() []Param { return nil }

// OutShape returns [d1·d2·…], or [-1] if some dimension is unknown.
func (*Flatten) OutShape(in []int) ([]int, error) {
	n := 1
	for _, d := range in {
		if d < 0 {
			return []int{-1}, nil
		}
		n *= d
	}
	return []int{n}, nil
}

// Apply flattens the samples of x; ps must be empty.
func (f *Flatten) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(f, ps)
	checkInput(f, x)
	return adjoint.Reshape(x, x.Shape()[0], -1)
}

// Forward flattens the samples of x.
func (f *Flatten) Forward(x *adjoint.Var) *adjoint.Var { return f.Apply(nil, x) }

// LastStep keeps the last time step of a sequence: [batch, T, features]
// becomes [batch, features]. Placed after a recurrent layer it turns the
// sequence of hidden states into the final one.
type LastStep struct{}

var _ Layer = (*LastStep)(nil)

// NewLastStep returns a LastStep layer.
func NewLastStep() *LastStep { return &LastStep{} }

// String returns "LastStep".
func (*LastStep) String() string { return "LastStep" }

// Params returns nil.
func (*LastStep) Params() []Param { return nil }

// OutShape maps [T, features] to [features].
func (*LastStep) OutShape(in []int) ([]int, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("samples have shape %v, want [steps features]", in)
	}
	if in[0] == 0 {
		return nil, fmt.Errorf("sequence of length 0")
	}
	return []int{in[1]}, nil
}

// Apply returns the last step of each sequence in x; ps must be empty.
func (l *LastStep) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(l, ps)
	checkInput(l, x)
	s := x.Shape()
	return adjoint.Reshape(adjoint.Slice(x, 1, s[1]-1, s[1]), s[0], s[2])
}

// Forward returns the last step of each sequence in x.
func (l *LastStep) Forward(x *adjoint.Var) *adjoint.Var { return l.Apply(nil, x) }
