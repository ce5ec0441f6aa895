package main

import (
	"fmt"
	"math"
	mrand "math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn"
)

// vaeNet is a variational autoencoder of two MLPs with one hidden layer
// each, Kingma and Welling's architecture class: the encoder maps an
// image's pixels to the mean and log-variance of a diagonal Gaussian
// q(z|x) over the latent, the decoder maps a latent z to the logits of
// independent Bernoulli pixels p(x|z). It is an ordinary nn.Layer (for
// nn.Trainer): Params lists the encoder's parameters and then the
// decoder's, and Apply returns the decoder's logits at the posterior mean,
// the deterministic reconstruction.
type vaeNet struct {
	enc, dec *nn.Sequential
	pixels   int
	latent   int
	nEnc     int // number of encoder parameters
	params   []nn.Param
}

var _ nn.Layer = (*vaeNet)(nil)

// newVAE returns a VAE for images of pixels values with a hidden layer of
// hidden units of the activation act ("tanh" or "relu") in encoder and
// decoder, weights drawn from rng (Glorot-uniform, zero biases).
func newVAE(rng *mrand.Rand, pixels, hidden, latent int, act string) *vaeNet {
	a, _ := activation(act)
	v := &vaeNet{
		enc:    nn.NewSequential([]int{pixels}, nn.NewLinear(rng, pixels, hidden, nil), a, nn.NewLinear(rng, hidden, 2*latent, nil)),
		dec:    nn.NewSequential([]int{latent}, nn.NewLinear(rng, latent, hidden, nil), a, nn.NewLinear(rng, hidden, pixels, nil)),
		pixels: pixels, latent: latent,
	}
	for _, p := range v.enc.Params() {
		v.params = append(v.params, nn.Param{Name: "encoder." + p.Name, Var: p.Var})
	}
	v.nEnc = len(v.params)
	for _, p := range v.dec.Params() {
		v.params = append(v.params, nn.Param{Name: "decoder." + p.Name, Var: p.Var})
	}
	return v
}

// Params returns the encoder's parameters ("encoder.layer0.weight", …)
// and then the decoder's.
func (v *vaeNet) Params() []nn.Param { return slices.Clone(v.params) }

// OutShape maps an image to its reconstruction's logits.
func (v *vaeNet) OutShape(in []int) ([]int, error) {
	if len(in) != 1 || in[0] != v.pixels {
		return nil, fmt.Errorf("input %v, want [%d]", in, v.pixels)
	}
	return []int{v.pixels}, nil
}

// Apply returns the decoder's logits at the posterior mean of each image.
func (v *vaeNet) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	mean, _ := v.encode(ps, x)
	return v.decode(ps, mean)
}

// encode returns the posterior's mean and log-variance, [B, latent] each.
func (v *vaeNet) encode(ps []*adjoint.Var, x *adjoint.Var) (mean, logVar *adjoint.Var) {
	h := v.enc.Apply(ps[:v.nEnc], x)
	return adjoint.Slice(h, 1, 0, v.latent), adjoint.Slice(h, 1, v.latent, 2*v.latent)
}

// decode returns the pixel logits of latents z.
func (v *vaeNet) decode(ps []*adjoint.Var, z *adjoint.Var) *adjoint.Var {
	return v.dec.Apply(ps[v.nEnc:], z)
}

// logLik returns log p(x_b|z_b) per image, [B]: the Bernoulli
// log-likelihood of binary pixels x under the logits, summed over pixels.
func logLik(logits *adjoint.Var, x *adjoint.Tensor) *adjoint.Var {
	bce := nn.BCEWithLogitsLoss(logits, adjoint.Const(x), &nn.BCEWithLogitsSettings{Reduction: nn.ReduceNone})
	return adjoint.Neg(adjoint.SumAxis(bce, 1, false))
}

// negELBO returns −ELBO averaged over the images x [B, pixels], with the
// expectation estimated at one sample z_b = mean_b + σ_b·eps_b per image
// and the divergence in closed form (Kingma and Welling's second
// estimator). Its gradient is the reparameterised (pathwise) gradient
// estimate: the sample is a differentiable function of the encoder's
// output, so the gradient flows back through it.
func (v *vaeNet) negELBO(ps []*adjoint.Var, x, eps *adjoint.Tensor) *adjoint.Var {
	mean, logVar := v.encode(ps, adjoint.Const(x))
	z := nn.Reparameterize(mean, logVar, eps)
	return adjoint.Add(adjoint.Neg(adjoint.Mean(logLik(v.decode(ps, z), x))), nn.GaussianKL(mean, logVar, nn.ReduceBatchMean))
}

