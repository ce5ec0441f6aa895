package main

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestTwoLayerHandMatchesAdjoint compares the hand-written chain rule with
// the adjoint core on random networks of several sizes, dead units included.
func TestTwoLayerHandMatchesAdjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	draw := func(k int) []float64 {
		v := make([]float64, k)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		return v
	}
	for _, sz := range []struct{ n, h int }{{1, 1}, {2, 3}, {5, 7}} {
		for range 20 {
			net := twoLayerNet{n: sz.n, h: sz.h, W1: draw(sz.h * sz.n), b1: draw(sz.h), w2: draw(sz.h), b2: rng.NormFloat64()}
			x, y := draw(sz.n), rng.NormFloat64()
			hand, ad := net.handChainRule(x, y), net.adjointTrace(x, y)
			pairs := [][2][]float64{
				{hand.z1, ad.z1}, {hand.h, ad.h}, {{hand.yhat, hand.L, hand.dyhat, hand.db2}, {ad.yhat, ad.L, ad.dyhat, ad.db2}},
				{hand.dw2, ad.dw2}, {hand.dh, ad.dh}, {hand.dz1, ad.dz1}, {hand.dW1, ad.dW1}, {hand.db1, ad.db1},
			}
			for i, p := range pairs {
				if e := relErr(p[1], p[0]); e > 1e-13 {
					t.Fatalf("n=%d h=%d: quantity %d differs by %g: hand %v, adjoint %v", sz.n, sz.h, i, e, p[0], p[1])
				}
			}
		}
	}
}

// TestTwoLayerHandExample checks the hand-written chain rule on a network
// small enough to differentiate on paper.
func TestTwoLayerHandExample(t *testing.T) {
	// z1 = (1·2 + 0, −1·2 + 0) = (2, −2), h = (2, 0), ŷ = 3·2 + 1 = 7,
	// L = ½(7 − 4)² = 4.5, dL/dŷ = 3, dL/dw2 = (6, 0), dL/dh = (9, 3),
	// dL/dz1 = (9, 0), dL/dW1 = (18, 0)ᵀ, dL/db1 = (9, 0).
	net := twoLayerNet{n: 1, h: 2, W1: []float64{1, -1}, b1: []float64{0, 0}, w2: []float64{3, 1}, b2: 1}
	got := net.handChainRule([]float64{2}, 4)
	want := map[string][2][]float64{
		"h":      {got.h, {2, 0}},
		"L":      {{got.L}, {4.5}},
		"dyhat":  {{got.dyhat}, {3}},
		"dw2":    {got.dw2, {6, 0}},
		"dh":     {got.dh, {9, 3}},
		"dz1":    {got.dz1, {9, 0}},
		"dW1":    {got.dW1, {18, 0}},
		"db1":    {got.db1, {9, 0}},
		"db2":    {{got.db2}, {3}},
		"yhat":   {{got.yhat}, {7}},
		"z1":     {got.z1, {2, -2}},
		"dL/dz2": {{got.dyhat}, {3}},
	}
	for name, p := range want {
		if relErr(p[0], p[1]) != 0 {
			t.Errorf("%s = %v, want %v", name, p[0], p[1])
		}
	}
}

// TestTwoLayerValidate checks that out-of-range values are rejected and the
// defaults are accepted.
func TestTwoLayerValidate(t *testing.T) {
	c := *runner.Defaults[twoLayerConfig]("two_layer", false)
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
	bad := c
	bad.X, bad.Hidden, bad.FDStep = nil, 0, math.NaN()
	if err := bad.Validate(); err == nil {
		t.Error("empty x, hidden = 0 and fd_step = NaN accepted")
	}
}
