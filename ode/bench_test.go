package ode

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Workload O1 (/work/shared/bench/WORKLOADS.md): the Lotka–Volterra adjoint
// gradient of CVODES's example at rtol 1e-10, atol 1e-14, with each method.
func BenchmarkLotkaVolterraGradient(b *testing.B) {
	set := &Settings{RTol: 1e-10, ATol: 1e-14}
	prob := lvProblem(lotkaVolterra{})
	for _, s := range []Solver{DP5, Tsit5, Rodas4} {
		b.Run(fmt.Sprintf("%v/solve", s), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Solve(prob, s, set); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, m := range []Sensitivity{&Forward{}, &Backsolve{}, &Interpolating{}, &Discrete{}} {
			b.Run(fmt.Sprintf("%v/%v", s, m), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Gradient(prob, lvCost, s, m, set); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// Workload O2: Robertson with Rodas4 at the classic tolerances (rtol 1e-6,
// atol (1e-8, 1e-14, 1e-6)): the forward solve to 4·10⁷, and forward plus
// adjoint for G = ∫ y3 dt with T = 4·10⁷ and T = 50 (CVODES's
// cvsRoberts_ASAi_dns runs one forward solve and two adjoint solves).
func BenchmarkRobertson(b *testing.B) {
	set := &Settings{RTol: 1e-6, ATolVec: robATol}
	cost := Cost{Integral: robIntegral}
	b.Run("solve", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Solve(Problem{System: robertson{}, T0: 0, T1: 4e7, Y0: robY0, P: robP}, Rodas4, set); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, m := range []Sensitivity{&Forward{}, &Interpolating{}, &Discrete{}} {
		b.Run(fmt.Sprintf("%v/both", m), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, T := range []float64{4e7, 50} {
					if _, err := Gradient(Problem{System: robertson{}, T0: 0, T1: T, Y0: robY0, P: robP}, cost, Rodas4, m, set); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// mlpField is a small neural vector field f(y) = W2·tanh(W1·y + b1) + b2
// with state dimension n and h hidden units: np = 2nh + h + n parameters,
// hand-written Eval, VJP and JVP (layout p = [W1 (h×n), b1, W2 (n×h), b2]).
type mlpField struct{ n, h int }

func (m mlpField) Dims() (int, int) { return m.n, 2*m.n*m.h + m.h + m.n }

func (m mlpField) parts(p []float64) (w1, b1, w2, b2 []float64) {
	n, h := m.n, m.h
	return p[:h*n], p[h*n : h*n+h], p[h*n+h : 2*h*n+h], p[2*h*n+h:]
}

func (m mlpField) hidden(y, w1, b1 []float64, a []float64) {
	for i := range m.h {
		s := b1[i]
		for j, v := range y {
			s += w1[i*m.n+j] * v
		}
		a[i] = math.Tanh(s)
	}
}

func (m mlpField) Eval(dst []float64, _ float64, y, p []float64) {
	w1, b1, w2, b2 := m.parts(p)
	a := make([]float64, m.h)
	m.hidden(y, w1, b1, a)
	for k := range m.n {
		s := b2[k]
		for i, v := range a {
			s += w2[k*m.h+i] * v
		}
		dst[k] = s
	}
}

func (m mlpField) VJP(yb, pb []float64, _ float64, y, p, v []float64) {
	w1, b1, w2, _ := m.parts(p)
	a := make([]float64, m.h)
	m.hidden(y, w1, b1, a)
	g := make([]float64, m.h) // ∂/∂(pre-activation)
	for i := range m.h {
		var s float64
		for k := range m.n {
			s += w2[k*m.h+i] * v[k]
		}
		g[i] = s * (1 - a[i]*a[i])
	}
	if yb != nil {
		for i := range m.h {
			for j := range m.n {
				yb[j] += w1[i*m.n+j] * g[i]
			}
		}
	}
	if pb != nil {
		pw1, pb1, pw2, pb2 := m.parts(pb)
		for i := range m.h {
			for j := range m.n {
				pw1[i*m.n+j] += g[i] * y[j]
			}
			pb1[i] += g[i]
		}
		for k := range m.n {
			for i := range m.h {
				pw2[k*m.h+i] += v[k] * a[i]
			}
			pb2[k] += v[k]
		}
	}
}

func (m mlpField) JVP(dst []float64, _ float64, y, p, yd, pd []float64) {
	w1, b1, w2, _ := m.parts(p)
	a := make([]float64, m.h)
	m.hidden(y, w1, b1, a)
	var dw1, db1, dw2, db2 []float64
	if pd != nil {
		dw1, db1, dw2, db2 = m.parts(pd)
	}
	da := make([]float64, m.h)
	for i := range m.h {
		var s float64
		for j := range m.n {
			s += w1[i*m.n+j] * yd[j]
			if pd != nil {
				s += dw1[i*m.n+j] * y[j]
			}
		}
		if pd != nil {
			s += db1[i]
		}
		da[i] = s * (1 - a[i]*a[i])
	}
	for k := range m.n {
		var s float64
		for i := range m.h {
			s += w2[k*m.h+i] * da[i]
			if pd != nil {
				s += dw2[k*m.h+i] * a[i]
			}
		}
		if pd != nil {
			s += db2[k]
		}
		dst[k] = s
	}
}

// Workload O3: the cost of a gradient against the number of parameters for
// a neural vector field (n = 4, np from about 30 to 10⁴). The adjoint's time
// relative to the forward solve stays roughly flat; forward sensitivities
// grow with np (run only up to a few hundred parameters).
func BenchmarkScaling(b *testing.B) {
	const n = 4
	for _, h := range []int{3, 30, 300, 1200} {
		sys := mlpField{n: n, h: h}
		_, np := sys.Dims()
		p := make([]float64, np)
		r := rand.New(rand.NewPCG(1, uint64(h)))
		for i := range p {
			p[i] = r.NormFloat64() / math.Sqrt(float64(max(n, h)))
		}
		prob := Problem{System: sys, T0: 0, T1: 5, Y0: []float64{0.5, -0.3, 0.2, 0.1}, P: p}
		cost := Cost{Terminal: SquaredError(make([]float64, n))}
		set := &Settings{RTol: 1e-6, ATol: 1e-8}
		b.Run(fmt.Sprintf("np=%d/solve", np), func(b *testing.B) {
			for b.Loop() {
				if _, err := Solve(prob, DP5, set); err != nil {
					b.Fatal(err)
				}
			}
		})
		methods := []Sensitivity{&Interpolating{}, &Discrete{}}
		if np < 1000 {
			methods = append(methods, &Forward{})
		}
		for _, m := range methods {
			b.Run(fmt.Sprintf("np=%d/%v", np, m), func(b *testing.B) {
				for b.Loop() {
					if _, err := Gradient(prob, cost, DP5, m, set); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
