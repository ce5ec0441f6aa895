package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Init draws the initial weights of a layer.
//
// fanIn is the number of inputs that feed each output unit and fanOut the
// number of outputs each input unit feeds: a Linear layer from in to out
// features has fanIn = in and fanOut = out; a Conv2D layer with c input and
// o output channels and a kh×kw kernel has fanIn = c·kh·kw and
// fanOut = o·kh·kw.
//
// Every initialiser of this package takes a scale factor (a gain) that
// multiplies the values it would otherwise draw: scale 1 gives the
// textbook variance, and experiments on vanishing and exploding gradients
// vary it. An Init that also implements BiasInit draws the biases too;
// layers start their biases at zero otherwise.
type Init interface {
	// Weights fills w with values drawn from rng.
	Weights(rng *rand.Rand, w *adjoint.Tensor, fanIn, fanOut int)
}

// BiasInit is implemented by initialisers that also draw a layer's biases,
// such as TorchDefault.
type BiasInit interface {
	// Bias fills the bias b of a layer with the given fans.
	Bias(rng *rand.Rand, b *adjoint.Tensor, fanIn, fanOut int)
}

// InitFunc adapts a function to the Init interface: the way to write a
// custom initialiser.
type InitFunc func(rng *rand.Rand, w *adjoint.Tensor, fanIn, fanOut int)

// Weights calls f.
func (f InitFunc) Weights(rng *rand.Rand, w *adjoint.Tensor, fanIn, fanOut int) {
	f(rng, w, fanIn, fanOut)
}

var (
	_ Init     = InitFunc(nil)
	_ Init     = torchUniform{}
	_ BiasInit = torchUniform{}
)

// TorchDefault is PyTorch's default initialisation of Linear and
// convolution layers (torch.nn.Linear.reset_parameters): weights from
// Kaiming-uniform with a = √5, that is U(−b, b) with
//
//	b = gain·√(3/fanIn),  gain = √(2/(1+a²)) = √(1/3),  so b = 1/√fanIn,
//
// and biases from U(−1/√fanIn, 1/√fanIn). It is not this package's default
// (GlorotUniform(1) with zero biases), which keeps existing results
// reproducible; pass it by name to get PyTorch's distribution. The random
// stream is this package's, so the values differ from PyTorch's even for
// the same seed: to reproduce a PyTorch model exactly, load its weights
// (LoadTorch).
func TorchDefault() Init { return torchUniform{} }

// TorchRNNDefault is PyTorch's default initialisation of torch.nn.RNN,
// GRU and LSTM (reset_parameters): every weight and bias from
// U(−1/√hidden, 1/√hidden). Give it as RNNSettings.InputInit and
// RecurrentInit; the recurrent layers pass fanOut = hidden to both, and,
// as it is a BiasInit, draw their biases with it too: GRU's two biases one
// draw each, the single bias of RNN and LSTM (PyTorch's b_ih + b_hh) the
// sum of two draws, so that every parameter has PyTorch's distribution
// (and an LSTM's forget-gate bias no offset of one). For any other layer
// it draws U(−1/√fanOut, 1/√fanOut). As with TorchDefault, the random
// stream is this package's.
func TorchRNNDefault() Init { return torchUniform{byFanOut: true} }

// torchUniform draws weights and biases from U(−1/√n, 1/√n), n being
// fanIn (TorchDefault) or fanOut (TorchRNNDefault).
type torchUniform struct{ byFanOut bool }

func (t torchUniform) bound(fanIn, fanOut int) float64 {
	if t.byFanOut {
		return 1 / math.Sqrt(float64(fanOut))
	}
	return 1 / math.Sqrt(float64(fanIn))
}

// Weights draws U(−1/√n, 1/√n).
func (t torchUniform) Weights(rng *rand.Rand, w *adjoint.Tensor, fanIn, fanOut int) {
	fill(rng, w, uniform, t.bound(fanIn, fanOut))
}

// Bias draws U(−1/√n, 1/√n).
func (t torchUniform) Bias(rng *rand.Rand, b *adjoint.Tensor, fanIn, fanOut int) {
	fill(rng, b, uniform, t.bound(fanIn, fanOut))
}

// GlorotUniform (Xavier uniform) draws from U(−a, a) with
// a = scale·√(6/(fanIn+fanOut)), which keeps the variance of activations
// and of gradients roughly constant through linear and tanh layers.
func GlorotUniform(scale float64) Init {
	return InitFunc(func(rng *rand.Rand, w *adjoint.Tensor, fanIn, fanOut int) {
		fill(rng, w, uniform, scale*math.Sqrt(6/float64(fanIn+fanOut)))
	})
}

