package ode_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/adjointkit/adjointkit/ode"
)

// TestExplicitOnStiff: an explicit method on Robertson stops quickly at the
// step limit with an error that points to a stiff solver.
func TestExplicitOnStiff(t *testing.T) {
	start := time.Now()
	_, err := ode.Solve(ode.Problem{System: robertson, T0: 0, T1: 4e7, Y0: robY0, P: robP}, ode.DP5,
		&ode.Settings{RTol: 1e-6, ATolVec: robATol})
	if !errors.Is(err, ode.ErrMaxSteps) {
		t.Fatalf("err = %v, want ErrMaxSteps", err)
	}
	var e *ode.Error
	if !errors.As(err, &e) || e.Step != ode.DefaultMaxSteps || e.T <= 0 || e.H == 0 {
		t.Errorf("error context %+v", e)
	}
	if !strings.Contains(err.Error(), "stiff") || !strings.Contains(err.Error(), "Rodas4") {
		t.Errorf("error %q does not suggest a stiff solver", err)
	}
	t.Logf("%v (%v)", err, time.Since(start))
	// The stiff solver does it in a few hundred steps.
	sol, err := ode.Solve(ode.Problem{System: robertson, T0: 0, T1: 4e7, Y0: robY0, P: robP}, ode.Rodas4,
		&ode.Settings{RTol: 1e-6, ATolVec: robATol})
	if err != nil || sol.Stats.Steps > 1000 {
		t.Errorf("Rodas4 on Robertson: %v, %v", err, sol.Stats)
	}
}

// TestObservationWithinRoundingOfT1: an observation time one ulp short of
// T1, as a linspace produces, is taken as T1 rather than forcing a step
// below the resolution of t (the stop of TestTimesWithinRoundingOfT1, for
// observations).
func TestObservationWithinRoundingOfT1(t *testing.T) {
	prob := ode.Problem{System: lv, T0: 0, T1: 10, Y0: []float64{1, 1}, P: []float64{1.5, 1, 3, 1}}
	times := []float64{5, math.Nextafter(10, 0)}
	data := [][]float64{{1, 1}, {1, 1}}
	res, err := ode.Gradient(prob, ode.Cost{Observations: ode.LeastSquares(times, data)}, ode.DP5, &ode.Interpolating{}, nil)
	if err != nil {
		t.Fatalf("observation one ulp below T1: %v", err)
	}
	exact, err := ode.Gradient(prob, ode.Cost{Observations: ode.LeastSquares([]float64{5, 10}, data)}, ode.DP5, &ode.Interpolating{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Value != exact.Value {
		t.Errorf("cost %v with the time one ulp short, %v at T1", res.Value, exact.Value)
	}
}
