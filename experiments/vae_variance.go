package main

import (
	"context"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"time"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn"
)

// This file measures why backpropagating through the sample matters: the
// variance of the reparameterised (pathwise) gradient of −ELBO against
// that of the score-function (REINFORCE) gradient of the same −ELBO, per
// group of parameters, over the noise ε alone (the images and their
// binarisation fixed), and checks that the score-function estimator is
// unbiased: its mean agrees with the pathwise one's within standard
// errors.

// Gradient estimators, in the order of varianceStudy's arrays: the
// reparameterised (pathwise) one, the score-function one, and the
// score-function one with a baseline (vaeNet.scoreBaselineLoss).
const (
	estPathwise = iota
	estScore
	estBaseline
	numEstimators
)

// estimatorNames name the estimators in reports and figures.
var estimatorNames = [numEstimators]string{"reparameterised", "score function", "score function with baseline"}

// vaeLoss is a loss whose gradient with respect to ps is one estimate of
// the gradient of −ELBO on the images x at noise eps [B, latent]:
// vaeNet.negELBO (pathwise) or vaeNet.scoreLoss (score function).
type vaeLoss func(ps []*adjoint.Var, x, eps *adjoint.Tensor) *adjoint.Var

// vaeGroup is a group of parameters whose gradient variance is reported:
// coordinates of the flattened gradient (parameters in nn.Params order).
type vaeGroup struct {
	name    string
	idx     []int
	encoder bool // the score-function estimate differs from the pathwise one here
}

// groups returns the parameter groups of v: the encoder's hidden layer,
// the columns of its output layer that give the mean and those that give
// the log-variance, and the whole decoder.
func (v *vaeNet) groups() []vaeGroup {
	ps := v.Params()
	off := make([]int, len(ps)+1)
	for i, p := range ps {
		off[i+1] = off[i] + p.Value().Size()
	}
	span := func(from, to int) []int {
		var idx []int
		for i := off[from]; i < off[to]; i++ {
			idx = append(idx, i)
		}
		return idx
	}
	// Encoder parameters: layer0.weight, layer0.bias, layer2.weight
	// [hidden, 2·latent] (row-major), layer2.bias [2·latent]; the first
	// latent columns give the mean.
	hidden := ps[1].Value().Size()
	var mean, logVar []int
	for r := range hidden + 1 { // the weight's rows, then the bias
		for c := range 2 * v.latent {
			i := off[2] + r*2*v.latent + c
			if r == hidden {
				i = off[3] + c
			}
			if c < v.latent {
				mean = append(mean, i)
			} else {
				logVar = append(logVar, i)
			}
		}
	}
	return []vaeGroup{
		{name: "encoder hidden layer", idx: span(0, 2), encoder: true},
		{name: "encoder mean outputs", idx: mean, encoder: true},
		{name: "encoder log-variance outputs", idx: logVar, encoder: true},
		{name: "decoder", idx: span(v.nEnc, len(ps))},
	}
}

// varianceStudy is the comparison at one point of training.
type varianceStudy struct {
	step     int     // training steps taken
	fraction float64 // of all training steps
	draws    int     // noise draws, each one gradient per estimator
	// trace is the variance of each group's gradient estimate: the trace
	// of its covariance, Σ_i Var(g_i), [estimator][group]; half holds the
	// same from the first and the second half of the draws alone.
	trace  [numEstimators][]float64
	half   [numEstimators][][2]float64
	meanSq [numEstimators][]float64 // ‖mean gradient‖² per group
	// The unbiasedness statistics, [group][direction], for two
	// directions u per encoder group (a random one and the gradient at
	// ε = 0); NaN for the decoder. z[e] is the mean of u·(g_e −
	// g_pathwise) over the draws in units of its standard error, for the
	// score-function estimators e; power[e] is the mean of u·g_pathwise
	// in the same units (how many standard errors a bias as large as the
	// gradient itself would be); zNoKL is z[estBaseline] for a wrong
	// estimator that leaves out the divergence's gradient.
	z, power [numEstimators][][2]float64
	zNoKL    [][2]float64
	// decoderDiff is the largest |g_e − g_pathwise| over the decoder's
	// coordinates, the score-function estimators e and all draws,
	// relative to the largest |g_pathwise| there.
	decoderDiff float64
	seconds     float64
}

// ratio returns the variance ratio of estimator e to the pathwise one
// for group g.
func (s *varianceStudy) ratio(e, g int) float64 { return s.trace[e][g] / s.trace[estPathwise][g] }

// halfRatios returns that ratio from each half of the draws.
func (s *varianceStudy) halfRatios(e, g int) [2]float64 {
	return [2]float64{s.half[e][g][0] / s.half[estPathwise][g][0], s.half[e][g][1] / s.half[estPathwise][g][1]}
}