// klLoss returns the divergence term of −ELBO alone, averaged over the
// images x.
func (v *vaeNet) klLoss(ps []*adjoint.Var, x *adjoint.Tensor) *adjoint.Var {
	mean, logVar := v.encode(ps, adjoint.Const(x))
	return nn.GaussianKL(mean, logVar, nn.ReduceBatchMean)
}

// scoreSurrogate returns the function whose gradient at the point where
// z and w were computed is the score-function (REINFORCE) estimate of the
// gradient of −ELBO: with the samples z_b held constant and w_b = log
// p(x_b|z_b) their log-likelihoods, as constants,
//
//	S = −mean_b(w_b·log q(z_b|x_b) + log p(x_b|z_b)) + mean_b KL_b.
//
// For the encoder's parameters φ its gradient is −mean_b(w_b·∇_φ log
// q(z_b|x_b)) + ∇_φ KL, the score-function estimate of ∇_φ(−ELBO): no
// gradient passes through the sample. For the decoder's parameters θ it
// is −mean_b ∇_θ log p(x_b|z_b), which is the pathwise gradient, because
// θ does not shape the distribution sampled from.
func (v *vaeNet) scoreSurrogate(ps []*adjoint.Var, x, z, w *adjoint.Tensor) *adjoint.Var {
	mean, logVar := v.encode(ps, adjoint.Const(x))
	zc := adjoint.Const(z)
	logq := adjoint.SumAxis(nn.GaussianLogDensity(zc, mean, logVar, nn.ReduceNone), 1, false)
	weighted := adjoint.Add(adjoint.Mul(adjoint.Const(w), logq), logLik(v.decode(ps, zc), x))
	return adjoint.Add(adjoint.Neg(adjoint.Mean(weighted)), nn.GaussianKL(mean, logVar, nn.ReduceBatchMean))
}

// scoreSample returns the samples z_b = mean_b + σ_b·eps_b and their
// log-likelihoods w_b at parameters ps, the constants of scoreSurrogate.
func (v *vaeNet) scoreSample(ps []*adjoint.Var, x, eps *adjoint.Tensor) (z, w *adjoint.Tensor) {
	cs := constants(ps)
	mean, logVar := v.encode(cs, adjoint.Const(x))
	zv := nn.Reparameterize(mean, logVar, eps)
	return zv.Value(), logLik(v.decode(cs, zv), x).Value()
}

// scoreLoss returns scoreSurrogate at the samples of eps: its gradient is
// the score-function estimate at noise eps.
func (v *vaeNet) scoreLoss(ps []*adjoint.Var, x, eps *adjoint.Tensor) *adjoint.Var {
	z, w := v.scoreSample(ps, x, eps)
	return v.scoreSurrogate(ps, x, z, w)
}

// scoreBaselineLoss is scoreLoss with the weights w_b − c_b in place of
// w_b, where the baseline c_b = log p(x_b|z = mean_b), the likelihood at
// the posterior mean, does not depend on the noise: since the score
// ∇ log q has mean zero, subtracting a constant from the weight leaves
// the estimator's mean as it is and removes most of its variance (the
// weights are hundreds of nats, their spread over the noise a few).
func (v *vaeNet) scoreBaselineLoss(ps []*adjoint.Var, x, eps *adjoint.Tensor) *adjoint.Var {
	z, w := v.scoreSample(ps, x, eps)
	cs := constants(ps)
	mean, _ := v.encode(cs, adjoint.Const(x))
	c := logLik(v.decode(cs, mean), x).Value()
	for b := range w.Data {
		w.Data[b] -= c.Data[b]
	}
	return v.scoreSurrogate(ps, x, z, w)
}

// constants returns the values of ps as constants, so that evaluating a
// model with them records no graph.
func constants(ps []*adjoint.Var) []*adjoint.Var {
	out := make([]*adjoint.Var, len(ps))
	for i, p := range ps {
		out[i] = adjoint.Detach(p)
	}
	return out
}

// vaeEval holds −ELBO's two terms per image.
type vaeEval struct {
	nll []float64 // −log p(x|z) at one sample per image, nats
	kl  []float64 // KL(q(z|x) ‖ N(0, I)), nats
}

// negELBO returns the mean −ELBO over the images.
func (e vaeEval) negELBO() float64 { return stat.Mean(e.nll, nil) + stat.Mean(e.kl, nil) }

