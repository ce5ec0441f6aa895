package main

import (
	"math"
	"testing"
)

// TestLogSlope checks the log-linear fit on an exact geometric series and,
// through logs, the log-log fit on an exact power law.
func TestLogSlope(t *testing.T) {
	ks := []float64{3, 4, 5, 6, 7, 8}
	y := make([]float64, len(ks))
	for i, k := range ks {
		y[i] = 2 * math.Pow(1.3, k)
	}
	if s := logSlope(ks, y); math.Abs(s-math.Log(1.3)) > 1e-13 {
		t.Errorf("geometric: slope %v, want log 1.3 = %v", s, math.Log(1.3))
	}
	d := []float64{10, 100, 1000, 10000}
	for i, v := range d {
		y[i] = 5e-9 * v * v
	}
	if s := logSlope(logs(d), y[:len(d)]); math.Abs(s-2) > 1e-13 {
		t.Errorf("power law d²: slope %v, want 2", s)
	}
}

// TestSlopeGuide checks that a guide has the slope asked for and passes
// through the centroid of the points in log–log coordinates.
func TestSlopeGuide(t *testing.T) {
	x, y := []float64{1, 10, 100}, []float64{3, 5, 7}
	g := slopeGuide("g", 2, x, y, 0)
	if !g.Reference || g.X[0] != 1 || g.X[1] != 100 {
		t.Fatalf("guide %+v", g)
	}
	if s := math.Log(g.Y[1]/g.Y[0]) / math.Log(100); math.Abs(s-2) > 1e-12 {
		t.Errorf("slope %v, want 2", s)
	}
	// At x = 10, the centre of log x, the guide is at the mean of log y.
	mid := math.Sqrt(g.Y[0] * g.Y[1])
	if want := math.Cbrt(3 * 5 * 7); math.Abs(mid/want-1) > 1e-12 {
		t.Errorf("guide at the centre %v, want the geometric mean %v", mid, want)
	}
}
