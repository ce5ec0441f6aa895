package nn

import (
	"fmt"
	"slices"

	"github.com/adjointkit/adjointkit/adjoint"
)

// MSE returns the mean squared error mean((pred − target)²) over all
// elements. pred and target must have the same shape.
func MSE(pred, target *adjoint.Var) *adjoint.Var {
	if !slices.Equal(pred.Shape(), target.Shape()) {
		panic(fmt.Sprintf("nn: MSE: prediction shape %v, target shape %v", pred.Shape(), target.Shape()))
	}
	return adjoint.Mean(adjoint.Square(adjoint.Sub(pred, target)))
}

// BCEWithLogits returns the binary cross-entropy of targets y ∈ [0, 1]
// under probabilities σ(z), averaged over all elements:
//
//	mean(−y·log σ(z) − (1−y)·log(1−σ(z))) = mean(softplus(z) − y·z),
//
// computed in the second form, which never forms σ(z) and so neither
// overflows nor loses precision for large |z|. logits and targets must have
// the same shape.
func BCEWithLogits(logits, targets *adjoint.Var) *adjoint.Var {
	if !slices.Equal(logits.Shape(), targets.Shape()) {
		panic(fmt.Sprintf("nn: BCEWithLogits: logits shape %v, targets shape %v", logits.Shape(), targets.Shape()))
	}
	return adjoint.Mean(adjoint.Sub(adjoint.Softplus(logits), adjoint.Mul(targets, logits)))
}

// SoftmaxCrossEntropy returns the cross-entropy of integer class labels
// under the softmax of logits [batch, classes], averaged over the batch:
//
//	mean_i(−log softmax(z_i)[labels[i]]) = mean_i(logsumexp(z_i) − z_i[labels[i]]),
//
// computed through the core's LogSoftmax, which shifts by the maximum, so
// that large logits neither overflow nor lose the loss to rounding. It
// panics if a label is outside [0, classes) or there is not one per row.
func SoftmaxCrossEntropy(logits *adjoint.Var, labels []int) *adjoint.Var {
	s := logits.Shape()
	if len(s) != 2 || s[0] != len(labels) {
		panic(fmt.Sprintf("nn: SoftmaxCrossEntropy: logits shape %v, want [%d classes] for %d labels", s, len(labels), len(labels)))
	}
	k := s[1]
	idx := make([]int, len(labels))
	for i, l := range labels {
		if l < 0 || l >= k {
			panic(fmt.Sprintf("nn: SoftmaxCrossEntropy: label %d of row %d outside [0, %d)", l, i, k))
		}
		idx[i] = i*k + l
	}
	picked := adjoint.Take(adjoint.Reshape(adjoint.LogSoftmax(logits, 1), -1), 0, idx)
	return adjoint.Neg(adjoint.Mean(picked))
}

// Accuracy returns the fraction of rows of logits [batch, classes] whose
// largest entry is at the position of the label (the first, on ties).
func Accuracy(logits *adjoint.Tensor, labels []int) float64 {
	if len(logits.Shape) != 2 || logits.Shape[0] != len(labels) {
		panic(fmt.Sprintf("nn: Accuracy: logits shape %v for %d labels", logits.Shape, len(labels)))
	}
	if len(labels) == 0 {
		return 0
	}
	k := logits.Shape[1]
	right := 0
	for i, l := range labels {
		row := logits.Data[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if best == l {
			right++
		}
	}
	return float64(right) / float64(len(labels))
}
