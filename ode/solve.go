package ode

import (
	"fmt"
	"math"
	"slices"
)

// Problem is an initial-value problem: dy/dt = f(t, y, p) on [T0, T1] with
// y(T0) = Y0. T1 < T0 integrates backwards in time. Solve and Gradient
// never modify Y0 or P.
type Problem struct {
	// System is the right-hand side f.
	System System
	// T0 and T1 are the initial and final times.
	T0, T1 float64
	// Y0 is the initial state (length n).
	Y0 []float64
	// P holds the parameters (length np).
	P []float64
}

// dims checks the problem's shapes and returns n and np. It panics on
// misuse.
func (pr Problem) dims() (n, np int) {
	if pr.System == nil {
		panic("ode: Problem.System is nil")
	}
	n, np = pr.System.Dims()
	if len(pr.Y0) != n {
		panic(fmt.Sprintf("ode: len(Problem.Y0) = %d, but the system has dimension %d", len(pr.Y0), n))
	}
	if len(pr.P) != np {
		panic(fmt.Sprintf("ode: len(Problem.P) = %d, but the system has %d parameters", len(pr.P), np))
	}
	if math.IsNaN(pr.T0) || math.IsNaN(pr.T1) || math.IsInf(pr.T0, 0) || math.IsInf(pr.T1, 0) {
		panic(fmt.Sprintf("ode: invalid time interval [%v, %v]", pr.T0, pr.T1))
	}
	return n, np
}

// Settings configures a solve. A nil *Settings means the zero value, whose
// fields all mean the defaults documented on them.
type Settings struct {
	// RTol is the relative tolerance. Zero means 1e-6. An adaptive solve
	// with RTol below MinRTol fails with ErrTolerance.
	RTol float64
	// ATol is the absolute tolerance of every component. Zero means 1e-9.
	ATol float64
	// ATolVec, if non-nil, gives one absolute tolerance per state component
	// and overrides ATol. Nil means ATol for all.
	ATolVec []float64
	// Step, if positive, makes the solver take fixed steps: each interval
	// between stops is divided into ⌈length/Step⌉ equal steps and the error
	// estimate is ignored. Zero means adaptive steps; the fixed-step
	// tableaus (Euler, Heun, RK4) require Step > 0.
	Step float64
	// InitialStep is the size of the first step attempted. Zero means
	// automatic (Hairer's algorithm).
	InitialStep float64
	// MaxStep bounds the step size. Zero means the length of the interval.
	MaxStep float64
	// MaxSteps bounds the number of accepted steps; reaching it is an
	// error wrapping ErrMaxSteps. Zero means 100000.
	MaxSteps int
	// Controller is the step-size controller. Nil means a PIController
	// with default gains.
	Controller *PIController
	// Interpolation selects the dense-output formula. The zero value is
	// InterpNative.
	Interpolation Interpolation
	// SaveAt lists the times at which Solve reports the solution, in the
	// direction of integration and within [T0, T1]; they are interpolated
	// from the dense output. Nil means T1 only (unless SaveSteps).
	SaveAt []float64
	// SaveSteps, if set, makes Solve report the solution at T0 and at the
	// end of every accepted step. False means SaveAt alone decides.
	SaveSteps bool
	// Dense, if set, keeps the continuous extension of every step so that
	// Solution.At can evaluate the solution anywhere in [T0, T1]. False
	// means no dense output is kept.
	Dense bool
	// Stops lists times the integrator must step onto exactly
	// (discontinuities of f, event times). Nil means none.
	Stops []float64
}

// resolved holds settings with the defaults filled in.
type resolved struct {
	rtol     float64
	atol     []float64
	step     float64
	h0       float64
	maxStep  float64
	maxSteps int
	ctrl     PIController
	interp   Interpolation
}

// Defaults of Settings.
const (
	defaultRTol     = 1e-6
	defaultATol     = 1e-9
	defaultMaxSteps = 100000
)

func resolve(s *Settings, n int) *resolved {
	var set Settings
	if s != nil {
		set = *s
	}
	r := &resolved{rtol: set.RTol, step: set.Step, h0: set.InitialStep, maxStep: set.MaxStep,
		maxSteps: set.MaxSteps, interp: set.Interpolation}
	if r.rtol == 0 {
		r.rtol = defaultRTol
	}
	if r.rtol < 0 || set.ATol < 0 || set.Step < 0 || set.MaxStep < 0 || set.MaxSteps < 0 {
		panic("ode: negative tolerance, step size or step limit in Settings")
	}
	r.atol = make([]float64, n)
	if set.ATolVec != nil {
		if len(set.ATolVec) != n {
			panic(fmt.Sprintf("ode: len(Settings.ATolVec) = %d, want %d", len(set.ATolVec), n))
		}
		copy(r.atol, set.ATolVec)
	} else {
		a := set.ATol
		if a == 0 {
			a = defaultATol
		}
		for i := range r.atol {
			r.atol[i] = a
		}
	}
	if r.maxSteps == 0 {
		r.maxSteps = defaultMaxSteps
	}
	if set.Controller != nil {
		r.ctrl = *set.Controller
	}
	return r
}

// fdFloor returns the scales below which finite-difference steps stop
// shrinking: atol/rtol per component.
func (r *resolved) fdFloor() []float64 {
	f := make([]float64, len(r.atol))
	for i, a := range r.atol {
		f[i] = math.Max(a/r.rtol, 1e-300)
	}
	return f
}

// Solution is the result of Solve.
type Solution struct {
	// T holds the output times.
	T []float64
	// Y holds the states at the output times: Y[i] is y(T[i]).
	Y [][]float64
	// Stats counts the work done.
	Stats Stats

	traj *trajectory // dense output when Settings.Dense
	t0   float64
	t1   float64
}

