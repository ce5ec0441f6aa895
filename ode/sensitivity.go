package ode

import (
	"fmt"
	"math"
	"slices"
)

// Sensitivity is a method for the gradient of a Cost: Forward, Backsolve,
// Interpolating or Discrete. Any of them works with any solver; they differ
// in cost, memory and accuracy (see each type).
//
// The interface is closed: its unexported method ties a method to the
// package's integrator.
type Sensitivity interface {
	// String returns the method's name.
	String() string
	// record runs the forward solve and keeps what backward needs.
	record(j *gradJob) (*fwdTrace, any, error)
	// backward computes the gradient from what record kept. It does not
	// modify the record, so that it can run any number of times, also
	// concurrently, each with its own job holding another cost with the
	// same observation times and kinds of terms (the ODE solve op calls it
	// once per cotangent).
	backward(j *gradJob, tr *fwdTrace, rec any) error
}

// Tolerances are the error tolerances of the auxiliary solve of a
// sensitivity method: the backward adjoint solve, or the sensitivity
// equations of Forward. Zero fields inherit from the forward solve's
// Settings.
type Tolerances struct {
	// RTol is the relative tolerance. Zero means Settings.RTol.
	RTol float64
	// ATol is the absolute tolerance of the adjoint (or sensitivity)
	// states. Zero means the forward absolute tolerance of the matching
	// state component.
	ATol float64
	// ATolQuad is the absolute tolerance of the quadrature variables
	// (the accumulating parameter gradient). Zero means ATol if set, else
	// the largest forward absolute tolerance.
	ATolQuad float64
	// MaxSteps bounds the steps of the auxiliary solve. Zero means
	// Settings.MaxSteps.
	MaxSteps int
}

// GradientResult is the result of Gradient.
type GradientResult struct {
	// Value is the cost G.
	Value float64
	// DP is dG/dp and DY0 is dG/dy₀.
	DP, DY0 []float64
	// YT is the final state y(T1) of the forward solve.
	YT []float64
	// Forward counts the work of the forward solve and Backward that of
	// the sensitivity computation (the backward solve and any
	// recomputation, or the sensitivity equations of Forward, which have no
	// separate forward solve).
	Forward, Backward Stats
}

// Gradient computes the cost G of the solution of prob and its gradients
// dG/dp and dG/dy₀ with the given sensitivity method. A nil solver means DP5,
// a nil method means Interpolating{} and a nil settings means defaults; the
// settings configure the forward solve (and, through Tolerances, the
// auxiliary one).
//
// A numerical failure returns an error naming the phase (forward,
// backward, …), the time and the step size. Misuse panics.
func Gradient(prob Problem, cost Cost, solver Solver, method Sensitivity, settings *Settings) (*GradientResult, error) {
	n, np := prob.dims()
	cost.check(prob)
	if solver == nil {
		solver = DP5
	}
	if method == nil {
		method = &Interpolating{}
	}
	j := newGradJob(prob, cost, solver, settings, n, np)
	var err error
	if f, ok := method.(*Forward); ok {
		err = f.gradient(j) // one solve of the solution with its sensitivities
	} else {
		var tr *fwdTrace
		var rec any
		if tr, rec, err = method.record(j); err == nil {
			err = method.backward(j, tr, rec)
		}
	}
	if err != nil {
		return j.res, fmt.Errorf("ode: %v gradient: %w", method, err)
	}
	return j.res, nil
}

// newGradJob prepares a gradient computation (the problem's shapes already
// checked).
func newGradJob(prob Problem, cost Cost, solver Solver, settings *Settings, n, np int) *gradJob {
	var set Settings
	if settings != nil {
		set = *settings
	}
	checkTimes("Settings.SaveAt", set.SaveAt, prob.T0, prob.T1)
	j := &gradJob{prob: prob, cost: cost, solver: solver, set: set, r: resolve(settings, n), n: n, np: np,
		res: &GradientResult{DP: make([]float64, np), DY0: make([]float64, n)}}
	j.prepare()
	return j
}

