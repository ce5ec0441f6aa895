package main

import (
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

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
