package nn

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/adjointkit/adjointkit/adjoint"
)

// TestGaussianValues checks the closed forms against references computed
// another way: the log-density against gonum's distuv.Normal, and the
// divergence against ∫ q (log q − log p) by Gauss–Legendre quadrature.
func TestGaussianValues(t *testing.T) {
	mean := adjoint.FromData([]float64{0, 1.5, -0.7, 2, 0.1, -3}, 2, 3)
	logVar := adjoint.FromData([]float64{0, -1, 0.8, -4, 2, 0.3}, 2, 3)
	x := adjoint.FromData([]float64{0.3, -2, 1, 2.01, 5, -3}, 2, 3)
	lp := GaussianLogDensity(adjoint.Const(x), adjoint.Const(mean), adjoint.Const(logVar), ReduceNone).Value().Data
	kl := GaussianKL(adjoint.Const(mean), adjoint.Const(logVar), ReduceNone).Value().Data
	p := distuv.UnitNormal
	for i := range x.Data {
		q := distuv.Normal{Mu: mean.Data[i], Sigma: math.Exp(logVar.Data[i] / 2)}
		if want := q.LogProb(x.Data[i]); math.Abs(lp[i]-want) > 1e-13*math.Max(1, math.Abs(want)) {
			t.Errorf("log-density %d: %v, want %v (distuv)", i, lp[i], want)
		}
		// The integrand is negligible beyond 12 standard deviations.
		lo, hi := q.Mu-12*q.Sigma, q.Mu+12*q.Sigma
		want := quad.Fixed(func(z float64) float64 {
			return q.Prob(z) * (q.LogProb(z) - p.LogProb(z))
		}, lo, hi, 400, quad.Legendre{}, 0)
		if math.Abs(kl[i]-want) > 1e-10*math.Max(1, math.Abs(want)) {
			t.Errorf("KL %d: %v, want %v (quadrature)", i, kl[i], want)
		}
	}
	// Reductions: the sum, and the sum over the batch of 2.
	sum := GaussianKL(adjoint.Const(mean), adjoint.Const(logVar), ReduceSum).Item()
	bm := GaussianKL(adjoint.Const(mean), adjoint.Const(logVar), ReduceBatchMean).Item()
	var s float64
	for _, v := range kl {
		s += v
	}
	if math.Abs(sum-s) > 1e-13*s || math.Abs(bm-s/2) > 1e-13*s {
		t.Errorf("sum %v, batch mean %v; want %v and %v", sum, bm, s, s/2)
	}
	if v := GaussianKL(adjoint.Const(adjoint.New(4)), adjoint.Const(adjoint.New(4)), ReduceSum).Item(); v != 0 {
		t.Errorf("KL of N(0, 1) from itself = %v", v)
	}
}

// TestReparameterize checks the sample and its derivatives by hand:
// ∂z/∂mean = 1 and ∂z/∂logVar = ½·exp(½·logVar)·eps.
func TestReparameterize(t *testing.T) {
	mean := adjoint.Param(adjoint.Vector(0.5, -1, 2))
	logVar := adjoint.Param(adjoint.Vector(0, 1, -2))
	eps := adjoint.Vector(1, -0.5, 2)
	z := Reparameterize(mean, logVar, eps)
	g := adjoint.Grad(adjoint.Sum(z), mean, logVar)
	for i := range eps.Data {
		sd := math.Exp(logVar.Value().Data[i] / 2)
		if want := mean.Value().Data[i] + sd*eps.Data[i]; math.Abs(z.Value().Data[i]-want) > 1e-15 {
			t.Errorf("z[%d] = %v, want %v", i, z.Value().Data[i], want)
		}
		if g[0].Data[i] != 1 {
			t.Errorf("∂z/∂mean[%d] = %v, want 1", i, g[0].Data[i])
		}
		if want := sd * eps.Data[i] / 2; math.Abs(g[1].Data[i]-want) > 1e-15 {
			t.Errorf("∂z/∂logVar[%d] = %v, want %v", i, g[1].Data[i], want)
		}
	}
}

// TestGaussianGradients checks first and second derivatives against
// central differences and forward mode.
func TestGaussianGradients(t *testing.T) {
	rng := newRNG(5)
	eps := randTensor(rng, 3, 4)
	cases := []struct {
		name string
		n    int
		f    func(v ...*adjoint.Var) *adjoint.Var
	}{
		{"kl", 2, func(v ...*adjoint.Var) *adjoint.Var { return GaussianKL(v[0], v[1], ReduceNone) }},
		{"kl_batchmean", 2, func(v ...*adjoint.Var) *adjoint.Var { return GaussianKL(v[0], v[1], ReduceBatchMean) }},
		{"log_density", 3, func(v ...*adjoint.Var) *adjoint.Var { return GaussianLogDensity(v[0], v[1], v[2], ReduceNone) }},
		{"log_density_sum", 3, func(v ...*adjoint.Var) *adjoint.Var { return GaussianLogDensity(v[0], v[1], v[2], ReduceSum) }},
		{"reparameterize", 2, func(v ...*adjoint.Var) *adjoint.Var { return Reparameterize(v[0], v[1], eps) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var xs []*adjoint.Tensor
			for range c.n {
				xs = append(xs, randTensor(rng, 3, 4))
			}
			r := adjoint.Check(c.f, xs, nil)
			if err := r.Err(fdTol, adTol); err != nil || !r.SecondOrder {
				t.Errorf("%v (second order %v)\n%v", err, r.SecondOrder, r)
			}
		})
	}
}

func TestGaussianMisuse(t *testing.T) {
	a := adjoint.Const(adjoint.New(2, 3))
	b := adjoint.Const(adjoint.New(3, 2))
	mustPanic(t, func() { GaussianKL(a, b, ReduceSum) }, "nn: GaussianKL", "[2 3]", "[3 2]")
	mustPanic(t, func() { GaussianLogDensity(a, a, b, ReduceSum) }, "nn: GaussianLogDensity")
	mustPanic(t, func() { Reparameterize(a, a, adjoint.New(6)) }, "nn: Reparameterize", "noise shape [6]")
}