// gradJob holds what every sensitivity method needs.
type gradJob struct {
	prob   Problem
	cost   Cost
	solver Solver
	set    Settings
	r      *resolved
	n, np  int
	res    *GradientResult

	stops    []float64 // forward stops: observation times, user stops, T1
	obsTimes []float64
	obsAtT0  []int   // observations at T0
	obsAt    [][]int // obsAt[i]: observations at stops[i]

	// steps, if non-nil, makes the forward solve take these steps instead
	// of choosing its own (the tangent systems of the solve op follow the
	// steps of the solve they differentiate).
	steps *stepTape
}

func (j *gradJob) prepare() {
	if o := j.cost.Observations; o != nil {
		j.obsTimes = o.Times
	}
	user := append(slices.Clone(j.set.Stops), j.obsTimes...)
	j.stops = makeStops(j.prob.T0, j.prob.T1, user)
	j.obsAt = make([][]int, len(j.stops))
	for i, t := range j.obsTimes {
		if t == j.prob.T0 {
			j.obsAtT0 = append(j.obsAtT0, i)
			continue
		}
		k, _ := slices.BinarySearchFunc(j.stops, t, func(a, b float64) int {
			if j.prob.T1 < j.prob.T0 {
				a, b = -a, -b
			}
			switch {
			case a < b:
				return -1
			case a > b:
				return 1
			}
			return 0
		})
		j.obsAt[k] = append(j.obsAt[k], i)
	}
}

// quadATol is the absolute tolerance of a quadrature component of the
// forward solve.
func (j *gradJob) quadATol() float64 {
	return slices.Max(j.r.atol)
}

// forwardAtol returns the absolute tolerances of [y, q].
func (j *gradJob) forwardAtol() []float64 {
	a := slices.Clone(j.r.atol)
	if j.cost.Integral != nil {
		a = append(a, j.quadATol())
	}
	return a
}

// fwdTrace is what the forward pass leaves for the backward one.
type fwdTrace struct {
	x     []float64   // final [y, q]
	obsY  [][]float64 // y at each observation time
	obsK  []int       // the number of accepted steps when each observation was reached
	value float64     // G
}

// forward runs the forward solve of [y, q] with the observations; onStep,
// if non-nil, sees every accepted step. It fills res.YT and res.Value.
func (j *gradJob) forward(onStep func(it *integrator, t, h float64, x0, x1, f0, f1 []float64) error, needF1 bool) (*fwdTrace, error) {
	st := &j.res.Forward
	ops := newSysOps(j.prob.System, j.prob.P, st, j.r.fdFloor())
	fld := newSysField(ops, j.cost.Integral)
	it := newIntegrator(fld, j.solver, st, j.r.rtol, j.forwardAtol(), j.r)
	it.phase = "forward"
	it.needF1 = needF1
	it.seq = j.steps
	tr := &fwdTrace{obsY: make([][]float64, len(j.obsTimes)), obsK: make([]int, len(j.obsTimes))}
	for _, i := range j.obsAtT0 {
		tr.obsY[i] = slices.Clone(j.prob.Y0)
	}
	it.onStop = func(i int, _ float64, x []float64) error {
		for _, k := range j.obsAt[i] {
			tr.obsY[k] = slices.Clone(x[:j.n])
			tr.obsK[k] = it.steps
		}
		return nil
	}
	if onStep != nil {
		it.onStep = func(t, h float64, x0, x1, f0, f1 []float64) error { return onStep(it, t, h, x0, x1, f0, f1) }
	}
	x := make([]float64, fld.dim())
	copy(x, j.prob.Y0)
	if err := it.run(j.prob.T0, x, j.stops); err != nil {
		return nil, err
	}
	tr.x = x
	j.res.YT = slices.Clone(x[:j.n])
	v, err := j.costValue(x, tr.obsY)
	if err != nil {
		return nil, err
	}
	tr.value = v
	j.res.Value = v
	return tr, nil
}

