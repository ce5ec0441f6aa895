package main

import (
	"cmp"
	"context"
	"errors"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn"
	"github.com/adjointkit/adjointkit/plots"
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

// parallel runs the jobs, such as figures to save, on all cores and
// returns their errors joined in job order. Rendering PNGs dominates the
// wall time of the small nn experiments.
func parallel(jobs []func() error) error {
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = job()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// activation returns the nn activation layer called name ("tanh",
// "sigmoid" or "relu") and its derivative as a function of the
// pre-activation. It panics on another name: configurations check theirs.
func activation(name string) (*nn.Activation, func(z float64) float64) {
	switch name {
	case "tanh":
		return nn.Tanh(), func(z float64) float64 { t := math.Tanh(z); return 1 - t*t }
	case "sigmoid":
		return nn.Sigmoid(), func(z float64) float64 { s := 1 / (1 + math.Exp(-z)); return s * (1 - s) }
	case "relu":
		return nn.ReLU(), func(z float64) float64 {
			if z > 0 {
				return 1
			}
			return 0
		}
	}
	panic("experiments: unknown activation " + name)
}

// logSlope returns the least-squares slope of log y against x (gonum's
// stat.LinearRegression): the rate r of y ≈ C·e^{r x}, or, with x = log t,
// the exponent p of y ≈ C·t^p.
func logSlope(x, y []float64) float64 {
	ly := make([]float64, len(y))
	for i, v := range y {
		ly[i] = math.Log(v)
	}
	_, slope := stat.LinearRegression(x, ly, nil, false)
	return slope
}

// logs returns the natural logarithms of xs.
func logs(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, v := range xs {
		out[i] = math.Log(v)
	}
	return out
}

// floatsOf converts integers to float64s, for the axes of figures.
func floatsOf(xs []int) []float64 {
	out := make([]float64, len(xs))
	for i, v := range xs {
		out[i] = float64(v)
	}
	return out
}

// slopeGuide returns a guide line y = C·x^p for log-log axes, drawn over the
// x range of the points (x, y) and through their centroid in log–log
// coordinates, so that it lies among the data it is compared with.
func slopeGuide(name string, p float64, x, y []float64, dash plots.Dash) plots.Series {
	lx, ly := stat.Mean(logs(x), nil), stat.Mean(logs(y), nil)
	lo, hi := slices.Min(x), slices.Max(x)
	at := func(v float64) float64 { return math.Exp(ly + p*(math.Log(v)-lx)) }
	return plots.Series{Name: name, X: []float64{lo, hi}, Y: []float64{at(lo), at(hi)}, Reference: true, Dash: dash}
}

// joinAnd lists items as "a", "a and b" or "a, b and c".
func joinAnd(items []string) string {
	switch n := len(items); n {
	case 0:
		return ""
	case 1:
		return items[0]
	default:
		return strings.Join(items[:n-1], ", ") + " and " + items[n-1]
	}
}

// flatTensors concatenates the data of ts into one new slice.
func flatTensors(ts []*adjoint.Tensor) []float64 {
	return adjoint.LayoutOf(ts...).Pack(nil, ts...)
}
