package physics

import (
	"fmt"
	"math"

	"github.com/adjointkit/adjointkit/ode"
)

// StandardGravity is the standard acceleration of gravity g₀ in m/s², the
// default of Pendulum.Gravity and Projectile.Gravity.
const StandardGravity = 9.80665

// Model is a differentiable right-hand side with exact products and a check
// of its parameter values. Every model of this package is a Model.
type Model interface {
	ode.System
	ode.VJPer
	ode.JVPer
	// CheckParams returns an error describing the first parameter value the
	// model cannot accept (for instance a negative length), or nil. It
	// panics if len(p) is wrong.
	CheckParams(p []float64) error
}

// NewProblem returns the initial-value problem dy/dt = m(t, y, p) on
// [t0, t1] with y(t0) = y0, after checking the configuration: the lengths of
// y0 and p, finite values, t1 ≠ t0 and the model's own parameter checks.
// A bad configuration is a returned error. y0 and p are copied.
func NewProblem(m Model, y0, p []float64, t0, t1 float64) (ode.Problem, error) {
	n, np := m.Dims()
	if len(y0) != n {
		return ode.Problem{}, fmt.Errorf("physics: initial state has length %d, want %d", len(y0), n)
	}
	if len(p) != np {
		return ode.Problem{}, fmt.Errorf("physics: parameters have length %d, want %d", len(p), np)
	}
	if !finite(t0) || !finite(t1) || t0 == t1 {
		return ode.Problem{}, fmt.Errorf("physics: time window [%v, %v] must be finite and of non-zero length", t0, t1)
	}
	for i, v := range y0 {
		if !finite(v) {
			return ode.Problem{}, fmt.Errorf("physics: initial state component %d is %v", i, v)
		}
	}
	for i, v := range p {
		if !finite(v) {
			return ode.Problem{}, fmt.Errorf("physics: parameter %d is %v", i, v)
		}
	}
	if err := m.CheckParams(p); err != nil {
		return ode.Problem{}, err
	}
	return ode.Problem{
		System: m,
		T0:     t0,
		T1:     t1,
		Y0:     append([]float64(nil), y0...),
		P:      append([]float64(nil), p...),
	}, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// checkLen panics with a physics: message if a slice has the wrong length.
func checkLen(what string, got, want int) {
	if got != want {
		panic(fmt.Sprintf("physics: %s has length %d, want %d", what, got, want))
	}
}
