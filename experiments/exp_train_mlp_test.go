package main

import (
	"math"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestTrainMLPSpirals checks the data: alternating labels, and each point
// within a few noise widths of the spiral arm of its class.
func TestTrainMLPSpirals(t *testing.T) {
	x, labels := trainMLPSpirals((&runner.Env{Seed: 3}).Rand(), 200, 1.5, 0)
	for i, k := range labels {
		if k != i%2 {
			t.Fatalf("label %d = %d, want %d", i, k, i%2)
		}
		// Without noise the point is at radius t and angle 2π·1.5·t + kπ.
		px, py := x.Data[2*i], x.Data[2*i+1]
		r := math.Hypot(px, py)
		a := 2*math.Pi*1.5*r + float64(k)*math.Pi
		if d := math.Hypot(px-r*math.Cos(a), py-r*math.Sin(a)); d > 1e-12 {
			t.Errorf("point %d (%g, %g) is %g off its arm", i, px, py, d)
		}
	}
}

func TestTrainMLPValidate(t *testing.T) {
	c := *runner.Defaults[trainMLPConfig]("train_mlp", false)
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c.Hidden = nil
	c.Activation = "elu"
	if err := c.Validate(); err == nil {
		t.Error("no hidden layers and activation elu accepted")
	}
}
