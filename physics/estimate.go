package physics

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/optimize"

	"github.com/adjointkit/adjointkit/ode"
)

// Estimation is a least-squares inverse problem on an ODE model: find the
// parameters p[Params] and initial-state components y₀[InitialState] that
// minimise
//
//	L(x) = ½ Σᵢ Σⱼ (y_{Observe[j]}(tᵢ) − Data[i][j])² + ½ α ‖x − Prior‖²,
//
// where x = (p[Params], y₀[InitialState]) is the vector of unknowns in that
// order and α = Tikhonov (a regulariser, or the background term of 4D-Var).
// The other entries of p and y₀ keep their values in Problem. Loss returns L
// and ∇L from one ode.Gradient call.
type Estimation struct {
	// Problem is the model with the known parameters and initial state;
	// the estimated entries are overwritten by x.
	Problem ode.Problem
	// Times are the observation times, increasing (or decreasing for a
	// backward problem), within [Problem.T0, Problem.T1].
	Times []float64
	// Data holds the observations: Data[i][j] observes component
	// Observe[j] of the state at Times[i].
	Data [][]float64
	// Observe lists the observed state components. Nil means all of them.
	Observe []int
	// Params lists the estimated parameter indices. Nil means none.
	Params []int
	// InitialState lists the estimated initial-state components. Nil means
	// none.
	InitialState []int
	// Tikhonov is the weight α ≥ 0 of the regulariser ½α‖x − Prior‖².
	// Zero means no regularisation.
	Tikhonov float64
	// Prior is the regulariser's reference value of x (or the background
	// state of 4D-Var). Nil means zero.
	Prior []float64
	// Solver, Method and Settings configure ode.Gradient: nil means DP5,
	// the interpolating adjoint and default tolerances.
	Solver   ode.Solver
	Method   ode.Sensitivity
	Settings *ode.Settings
}

// Dim returns the number of unknowns, len(Params) + len(InitialState).
func (e *Estimation) Dim() int { return len(e.Params) + len(e.InitialState) }

// Validate returns an error describing a bad configuration: no unknowns,
// out-of-range or repeated indices, observation times outside the window or
// out of order, data of the wrong shape or not finite, a negative Tikhonov
// weight, a Prior of the wrong length.
func (e *Estimation) Validate() error {
	pr := e.Problem
	if pr.System == nil {
		return errors.New("physics: estimation has no model")
	}
	n, np := pr.System.Dims()
	if e.Dim() == 0 {
		return errors.New("physics: estimation has no unknowns (Params and InitialState are empty)")
	}
	if err := checkIndices("parameter", e.Params, np); err != nil {
		return err
	}
	if err := checkIndices("initial-state", e.InitialState, n); err != nil {
		return err
	}
	if err := checkIndices("observed", e.Observe, n); err != nil {
		return err
	}
	if len(e.Times) == 0 {
		return errors.New("physics: estimation has no observation times")
	}
	if len(e.Data) != len(e.Times) {
		return fmt.Errorf("physics: %d observation times but %d rows of data", len(e.Times), len(e.Data))
	}
	lo, hi := min(pr.T0, pr.T1), max(pr.T0, pr.T1)
	dir := 1.0
	if pr.T1 < pr.T0 {
		dir = -1
	}
	nobs := n
	if e.Observe != nil {
		nobs = len(e.Observe)
	}
	for i, t := range e.Times {
		if !(t >= lo && t <= hi) {
			return fmt.Errorf("physics: observation time %v (index %d) is outside the window [%v, %v]", t, i, lo, hi)
		}
		if i > 0 && dir*(t-e.Times[i-1]) < 0 {
			return fmt.Errorf("physics: observation times are not in the direction of integration at index %d", i)
		}
		if len(e.Data[i]) != nobs {
			return fmt.Errorf("physics: data row %d has %d values, want %d", i, len(e.Data[i]), nobs)
		}
		for j, v := range e.Data[i] {
			if !finite(v) {
				return fmt.Errorf("physics: data[%d][%d] is %v", i, j, v)
			}
		}
	}
	if !(e.Tikhonov >= 0) || !finite(e.Tikhonov) {
		return fmt.Errorf("physics: Tikhonov weight %v must be non-negative", e.Tikhonov)
	}
	if e.Prior != nil && len(e.Prior) != e.Dim() {
		return fmt.Errorf("physics: prior has length %d, want %d", len(e.Prior), e.Dim())
	}
	return nil
}

