package physics

import (
	"fmt"
	"math"

	"github.com/adjointkit/adjointkit/ode"
)

// Projectile is a point mass in a vertical plane under gravity and quadratic
// air drag,
//
//	x' = u,   z' = w,   u' = −k|v|u,   w' = −g − k|v|w,   |v| = √(u² + w²),
//
// with state y = [x, z, u, w] (horizontal distance and height in m,
// velocities in m/s) and one parameter p = [k], the drag coefficient per
// unit mass in 1/m (k = ρC_dA/(2m); non-negative). The launch speed and angle
// are controls that enter through the initial state (LaunchState); Ground is
// the landing event z = 0.
type Projectile struct {
	// Gravity is g in m/s². Zero means StandardGravity.
	Gravity float64
}

var _ Model = (*Projectile)(nil)

func (m *Projectile) g() float64 {
	if m.Gravity == 0 {
		return StandardGravity
	}
	return m.Gravity
}

// Dims returns n = 4 and np = 1.
func (m *Projectile) Dims() (n, np int) { return 4, 1 }

// CheckParams requires a non-negative drag coefficient.
func (m *Projectile) CheckParams(p []float64) error {
	checkLen("projectile parameters", len(p), 1)
	if p[0] < 0 {
		return fmt.Errorf("physics: projectile drag coefficient %v 1/m must be non-negative", p[0])
	}
	return nil
}

// Eval writes f(t, y, p).
func (m *Projectile) Eval(dst []float64, _ float64, y, p []float64) {
	s := math.Hypot(y[2], y[3])
	dst[0], dst[1] = y[2], y[3]
	dst[2] = -p[0] * s * y[2]
	dst[3] = -m.g() - p[0]*s*y[3]
}

// partials returns ∂(u', w')/∂(u, w) and ∂(u', w')/∂k.
func (m *Projectile) partials(y, p []float64) (a [2][2]float64, b [2]float64) {
	u, w, k := y[2], y[3], p[0]
	s := math.Hypot(u, w)
	var su, sw float64
	if s > 0 {
		su, sw = u/s, w/s
	}
	a[0][0] = -k * (s + u*su)
	a[0][1] = -k * u * sw
	a[1][0] = -k * w * su
	a[1][1] = -k * (s + w*sw)
	b[0], b[1] = -s*u, -s*w
	return a, b
}

// VJP accumulates ybar += (∂f/∂y)ᵀv and pbar += (∂f/∂p)ᵀv.
func (m *Projectile) VJP(ybar, pbar []float64, _ float64, y, p, v []float64) {
	a, b := m.partials(y, p)
	if ybar != nil {
		ybar[2] += v[0] + a[0][0]*v[2] + a[1][0]*v[3]
		ybar[3] += v[1] + a[0][1]*v[2] + a[1][1]*v[3]
	}
	if pbar != nil {
		pbar[0] += b[0]*v[2] + b[1]*v[3]
	}
}

// JVP writes dst = (∂f/∂y)ẏ + (∂f/∂p)ṗ.
func (m *Projectile) JVP(dst []float64, _ float64, y, p, yd, pd []float64) {
	a, b := m.partials(y, p)
	dst[0], dst[1] = yd[2], yd[3]
	dst[2] = a[0][0]*yd[2] + a[0][1]*yd[3]
	dst[3] = a[1][0]*yd[2] + a[1][1]*yd[3]
	if pd != nil {
		dst[2] += b[0] * pd[0]
		dst[3] += b[1] * pd[0]
	}
}

// LaunchState returns the initial state of a projectile launched from
// height h (m) at horizontal position 0 with speed (m/s) at angle (rad
// above the horizontal): [0, h, speed·cos(angle), speed·sin(angle)].
func LaunchState(speed, angle, h float64) []float64 {
	return []float64{0, h, speed * math.Cos(angle), speed * math.Sin(angle)}
}

// LaunchVJP returns the gradient with respect to (speed, angle) of a
// quantity whose gradient with respect to the launch state is dy0 (for
// instance ode.EventGradientResult.DY0): the chain rule through
// LaunchState.
func LaunchVJP(dy0 []float64, speed, angle float64) (dspeed, dangle float64) {
	checkLen("launch-state gradient", len(dy0), 4)
	c, s := math.Cos(angle), math.Sin(angle)
	dspeed = c*dy0[2] + s*dy0[3]
	dangle = -speed*s*dy0[2] + speed*c*dy0[3]
	return dspeed, dangle
}

// Ground returns the landing event: the height z crosses 0 downwards, and
// the solve stops there. Its gradient is exact, for ode.EventGradient.
func Ground() *ode.Event {
	return &ode.Event{
		G: func(_ float64, y, _ []float64) float64 { return y[1] },
		Grad: func(gy, _ []float64, _ float64, _, _ []float64) float64 {
			gy[1]++
			return 0
		},
		Direction: ode.Falling,
		Terminal:  true,
	}
}

// Range returns the cost "horizontal distance at landing", x(t*), for
// ode.EventGradient with the Ground event.
func Range() *ode.EventCost { return ode.EventState(0) }