// costValue evaluates G from the final state and the observed states.
func (j *gradJob) costValue(x []float64, obsY [][]float64) (float64, error) {
	var g float64
	p := j.prob.P
	if c := j.cost.Terminal; c != nil {
		g += c.G(x[:j.n], p)
	}
	if j.cost.Integral != nil {
		g += x[j.n]
	}
	if o := j.cost.Observations; o != nil {
		for i := range o.Times {
			g += o.G(i, obsY[i], p)
		}
	}
	if !finite(g) {
		return g, &Error{Solver: j.solver.String(), Phase: "cost", T: j.prob.T1, Detail: fmt.Sprintf("the cost is %v", g), Err: ErrNonFinite}
	}
	return g, nil
}

// adjointStart returns λ(T1) = ∂g_T/∂y (plus observations at T1) and adds
// ∂g_T/∂p to dp.
func (j *gradJob) adjointStart(yT []float64, obsY [][]float64, dp []float64) []float64 {
	lam := make([]float64, j.n)
	if c := j.cost.Terminal; c != nil {
		c.Grad(lam, dp, yT, j.prob.P)
	}
	last := len(j.stops) - 1
	j.observationJump(lam, dp, j.obsAt[last], obsY)
	return lam
}

// observationJump adds the observation gradients at one time to λ and dp.
func (j *gradJob) observationJump(lam, dp []float64, obs []int, obsY [][]float64) {
	for _, i := range obs {
		j.cost.Observations.Grad(lam, dp, i, obsY[i], j.prob.P)
	}
}

// adjointAtol returns the absolute tolerances of the adjoint states (one
// per state) and of the parameter quadrature.
func (j *gradJob) adjointAtol(tol Tolerances) (lam []float64, quad float64) {
	lam = slices.Clone(j.r.atol)
	if tol.ATol > 0 {
		for i := range lam {
			lam[i] = tol.ATol
		}
	}
	quad = tol.ATolQuad
	if quad == 0 {
		quad = tol.ATol
	}
	if quad == 0 {
		quad = j.quadATol()
	}
	return lam, quad
}

// auxResolved returns the resolved settings of an auxiliary solve.
func (j *gradJob) auxResolved(tol Tolerances) (*resolved, float64) {
	r := *j.r
	r.h0 = 0
	rtol := j.r.rtol
	if tol.RTol > 0 {
		rtol = tol.RTol
	}
	if tol.MaxSteps > 0 {
		r.maxSteps = tol.MaxSteps
	}
	return &r, rtol
}

// backwardStops returns the times at which the continuous adjoint must
// stop on its way from T1 to T0: the forward stops in reverse (where
// observations make λ jump), then T0.
func (j *gradJob) backwardStops() []float64 {
	bs := make([]float64, 0, len(j.stops))
	for i := len(j.stops) - 2; i >= 0; i-- {
		bs = append(bs, j.stops[i])
	}
	return append(bs, j.prob.T0)
}

func checkFiniteVec(what string, v []float64, t float64, solver Solver) error {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return &Error{Solver: solver.String(), Phase: "backward", T: t, Detail: fmt.Sprintf("%s[%d] = %v", what, i, x), Err: ErrNonFinite}
		}
	}
	return nil
}

// Evaluate returns the cost G of the solution of prob without its gradient:
// one forward solve (with the integral cost as a quadrature and the
// observation times as stops), the same solve that Gradient's adjoint
// methods start with. A nil solver means DP5 and a nil settings means
// defaults.
func Evaluate(prob Problem, cost Cost, solver Solver, settings *Settings) (float64, Stats, error) {
	n, np := prob.dims()
	cost.check(prob)
	if solver == nil {
		solver = DP5
	}
	j := newGradJob(prob, cost, solver, settings, n, np)
	tr, err := j.forward(nil, false)
	if err != nil {
		return math.NaN(), j.res.Forward, fmt.Errorf("ode: evaluating the cost: %w", err)
	}
	return tr.value, j.res.Forward, nil
}
