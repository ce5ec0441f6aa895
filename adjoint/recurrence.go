package adjoint

import (
	"errors"
	"fmt"
	"math"
)

// ErrNonFinite is wrapped by the errors returned when a state, a loss or an
// adjoint becomes NaN or infinite. Test for it with errors.Is.
var ErrNonFinite = errors.New("non-finite value")

// Step is one transition of a recurrence,
//
//	x_{k+1} = step(k, x_k, θ),  k = 0, …, n−1,
//
// the common shape of an RNN cell, an ODE solver step and an optimiser
// update. The state x and the parameters θ are flat vectors; use a Layout
// when either is made of several tensors.
//
// Eval must be deterministic: called twice with the same arguments it must
// produce the same bits, because checkpointing recomputes states instead of
// storing them, and the gradients of all policies are then bit-identical.
// Neither method may retain or modify x, θ or nextbar.
type Step interface {
	// Eval computes next = step(k, x, θ). next has the length of x and
	// aliases neither x nor θ.
	Eval(next []float64, k int, x, theta []float64)
	// VJP accumulates xbar += (∂step/∂x)ᵀ nextbar and
	// thetabar += (∂step/∂θ)ᵀ nextbar, the Jacobians taken at (k, x, θ).
	VJP(xbar, thetabar []float64, k int, x, theta, nextbar []float64)
}

// Loss is the terminal term ℓ_T(x_n, θ) of the loss of a recurrence,
//
//	L = Σ_{k=0}^{n−1} ℓ_k(x_k, θ) + ℓ_T(x_n, θ).
//
// A Loss that also implements RunningLoss contributes the per-step terms
// ℓ_k; otherwise they are zero.
type Loss interface {
	// Terminal returns ℓ_T(x, θ).
	Terminal(x, theta []float64) float64
	// TerminalGrad accumulates xbar += ∂ℓ_T/∂x and thetabar += ∂ℓ_T/∂θ.
	TerminalGrad(xbar, thetabar []float64, x, theta []float64)
}

// RunningLoss is an optional capability of a Loss: the per-step terms
// ℓ_k(x_k, θ), k = 0, …, n−1 (the running cost of optimal control).
type RunningLoss interface {
	// Running returns ℓ_k(x, θ).
	Running(k int, x, theta []float64) float64
	// RunningGrad accumulates xbar += ∂ℓ_k/∂x and thetabar += ∂ℓ_k/∂θ.
	RunningGrad(xbar, thetabar []float64, k int, x, theta []float64)
}

// RecurrenceSettings configures Recurrence. A nil *RecurrenceSettings means
// the zero value, whose fields all mean "off".
type RecurrenceSettings struct {
	// Stop, if non-nil, makes the number of steps unknown in advance:
	// Stop(k, x_k) is called with each state, k = 0, 1, …, before step k
	// would be taken, and returning true ends the recurrence with n = k
	// (x_k then receives the terminal loss). The n argument of Recurrence
	// becomes an upper limit (n < 0: none); reaching it ends the recurrence
	// as if Stop had returned true. The gradient treats the stopping index
	// as fixed. Nil means exactly n steps.
	Stop func(k int, x []float64) bool
	// OnState, if non-nil, is called once with each state x_k,
	// k = 0, …, n, in increasing k during the forward sweep (never for
	// recomputed states). x is valid only during the call and must not be
	// modified. Nil means no call.
	OnState func(k int, x []float64)
	// OnAdjoint, if non-nil, is called with each adjoint state
	// λ_k = ∂L/∂x_k, for k = n, n−1, …, 0 in that order, for gradient-flow
	// recording (for instance the norm of λ_k against k). lambda is valid
	// only during the call and must not be modified. Nil means no call.
	OnAdjoint func(k int, lambda []float64)
}

// RecurrenceResult reports the outcome of Recurrence: the loss and the cost
// counters, which are filled in as far as the run got when an error is
// returned.
type RecurrenceResult struct {
	// Loss is L = Σ_k ℓ_k(x_k, θ) + ℓ_T(x_n, θ), summed in increasing k.
	Loss float64
	// Steps is the number of steps n of the recurrence.
	Steps int
	// Evals is the number of Step.Eval calls: the forward sweep plus every
	// recomputation the checkpointing policy needed.
	Evals int
	// VJPs is the number of Step.VJP calls (Steps on success).
	VJPs int
	// PeakStored is the largest number of states the policy held at once
	// as checkpoints, counting the copy of x_0. It excludes the four
	// working vectors every policy uses (two states, two adjoints).
	PeakStored int
}

// Recomputed returns the number of step evaluations beyond the n of a plain
// forward sweep, the price of storing fewer states.
func (r RecurrenceResult) Recomputed() int { return r.Evals - r.Steps }

