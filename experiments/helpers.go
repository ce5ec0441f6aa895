package main

import (
	"math"
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
func bestTime(r *Run, minTime time.Duration, maxReps int, fn func() error) (float64, error) {
	best := math.Inf(1)
	start := time.Now()
	for range max(maxReps, 1) {
		if err := r.Context().Err(); err != nil {
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
