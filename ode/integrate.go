package ode

import (
	"fmt"
	"math"
)

// MinRTol is the smallest relative tolerance an adaptive solve accepts: ten
// units of rounding of float64, the limit below which the local error
// estimate is rounding noise (Hairer's codes refuse the same tolerances).
const MinRTol = 10 * eps

// integrator drives a stepper over an interval: step-size control, stops,
// failure detection and callbacks. The sensitivity methods reuse it on
// their augmented fields.
type integrator struct {
	fld      field
	solver   Solver
	st       stepper
	phase    string
	stats    *Stats
	rtol     float64
	atol     []float64 // one entry per component of the field
	ctrl     PIController
	maxSteps int
	hmax     float64
	h0       float64 // first step size attempted (0: automatic); updated after a run
	fixedH   float64 // > 0: fixed steps of at most this size
	needF1   bool    // evaluate F at the final point (for Hermite dense output)

	// onStep is called after each accepted step from (t, x0) to
	// (t+h, x1) with f0 = F(t, x0) and f1 = F(t+h, x1) (nil if it was not
	// needed). The stepper still holds the step's stages.
	onStep func(t, h float64, x0, x1, f0, f1 []float64) error
	// onStop is called when stop i is reached, with the state there.
	onStop func(i int, t float64, x []float64) error

	// seq, if non-nil, is the sequence of steps to take, without error
	// control: step k goes from seq.ts[k] by seq.hs[k] and ends on
	// seq.ts[k+1] (the last one on the last stop).
	seq *stepTape

	x, x1, f0, f1, errv []float64
	steps               int     // accepted steps over all runs
	logErrPrev          float64 // log of the previous accepted error norm
}

func newIntegrator(fld field, solver Solver, stats *Stats, rtol float64, atol []float64, r *resolved) *integrator {
	n := fld.dim()
	if len(atol) != n {
		panic(fmt.Sprintf("ode: internal error: %d absolute tolerances for %d components", len(atol), n))
	}
	it := &integrator{
		fld: fld, solver: solver, st: solver.newStepper(fld), stats: stats,
		rtol: rtol, atol: atol, ctrl: r.ctrl.resolved(solver.errOrder()),
		maxSteps: r.maxSteps, hmax: r.maxStep, h0: r.h0, fixedH: r.step,
		x: make([]float64, n), x1: make([]float64, n), f0: make([]float64, n), f1: make([]float64, n),
		errv: make([]float64, n), logErrPrev: math.Log(1e-4),
	}
	if !solver.Adaptive() && it.fixedH <= 0 {
		panic(fmt.Sprintf("ode: %v has no error estimate: set Settings.Step", solver))
	}
	return it
}

func (it *integrator) fail(sentinel error, t, h float64, detail string) error {
	return &Error{Solver: it.solver.String(), Phase: it.phase, T: t, H: h, Step: it.steps, Detail: detail, Err: sentinel}
}

// run integrates from t0 with state x (overwritten with the final state)
// through the given stops; the last stop is the end of the interval. Stops
// must be ordered in the direction of integration; stops equal to t0 are
// reached at once.
func (it *integrator) run(t0 float64, x []float64, stops []float64) error {
	if len(stops) == 0 {
		return nil
	}
	if it.fixedH <= 0 && it.seq == nil && it.rtol < MinRTol {
		return it.fail(ErrTolerance, t0, 0, fmt.Sprintf("the relative tolerance %.3g is below what float64 arithmetic can reach "+
			"(the error estimate itself carries rounding errors of about %.1g): use a tolerance of at least %.1g", it.rtol, eps, MinRTol))
	}
	copy(it.x, x)
	t := t0
	it.fld.eval(it.f0, t, it.x)
	if !allFinite(it.f0) {
		return it.fail(ErrNonFinite, t, 0, fmt.Sprintf("F(t, y) is not finite at the initial point (component %d)", firstBad(it.f0)))
	}
	si := 0
	for si < len(stops) && stops[si] == t {
		if it.onStop != nil {
			if err := it.onStop(si, t, it.x); err != nil {
				return err
			}
		}
		si++
	}
	var err error
	if si < len(stops) {
		if it.seq != nil {
			err = it.runSteps(stops, si)
		} else if it.fixedH > 0 {
			err = it.runFixed(t, stops, si)
		} else {
			err = it.runAdaptive(t, stops, si)
		}
	}
	copy(x, it.x)
	return err
}

