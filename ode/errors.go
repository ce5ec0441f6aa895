package ode

import (
	"errors"
	"fmt"
)

// Sentinel errors wrapped by the *Error values that solves return. Test for
// them with errors.Is.
var (
	// ErrMaxSteps: the step limit (Settings.MaxSteps) was reached before
	// the end of the interval.
	ErrMaxSteps = errors.New("maximum number of steps reached")
	// ErrStepSize: the step size fell below what the floating-point
	// resolution of t allows.
	ErrStepSize = errors.New("step size underflow")
	// ErrNonFinite: the right-hand side, the solution or an adjoint became
	// NaN or infinite and smaller steps did not help.
	ErrNonFinite = errors.New("non-finite value")
	// ErrSingular: the linear system of an implicit method was singular
	// to working precision and smaller steps did not help.
	ErrSingular = errors.New("singular iteration matrix")
	// ErrTolerance: the relative tolerance asks for more digits than
	// float64 arithmetic carries (below MinRTol), so no step size can
	// meet it.
	ErrTolerance = errors.New("tolerance below floating-point resolution")
)

// Error describes a failed solve: where it stopped and why. It wraps one of
// the sentinel errors.
type Error struct {
	// Solver names the method, for instance "DP5" or "Rodas4".
	Solver string
	// Phase names the solve when it is part of a sensitivity computation
	// ("forward", "backward adjoint", ...); empty for a plain solve.
	Phase string
	// T is the time reached and H the step size being attempted.
	T, H float64
	// Step is the number of accepted steps so far.
	Step int
	// Detail explains the failure in words.
	Detail string
	// Err is the sentinel error.
	Err error
}

// Error formats the failure with its time, step size and reason.
func (e *Error) Error() string {
	phase := ""
	if e.Phase != "" {
		phase = e.Phase + ": "
	}
	s := fmt.Sprintf("ode: %s%s: at t = %.10g, h = %.3g (after %d steps): %v", phase, e.Solver, e.T, e.H, e.Step, e.Err)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }
