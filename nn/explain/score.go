package explain

import (
	"fmt"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn"
)

// Score is the function an attribution explains: it maps a batch of
// inputs x, [B, ...], to one score per input, [B], such as the logit of a
// class. Rows must not interact (no batch statistics), so that the
// gradient of the sum of the scores with respect to x holds each input's
// own gradient.
type Score func(x *adjoint.Var) *adjoint.Var

// Logit returns the score "logit of class" of a classifier whose output
// is [B, classes]: the usual target of an attribution.
func Logit(model nn.Layer, class int) Score {
	return func(x *adjoint.Var) *adjoint.Var {
		return column(nn.Forward(model, x), class)
	}
}

// Probability returns the score "softmax probability of class" of a
// classifier whose output is [B, classes]: the quantity deletion and
// insertion curves follow.
func Probability(model nn.Layer, class int) Score {
	return func(x *adjoint.Var) *adjoint.Var {
		return column(adjoint.Softmax(nn.Forward(model, x), 1), class)
	}
}

// column returns column k of a [B, K] value as [B].
func column(v *adjoint.Var, k int) *adjoint.Var {
	s := v.Shape()
	if len(s) != 2 || k < 0 || k >= s[1] {
		panic(fmt.Sprintf("explain: class %d of a model output of shape %v; want [batch, classes]", k, s))
	}
	return adjoint.Reshape(adjoint.Take(v, 1, []int{k}), s[0])
}

// scoreGrad evaluates f on the batch x and returns its scores and the
// gradient of their sum with respect to x: each row's gradient.
func scoreGrad(f Score, x *adjoint.Tensor) ([]float64, *adjoint.Tensor) {
	xv := adjoint.Param(x)
	s := f(xv)
	checkScores(s, x.Shape[0])
	g := adjoint.Grad(adjoint.Sum(s), xv)[0]
	return s.Value().Data, g
}

// scores evaluates f on the batch x without recording a graph.
func scores(f Score, x *adjoint.Tensor) []float64 {
	s := f(adjoint.Const(x))
	checkScores(s, x.Shape[0])
	return s.Value().Data
}

func checkScores(s *adjoint.Var, b int) {
	if sh := s.Shape(); len(sh) != 1 || sh[0] != b {
		panic(fmt.Sprintf("explain: a Score returned shape %v for a batch of %d; want [%d]", sh, b, b))
	}
}

// rows returns the number of rows of a batch and the size of one row.
func rows(who string, x *adjoint.Tensor) (b, n int) {
	if x.Rank() < 2 || x.Shape[0] < 1 {
		panic(fmt.Sprintf("explain: %s: input of shape %v; want a batch [B, ...] with B ≥ 1", who, x.Shape))
	}
	return x.Shape[0], x.Size() / x.Shape[0]
}

// stackRows returns a batch of len(rs) rows, each of n values, with the
// row shape of like.
func stackRows(rs [][]float64, like *adjoint.Tensor) *adjoint.Tensor {
	n := like.Size() / like.Shape[0]
	shape := append([]int{len(rs)}, like.Shape[1:]...)
	t := adjoint.New(shape...)
	for i, r := range rs {
		copy(t.Data[i*n:(i+1)*n], r)
	}
	return t
}