// evaluate returns −ELBO's terms for every image of x [N, pixels] at one
// sample per image (noise eps [N, latent]), in chunks, recording no graph.
func (v *vaeNet) evaluate(x, eps *adjoint.Tensor) vaeEval {
	cs := constants(nn.Vars(v))
	var e vaeEval
	n, p := x.Shape[0], v.pixels
	for from := 0; from < n; from += 500 {
		to := min(from+500, n)
		xb := adjoint.FromData(x.Data[from*p:to*p], to-from, p)
		mean, logVar := v.encode(cs, adjoint.Const(xb))
		z := nn.Reparameterize(mean, logVar, adjoint.FromData(eps.Data[from*v.latent:to*v.latent], to-from, v.latent))
		for _, l := range logLik(v.decode(cs, z), xb).Value().Data {
			e.nll = append(e.nll, -l)
		}
		kl := adjoint.SumAxis(nn.GaussianKL(mean, logVar, nn.ReduceNone), 1, false)
		e.kl = append(e.kl, kl.Value().Data...)
	}
	return e
}

// importanceBound returns, per image of x, the importance-weighted bound
// of Burda et al. with k samples from q(z|x),
//
//	log p(x) ≥ log (1/k) Σ_j p(x|z_j) p(z_j) / q(z_j|x),
//
// which tightens the ELBO (k = 1) as k grows; rng draws the samples.
func (v *vaeNet) importanceBound(x *adjoint.Tensor, k int, rng *mrand.Rand) []float64 {
	cs := constants(nn.Vars(v))
	n, p, zd := x.Shape[0], v.pixels, v.latent
	chunk := max(1, 4000/k) // images per decoder batch of about 4000 samples
	out := make([]float64, 0, n)
	logw := make([]float64, k)
	for from := 0; from < n; from += chunk {
		to := min(from+chunk, n)
		xb := adjoint.FromData(x.Data[from*p:to*p], to-from, p)
		mean, logVar := v.encode(cs, adjoint.Const(xb))
		mu, lv := mean.Value().Data, logVar.Value().Data
		rows := (to - from) * k
		z := adjoint.New(rows, zd)
		xr := adjoint.New(rows, p)
		logRatio := make([]float64, rows) // log p(z) − log q(z|x)
		for b := range to - from {
			for j := range k {
				r := b*k + j
				copy(xr.Data[r*p:(r+1)*p], xb.Data[b*p:(b+1)*p])
				for d := range zd {
					e := rng.NormFloat64()
					zz := mu[b*zd+d] + math.Exp(lv[b*zd+d]/2)*e
					z.Data[r*zd+d] = zz
					// log N(z; 0, 1) − log N(z; μ, σ²) = −½z² + ½ε² + ½ log σ².
					logRatio[r] += -zz*zz/2 + e*e/2 + lv[b*zd+d]/2
				}
			}
		}
		ll := logLik(v.decode(cs, adjoint.Const(z)), xr).Value().Data
		for b := range to - from {
			for j := range k {
				logw[j] = ll[b*k+j] + logRatio[b*k+j]
			}
			out = append(out, floats.LogSumExp(logw)-math.Log(float64(k)))
		}
	}
	return out
}

// decoderMeans returns the decoder's pixel probabilities σ(logits) for
// each latent of z [N, latent], as one image per row.
func (v *vaeNet) decoderMeans(z *adjoint.Tensor) [][]float64 {
	cs := constants(nn.Vars(v))
	pr := adjoint.Sigmoid(v.decode(cs, adjoint.Const(z))).Value()
	out := make([][]float64, z.Shape[0])
	for i := range out {
		out[i] = slices.Clone(pr.Data[i*v.pixels : (i+1)*v.pixels])
	}
	return out
}

// reconstructions returns the decoder's pixel probabilities at the
// posterior mean of each image of x.
func (v *vaeNet) reconstructions(x *adjoint.Tensor) [][]float64 {
	cs := constants(nn.Vars(v))
	mean, _ := v.encode(cs, adjoint.Const(x))
	return v.decoderMeans(mean.Value())
}

// binarize replaces each pixel intensity p of x by 1 with probability p
// and 0 otherwise, drawing from rng: one dynamic binarisation.
func binarize(x *adjoint.Tensor, rng *mrand.Rand) {
	for i, p := range x.Data {
		if rng.Float64() < p {
			x.Data[i] = 1
		} else {
			x.Data[i] = 0
		}
	}
}

// normals returns a tensor of the given shape filled with standard normal
// draws from rng.
func normals(rng *mrand.Rand, shape ...int) *adjoint.Tensor {
	t := adjoint.New(shape...)
	for i := range t.Data {
		t.Data[i] = rng.NormFloat64()
	}
	return t
}

// stepRand returns the generator of training step k of the stream seed:
// a function of the two alone, so that a step's draws do not depend on
// what was drawn before it.
func stepRand(seed uint64, k int) *mrand.Rand { return mrand.New(mrand.NewPCG(seed, uint64(k))) }
