package adjoint

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"
)

// benchTanhStep is x_{k+1} = tanh(W x_k + b) with θ = (W, b), W d×d
// row-major.
type benchTanhStep struct{ d int }

var _ Step = benchTanhStep{}

func (s benchTanhStep) Eval(next []float64, k int, x, theta []float64) {
	d := s.d
	w, b := theta[:d*d], theta[d*d:]
	for i := 0; i < d; i++ {
		next[i] = math.Tanh(b[i] + floats.Dot(w[i*d:(i+1)*d], x))
	}
}

func (s benchTanhStep) VJP(xbar, thetabar []float64, k int, x, theta, nextbar []float64) {
	d := s.d
	w, b := theta[:d*d], theta[d*d:]
	wbar, bbar := thetabar[:d*d], thetabar[d*d:]
	for i := 0; i < d; i++ {
		th := math.Tanh(b[i] + floats.Dot(w[i*d:(i+1)*d], x))
		g := nextbar[i] * (1 - th*th)
		floats.AddScaled(xbar, g, w[i*d:(i+1)*d])
		floats.AddScaled(wbar[i*d:(i+1)*d], g, x)
		bbar[i] += g
	}
}

// BenchmarkRecurrence differentiates ½‖x_n‖² through n = 10^4 steps of a
// 64-dimensional tanh recurrence under each checkpointing policy.
func BenchmarkRecurrence(b *testing.B) {
	const d, n = 64, 10000
	rnd := rand.New(rand.NewPCG(11, 12))
	theta := make([]float64, d*d+d)
	for i := range theta {
		theta[i] = 1.2 * rnd.NormFloat64() / math.Sqrt(d)
	}
	x0 := make([]float64, d)
	for i := range x0 {
		x0[i] = rnd.NormFloat64()
	}
	step := benchTanhStep{d}
	loss := engSumSq{0.5}
	for _, p := range []Policy{StoreAll(), Every(100), Binomial(10), Binomial(100)} {
		b.Run(p.String(), func(b *testing.B) {
			b.ReportAllocs()
			gx, gt := make([]float64, d), make([]float64, len(theta))
			var res RecurrenceResult
			for b.Loop() {
				var err error
				res, err = Recurrence(gx, gt, step, loss, x0, theta, n, p, nil)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(res.PeakStored), "stored-states")
			b.ReportMetric(float64(res.Evals), "step-evals")
		})
	}
}
