package runner

import (
	"fmt"
	"math"
)

// This file holds the helpers that make a report's outcome sentences from
// the numbers that show them, so that a sentence never claims what the
// measurement does not: "the error at α = 1e-7 is larger than at the best
// α" comes from Compare(errAt1e7, errBest), not from the author's
// expectation. Quote the numbers in the sentence too.

// Compare says how a compares with b: "smaller than", "equal to" or
// "larger than" ("not comparable with" if either is NaN).
func Compare(a, b float64) string {
	switch {
	case math.IsNaN(a) || math.IsNaN(b):
		return "not comparable with"
	case a < b:
		return "smaller than"
	case a > b:
		return "larger than"
	}
	return "equal to"
}

// Trend says how the sequence ys moves: "increases" (never down, at least
// once up), "decreases", "stays constant", or "rises and falls" (neither).
// NaN values make it "rises and falls"; fewer than two values "stays
// constant".
func Trend(ys []float64) string {
	up, down := false, false
	for i := 1; i < len(ys); i++ {
		switch {
		case ys[i] > ys[i-1]:
			up = true
		case ys[i] < ys[i-1]:
			down = true
		case ys[i] != ys[i-1]: // NaN
			up, down = true, true
		}
	}
	switch {
	case up && down:
		return "rises and falls"
	case up:
		return "increases"
	case down:
		return "decreases"
	}
	return "stays constant"
}

// Choose returns yes if holds and no otherwise: the words the measurement
// supports.
func Choose(holds bool, yes, no string) string {
	if holds {
		return yes
	}
	return no
}

// Count returns "1 thing" or "n things".
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