// GlorotNormal (Xavier normal) draws from N(0, σ²) with
// σ = scale·√(2/(fanIn+fanOut)).
func GlorotNormal(scale float64) Init {
	return InitFunc(func(rng *rand.Rand, w *adjoint.Tensor, fanIn, fanOut int) {
		fill(rng, w, normal, scale*math.Sqrt(2/float64(fanIn+fanOut)))
	})
}

// HeUniform (Kaiming uniform) draws from U(−a, a) with
// a = scale·√(6/fanIn), the variance that keeps activations steady through
// ReLU layers.
func HeUniform(scale float64) Init {
	return InitFunc(func(rng *rand.Rand, w *adjoint.Tensor, fanIn, _ int) {
		fill(rng, w, uniform, scale*math.Sqrt(6/float64(fanIn)))
	})
}

// HeNormal (Kaiming normal) draws from N(0, σ²) with σ = scale·√(2/fanIn).
func HeNormal(scale float64) Init {
	return InitFunc(func(rng *rand.Rand, w *adjoint.Tensor, fanIn, _ int) {
		fill(rng, w, normal, scale*math.Sqrt(2/float64(fanIn)))
	})
}

// Normal draws from N(0, std²) whatever the fans.
func Normal(std float64) Init {
	return InitFunc(func(rng *rand.Rand, w *adjoint.Tensor, _, _ int) { fill(rng, w, normal, std) })
}

// Orthogonal sets w to scale times a random (semi-)orthogonal matrix. The
// tensor is seen as a matrix with w.Shape[0] rows and the product of the
// other dimensions as columns; the result has orthonormal columns when it
// has at least as many rows as columns and orthonormal rows otherwise, so
// a square matrix has all its singular values (and, being orthogonal, all
// its eigenvalues' moduli) equal to scale. It is the Q factor of gonum's QR
// decomposition of a Gaussian matrix, with the signs fixed so that the
// distribution is uniform (Haar) over orthogonal matrices.
func Orthogonal(scale float64) Init {
	return InitFunc(func(rng *rand.Rand, w *adjoint.Tensor, _, _ int) {
		if len(w.Shape) < 2 {
			panic(fmt.Sprintf("nn: Orthogonal needs a matrix, got shape %v", w.Shape))
		}
		rows := w.Shape[0]
		cols := w.Size() / max(rows, 1)
		if rows == 0 || cols == 0 {
			return
		}
		m, n := max(rows, cols), min(rows, cols)
		a := mat.NewDense(m, n, nil)
		for i := range m {
			for j := range n {
				a.Set(i, j, rng.NormFloat64())
			}
		}
		var qr mat.QR
		qr.Factorize(a)
		var q, r mat.Dense
		qr.QTo(&q)
		qr.RTo(&r)
		for i := range m {
			for j := range n {
				v := q.At(i, j) * scale
				if r.At(j, j) < 0 {
					v = -v
				}
				if rows >= cols {
					w.Data[i*cols+j] = v
				} else {
					w.Data[j*cols+i] = v
				}
			}
		}
	})
}

const (
	uniform = iota
	normal
)

func fill(rng *rand.Rand, w *adjoint.Tensor, dist int, s float64) {
	if rng == nil {
		panic("nn: initialiser needs a *rand.Rand (the package keeps no global random state)")
	}
	for i := range w.Data {
		if dist == uniform {
			w.Data[i] = s * (2*rng.Float64() - 1)
		} else {
			w.Data[i] = s * rng.NormFloat64()
		}
	}
}

// initWeight allocates a tensor of the given shape and fills it with init
// (GlorotUniform(1) when init is nil).
func initWeight(who string, rng *rand.Rand, init Init, fanIn, fanOut int, shape ...int) *adjoint.Tensor {
	if rng == nil {
		panic(fmt.Sprintf("nn: %s: nil *rand.Rand (the package keeps no global random state)", who))
	}
	if init == nil {
		init = GlorotUniform(1)
	}
	w := adjoint.New(shape...)
	init.Weights(rng, w, fanIn, fanOut)
	return w
}

// initBias allocates a bias of the given shape, drawn by init when it
// implements BiasInit and zero otherwise. Call it after initWeight, so that
// the weights are drawn first from rng, as PyTorch does.
func initBias(rng *rand.Rand, init Init, fanIn, fanOut int, shape ...int) *adjoint.Tensor {
	b := adjoint.New(shape...)
	if bi, ok := init.(BiasInit); ok {
		bi.Bias(rng, b, fanIn, fanOut)
	}
	return b
}
