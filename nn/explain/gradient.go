package explain

import (
	"math/rand/v2"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Gradient returns the vanilla gradient (saliency) of f's score with
// respect to each input of the batch x: ∂f(x_b)/∂x_b, signed, of x's
// shape (Simonyan et al. 2014 show its absolute value).
func Gradient(f Score, x *adjoint.Tensor) *adjoint.Tensor {
	rows("Gradient", x)
	_, g := scoreGrad(f, x)
	return g
}

// GradientTimesInput returns the gradient multiplied elementwise by the
// input, x ⊙ ∂f/∂x: the first-order Taylor share of each input element
// against a zero baseline (Shrikumar et al. 2016).
func GradientTimesInput(f Score, x *adjoint.Tensor) *adjoint.Tensor {
	g := Gradient(f, x)
	for i, v := range x.Data {
		g.Data[i] *= v
	}
	return g
}

// SmoothGradSettings configures SmoothGrad. A nil *SmoothGradSettings
// means the defaults described on each field.
type SmoothGradSettings struct {
	// Samples is the number of noisy copies averaged per input; zero
	// means 50.
	Samples int
	// Sigma is the standard deviation of the Gaussian noise added to
	// every input element, in the input's units; zero means 0.15 (15% of
	// the range of images scaled to [0, 1], within the 10–20% Smilkov et
	// al. recommend).
	Sigma float64
	// BatchSize is the most noisy copies evaluated in one pass; zero
	// means 64.
	BatchSize int
}

// SmoothGrad returns the SmoothGrad attribution of f for each input of
// the batch x (Smilkov et al. 2017): the mean of the gradients at
// Samples copies of the input with Gaussian noise of standard deviation
// Sigma added, drawn from rng. It sharpens the noisy vanilla gradient of
// piecewise-linear networks.
func SmoothGrad(f Score, x *adjoint.Tensor, rng *rand.Rand, s *SmoothGradSettings) *adjoint.Tensor {
	var set SmoothGradSettings
	if s != nil {
		set = *s
	}
	if set.Samples == 0 {
		set.Samples = 50
	}
	if set.Sigma == 0 {
		set.Sigma = 0.15
	}
	if set.BatchSize == 0 {
		set.BatchSize = 64
	}
	b, n := rows("SmoothGrad", x)
	out := adjoint.New(x.Shape...)
	for r := range b {
		row := x.Data[r*n : (r+1)*n]
		acc := out.Data[r*n : (r+1)*n]
		for from := 0; from < set.Samples; from += set.BatchSize {
			k := min(set.BatchSize, set.Samples-from)
			noisy := make([][]float64, k)
			for i := range noisy {
				noisy[i] = make([]float64, n)
				for j, v := range row {
					noisy[i][j] = v + set.Sigma*rng.NormFloat64()
				}
			}
			_, g := scoreGrad(f, stackRows(noisy, x))
			for i := range k {
				for j := range n {
					acc[j] += g.Data[i*n+j]
				}
			}
		}
		for j := range acc {
			acc[j] /= float64(set.Samples)
		}
	}
	return out
}