// Recurrence differentiates a loss through an unrolled recurrence by the
// discrete adjoint method (backpropagation through time, generalised).
//
// The recurrence x_{k+1} = step(k, x_k, θ), k = 0, …, n−1, starts at x0,
// and the loss is L = Σ_{k=0}^{n−1} ℓ_k(x_k, θ) + ℓ_T(x_n, θ) (see Loss and
// RunningLoss). Recurrence returns L in the result and writes dL/dx_0 to
// dstX0bar and dL/dθ to dstThetabar, overwriting them; either may be nil
// when it is not wanted. The adjoint recurrence is
//
//	λ_n = ∂ℓ_T/∂x_n,
//	λ_k = (∂step/∂x_k)ᵀ λ_{k+1} + ∂ℓ_k/∂x_k,
//	dL/dθ = ∂ℓ_T/∂θ + Σ_k [(∂step/∂θ)ᵀ λ_{k+1} + ∂ℓ_k/∂θ],
//
// and dL/dx_0 = λ_0. The VJPs run in decreasing k and the θ contributions
// are summed in that order, whatever the policy, so every policy returns
// bit-identical gradients for a deterministic step.
//
// policy decides which states are stored and which recomputed (StoreAll,
// Every, Binomial; see Policy). n is the number of steps, or with
// settings.Stop the maximum number (n < 0: unlimited). A nil settings means
// defaults.
//
// A NaN or infinite state, loss term or adjoint stops the run with an error
// that names the step and wraps ErrNonFinite. Recurrence panics if step or
// loss is nil, if the destination lengths do not match x0 and theta, or if
// n < 0 without settings.Stop.
func Recurrence(dstX0bar, dstThetabar []float64, step Step, loss Loss, x0, theta []float64, n int, policy Policy, settings *RecurrenceSettings) (RecurrenceResult, error) {
	if step == nil || loss == nil {
		panic("adjoint: Recurrence: nil step or loss")
	}
	if dstX0bar != nil && len(dstX0bar) != len(x0) {
		panic(fmt.Sprintf("adjoint: Recurrence: len(dstX0bar) = %d, len(x0) = %d", len(dstX0bar), len(x0)))
	}
	if dstThetabar != nil && len(dstThetabar) != len(theta) {
		panic(fmt.Sprintf("adjoint: Recurrence: len(dstThetabar) = %d, len(theta) = %d", len(dstThetabar), len(theta)))
	}
	var set RecurrenceSettings
	if settings != nil {
		set = *settings
	}
	if n < 0 && set.Stop == nil {
		panic(fmt.Sprintf("adjoint: Recurrence: n = %d steps without a Stop condition", n))
	}
	policy.check()

	thetabar := dstThetabar
	if thetabar == nil {
		thetabar = make([]float64, len(theta))
	} else {
		clear(thetabar)
	}
	d := len(x0)
	e := &engine{
		step:     step,
		loss:     loss,
		theta:    theta,
		thetabar: thetabar,
		set:      set,
		n:        n,
		limit:    n,
		d:        d,
		cur:      make([]float64, d),
		nxt:      make([]float64, d),
		lam:      make([]float64, d),
		lamNext:  make([]float64, d),
	}
	e.running, _ = loss.(RunningLoss)
	if set.Stop != nil {
		e.n = -1 // found by the forward sweep
	}

	var err error
	switch {
	case policy.kind == policyBinomial && set.Stop == nil:
		err = e.runRevolve(x0, policy.k)
	case policy.kind == policyBinomial:
		err = e.runCountThenRevolve(x0, policy.k)
	case policy.kind == policyEvery:
		err = e.runEvery(x0, policy.k)
	default:
		err = e.runEvery(x0, 1)
	}
	steps := e.n
	if steps < 0 {
		steps = e.curK // the sweep failed before finding n
	}
	res := RecurrenceResult{
		Loss:       e.value,
		Steps:      steps,
		Evals:      e.evals,
		VJPs:       e.vjps,
		PeakStored: e.peak,
	}
	if err != nil {
		return res, err
	}
	if dstX0bar != nil {
		// After the last adjoint step λ_0 sits in lamNext.
		copy(dstX0bar, e.lamNext)
	}
	return res, nil
}

// engine holds the state of one Recurrence run. The policies in
// checkpoint.go and revolve.go drive it through advance, store, release and
// adjointStep.
type engine struct {
	step    Step
	loss    Loss
	running RunningLoss // nil when the loss has no per-step terms
	theta   []float64
	set     RecurrenceSettings

	n     int // number of steps; negative while unknown
	limit int // the n argument: the step limit when Stop is set
	d     int // state length

	cur, nxt     []float64 // working states: cur holds x_curK
	curK         int
	lam, lamNext []float64 // lamNext holds λ_{k+1} before adjointStep(k)
	thetabar     []float64

	frontier     int  // largest k whose state the forward sweep has visited
	terminalDone bool // λ_n has been formed
	value        float64

	free   [][]float64 // released state buffers for reuse
	stored int
	peak   int
	evals  int
	vjps   int
}