// At writes the solution at time t to dst and returns it; a nil dst is
// allocated. It needs Settings.Dense and panics without it or if t is
// outside the solved interval.
func (s *Solution) At(dst []float64, t float64) []float64 {
	if s.traj == nil {
		panic("ode: Solution.At needs Settings.Dense")
	}
	lo, hi := min(s.t0, s.t1), max(s.t0, s.t1)
	if t < lo || t > hi {
		panic(fmt.Sprintf("ode: Solution.At(%v) outside the solved interval [%v, %v]", t, lo, hi))
	}
	if dst == nil {
		dst = make([]float64, len(s.traj.recs[0].x0))
	}
	s.traj.eval(dst, t)
	return dst
}

// makeStops merges user stops inside (t0, t1] with t1, in the direction of
// integration, without duplicates.
func makeStops(t0, t1 float64, user []float64) []float64 {
	dir := 1.0
	if t1 < t0 {
		dir = -1
	}
	var st []float64
	for _, s := range user {
		// A time within rounding of t1 (a linspace that comes out one ulp
		// short, say) is t1: stepping onto both would need a step below
		// the resolution of t.
		if math.Abs(t1-s) <= 64*eps*math.Max(math.Abs(t1), math.Abs(s)) {
			continue
		}
		if dir*(s-t0) > 0 && dir*(t1-s) > 0 {
			st = append(st, s)
		}
	}
	st = append(st, t1)
	slices.SortFunc(st, func(a, b float64) int {
		switch {
		case dir*a < dir*b:
			return -1
		case dir*a > dir*b:
			return 1
		}
		return 0
	})
	return slices.Compact(st)
}

// checkTimes panics unless ts are ordered in the direction of integration
// and lie within [t0, t1].
func checkTimes(what string, ts []float64, t0, t1 float64) {
	dir := 1.0
	if t1 < t0 {
		dir = -1
	}
	for i, s := range ts {
		if math.IsNaN(s) || dir*(s-t0) < 0 || dir*(t1-s) < 0 {
			panic(fmt.Sprintf("ode: %s[%d] = %v is outside [%v, %v]", what, i, s, t0, t1))
		}
		if i > 0 && dir*(s-ts[i-1]) < 0 {
			panic(fmt.Sprintf("ode: %s must be ordered in the direction of integration", what))
		}
	}
}

// Solve integrates the problem with the given solver and settings and
// returns the solution at the requested times. A nil solver means DP5; a
// nil settings means defaults.
//
// A numerical failure (step-size underflow, the step limit, a non-finite
// value, a singular matrix) returns the solution computed so far together
// with an *Error that states the time, the step size and the reason.
// Misuse (mismatched lengths, a fixed-step method without Settings.Step)
// panics.
func Solve(prob Problem, solver Solver, settings *Settings) (*Solution, error) {
	n, _ := prob.dims()
	if solver == nil {
		solver = DP5
	}
	r := resolve(settings, n)
	var set Settings
	if settings != nil {
		set = *settings
	}
	checkTimes("Settings.SaveAt", set.SaveAt, prob.T0, prob.T1)
	sol := &Solution{t0: prob.T0, t1: prob.T1}
	ops := newSysOps(prob.System, prob.P, &sol.Stats, r.fdFloor())
	fld := newSysField(ops, nil)
	it := newIntegrator(fld, solver, &sol.Stats, r.rtol, r.atol, r)
	hermite := r.interp == InterpHermite
	it.needF1 = set.SaveAt != nil || set.Dense

	save := func(t float64, y []float64) {
		sol.T = append(sol.T, t)
		sol.Y = append(sol.Y, slices.Clone(y))
	}
	if set.Dense {
		sol.traj = &trajectory{}
	}
	saveAt := set.SaveAt
	for len(saveAt) > 0 && saveAt[0] == prob.T0 {
		save(prob.T0, prob.Y0)
		saveAt = saveAt[1:]
	}
	if set.SaveSteps && set.SaveAt == nil {
		save(prob.T0, prob.Y0)
	}
	rec := &denseRec{}
	buf := make([]float64, n)
	it.onStep = func(t, h float64, x0, x1, f0, f1 []float64) error {
		tEnd := t + h
		filled := false
		fill := func() {
			if !filled {
				it.st.dense(rec, t, h, x0, x1, f0, f1, hermite)
				filled = true
			}
		}
		for len(saveAt) > 0 && (h > 0 && saveAt[0] <= tEnd || h < 0 && saveAt[0] >= tEnd) {
			if saveAt[0] == tEnd {
				save(saveAt[0], x1)
			} else {
				fill()
				rec.eval(buf, saveAt[0])
				save(saveAt[0], buf)
			}
			saveAt = saveAt[1:]
		}
		if set.SaveSteps && set.SaveAt == nil {
			save(tEnd, x1)
		}
		if set.Dense {
			fill()
			c := &denseRec{}
			*c = *rec
			rec = &denseRec{} // hand the buffers over to the kept record
			filled = false
			sol.traj.recs = append(sol.traj.recs, c)
			sol.Stats.PeakStored += c.vectors()
		}
		return nil
	}
	stops := makeStops(prob.T0, prob.T1, set.Stops)
	x := slices.Clone(prob.Y0)
	err := it.run(prob.T0, x, stops)
	if err == nil {
		// The last step may end a hair before a SaveAt time equal to T1.
		for _, s := range saveAt {
			if s == prob.T1 {
				save(s, x)
			}
		}
		if set.SaveAt == nil && !set.SaveSteps {
			save(prob.T1, x)
		}
	}
	return sol, err
}
