package main

import (
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestPoolRouteRefs checks the reference routing on a hand-worked 4×4
// example with 2×2 windows.
func TestPoolRouteRefs(t *testing.T) {
	x := []float64{
		1, 5, 0, 0,
		2, 3, 0, 7,
		9, 9, 4, 4,
		9, 1, 4, 4,
	}
	g := []float64{10, 20, 30, 40}
	avg, mx, arg, cov := poolRouteRefs(x, g, 1, 4, 4, 2, 2)
	wantMax := []float64{
		0, 10, 0, 0,
		0, 0, 0, 20,
		30, 0, 40, 0, // ties: the first maximum in row-major order
		0, 0, 0, 0,
	}
	for i := range x {
		if mx[i] != wantMax[i] {
			t.Errorf("max routing [%d] = %g, want %g", i, mx[i], wantMax[i])
		}
		if arg[i] != (wantMax[i] != 0) || !cov[i] {
			t.Errorf("argmax/covered [%d] = %v/%v", i, arg[i], cov[i])
		}
		w := (i/4/2)*2 + (i%4)/2
		if avg[i] != g[w]/4 {
			t.Errorf("avg routing [%d] = %g, want %g", i, avg[i], g[w]/4)
		}
	}
}

func TestPoolRouteValidate(t *testing.T) {
	c := *runner.Defaults[poolRouteConfig]("pooling_routing", false)
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c.Strides = c.Strides[:1]
	if err := c.Validate(); err == nil {
		t.Error("strides shorter than windows accepted")
	}
}
