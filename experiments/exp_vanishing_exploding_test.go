package main

import (
	"math"
	"testing"
)

// TestVanExpSlope checks the log-linear fit on an exact geometric series.
func TestVanExpSlope(t *testing.T) {
	y := make([]float64, 30)
	for i := range y {
		y[i] = 3 * math.Pow(0.7, float64(i))
	}
	if got := math.Exp(vanExpSlope(y)); math.Abs(got-0.7) > 1e-12 {
		t.Errorf("fitted ratio %g, want 0.7", got)
	}
}

// TestVanExpRun runs the quick configuration: every check must pass.
func TestVanExpRun(t *testing.T) {
	t.Chdir(t.TempDir())
	e := registry["vanishing_exploding"]
	c := e.defaults().(*vanExpConfig)
	e.quick(c)
	r := &Run{Seed: 6, Report: &Report{}}
	if err := runVanExp(r, *c); err != nil {
		t.Fatal(err)
	}
	if s := r.Report.status(); s != statusPass {
		t.Errorf("status %s, want PASS; failed: %v", s, r.Report.failed())
	}
}

func TestVanExpValidate(t *testing.T) {
	c := *registry["vanishing_exploding"].defaults().(*vanExpConfig)
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c.Activations = []string{"gelu"}
	c.Depths = []int{1}
	if err := c.Validate(); err == nil {
		t.Error("activation gelu and depth 1 accepted")
	}
}