func firstBad(x []float64) int {
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return i
		}
	}
	return -1
}

// accept finishes an accepted step from t to tNew of size h.
func (it *integrator) accept(t, tNew, h float64, last bool) error {
	f1 := it.st.fsal()
	if f1 != nil {
		copy(it.f1, f1)
		f1 = it.f1
	} else if !last || it.needF1 {
		it.fld.eval(it.f1, tNew, it.x1)
		f1 = it.f1
	}
	it.steps++
	it.stats.Steps++
	if it.onStep != nil {
		if err := it.onStep(t, h, it.x, it.x1, it.f0, f1); err != nil {
			return err
		}
	}
	it.st.accepted()
	it.x, it.x1 = it.x1, it.x
	it.f0, it.f1 = it.f1, it.f0
	return nil
}

func (it *integrator) maxStepsError(t, h, t0, tEnd float64) error {
	detail := fmt.Sprintf("%d steps covered %.3g%% of [%g, %g]", it.maxSteps, 100*(t-t0)/(tEnd-t0), t0, tEnd)
	if !it.solver.Implicit() {
		detail += "; the problem is probably stiff: use a stiff solver such as ode.Rodas4"
	} else {
		detail += "; raise Settings.MaxSteps or loosen the tolerances"
	}
	return it.fail(ErrMaxSteps, t, h, detail)
}

func (it *integrator) nonFiniteError(t, h float64) error {
	if ts, ok := it.st.badStage(t, h); ok {
		return it.fail(ErrNonFinite, t, h, fmt.Sprintf("F returned a non-finite value at t = %.10g", ts))
	}
	return it.fail(ErrNonFinite, t, h, fmt.Sprintf("the solution became non-finite (component %d)", firstBad(it.x1)))
}

func (it *integrator) runFixed(t float64, stops []float64, si int) error {
	t0 := t
	for ; si < len(stops); si++ {
		stop := stops[si]
		m := int(math.Ceil(math.Abs(stop-t)/it.fixedH - 1e-9))
		if m < 1 {
			m = 1
		}
		ts, h := t, (stop-t)/float64(m)
		for i := range m {
			if it.steps >= it.maxSteps {
				return it.maxStepsError(t, h, t0, stops[len(stops)-1])
			}
			if err := it.st.step(t, h, it.x, it.f0, it.x1, nil); err != nil {
				return it.fail(ErrSingular, t, h, err.Error())
			}
			if !allFinite(it.x1) {
				return it.nonFiniteError(t, h)
			}
			tNew := ts + float64(i+1)*h
			if i == m-1 {
				tNew = stop
			}
			if err := it.accept(t, tNew, h, si == len(stops)-1 && i == m-1); err != nil {
				return err
			}
			t = tNew
		}
		if it.onStop != nil {
			if err := it.onStop(si, t, it.x); err != nil {
				return err
			}
		}
	}
	return nil
}

// runSteps takes the given sequence of steps (see integrator.steps).
func (it *integrator) runSteps(stops []float64, si int) error {
	ts, hs := it.seq.ts, it.seq.hs
	for k, t := range ts {
		h := hs[k]
		tNew := stops[len(stops)-1]
		if k+1 < len(ts) {
			tNew = ts[k+1]
		}
		if err := it.st.step(t, h, it.x, it.f0, it.x1, nil); err != nil {
			return it.fail(ErrSingular, t, h, err.Error())
		}
		if !allFinite(it.x1) {
			return it.nonFiniteError(t, h)
		}
		if err := it.accept(t, tNew, h, k == len(ts)-1); err != nil {
			return err
		}
		for si < len(stops) && stops[si] == tNew {
			if it.onStop != nil {
				if err := it.onStop(si, tNew, it.x); err != nil {
					return err
				}
			}
			si++
		}
	}
	if si < len(stops) {
		panic(fmt.Sprintf("ode: internal error: a step sequence ends at %v, before the stop %v", stops[len(stops)-1], stops[si]))
	}
	return nil
}

