package main

import (
	"context"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/nn"
)

// tinyVAE returns a small VAE with random weights and a batch of random
// binary images for it.
func tinyVAE(seed uint64, pixels, hidden, latent, batch int) (*vaeNet, *adjoint.Tensor) {
	rng := mrand.New(mrand.NewPCG(seed, 7))
	v := newVAE(rng, pixels, hidden, latent, "tanh")
	x := adjoint.New(batch, pixels)
	for i := range x.Data {
		if rng.Float64() < 0.4 {
			x.Data[i] = 1
		}
	}
	return v, x
}

// TestVAEEstimatorsShareTheirMean computes the exact expectation over the
// noise of each estimator's gradient, for a model with one latent
// dimension and one image, by Gauss–Hermite quadrature: the
// score-function estimator, with and without its baseline, must have the
// reparameterised estimator's mean, and a double-counting estimator
// (pathwise and score function added) must not.
func TestVAEEstimatorsShareTheirMean(t *testing.T) {
	v, x := tinyVAE(1, 12, 6, 1, 1)
	ps := nn.Vars(v)
	const n = 80
	nodes, weights := make([]float64, n), make([]float64, n)
	quad.Hermite{}.FixedLocations(nodes, weights, math.Inf(-1), math.Inf(1))
	doubled := func(ps []*adjoint.Var, x, eps *adjoint.Tensor) *adjoint.Var {
		return adjoint.Sub(adjoint.Add(v.negELBO(ps, x, eps), v.scoreLoss(ps, x, eps)), v.klLoss(ps, x))
	}
	losses := []vaeLoss{v.negELBO, v.scoreLoss, v.scoreBaselineLoss, doubled}
	means := make([][]float64, len(losses))
	for i, l := range losses {
		for k, xk := range nodes {
			// ∫ g(ε) φ(ε) dε = Σ w_k g(√2 x_k) / √π.
			g := flatTensors(adjoint.Grad(l(ps, x, adjoint.FromData([]float64{math.Sqrt2 * xk}, 1, 1)), ps...))
			if means[i] == nil {
				means[i] = make([]float64, len(g))
			}
			floats.AddScaled(means[i], weights[k]/math.Sqrt(math.Pi), g)
		}
	}
	for i, name := range []string{"score function", "score function with baseline"} {
		if e := relErr(means[i+1], means[0]); e > 1e-9 {
			t.Errorf("%s: mean differs from the reparameterised mean by %.3g (relative)", name, e)
		}
	}
	if e := relErr(means[3], means[0]); e < 0.1 {
		t.Errorf("double-counting estimator: mean within %.3g of the reparameterised mean; the comparison cannot tell", e)
	}
	// The quadrature is converged: half the nodes give the same mean.
	if e := relErr(means[0], hermiteMean(t, v, x, n/2)); e > 1e-9 {
		t.Errorf("quadrature not converged: %d and %d nodes differ by %.3g", n, n/2, e)
	}
}

// hermiteMean returns the mean reparameterised gradient by an n-node
// Gauss–Hermite rule.
func hermiteMean(t *testing.T, v *vaeNet, x *adjoint.Tensor, n int) []float64 {
	t.Helper()
	ps := nn.Vars(v)
	nodes, weights := make([]float64, n), make([]float64, n)
	quad.Hermite{}.FixedLocations(nodes, weights, math.Inf(-1), math.Inf(1))
	var mean []float64
	for k, xk := range nodes {
		g := flatTensors(adjoint.Grad(v.negELBO(ps, x, adjoint.FromData([]float64{math.Sqrt2 * xk}, 1, 1)), ps...))
		if mean == nil {
			mean = make([]float64, len(g))
		}
		floats.AddScaled(mean, weights[k]/math.Sqrt(math.Pi), g)
	}
	return mean
}

// TestVAEGroups checks that the groups partition the parameters, and that
// the mean and log-variance groups hold the output columns that make the
// mean and the log-variance: a loss of the means alone has an output-layer
// gradient only in the mean group.
func TestVAEGroups(t *testing.T) {
	v, x := tinyVAE(2, 10, 5, 3, 4)
	groups := v.groups()
	ps := nn.Vars(v)
	total := nn.NumElements(v.Params())
	seen := make([]int, total)
	for _, g := range groups {
		for _, i := range g.idx {
			seen[i]++
		}
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("coordinate %d is in %d groups", i, n)
		}
	}
	for _, c := range []struct {
		name  string
		in    int // the group that must have a gradient
		other int // the output group that must not
		loss  func(mean, logVar *adjoint.Var) *adjoint.Var
	}{
		{"mean", 1, 2, func(mean, _ *adjoint.Var) *adjoint.Var { return adjoint.Sum(adjoint.Square(mean)) }},
		{"log-variance", 2, 1, func(_, logVar *adjoint.Var) *adjoint.Var { return adjoint.Sum(adjoint.Exp(logVar)) }},
	} {
		mean, logVar := v.encode(ps, adjoint.Const(x))
		g := flatTensors(adjoint.Grad(c.loss(mean, logVar), ps...))
		norm := func(gi int) float64 {
			s := 0.0
			for _, i := range groups[gi].idx {
				s += g[i] * g[i]
			}
			return s
		}
		if norm(c.in) == 0 || norm(c.other) != 0 || norm(3) != 0 {
			t.Errorf("a loss of the %s: squared gradient %v in its group, %v in the other output group, %v in the decoder",
				c.name, norm(c.in), norm(c.other), norm(3))
		}
	}
}