func checkIndices(what string, idx []int, n int) error {
	seen := make(map[int]bool, len(idx))
	for _, i := range idx {
		if i < 0 || i >= n {
			return fmt.Errorf("physics: %s index %d out of range [0, %d)", what, i, n)
		}
		if seen[i] {
			return fmt.Errorf("physics: %s index %d repeated", what, i)
		}
		seen[i] = true
	}
	return nil
}

// Unknowns returns x taken from Problem (the current values of the estimated
// entries).
func (e *Estimation) Unknowns() []float64 {
	x := make([]float64, 0, e.Dim())
	for _, i := range e.Params {
		x = append(x, e.Problem.P[i])
	}
	for _, i := range e.InitialState {
		x = append(x, e.Problem.Y0[i])
	}
	return x
}

// With returns a copy of Problem with the unknowns set to x.
func (e *Estimation) With(x []float64) ode.Problem {
	checkLen("unknowns", len(x), e.Dim())
	pr := e.Problem
	pr.P = slices.Clone(pr.P)
	pr.Y0 = slices.Clone(pr.Y0)
	for k, i := range e.Params {
		pr.P[i] = x[k]
	}
	for k, i := range e.InitialState {
		pr.Y0[i] = x[len(e.Params)+k]
	}
	return pr
}

// Cost returns the data misfit as an ode.Cost (without the regulariser).
func (e *Estimation) Cost() ode.Cost {
	return ode.Cost{Observations: ode.LeastSquaresOf(e.Times, e.Data, e.Observe)}
}

// Loss returns L(x) and, if grad is non-nil, writes ∇L(x) to it. A failed
// solve is a returned error. The configuration is not validated here: call
// Validate first.
func (e *Estimation) Loss(grad, x []float64) (float64, error) {
	pr := e.With(x)
	var val float64
	if grad == nil {
		v, _, err := ode.Evaluate(pr, e.Cost(), e.Solver, e.Settings)
		if err != nil {
			return math.NaN(), err
		}
		val = v
	} else {
		checkLen("gradient", len(grad), e.Dim())
		r, err := ode.Gradient(pr, e.Cost(), e.Solver, e.Method, e.Settings)
		if err != nil {
			return math.NaN(), err
		}
		val = r.Value
		for k, i := range e.Params {
			grad[k] = r.DP[i]
		}
		for k, i := range e.InitialState {
			grad[len(e.Params)+k] = r.DY0[i]
		}
	}
	if e.Tikhonov > 0 {
		for k, v := range x {
			d := v
			if e.Prior != nil {
				d -= e.Prior[k]
			}
			val += e.Tikhonov * d * d / 2
			if grad != nil {
				grad[k] += e.Tikhonov * d
			}
		}
	}
	return val, nil
}

// OptimizeSettings configures Minimize. A nil *OptimizeSettings means the
// zero value, whose fields all mean the defaults documented on them.
type OptimizeSettings struct {
	// Method is the gonum/optimize method. Nil means L-BFGS.
	Method optimize.Method
	// MaxIterations bounds the major iterations. Zero means 500.
	MaxIterations int
	// GradientTol stops when the infinity norm of the gradient falls
	// below it. Zero means 1e-10.
	GradientTol float64
	// FunctionTol stops when the loss has not decreased by more than
	// FunctionTol + 1e-10·|loss| over 5 iterations. Zero means 1e-14;
	// negative disables the test.
	FunctionTol float64
	// OnIteration, if non-nil, is called after every major iteration (and
	// once at the start with iter = 0) with the current point and loss.
	// x must not be retained. Nil means no call.
	OnIteration func(iter int, x []float64, loss float64)
}

// Result reports a minimisation.
type Result struct {
	// X is the minimiser found and Loss the loss there.
	X    []float64
	Loss float64
	// Iterations counts major iterations; Evaluations counts loss
	// evaluations with gradient (each one ode.Gradient: a forward and a
	// backward solve) and LossOnly those without.
	Iterations, Evaluations, LossOnly int
	// History holds the loss at the start and after every major iteration.
	History []float64
	// Status is gonum's reason for stopping.
	Status optimize.Status
}