func (it *integrator) runAdaptive(t float64, stops []float64, si int) error {
	t0, tEnd := t, stops[len(stops)-1]
	dir := 1.0
	if tEnd < t0 {
		dir = -1
	}
	hmax := it.hmax
	if hmax <= 0 {
		hmax = math.Abs(tEnd - t0)
	}
	h := math.Abs(it.h0)
	if h == 0 {
		h = it.initialStep(t, tEnd, hmax)
	}
	h = dir * math.Min(h, hmax)
	q := it.solver.errOrder()
	rejects, fails := 0, 0
	attempts, nanAttempt, nanT := 0, -1000, math.NaN()
	for si < len(stops) {
		attempts++
		stop := stops[si]
		if it.steps >= it.maxSteps {
			return it.maxStepsError(t, h, t0, tEnd)
		}
		hs := h
		clipped := false
		if dir*(t+1.01*hs-stop) >= 0 {
			hs, clipped = stop-t, true
		}
		if math.Abs(hs) <= 16*eps*math.Max(math.Abs(t), math.Abs(t+hs)) || math.Abs(hs) < 1e-300 {
			if attempts-nanAttempt < 50 {
				// The steps shrank to avoid a non-finite derivative.
				return it.fail(ErrNonFinite, t, hs, fmt.Sprintf("F returned a non-finite value at t = %.10g and smaller steps did not avoid it", nanT))
			}
			return it.fail(ErrStepSize, t, hs, "the step size is below the resolution of t; the solution may be singular, or the tolerances too tight")
		}
		if err := it.st.step(t, hs, it.x, it.f0, it.x1, it.errv); err != nil {
			it.stats.Rejected++
			fails++
			if fails > 10 {
				return it.fail(ErrSingular, t, hs, err.Error())
			}
			h = hs / 4
			continue
		}
		e := errNorm(it.errv, it.x, it.x1, it.rtol, it.atol)
		if math.IsNaN(e) || math.IsInf(e, 0) {
			it.stats.Rejected++
			fails++
			nanAttempt = attempts
			if ts, ok := it.st.badStage(t, hs); ok {
				nanT = ts
			}
			if fails > 10 {
				return it.nonFiniteError(t, hs)
			}
			h = hs / 4
			continue
		}
		if e > 1 {
			it.stats.Rejected++
			rejects++
			f := it.ctrl.reject(e, q)
			if rejects > 2 {
				f = math.Min(f, 0.5)
			}
			h = hs * f
			continue
		}
		factor := it.ctrl.accept(e, it.logErrPrev)
		if rejects > 0 {
			factor = math.Min(factor, 1)
		}
		it.logErrPrev = math.Log(math.Max(e, 1e-4))
		tNew := t + hs
		if clipped {
			tNew = stop
		}
		if err := it.accept(t, tNew, hs, clipped && si == len(stops)-1); err != nil {
			return err
		}
		t = tNew
		rejects, fails = 0, 0
		hNew := hs * factor
		if clipped && math.Abs(h) > math.Abs(hNew) {
			hNew = h // the step was shortened to hit the stop
		}
		h = dir * math.Min(math.Abs(hNew), hmax)
		if clipped {
			if it.onStop != nil {
				if err := it.onStop(si, t, it.x); err != nil {
					return err
				}
			}
			si++
		}
	}
	it.h0 = h
	return nil
}

// initialStep chooses the first step size by Hairer's algorithm (Solving
// ODEs I, II.4): a step that makes an explicit Euler step's change, and the
// change of the derivative over it, small against the tolerances.
func (it *integrator) initialStep(t, tEnd, hmax float64) float64 {
	dir := 1.0
	if tEnd < t {
		dir = -1
	}
	x, f0 := it.x, it.f0
	d0 := rmsScaled(x, x, it.rtol, it.atol)
	d1 := rmsScaled(f0, x, it.rtol, it.atol)
	h0 := 1e-6
	if d0 >= 1e-5 && d1 >= 1e-5 {
		h0 = 0.01 * d0 / d1
	}
	h0 = math.Min(h0, hmax)
	y1, f1 := it.x1, it.f1
	var d2 float64
	for range 10 {
		for i := range x {
			y1[i] = x[i] + dir*h0*f0[i]
		}
		it.fld.eval(f1, t+dir*h0, y1)
		for i := range f1 {
			f1[i] -= f0[i]
		}
		d2 = rmsScaled(f1, x, it.rtol, it.atol) / h0
		if !math.IsNaN(d2) && !math.IsInf(d2, 0) {
			break
		}
		h0 /= 10
	}
	p := float64(it.solver.order())
	var h1 float64
	if m := math.Max(d1, d2); m <= 1e-15 || math.IsNaN(m) || math.IsInf(m, 0) {
		h1 = math.Max(1e-6, h0*1e-3)
	} else {
		h1 = math.Pow(0.01/m, 1/(p+1))
	}
	return math.Min(math.Min(100*h0, h1), hmax)
}
