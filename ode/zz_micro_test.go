package ode

import "testing"

func BenchmarkZZMicro(b *testing.B) {
	base := cvsHessian
	tan := base.tangent()
	y, p := []float64{1, 0.5, 0.7}, []float64{1, 2}
	ys, pq := []float64{1, 0.5, 0.7, 0.1, 0.2, 0.3}, []float64{1, 2, 0.6, -0.8}
	d3, d6 := make([]float64, 3), make([]float64, 6)
	yb, pb := make([]float64, 3), make([]float64, 2)
	ysb, pqb := make([]float64, 6), make([]float64, 4)
	b.Run("F-Eval", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			base.Eval(d3, 0.5, y, p)
		}
	})
	b.Run("F-VJP", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			base.VJP(yb, pb, 0.5, y, p, d3)
		}
	})
	b.Run("T-Eval", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tan.Eval(d6, 0.5, ys, pq)
		}
	})
	b.Run("T-VJP", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tan.VJP(ysb, pqb, 0.5, ys, pq, d6)
		}
	})
}