// studyVariance estimates, for the images x, the variance over the noise
// of each estimator's gradient (losses, in the order estPathwise,
// estScore, estBaseline) from draws draws of ε, each used by all of them
// (common random numbers, so their differences have small variances
// where they agree), and the unbiasedness statistics; kl is the
// divergence term alone, whose gradient the wrong estimator of zNoKL
// leaves out. rng draws the noise and the random directions. It stops
// with ctx's error when the run is cancelled, and returns an error if a
// gradient is not finite.
func studyVariance(ctx context.Context, v *vaeNet, x *adjoint.Tensor, draws int, losses [numEstimators]vaeLoss, kl func(ps []*adjoint.Var, x *adjoint.Tensor) *adjoint.Var, rng *mrand.Rand, progress func(done int)) (*varianceStudy, error) {
	t0 := time.Now()
	ps := nn.Vars(v)
	flatGrad := func(l *adjoint.Var) []float64 { return flatTensors(adjoint.Grad(l, ps...)) }
	batch := x.Shape[0]
	groups := v.groups()
	s := &varianceStudy{draws: draws}

	// Directions of the unbiasedness test, per encoder group: a random
	// one and the gradient at ε = 0 (both fixed before the draws).
	g0 := flatGrad(losses[estPathwise](ps, x, adjoint.New(batch, v.latent)))
	gKL := flatGrad(kl(ps, x))
	P := len(g0)
	dirs := make([][2][]float64, len(groups))
	klProj := make([][2]float64, len(groups))
	for gi, g := range groups {
		if !g.encoder {
			continue
		}
		r, d := make([]float64, len(g.idx)), make([]float64, len(g.idx))
		for k, i := range g.idx {
			r[k], d[k] = rng.NormFloat64(), g0[i]
		}
		for di, u := range [][]float64{r, d} {
			if n := floats.Norm(u, 2); n > 0 {
				floats.Scale(1/n, u)
			}
			for k, i := range g.idx {
				klProj[gi][di] += u[k] * gKL[i]
			}
		}
		dirs[gi] = [2][]float64{r, d}
	}

	// Per-coordinate sums of the draws, shifted by the first draw (which
	// keeps the sums of squares from cancelling), for each half.
	var shift [numEstimators][]float64
	var sum, sq [numEstimators][2][]float64
	for e := range numEstimators {
		for h := range 2 {
			sum[e][h], sq[e][h] = make([]float64, P), make([]float64, P)
		}
	}
	proj := make([][2][numEstimators][]float64, len(groups)) // [group][dir][estimator][draw]
	decIdx := groups[len(groups)-1].idx
	var decDiff, decMax float64
	for m := range draws {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		eps := normals(rng, batch, v.latent)
		var g [numEstimators][]float64
		for e := range numEstimators {
			g[e] = flatGrad(losses[e](ps, x, eps))
			for i, val := range g[e] {
				if math.IsNaN(val) || math.IsInf(val, 0) {
					return nil, fmt.Errorf("the %s gradient of draw %d is not finite (coordinate %d is %v)", estimatorNames[e], m, i, val)
				}
			}
			if m == 0 {
				shift[e] = g[e]
			}
			h := min(1, 2*m/draws)
			su, sqh := sum[e][h], sq[e][h]
			for i, val := range g[e] {
				d := val - shift[e][i]
				su[i] += d
				sqh[i] += d * d
			}
		}
		for gi, ds := range dirs {
			if ds[0] == nil {
				continue
			}
			for di, u := range ds {
				for e := range numEstimators {
					p := 0.0
					for k, i := range groups[gi].idx {
						p += u[k] * g[e][i]
					}
					proj[gi][di][e] = append(proj[gi][di][e], p)
				}
			}
		}
		for _, i := range decIdx {
			decDiff = math.Max(decDiff, math.Max(math.Abs(g[estScore][i]-g[estPathwise][i]), math.Abs(g[estBaseline][i]-g[estPathwise][i])))
			decMax = math.Max(decMax, math.Abs(g[estPathwise][i]))
		}
		if progress != nil {
			progress(m + 1)
		}
	}
	s.decoderDiff = decDiff / decMax

	n := [2]float64{float64(draws / 2), float64(draws - draws/2)}
	for e := range numEstimators {
		s.trace[e] = make([]float64, len(groups))
		s.half[e] = make([][2]float64, len(groups))
		s.meanSq[e] = make([]float64, len(groups))
		for gi, g := range groups {
			var tr, ms float64
			var th [2]float64
			for _, i := range g.idx {
				s1 := sum[e][0][i] + sum[e][1][i]
				s2 := sq[e][0][i] + sq[e][1][i]
				tr += (s2 - s1*s1/float64(draws)) / float64(draws-1)
				mean := shift[e][i] + s1/float64(draws)
				ms += mean * mean
				for h := range 2 {
					th[h] += (sq[e][h][i] - sum[e][h][i]*sum[e][h][i]/n[h]) / (n[h] - 1)
				}
			}
			s.trace[e][gi], s.half[e][gi], s.meanSq[e][gi] = tr, th, ms
		}
	}
	nan := [2]float64{math.NaN(), math.NaN()}
	for _, e := range []int{estScore, estBaseline} {
		s.z[e] = make([][2]float64, len(groups))
		s.power[e] = make([][2]float64, len(groups))
	}
	s.zNoKL = make([][2]float64, len(groups))
	for gi := range groups {
		if dirs[gi][0] == nil {
			for _, e := range []int{estScore, estBaseline} {
				s.z[e][gi], s.power[e][gi] = nan, nan
			}
			s.zNoKL[gi] = nan
			continue
		}
		for di := range 2 {
			p := proj[gi][di]
			var se float64
			for _, e := range []int{estScore, estBaseline} {
				s.z[e][gi][di], s.power[e][gi][di], se = pairedZ(p[e], p[estPathwise])
			}
			// Leaving out ∇KL shifts every draw of the baseline estimator
			// by −u·∇KL.
			s.zNoKL[gi][di] = s.z[estBaseline][gi][di] - klProj[gi][di]/se
		}
	}
	s.seconds = time.Since(t0).Seconds()
	return s, nil
}

// pairedZ returns the mean of a − b over paired draws in units of its
// standard error se = sd(a − b)/√n, the mean of b in the same units, and
// se.
func pairedZ(a, b []float64) (z, power, se float64) {
	d := make([]float64, len(a))
	floats.SubTo(d, a, b)
	mean, sd := stat.MeanStdDev(d, nil)
	se = sd / math.Sqrt(float64(len(d)))
	return mean / se, stat.Mean(b, nil) / se, se
}
