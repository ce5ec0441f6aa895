package nn

import (
	"fmt"
	"math"

	"github.com/adjointkit/adjointkit/adjoint"
)

// The pieces of a variational autoencoder that are not ordinary layers: a
// diagonal Gaussian's log-density, its divergence from the standard
// normal, and the reparameterised sample. An encoder is any model whose
// output holds a mean and a log-variance per latent dimension, a decoder
// any model of the latent; the evidence lower bound is
//
//	ELBO(x) = E_{z∼q(z|x)}[log p(x|z)] − KL(q(z|x) ‖ N(0, I)),
//
// whose first term is estimated by the decoder's log-likelihood at
// Reparameterize(mean, logVar, ε) with ε ∼ N(0, I), and whose second is
// GaussianKL in closed form.

// GaussianKL returns the Kullback–Leibler divergence of the diagonal
// Gaussian N(mean, exp(logVar)) from the standard normal, elementwise
//
//	ℓ = ½(mean² + exp(logVar) − 1 − logVar),
//
// so that ReduceSum over one sample's latent dimensions is KL(q‖N(0, I))
// and ReduceBatchMean the mean of that divergence over a batch (the
// leading dimension). Parameterising by the log-variance keeps the
// variance positive without constraints. mean and logVar must have the
// same shape.
func GaussianKL(mean, logVar *adjoint.Var, r Reduction) *adjoint.Var {
	checkSameShape("GaussianKL", mean, logVar)
	l := adjoint.Scale(adjoint.Sub(adjoint.Add(adjoint.Square(mean), adjoint.Exp(logVar)), adjoint.AddScalar(logVar, 1)), 0.5)
	return reduceBatch("GaussianKL", l, r)
}

// GaussianLogDensity returns the log-density of x under the diagonal
// Gaussian N(mean, exp(logVar)), elementwise
//
//	ℓ = −½(log 2π + logVar + (x − mean)²·exp(−logVar)),
//
// so that ReduceSum over one sample's dimensions is log q(x) and
// ReduceBatchMean its mean over a batch. With x held constant, its
// gradient with respect to mean and logVar is the score ∇ log q that the
// score-function (REINFORCE) gradient estimator weights. x, mean and
// logVar must have the same shape.
func GaussianLogDensity(x, mean, logVar *adjoint.Var, r Reduction) *adjoint.Var {
	checkSameShape("GaussianLogDensity", x, mean)
	checkSameShape("GaussianLogDensity", mean, logVar)
	sq := adjoint.Mul(adjoint.Square(adjoint.Sub(x, mean)), adjoint.Exp(adjoint.Neg(logVar)))
	l := adjoint.Scale(adjoint.AddScalar(adjoint.Add(logVar, sq), math.Log(2*math.Pi)), -0.5)
	return reduceBatch("GaussianLogDensity", l, r)
}

// Reparameterize returns the sample z = mean + exp(½·logVar)·eps of
// N(mean, exp(logVar)) for standard normal noise eps: a differentiable
// function of mean and logVar, so that the gradient of an expectation
// over z can flow back through the sample to the parameters that made
// mean and logVar (the reparameterisation, or pathwise, gradient). eps
// must have the shape of mean and logVar; the caller draws it, so a
// fixed eps gives a deterministic function for checking gradients.
func Reparameterize(mean, logVar *adjoint.Var, eps *adjoint.Tensor) *adjoint.Var {
	checkSameShape("Reparameterize", mean, logVar)
	if !adjoint.SameShape(mean.Value(), eps) {
		panic(fmt.Sprintf("nn: Reparameterize: mean shape %v, noise shape %v", mean.Shape(), eps.Shape))
	}
	return adjoint.Add(mean, adjoint.Mul(adjoint.Exp(adjoint.Scale(logVar, 0.5)), adjoint.Const(eps)))
}

// reduceBatch applies r to the elementwise terms l, including
// ReduceBatchMean: the sum divided by the leading dimension.
func reduceBatch(who string, l *adjoint.Var, r Reduction) *adjoint.Var {
	if r != ReduceBatchMean {
		return reduce(who, l, r)
	}
	if len(l.Shape()) == 0 {
		return adjoint.Sum(l)
	}
	return adjoint.Scale(adjoint.Sum(l), 1/float64(l.Shape()[0]))
}
