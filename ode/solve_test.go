package ode

import (
	"errors"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestSaveAtAndBackwardsInTime(t *testing.T) {
	times := []float64{0, 0.1, 0.5, 0.77, 1}
	for _, s := range []Solver{BS3, DP5, Tsit5, Rodas4} {
		sol, err := Solve(Problem{System: known{}, T0: 0, T1: 1, Y0: knownY0}, s,
			&Settings{RTol: 1e-9, ATol: 1e-12, SaveAt: times})
		if err != nil {
			t.Fatal(err)
		}
		if len(sol.T) != len(times) {
			t.Fatalf("%v: %d outputs, want %d", s, len(sol.T), len(times))
		}
		for i, tm := range sol.T {
			if tm != times[i] {
				t.Errorf("%v: output time %v, want %v", s, tm, times[i])
			}
			if e := relErr(sol.Y[i], knownExact(tm)); e > 1e-7 {
				t.Errorf("%v: error %g at t = %v", s, e, tm)
			}
		}
		// Backwards from t = 1 to 0.
		back, err := Solve(Problem{System: known{}, T0: 1, T1: 0, Y0: knownExact(1)}, s,
			&Settings{RTol: 1e-9, ATol: 1e-12, SaveAt: []float64{1, 0.6, 0}})
		if err != nil {
			t.Fatal(err)
		}
		for i, tm := range back.T {
			if e := relErr(back.Y[i], knownExact(tm)); e > 1e-7 {
				t.Errorf("%v backwards: error %g at t = %v", s, e, tm)
			}
		}
	}
}

func TestSaveStepsStopsAndMaxStep(t *testing.T) {
	stops := []float64{0.3, 0.65}
	sol, err := Solve(Problem{System: known{}, T0: 0, T1: 1, Y0: knownY0}, DP5,
		&Settings{SaveSteps: true, Stops: stops, MaxStep: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	if len(sol.T) != sol.Stats.Steps+1 || sol.T[0] != 0 || sol.T[len(sol.T)-1] != 1 {
		t.Fatalf("SaveSteps: %d outputs for %d steps, ends %v %v", len(sol.T), sol.Stats.Steps, sol.T[0], sol.T[len(sol.T)-1])
	}
	found := 0
	for i, tm := range sol.T {
		for _, s := range stops {
			if tm == s {
				found++
			}
		}
		if i > 0 && tm-sol.T[i-1] > 0.1+1e-15 {
			t.Errorf("step %v > MaxStep", tm-sol.T[i-1])
		}
	}
	if found != len(stops) {
		t.Errorf("the solver landed on %d of %d stops: %v", found, len(stops), sol.T)
	}
}

// TestTolerancesControlError checks that the global error follows the
// tolerance (per-component absolute tolerances included).
func TestTolerancesControlError(t *testing.T) {
	for _, s := range []Solver{BS3, DP5, Tsit5, Rodas4} {
		var prev float64
		for _, rtol := range []float64{1e-4, 1e-6, 1e-8, 1e-10} {
			sol, err := Solve(Problem{System: known{}, T0: 0, T1: 1, Y0: knownY0}, s,
				&Settings{RTol: rtol, ATolVec: []float64{rtol, rtol, rtol, rtol}})
			if err != nil {
				t.Fatal(err)
			}
			e := relErr(sol.Y[0], knownExact(1))
			if e > 100*rtol {
				t.Errorf("%v: error %g at rtol %g", s, e, rtol)
			}
			if prev != 0 && e > prev {
				t.Errorf("%v: error grew from %g to %g as rtol fell to %g", s, prev, e, rtol)
			}
			prev = e
		}
	}
}

// nanAfter returns NaN for t > 1.
type nanAfter struct{}

func (nanAfter) Dims() (int, int) { return 1, 0 }
func (nanAfter) Eval(dst []float64, t float64, y, _ []float64) {
	dst[0] = -y[0]
	if t > 1 {
		dst[0] = math.NaN()
	}
}

func TestNonFiniteError(t *testing.T) {
	for _, c := range []struct {
		s   Solver
		set *Settings
	}{{DP5, nil}, {Rodas4, nil}, {RK4, &Settings{Step: 0.01}}} {
		_, err := Solve(Problem{System: nanAfter{}, T0: 0, T1: 2, Y0: []float64{1}}, c.s, c.set)
		if !errors.Is(err, ErrNonFinite) {
			t.Fatalf("%v: err = %v, want ErrNonFinite", c.s, err)
		}
		var e *Error
		if !errors.As(err, &e) || math.Abs(e.T-1) > 0.05 || !strings.Contains(err.Error(), "F returned a non-finite value at t = ") {
			t.Errorf("%v: error %q does not locate t ≈ 1", c.s, err)
		}
	}
	// A non-finite initial derivative fails at once.
	_, err := Solve(Problem{System: nanAfter{}, T0: 1.5, T1: 2, Y0: []float64{1}}, DP5, nil)
	if !errors.Is(err, ErrNonFinite) {
		t.Errorf("err = %v, want ErrNonFinite", err)
	}
}

// blowUp is y' = y², singular at t = 1/y₀.
type blowUp struct{}

func (blowUp) Dims() (int, int)                                   { return 1, 0 }
func (blowUp) Eval(dst []float64, _ float64, y, _ []float64)      { dst[0] = y[0] * y[0] }
func (blowUp) Jacobian(dst *mat.Dense, _ float64, y, _ []float64) { dst.Set(0, 0, 2*y[0]) }

func TestStepSizeUnderflow(t *testing.T) {
	for _, s := range []Solver{DP5, Rodas4} {
		_, err := Solve(Problem{System: blowUp{}, T0: 0, T1: 2, Y0: []float64{1}}, s, &Settings{MaxSteps: 1e6})
		if err == nil {
			t.Fatalf("%v: no error through a singularity", s)
		}
		var e *Error
		if !errors.As(err, &e) || math.Abs(e.T-1) > 1e-3 {
			t.Errorf("%v: %v, want a failure at t ≈ 1", s, err)
		}
		t.Log(err)
	}
}

// badJacobian returns a NaN Jacobian, so every iteration matrix is singular.
type badJacobian struct{ blowUp }

func (badJacobian) Jacobian(dst *mat.Dense, _ float64, _, _ []float64) { dst.Set(0, 0, math.NaN()) }

func TestSingularMatrix(t *testing.T) {
	_, err := Solve(Problem{System: badJacobian{}, T0: 0, T1: 0.5, Y0: []float64{1}}, Rodas4, nil)
	if !errors.Is(err, ErrSingular) {
		t.Fatalf("err = %v, want ErrSingular", err)
	}
	t.Log(err)
}

func TestMisusePanics(t *testing.T) {
	cases := map[string]func(){
		"fixed step without Step": func() {
			Solve(Problem{System: known{}, T0: 0, T1: 1, Y0: knownY0}, RK4, nil)
		},
		"wrong Y0 length": func() {
			Solve(Problem{System: known{}, T0: 0, T1: 1, Y0: []float64{1}}, DP5, nil)
		},
		"wrong P length": func() {
			Solve(Problem{System: cvsHessianHW{}, T0: 0, T1: 1, Y0: []float64{1, 1, 1}}, DP5, nil)
		},
		"wrong ATolVec length": func() {
			Solve(Problem{System: known{}, T0: 0, T1: 1, Y0: knownY0}, DP5, &Settings{ATolVec: []float64{1}})
		},
		"SaveAt outside": func() {
			Solve(Problem{System: known{}, T0: 0, T1: 1, Y0: knownY0}, DP5, &Settings{SaveAt: []float64{2}})
		},
		"At without Dense": func() {
			sol, _ := Solve(Problem{System: known{}, T0: 0, T1: 1, Y0: knownY0}, DP5, nil)
			sol.At(nil, 0.5)
		},
		"empty cost": func() {
			Gradient(Problem{System: known{}, T0: 0, T1: 1, Y0: knownY0}, Cost{}, nil, nil, nil)
		},
	}
	for name, f := range cases {
		func() {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, "ode: ") {
					t.Errorf("%s: recovered %v, want an \"ode: \" panic", name, r)
				}
			}()
			f()
		}()
	}
}

func TestDefaultsAndStats(t *testing.T) {
	sol, err := Solve(Problem{System: known{}, T0: 0, T1: 1, Y0: knownY0}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr(sol.Y[0], knownExact(1)); e > 1e-5 {
		t.Errorf("default solve error %g", e)
	}
	st := sol.Stats
	// DP5 is FSAL: six new evaluations per step attempt, plus the initial
	// derivative and the initial-step estimate.
	if want := 6*(st.Steps+st.Rejected) + 2; st.FEvals != want {
		t.Errorf("FEvals = %d, want %d (%v)", st.FEvals, want, st)
	}
	r, err := Solve(Problem{System: known{}, T0: 0, T1: 1, Y0: knownY0}, Rodas4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Stats.JacEvals != r.Stats.Steps || r.Stats.LUs != r.Stats.Steps+r.Stats.Rejected {
		t.Errorf("Rodas4 stats %v", r.Stats)
	}
}

// TestTimesWithinRoundingOfT1: an observation time or stop one ulp short
// of T1, as a linspace produces, is taken as T1 rather than forcing a step
// below the resolution of t.
func TestTimesWithinRoundingOfT1(t *testing.T) {
	short := math.Nextafter(1, 0)
	prob := Problem{System: known{}, T0: 0, T1: 1, Y0: knownY0}
	if _, err := Solve(prob, DP5, &Settings{Stops: []float64{0.5, short}}); err != nil {
		t.Fatalf("stop one ulp below T1: %v", err)
	}
	// An observation one ulp short: TestObservationWithinRoundingOfT1 in
	// package ode_test, on Lotka–Volterra.
}
