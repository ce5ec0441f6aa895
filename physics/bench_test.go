package physics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/adjointkit/adjointkit/ode"
)

// chainGradientProblem returns a spring chain of n masses with a data-misfit
// cost on its positions at 10 times over [0, 2].
func chainGradientProblem(b *testing.B, n int) (ode.Problem, ode.Cost) {
	chain, err := NewSpringChain(n, 1, 0.05)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	k := make([]float64, n)
	y0 := make([]float64, 2*n)
	for i := range k {
		k[i] = 1 + 0.5*rng.Float64()
		y0[i] = 0.3 * rng.NormFloat64()
	}
	prob, err := NewProblem(chain, y0, k, 0, 2)
	if err != nil {
		b.Fatal(err)
	}
	times := linspace(0.2, 2, 10)
	data := make([][]float64, len(times))
	for i := range data {
		data[i] = make([]float64, 2*n)
	}
	e := &Estimation{Problem: prob, Times: times, Data: data, Params: []int{0}}
	return prob, e.Cost()
}

// BenchmarkSpringChainGradient times dG/dk (N stiffnesses) of a spring chain
// by the interpolating adjoint and by forward sensitivities, for N = 100
// and 1000. The adjoint costs about one extra solve whatever N; forward
// sensitivities integrate N+2N directions.
func BenchmarkSpringChainGradient(b *testing.B) {
	for _, n := range []int{100, 1000} {
		for _, m := range []ode.Sensitivity{&ode.Interpolating{}, &ode.Forward{}} {
			b.Run(fmt.Sprintf("N=%d/%s", n, m), func(b *testing.B) {
				if n == 1000 && testing.Short() {
					if _, ok := m.(*ode.Forward); ok {
						b.Skip("forward sensitivities for N = 1000 are slow")
					}
				}
				prob, cost := chainGradientProblem(b, n)
				set := &ode.Settings{RTol: 1e-6, ATol: 1e-8}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := ode.Gradient(prob, cost, nil, m, set); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkNeuralFieldGradient is the project's benchmark workload O3: the
// cost of a gradient against the parameter count, on a neural vector
// field with 4 states and p = 31 to 9904 parameters. The adjoint's cost
// relative to one solve stays flat; forward sensitivities grow with p (run
// up to p ≈ 300 only).
//
//	GOMAXPROCS=1 go test ./physics -run '^$' -bench NeuralField -benchmem
func BenchmarkNeuralFieldGradient(b *testing.B) {
	const n = 4
	for _, h := range []int{3, 30, 300, 1200} {
		sys := NeuralField{N: n, H: h}
		_, np := sys.Dims()
		p := make([]float64, np)
		r := rand.New(rand.NewPCG(1, uint64(h)))
		for i := range p {
			p[i] = r.NormFloat64() / math.Sqrt(float64(max(n, h)))
		}
		prob, err := NewProblem(sys, []float64{0.5, -0.3, 0.2, 0.1}, p, 0, 5)
		if err != nil {
			b.Fatal(err)
		}
		cost := ode.Cost{Terminal: ode.SquaredError(make([]float64, n))}
		set := &ode.Settings{RTol: 1e-6, ATol: 1e-8}
		b.Run(fmt.Sprintf("np=%d/solve", np), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ode.Solve(prob, ode.DP5, set); err != nil {
					b.Fatal(err)
				}
			}
		})
		methods := []ode.Sensitivity{&ode.Interpolating{}, &ode.Discrete{}}
		if np < 1000 {
			methods = append(methods, &ode.Forward{})
		}
		for _, m := range methods {
			b.Run(fmt.Sprintf("np=%d/%v", np, m), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := ode.Gradient(prob, cost, ode.DP5, m, set); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