// Minimize minimises a loss that returns its value and, when grad is
// non-nil, writes its gradient (such as Estimation.Loss), from x0 with
// gonum/optimize. gonum's separate Func and Grad calls at one point share one
// evaluation. A line search that cannot make progress at the precision of
// the gradient ends the run normally (it is how ODE-based fits usually
// converge); other optimizer failures, and a loss error at the final point,
// are returned errors together with the result so far.
func Minimize(loss func(grad, x []float64) (float64, error), x0 []float64, settings *OptimizeSettings) (*Result, error) {
	var s OptimizeSettings
	if settings != nil {
		s = *settings
	}
	if s.Method == nil {
		s.Method = &optimize.LBFGS{}
	}
	if s.MaxIterations == 0 {
		s.MaxIterations = 500
	}
	if s.GradientTol == 0 {
		s.GradientTol = 1e-10
	}
	if s.FunctionTol == 0 {
		s.FunctionTol = 1e-14
	}
	res := &Result{}
	var (
		cx      []float64
		cf      float64
		cg      []float64
		lastErr error
	)
	eval := func(x []float64, needGrad bool) (float64, []float64) {
		if cx != nil && slices.Equal(cx, x) && (cg != nil || !needGrad) {
			return cf, cg
		}
		var g []float64
		if needGrad {
			g = make([]float64, len(x))
			res.Evaluations++
		} else {
			res.LossOnly++
		}
		f, err := loss(g, x)
		if err != nil {
			lastErr = err
			f = math.Inf(1)
			for i := range g { // g is nil for a loss-only evaluation
				g[i] = math.NaN()
			}
		}
		cx, cf, cg = slices.Clone(x), f, g
		return f, g
	}
	prob := optimize.Problem{
		Func: func(x []float64) float64 {
			f, _ := eval(x, true)
			return f
		},
		Grad: func(grad, x []float64) {
			_, g := eval(x, true)
			copy(grad, g)
		},
	}
	f0, _ := eval(x0, true)
	res.History = append(res.History, f0)
	if s.OnIteration != nil {
		s.OnIteration(0, x0, f0)
	}
	if lastErr != nil {
		return res, fmt.Errorf("physics: loss at the starting point: %w", lastErr)
	}
	rec := &iterRecorder{res: res, on: s.OnIteration}
	os := &optimize.Settings{
		GradientThreshold: s.GradientTol,
		MajorIterations:   s.MaxIterations,
		Recorder:          rec,
	}
	if s.FunctionTol > 0 {
		os.Converger = &optimize.FunctionConverge{Absolute: s.FunctionTol, Relative: 1e-10, Iterations: 5}
	} else {
		os.Converger = optimize.NeverTerminate{}
	}
	r, err := optimize.Minimize(prob, x0, os, s.Method)
	if r != nil {
		res.X = slices.Clone(r.X)
		res.Loss = r.F
		res.Status = r.Status
		res.Iterations = r.MajorIterations
	}
	if err != nil {
		if errors.Is(err, optimize.ErrLinesearcherFailure) || errors.Is(err, optimize.ErrNoProgress) || errors.Is(err, optimize.ErrNonDescentDirection) {
			err = nil
		}
	}
	if err == nil && math.IsInf(res.Loss, 0) && lastErr != nil {
		err = lastErr
	}
	if err != nil {
		return res, fmt.Errorf("physics: minimisation: %w", err)
	}
	return res, nil
}

// iterRecorder records the loss after each major iteration.
type iterRecorder struct {
	res *Result
	on  func(int, []float64, float64)
	it  int
}

var _ optimize.Recorder = (*iterRecorder)(nil)

func (r *iterRecorder) Init() error { return nil }

func (r *iterRecorder) Record(loc *optimize.Location, op optimize.Operation, _ *optimize.Stats) error {
	if op&optimize.MajorIteration == 0 {
		return nil
	}
	r.it++
	r.res.History = append(r.res.History, loc.F)
	if r.on != nil {
		r.on(r.it, loc.X, loc.F)
	}
	return nil
}

// Synthesize solves prob and returns its state components observe (nil:
// all) at the given times, as Estimation.Data: synthetic observations for
// testing an inverse problem. Add noise to them yourself. A nil solver
// means DP5 and nil settings defaults (SaveAt is set to times).
func Synthesize(prob ode.Problem, times []float64, observe []int, solver ode.Solver, settings *ode.Settings) ([][]float64, error) {
	var s ode.Settings
	if settings != nil {
		s = *settings
	}
	s.SaveAt, s.SaveSteps = times, false
	sol, err := ode.Solve(prob, solver, &s)
	if err != nil {
		return nil, fmt.Errorf("physics: synthesizing data: %w", err)
	}
	data := make([][]float64, len(sol.Y))
	for i, y := range sol.Y {
		if observe == nil {
			data[i] = slices.Clone(y)
			continue
		}
		row := make([]float64, len(observe))
		for j, k := range observe {
			row[j] = y[k]
		}
		data[i] = row
	}
	return data, nil
}