// TestVAEUnbiasednessCanFail runs the variance study with a wrong
// estimator in the place of the score function with baseline (the
// double-counting one, whose mean is about twice the gradient): its
// unbiasedness statistic must exceed the default tolerance, while the
// right one stays within it.
func TestVAEUnbiasednessCanFail(t *testing.T) {
	v, x := tinyVAE(3, 16, 8, 2, 4)
	doubled := func(ps []*adjoint.Var, x, eps *adjoint.Tensor) *adjoint.Var {
		return adjoint.Sub(adjoint.Add(v.negELBO(ps, x, eps), v.scoreBaselineLoss(ps, x, eps)), v.klLoss(ps, x))
	}
	tol := float64(defaultVAEConfig().UnbiasedZ)
	for _, c := range []struct {
		name  string
		loss  vaeLoss
		wrong bool
	}{{"score function with baseline", v.scoreBaselineLoss, false}, {"double counting", doubled, true}} {
		s, err := studyVariance(context.Background(), v, x, 400, [numEstimators]vaeLoss{v.negELBO, v.scoreLoss, c.loss}, v.klLoss, mrand.New(mrand.NewPCG(4, 4)), nil)
		if err != nil {
			t.Fatal(err)
		}
		u := unbiasedness([]*varianceStudy{s})
		if c.wrong != (u.maxZ > tol) {
			t.Errorf("%s: largest |z| %.2f against the tolerance %v (power %.1f to %.1f)", c.name, u.maxZ, tol, u.minPower, u.maxPower)
		}
	}
}

// TestVAEImportanceBoundExact checks the importance-weighted bound
// against its definition computed here with distuv's densities, for an
// encoder whose output is a fixed Gaussian (output weights zero, biases
// set) and a decoder that ignores z (first weights zero): then log p(x|z)
// = log p(x) is known in closed form, and the samples z_j are replayed
// from the same random stream. The encoder at the prior gives weights of
// exactly p(x), so a bound of log p(x) for any k and a zero divergence.
func TestVAEImportanceBoundExact(t *testing.T) {
	const pixels, latent = 9, 2
	v, x := tinyVAE(5, pixels, 4, latent, 3)
	ps := v.Params()
	param := func(name string) []float64 {
		p, ok := nn.Find(ps, name)
		if !ok {
			t.Fatalf("no parameter %s", name)
		}
		return p.Value().Data
	}
	clear(param("encoder.layer2.weight"))
	clear(param("decoder.layer0.weight"))
	// log p(x) under the decoder's constant logits.
	h, w, bias := param("decoder.layer0.bias"), param("decoder.layer2.weight"), param("decoder.layer2.bias")
	logPX := make([]float64, 3)
	for j := range pixels {
		l := bias[j]
		for k := range h {
			l += math.Tanh(h[k]) * w[k*pixels+j]
		}
		for b := range 3 {
			// log σ(l) = −log(1 + e^{−l}), log(1 − σ(l)) = −log(1 + e^{l}).
			if x.Data[b*pixels+j] == 1 {
				logPX[b] -= math.Log1p(math.Exp(-l))
			} else {
				logPX[b] -= math.Log1p(math.Exp(l))
			}
		}
	}
	for _, c := range []struct {
		name         string
		mean, logVar []float64
	}{{"prior", []float64{0, 0}, []float64{0, 0}}, {"shifted", []float64{0.7, -1.2}, []float64{-0.5, 0.8}}} {
		copy(param("encoder.layer2.bias"), append(slices.Clone(c.mean), c.logVar...))
		for _, k := range []int{1, 5} {
			got := v.importanceBound(x, k, mrand.New(mrand.NewPCG(1, 1)))
			replay := mrand.New(mrand.NewPCG(1, 1))
			for b := range 3 {
				logw := make([]float64, k)
				for j := range k {
					for d := range latent {
						q := distuv.Normal{Mu: c.mean[d], Sigma: math.Exp(c.logVar[d] / 2)}
						z := q.Mu + q.Sigma*replay.NormFloat64()
						logw[j] += distuv.UnitNormal.LogProb(z) - q.LogProb(z)
					}
				}
				want := logPX[b] + floats.LogSumExp(logw) - math.Log(float64(k))
				if math.Abs(got[b]-want) > 1e-12*math.Abs(want) {
					t.Errorf("%s, k = %d, image %d: bound %v, want %v", c.name, k, b, got[b], want)
				}
				if c.name == "prior" && math.Abs(got[b]-logPX[b]) > 1e-12*math.Abs(logPX[b]) {
					t.Errorf("prior, k = %d, image %d: bound %v, want log p(x) = %v", k, b, got[b], logPX[b])
				}
			}
		}
	}
	copy(param("encoder.layer2.bias"), make([]float64, 2*latent))
	e := v.evaluate(x, normals(mrand.New(mrand.NewPCG(2, 2)), 3, latent))
	for b, kl := range e.kl {
		if kl != 0 {
			t.Errorf("image %d: KL %v with the encoder at the prior", b, kl)
		}
	}
}

