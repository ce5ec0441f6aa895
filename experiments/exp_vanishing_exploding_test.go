package main

import (
	"math"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
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

func TestVanExpValidate(t *testing.T) {
	c := *runner.Defaults[vanExpConfig]("vanishing_exploding", false)
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c.Activations = []string{"gelu"}
	c.Depths = []int{1}
	if err := c.Validate(); err == nil {
		t.Error("activation gelu and depth 1 accepted")
	}
}
