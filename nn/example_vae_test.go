package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn"
)

// A variational autoencoder is two ordinary models and a loss: the
// encoder gives a mean and a log-variance per latent dimension, the
// sample z = mean + exp(½·logVar)·ε carries the gradient back to the
// encoder, and the negative evidence lower bound is the decoder's
// Bernoulli negative log-likelihood plus the closed-form divergence.
func ExampleReparameterize() {
	rng := rand.New(rand.NewPCG(1, 2))
	const pixels, hidden, latent = 16, 8, 2
	enc := nn.NewSequential([]int{pixels}, nn.NewLinear(rng, pixels, hidden, nil), nn.Tanh(), nn.NewLinear(rng, hidden, 2*latent, nil))
	dec := nn.NewSequential([]int{latent}, nn.NewLinear(rng, latent, hidden, nil), nn.Tanh(), nn.NewLinear(rng, hidden, pixels, nil))

	x := adjoint.New(3, pixels) // three binary images
	for i := range x.Data {
		x.Data[i] = float64(i % 2)
	}
	eps := adjoint.New(3, latent) // the noise, drawn by the caller
	for i := range eps.Data {
		eps.Data[i] = rng.NormFloat64()
	}
	h := nn.Forward(enc, adjoint.Const(x))
	mean, logVar := adjoint.Slice(h, 1, 0, latent), adjoint.Slice(h, 1, latent, 2*latent)
	z := nn.Reparameterize(mean, logVar, eps)
	nll := nn.BCEWithLogitsLoss(nn.Forward(dec, z), adjoint.Const(x), &nn.BCEWithLogitsSettings{Reduction: nn.ReduceSum})
	negELBO := adjoint.Add(adjoint.Scale(nll, 1.0/3), nn.GaussianKL(mean, logVar, nn.ReduceBatchMean))

	grads := adjoint.Grad(negELBO, nn.Vars(enc)...)
	fmt.Printf("−ELBO %.3f nats per image\n", negELBO.Item())
	fmt.Printf("encoder gradient: %d tensors, first shape %v\n", len(grads), grads[0].Shape)
	// Output:
	// −ELBO 11.670 nats per image
	// encoder gradient: 4 tensors, first shape [16 8]
}