// TestVAEManifoldGrid checks the latent grid: column j at z₁ = Φ⁻¹((j +
// ½)/n), z₂ growing upwards, symmetric about zero.
func TestVAEManifoldGrid(t *testing.T) {
	v, _ := tinyVAE(6, 4, 3, 2, 1)
	ims, z := vaeManifold(v, 4)
	if len(ims) != 16 || len(z) != 4 {
		t.Fatalf("%d images, %d coordinates", len(ims), len(z))
	}
	// Φ⁻¹(1/8) and Φ⁻¹(3/8), from tables.
	want := []float64{-1.1503493803760079, -0.31863936396437515, 0.31863936396437515, 1.1503493803760079}
	for i := range z {
		if math.Abs(z[i]-want[i]) > 1e-12 {
			t.Errorf("coordinate %d: %v, want %v", i, z[i], want[i])
		}
	}
	// The image at row 0, column 3 is the decoder's mean at (z₃, z₃): the
	// top right corner is the largest z₁ and z₂.
	top := v.decoderMeans(adjoint.FromData([]float64{want[3], want[3]}, 1, 2))[0]
	if !slices.Equal(ims[3], top) {
		t.Errorf("top right image %v, want the decoder mean at (%v, %v): %v", ims[3], want[3], want[3], top)
	}
}

// TestVAEConfigErrors checks the keys whose validity depends on more than
// a range.
func TestVAEConfigErrors(t *testing.T) {
	for _, c := range []struct {
		change func(c *vaeConfig)
		want   string
	}{
		{func(c *vaeConfig) { c.Latents = []int{20, 2} }, "latents: must increase"},
		{func(c *vaeConfig) { c.Latents = nil }, "latents: must list 1 to 4"},
		{func(c *vaeConfig) { c.VarPoints = []float64{0.5, 0.5} }, "var_points: must increase"},
		{func(c *vaeConfig) { c.VarPoints = []float64{1.5} }, "var_points: entry 0 must be between 0 and 1"},
		{func(c *vaeConfig) { c.IWSamples = 1 }, "iw_samples: must be 0 (no bound) or between 2 and 5000"},
		{func(c *vaeConfig) { c.OutcomeCheck = "maybe" }, "outcome_check"},
	} {
		cfg := defaultVAEConfig()
		c.change(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one mentioning %q", err, c.want)
		}
	}
	if err := defaultVAEConfig().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// TestVAEReportFollowsTheNumbers spoils a small run's numbers and reads
// the sentences and checks that must follow them.
func TestVAEReportFollowsTheNumbers(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two small VAEs")
	}
	c := defaultVAEConfig()
	c.TrainSize, c.Hidden, c.Epochs, c.CurvePoints, c.CurveImages, c.TestImages = 300, 16, 1, 3, 50, 200
	c.IWImages, c.IWSamples, c.VarDraws, c.VarBatch, c.Samples, c.ManifoldSide = 10, 5, 40, 4, 10, 4
	c.VarPoints = []float64{0, 1}
	res, err := computeVAE(&runner.Env{Seed: 1}, c)
	if err != nil {
		t.Fatal(err)
	}
	text := func(c vaeConfig) (string, *runner.Report) {
		rep := &runner.Report{}
		vaeReport(rep, c, res)
		return rep.Text(), rep
	}
	c.MaxTestNELBO = runner.Tol(res.runs[1].final.negELBO() - 1)
	s, rep := text(c)
	if !strings.Contains(s, "larger than the bound") || rep.Passed() {
		t.Error("a test −ELBO above max_test_nelbo is not reported as larger, or the check passes")
	}
	c.MaxTestNELBO = runner.Tol(res.runs[1].final.negELBO() + 1)
	if s, _ = text(c); !strings.Contains(s, "smaller than the bound") {
		t.Error("a test −ELBO below max_test_nelbo is not reported as smaller")
	}
	// A study where the score function's variance is the smaller.
	end := res.studies[len(res.studies)-1]
	saved := end.trace[estScore][0]
	end.trace[estScore][0] = end.trace[estPathwise][0] / 2
	if s, _ = text(c); !strings.Contains(s, "At some point the score-function estimator's variance is not larger") {
		t.Error("a variance ratio below 1 is not reported")
	}
	end.trace[estScore][0] = saved
	// A biased estimator fails the check.
	end.z[estBaseline][0][1] = 2 * float64(c.UnbiasedZ)
	if _, rep = text(c); rep.Passed() {
		t.Error("an unbiasedness statistic above the tolerance passes")
	}
}
