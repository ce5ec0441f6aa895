package main

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/adjointkit/adjointkit/adjoint"
)

// relErr is the normwise relative error max|aᵢ − bᵢ| / max|bᵢ| of a against
// the reference b (max|aᵢ − bᵢ| when b is all zeros): the measure
// adjoint.Check reports, so every report's numbers mean the same thing.
func relErr(a, b []float64) float64 { return adjoint.Compare(a, b).MaxRel }

// bestTime runs fn repeatedly, for at least minTime or maxReps runs (at
// least once), and returns the fastest run's wall time in seconds: the
// least disturbed measurement on a shared machine. It stops with the
// context's error when the run is cancelled, and with fn's error if it
// fails.
func bestTime(ctx context.Context, minTime time.Duration, maxReps int, fn func() error) (float64, error) {
	best := math.Inf(1)
	start := time.Now()
	for range max(maxReps, 1) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		t0 := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		best = min(best, time.Since(t0).Seconds())
		if time.Since(start) >= minTime {
			break
		}
	}
	return best, nil
}

// yesNo returns "yes" or "no".
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// sortByX sorts the points (x_i, y_i) by x, in place.
func sortByX(x, y []float64) {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(x[a], x[b]) })
	xs, ys := slices.Clone(x), slices.Clone(y)
	for i, j := range idx {
		x[i], y[i] = xs[j], ys[j]
	}
}

// subscript writes a positive integer in Unicode subscript digits, for
// names such as W1₂₃ and λ₂ in figures.
func subscript(i int) string {
	var b strings.Builder
	for _, d := range strconv.Itoa(i) {
		b.WriteRune('₀' + d - '0')
	}
	return b.String()
}

// flatTensors concatenates the data of ts into one new slice.
func flatTensors(ts []*adjoint.Tensor) []float64 {
	return adjoint.LayoutOf(ts...).Pack(nil, ts...)
}
