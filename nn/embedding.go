package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/adjointkit/adjointkit/adjoint"
)

// EmbeddingSettings configures an Embedding. A nil *EmbeddingSettings
// means the defaults described on each field.
type EmbeddingSettings struct {
	// Init draws the table, with fanIn = num and fanOut = dim; nil means
	// Normal(1), PyTorch's N(0, 1).
	Init Init
	// Padding, when true, makes row PaddingIndex the padding entry, as
	// PyTorch's padding_idx: it starts at zero and receives no gradient,
	// so it stays what it is through training.
	Padding bool
	// PaddingIndex is the padding row when Padding is set; negative
	// values count from the end, as in PyTorch.
	PaddingIndex int
}

// Embedding looks up rows of a table: an input of integer indices
// [batch, ...] gives [batch, ..., dim], each index replaced by its row
// (torch.nn.Embedding). The indices are float64 values that must be whole
// numbers in [0, num); the output depends on the table only, so an input
// that is itself tracked receives no gradient.
//
// Parameters: "weight" [num dim].
type Embedding struct {
	num, dim int
	pad      int // padding row, or -1
	w        Param
}

var _ Layer = (*Embedding)(nil)

// NewEmbedding returns a table of num rows of dim values, drawn from rng.
func NewEmbedding(rng *rand.Rand, num, dim int, s *EmbeddingSettings) *Embedding {
	var set EmbeddingSettings
	if s != nil {
		set = *s
	}
	if num <= 0 || dim <= 0 {
		panic(fmt.Sprintf("nn: NewEmbedding: sizes %d×%d must be positive", num, dim))
	}
	if set.Init == nil {
		set.Init = Normal(1)
	}
	w := initWeight("NewEmbedding", rng, set.Init, num, dim, num, dim)
	pad := -1
	if set.Padding {
		pad = set.PaddingIndex
		if pad < 0 {
			pad += num
		}
		if pad < 0 || pad >= num {
			panic(fmt.Sprintf("nn: NewEmbedding: padding index %d outside the %d rows", set.PaddingIndex, num))
		}
		clear(w.Data[pad*dim : (pad+1)*dim])
	}
	return &Embedding{num: num, dim: dim, pad: pad, w: newParam("weight", w)}
}

// String describes the layer, as in "Embedding(1000×64)".
func (e *Embedding) String() string { return fmt.Sprintf("Embedding(%d×%d)", e.num, e.dim) }

// Params returns the table.
func (e *Embedding) Params() []Param { return []Param{e.w} }

// OutShape appends the embedding size to the shape of the indices.
func (e *Embedding) OutShape(in []int) ([]int, error) {
	return append(append([]int(nil), in...), e.dim), nil
}

// Apply looks up the rows of the table value ps[0] for the indices x. It
// panics if an index is not a whole number in [0, num).
func (e *Embedding) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(e, ps, e.w)
	checkInput(e, x)
	xv := x.Value().Data
	idx := make([]int, len(xv))
	var padded *adjoint.Tensor
	for i, v := range xv {
		if v != math.Trunc(v) || v < 0 || v >= float64(e.num) {
			panic(fmt.Sprintf("nn: %s: index %v at position %d is not a whole number in [0, %d)", e, v, i, e.num))
		}
		idx[i] = int(v)
		if idx[i] == e.pad {
			if padded == nil {
				padded = adjoint.New(len(xv), 1)
			}
			padded.Data[i] = 1
		}
	}
	rows := adjoint.Take(ps[0], 0, idx)
	if padded != nil {
		// The padding row's value is used, but its gradient is cut, as in
		// PyTorch.
		rows = adjoint.Where(padded, adjoint.Take(adjoint.Detach(ps[0]), 0, idx), rows)
	}
	return adjoint.Reshape(rows, append(x.Shape(), e.dim)...)
}

// Forward looks up the indices x in the layer's own table.
func (e *Embedding) Forward(x *adjoint.Var) *adjoint.Var { return e.Apply(Vars(e), x) }