// Aim is the optimal-control problem of the dragged projectile: find the
// launch speed v (m/s) and angle a (rad) that make it land at distance
// Target (m) after FlightTime (s), by minimising
//
//	L(v, a) = ½ (x(t*) − Target)² + ½ w (t* − FlightTime)²,
//
// where t* is the landing time (the Ground event) and w = TimeWeight. Both
// terms depend on the controls through the event time, which
// ode.EventGradient differentiates by the implicit function theorem.
type Aim struct {
	// Projectile is the model. Nil means &Projectile{}.
	Projectile *Projectile
	// Drag is the drag coefficient k in 1/m (non-negative).
	Drag float64
	// Height is the launch height in m (non-negative).
	Height float64
	// Target is the landing distance in m (positive).
	Target float64
	// FlightTime is the wanted time of flight in s (positive).
	FlightTime float64
	// TimeWeight is w in m²/s². Zero means 1.
	TimeWeight float64
	// MaxTime bounds the search for the landing in s. Zero means twice the
	// drag-free flight time of the launch plus 1 s (drag shortens the
	// flight of usual launches; set MaxTime for extreme drag). A fixed
	// MaxTime keeps the solver's step sequence a smooth function of the
	// controls, which finite-difference checks of Loss need.
	MaxTime float64
	// Solver, Method and Settings configure ode.EventGradient: nil means
	// DP5, the interpolating adjoint and tolerances 1e-10 (relative) and
	// 1e-10 (absolute).
	Solver   ode.Solver
	Method   ode.Sensitivity
	Settings *ode.Settings
}

// Validate returns an error for a bad configuration.
func (a *Aim) Validate() error {
	switch {
	case !(a.Drag >= 0) || !finite(a.Drag):
		return fmt.Errorf("physics: aim drag %v 1/m must be non-negative", a.Drag)
	case !(a.Height >= 0) || !finite(a.Height):
		return fmt.Errorf("physics: aim launch height %v m must be non-negative", a.Height)
	case !(a.Target > 0) || !finite(a.Target):
		return fmt.Errorf("physics: aim target %v m must be positive", a.Target)
	case !(a.FlightTime > 0) || !finite(a.FlightTime):
		return fmt.Errorf("physics: aim flight time %v s must be positive", a.FlightTime)
	case a.TimeWeight < 0 || a.MaxTime < 0:
		return fmt.Errorf("physics: aim time weight %v and max time %v must be non-negative", a.TimeWeight, a.MaxTime)
	}
	return nil
}

func (a *Aim) problem(speed, angle float64) ode.Problem {
	m := a.Projectile
	if m == nil {
		m = &Projectile{}
	}
	tmax := a.MaxTime
	if tmax == 0 {
		g := m.g()
		w := speed * math.Sin(angle)
		tmax = 2*(w+math.Sqrt(w*w+2*g*a.Height))/g + 1
	}
	return ode.Problem{System: m, T0: 0, T1: tmax, Y0: LaunchState(speed, angle, a.Height), P: []float64{a.Drag}}
}

func (a *Aim) settings() *ode.Settings {
	if a.Settings != nil {
		return a.Settings
	}
	return &ode.Settings{RTol: 1e-10, ATol: 1e-10}
}

// Shoot returns the landing distance (m) and time (s) of a launch.
func (a *Aim) Shoot(speed, angle float64) (distance, time float64, err error) {
	es, err := ode.SolveEvents(a.problem(speed, angle), []*ode.Event{Ground()}, a.Solver, a.settings())
	if err != nil {
		return 0, 0, fmt.Errorf("physics: shooting: %w", err)
	}
	if !es.Terminated {
		return 0, 0, fmt.Errorf("physics: shooting: the projectile does not land before %v s", es.End)
	}
	return es.Y[len(es.Y)-1][0], es.End, nil
}

// Loss returns L(x) for x = [speed, angle] and, if grad is non-nil, writes
// ∇L to it (one ode.EventGradient call). A launch that does not land within
// MaxTime is an error.
func (a *Aim) Loss(grad, x []float64) (float64, error) {
	checkLen("controls", len(x), 2)
	w := a.TimeWeight
	if w == 0 {
		w = 1
	}
	cost := &ode.EventCost{
		G: func(t float64, y, _ []float64) float64 {
			dx, dt := y[0]-a.Target, t-a.FlightTime
			return (dx*dx + w*dt*dt) / 2
		},
		Grad: func(gy, _ []float64, t float64, y, _ []float64) float64 {
			gy[0] += y[0] - a.Target
			return w * (t - a.FlightTime)
		},
	}
	r, err := ode.EventGradient(a.problem(x[0], x[1]), Ground(), cost, a.Solver, a.Method, a.settings())
	if err != nil {
		return math.NaN(), fmt.Errorf("physics: aim: %w", err)
	}
	if grad != nil {
		grad[0], grad[1] = LaunchVJP(r.DY0, x[0], x[1])
	}
	return r.Value, nil
}