// slot returns a buffer for a stored state, counting it against the peak.
// Its contents are undefined.
func (e *engine) slot() []float64 {
	var buf []float64
	if k := len(e.free); k > 0 {
		buf = e.free[k-1]
		e.free = e.free[:k-1]
	} else {
		buf = make([]float64, e.d)
	}
	e.stored++
	if e.stored > e.peak {
		e.peak = e.stored
	}
	return buf
}

// store returns a stored copy of x.
func (e *engine) store(x []float64) []float64 {
	buf := e.slot()
	copy(buf, x)
	return buf
}

// release returns a stored state's buffer.
func (e *engine) release(buf []float64) {
	e.stored--
	e.free = append(e.free, buf)
}

// advance sets cur to x_to by stepping forward from the state x_from held
// in src. States reached for the first time are visited (running loss,
// finiteness, OnState); n must be known.
func (e *engine) advance(src []float64, from, to int) error {
	copy(e.cur, src)
	e.curK = from
	for e.curK < to {
		k := e.curK
		e.step.Eval(e.nxt, k, e.cur, e.theta)
		e.evals++
		e.cur, e.nxt = e.nxt, e.cur
		e.curK++
		if e.curK > e.frontier {
			if err := e.checkState(k, e.cur); err != nil {
				return err
			}
			if err := e.visit(e.curK, e.cur); err != nil {
				return err
			}
		}
	}
	return nil
}

// visit records the first visit of state x_k, k < n: OnState and the
// running loss value.
func (e *engine) visit(k int, x []float64) error {
	e.frontier = k
	if e.set.OnState != nil {
		e.set.OnState(k, x)
	}
	if e.running == nil {
		return nil
	}
	v := e.running.Running(k, x, e.theta)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("adjoint: recurrence: running loss ℓ_%d = %v: %w", k, v, ErrNonFinite)
	}
	e.value += v
	return nil
}

// checkState reports a non-finite entry of x_{k+1}, just produced by step k.
func (e *engine) checkState(k int, x []float64) error {
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("adjoint: recurrence: step %d produced x_%d[%d] = %v: %w", k, k+1, i, v, ErrNonFinite)
		}
	}
	return nil
}

// terminal forms λ_n from the terminal loss at x_n and adds its value.
func (e *engine) terminal(x []float64) error {
	if e.set.OnState != nil {
		e.set.OnState(e.n, x)
	}
	e.frontier = e.n
	v := e.loss.Terminal(x, e.theta)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("adjoint: recurrence: terminal loss ℓ_T(x_%d) = %v: %w", e.n, v, ErrNonFinite)
	}
	e.value += v
	clear(e.lamNext)
	e.loss.TerminalGrad(e.lamNext, e.thetabar, x, e.theta)
	e.terminalDone = true
	return e.checkAdjoint(e.n, e.lamNext)
}

// adjointStep takes λ_{k+1} (in lamNext) to λ_k given the state x_k, and
// accumulates step k's contribution to dL/dθ. The first call, for step
// n−1, also takes that step forward to x_n and forms λ_n (revolve's
// "first turn"), unless a forward sweep already did.
func (e *engine) adjointStep(k int, xk []float64) error {
	if !e.terminalDone {
		e.step.Eval(e.nxt, k, xk, e.theta)
		e.evals++
		if err := e.checkState(k, e.nxt); err != nil {
			return err
		}
		if err := e.terminal(e.nxt); err != nil {
			return err
		}
	}
	clear(e.lam)
	e.step.VJP(e.lam, e.thetabar, k, xk, e.theta, e.lamNext)
	e.vjps++
	if e.running != nil {
		e.running.RunningGrad(e.lam, e.thetabar, k, xk, e.theta)
	}
	e.lam, e.lamNext = e.lamNext, e.lam
	return e.checkAdjoint(k, e.lamNext)
}

// checkAdjoint reports a non-finite λ_k and otherwise hands it to OnAdjoint.
func (e *engine) checkAdjoint(k int, lam []float64) error {
	for i, v := range lam {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("adjoint: recurrence: adjoint λ_%d[%d] = %v: %w", k, i, v, ErrNonFinite)
		}
	}
	if e.set.OnAdjoint != nil {
		e.set.OnAdjoint(k, lam)
	}
	return nil
}

// checkInitial validates x_0.
func (e *engine) checkInitial(x0 []float64) error {
	for i, v := range x0 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("adjoint: recurrence: initial state x_0[%d] = %v: %w", i, v, ErrNonFinite)
		}
	}
	return nil
}
