package ode

import (
	"errors"
	"fmt"
	"math"
)

// ErrNoEvent is returned by EventGradient when the event does not occur in
// [T0, T1]. Test for it with errors.Is.
var ErrNoEvent = errors.New("event does not occur")

// Direction filters the zero crossings of an event function.
type Direction int

const (
	// Either, the zero value, detects crossings in both directions.
	Either Direction = iota
	// Rising detects crossings where g goes from negative to
	// non-negative as the integration proceeds.
	Rising
	// Falling detects crossings where g goes from positive to
	// non-positive as the integration proceeds.
	Falling
)

// String returns "either", "rising" or "falling".
func (d Direction) String() string {
	switch d {
	case Either:
		return "either"
	case Rising:
		return "rising"
	case Falling:
		return "falling"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// Event is a condition g(t, y, p) = 0 located during a solve: "the
// projectile hits the ground" (g = height), "the pendulum passes the
// vertical" (g = angle).
//
// SolveEvents checks the sign of g at the end of every accepted step and
// locates each sign change in the step's dense output to within TimeTol.
// Two zeros inside one step (g touches zero and comes back) are not seen;
// bound Settings.MaxStep if g can oscillate within a step.
type Event struct {
	// G returns g(t, y, p). Required.
	G func(t float64, y, p []float64) float64
	// Grad accumulates gy += ∂g/∂y and gp += ∂g/∂p at (t, y, p) and returns
	// ∂g/∂t. It is needed by EventGradient only; nil is allowed for
	// SolveEvents.
	Grad func(gy, gp []float64, t float64, y, p []float64) (gt float64)
	// Direction filters the crossings. The zero value is Either.
	Direction Direction
	// Terminal stops the solve at the first crossing of this event.
	// False means the crossing is recorded and the solve continues.
	Terminal bool
	// TimeTol is the absolute tolerance of the located event time.
	// Zero means 1e-12·max(1, |t|).
	TimeTol float64
}

// EventHit is one located crossing of an event.
type EventHit struct {
	// Event is the index of the event in the list given to SolveEvents.
	Event int
	// T is the event time and Y the state there (from the dense output).
	T float64
	Y []float64
}

// EventSolution is the result of SolveEvents.
type EventSolution struct {
	// Solution holds the solution up to End: T and Y at the requested
	// output times not later than End (and at End itself when a terminal
	// event stopped the solve), and the dense output when Settings.Dense.
	*Solution
	// Hits lists the crossings found, in the order of time.
	Hits []EventHit
	// End is the time at which the solve stopped: the time of a terminal
	// event, or T1.
	End float64
	// Terminated reports whether a terminal event stopped the solve.
	Terminated bool
}

// SolveEvents integrates prob like Solve while watching for the events.
// Crossings are found from the sign of g at the ends of the accepted steps
// and located by the Illinois (modified regula falsi) method on the dense
// output, so they are as accurate as the continuous extension (fourth order
// for DP5 and Tsit5). The first crossing of a Terminal event ends the
// solve; its time is End and the returned Solution's outputs stop there.
//
// With a terminal event and adaptive steps the solve advances in windows of
// growing length ((T1−T0)/16, then doubling; each window continues with the
// last step size) and stops at the end of the window in which a terminal
// event's g changes sign, so little is integrated past the event; otherwise
// it is one Solve over [T0, T1]. The events are then located on the dense
// output, which is kept for the whole solve. A nil solver means DP5 and a nil settings means defaults.
// A numerical failure returns the crossings found before it with the
// *Error of Solve. SolveEvents panics if an event or its G is nil.
func SolveEvents(prob Problem, events []*Event, solver Solver, settings *Settings) (*EventSolution, error) {
	for i, ev := range events {
		if ev == nil || ev.G == nil {
			panic(fmt.Sprintf("ode: SolveEvents: event %d or its G is nil", i))
		}
	}
	var user Settings
	if settings != nil {
		user = *settings
	}
	s := user
	s.Dense = true
	s.SaveSteps = true
	s.SaveAt = nil
	sol, err := solveForEvents(prob, events, solver, &s)
	if sol == nil {
		return nil, err
	}
	res := &EventSolution{Solution: sol, End: prob.T1}
	if len(sol.T) == 0 {
		return res, err
	}
	n := len(sol.Y[0])
	dir := 1.0
	if prob.T1 < prob.T0 {
		dir = -1
	}
	// Scan the steps.
	gPrev := make([]float64, len(events))
	for e, ev := range events {
		gPrev[e] = ev.G(sol.T[0], sol.Y[0], prob.P)
	}
	buf := make([]float64, n)
	end := len(sol.T) - 1
scan:
	for k := 1; k < len(sol.T); k++ {
		ta, tb := sol.T[k-1], sol.T[k]
		if ta == tb {
			continue
		}
		// Collect this step's crossings, earliest first.
		var step []EventHit
		for e, ev := range events {
			ga := gPrev[e]
			gb := ev.G(tb, sol.Y[k], prob.P)
			gPrev[e] = gb
			if !crosses(ga, gb, ev.Direction) {
				continue
			}
			tol := ev.TimeTol
			if tol == 0 {
				tol = 1e-12 * max(1, math.Abs(tb))
			}
			h := func(t float64) float64 { return ev.G(t, sol.At(buf, t), prob.P) }
			ts := illinois(h, ta, tb, ga, gb, tol)
			step = append(step, EventHit{Event: e, T: ts, Y: sol.At(nil, ts)})
		}
		// Sort the few hits of the step by time in the direction of
		// integration (insertion sort).
		for i := 1; i < len(step); i++ {
			for j := i; j > 0 && dir*(step[j].T-step[j-1].T) < 0; j-- {
				step[j], step[j-1] = step[j-1], step[j]
			}
		}
		for _, hit := range step {
			res.Hits = append(res.Hits, hit)
			if events[hit.Event].Terminal {
				res.End = hit.T
				res.Terminated = true
				end = k
				break scan
			}
		}
	}
	// Outputs.
	var ts []float64
	var ys [][]float64
	switch {
	case user.SaveSteps:
		for k := 0; k <= end; k++ {
			if !res.Terminated || k == 0 || dir*(sol.T[k]-res.End) < 0 {
				ts = append(ts, sol.T[k])
				ys = append(ys, sol.Y[k])
			}
		}
		if res.Terminated {
			ts = append(ts, res.End)
			ys = append(ys, res.Hits[len(res.Hits)-1].Y)
		}
	case user.SaveAt != nil:
		for _, t := range user.SaveAt {
			if dir*(t-res.End) <= 0 && dir*(t-prob.T0) >= 0 {
				ts = append(ts, t)
				ys = append(ys, sol.At(nil, t))
			}
		}
	default:
		ts = []float64{res.End}
		if res.Terminated {
			ys = [][]float64{res.Hits[len(res.Hits)-1].Y}
		} else {
			ys = [][]float64{sol.Y[len(sol.Y)-1]}
		}
	}
	sol.T, sol.Y = ts, ys
	if !user.Dense {
		sol.traj = nil
	} else {
		sol.t1 = res.End
	}
	return res, err
}

// solveForEvents solves prob with dense output and every step saved (s has
// Dense and SaveSteps set): in one piece, or, with a terminal event and
// adaptive steps, window by window until a terminal event's g changes sign.
func solveForEvents(prob Problem, events []*Event, solver Solver, s *Settings) (*Solution, error) {
	terminal := false
	for _, ev := range events {
		terminal = terminal || ev.Terminal
	}
	if !terminal || s.Step > 0 {
		return Solve(prob, solver, s)
	}
	span := prob.T1 - prob.T0
	maxSteps := s.MaxSteps
	if maxSteps == 0 {
		maxSteps = 100000
	}
	var merged *Solution
	gPrev := make([]float64, len(events))
	t0, y0, w := prob.T0, prob.Y0, span/16
	for {
		t1 := t0 + w
		if (t1-prob.T1)*span >= 0 || math.Abs(prob.T1-t1) <= 1e-12*math.Abs(span) {
			t1 = prob.T1
		}
		chunk := prob
		chunk.T0, chunk.T1, chunk.Y0 = t0, t1, y0
		cs := *s
		if merged != nil {
			cs.MaxSteps = max(1, maxSteps-merged.Stats.Steps)
			recs := merged.traj.recs
			cs.InitialStep = math.Abs(recs[len(recs)-1].h)
		}
		sol, err := Solve(chunk, solver, &cs)
		from := 1
		switch {
		case sol == nil:
			return merged, err
		case merged == nil:
			merged = sol
			for e, ev := range events {
				if ev.Terminal {
					gPrev[e] = ev.G(sol.T[0], sol.Y[0], prob.P)
				}
			}
		default:
			from = len(merged.T)
			merged.T = append(merged.T, sol.T[1:]...)
			merged.Y = append(merged.Y, sol.Y[1:]...)
			if sol.traj != nil {
				merged.traj.recs = append(merged.traj.recs, sol.traj.recs...)
			}
			peak := merged.Stats.PeakStored + sol.Stats.PeakStored
			merged.Stats = addStats(merged.Stats, sol.Stats)
			merged.Stats.PeakStored = peak
			merged.t1 = sol.t1
		}
		if err != nil {
			return merged, err
		}
		hit := false
		for k := from; k < len(merged.T); k++ {
			for e, ev := range events {
				if !ev.Terminal {
					continue
				}
				g := ev.G(merged.T[k], merged.Y[k], prob.P)
				hit = hit || crosses(gPrev[e], g, ev.Direction)
				gPrev[e] = g
			}
		}
		if hit || t1 == prob.T1 {
			return merged, nil
		}
		t0, y0, w = t1, merged.Y[len(merged.Y)-1], 2*w
	}
}

// crosses reports whether g changes sign from ga to gb in the direction d.
// A zero at the start of a step does not count (it was the end of the
// previous one); a zero at its end does.
func crosses(ga, gb float64, d Direction) bool {
	rising := ga < 0 && gb >= 0
	falling := ga > 0 && gb <= 0
	switch d {
	case Rising:
		return rising
	case Falling:
		return falling
	}
	return rising || falling
}

// illinois returns a zero of h in [a, b] (in either order) given
// h(a) = fa and h(b) = fb of opposite signs (or fb = 0), to within tol.
func illinois(h func(float64) float64, a, b, fa, fb, tol float64) float64 {
	if fb == 0 {
		return b
	}
	side := 0
	for range 200 {
		if math.Abs(b-a) <= tol {
			break
		}
		c := (a*fb - b*fa) / (fb - fa)
		if !(c > min(a, b) && c < max(a, b)) {
			c = 0.5 * (a + b)
		}
		fc := h(c)
		if fc == 0 {
			return c
		}
		if (fc > 0) == (fb > 0) {
			b, fb = c, fc
			if side == -1 {
				fa /= 2
			}
			side = -1
		} else {
			a, fa = c, fc
			if side == 1 {
				fb /= 2
			}
			side = 1
		}
	}
	// Return the end on the far side of the crossing, where the sign has
	// changed, so that g(T) has the sign the direction filter asks for.
	return b
}

// EventCost is a cost G(t*, y(t*), p) evaluated at the time t* of an
// event: the event time itself (EventTime), the state there, or any
// function of them.
type EventCost struct {
	// G returns G(t, y, p).
	G func(t float64, y, p []float64) float64
	// Grad accumulates gy += ∂G/∂y and gp += ∂G/∂p at (t, y, p) and returns
	// ∂G/∂t.
	Grad func(gy, gp []float64, t float64, y, p []float64) (gt float64)
}

// EventTime returns the cost G = t*, whose gradient is the sensitivity of the
// event time, dt*/dp and dt*/dy₀.
func EventTime() *EventCost {
	return &EventCost{
		G:    func(t float64, _, _ []float64) float64 { return t },
		Grad: func(_, _ []float64, _ float64, _, _ []float64) float64 { return 1 },
	}
}

// EventState returns the cost G = y_i(t*), the component i of the state at
// the event; its gradient is the sensitivity of the state at the event,
// including the motion of the event time.
func EventState(i int) *EventCost {
	return &EventCost{
		G: func(_ float64, y, _ []float64) float64 { return y[i] },
		Grad: func(gy, _ []float64, _ float64, _, _ []float64) float64 {
			gy[i]++
			return 0
		},
	}
}

// EventGradientResult is the result of EventGradient.
type EventGradientResult struct {
	// Value is the cost G(t*, y(t*), p).
	Value float64
	// T is the event time t* and Y the state there.
	T float64
	Y []float64
	// DP is dG/dp and DY0 is dG/dy₀, total derivatives that include the
	// motion of t*.
	DP, DY0 []float64
	// DG is dg/dt = ∂g/∂t + ∂g/∂y·f at the event: the speed of the
	// crossing, whose inverse scales every event-time sensitivity.
	DG float64
	// Forward counts the work of locating the event and Gradient that of
	// the sensitivity computation to t*.
	Forward, Gradient Stats
}

// EventGradient computes a cost G(t*, y(t*), p) at the first crossing t* of
// event in [T0, T1] and its total gradient with respect to p and y₀, where
// t* moves with them. By the implicit function theorem applied to
// g(t*, y(t*; p, y₀), p) = 0,
//
//	dt*/dθ = −(∂g/∂θ + ∂g/∂y·∂y/∂θ) / ġ,   ġ = ∂g/∂t + ∂g/∂y·f(t*, y*, p),
//
// so that dG/dθ = ∂G/∂θ + ∂G/∂y·∂y/∂θ + Ġ·dt*/dθ with Ġ = ∂G/∂t + ∂G/∂y·f
// is the gradient of the terminal cost at the fixed time t*
//
//	G̃(y, p) = G(t*, y, p),  ∂G̃/∂y = ∂G/∂y − (Ġ/ġ)∂g/∂y,  ∂G̃/∂p = ∂G/∂p − (Ġ/ġ)∂g/∂p,
//
// which Gradient computes with any sensitivity method (Forward or an
// adjoint) on [T0, t*]. The event is located by SolveEvents (its Terminal
// flag is ignored: the first crossing counts).
//
// A cost that does not occur returns an error wrapping ErrNoEvent; a
// tangential crossing (ġ = 0, where t* is not differentiable) returns an
// error. A nil solver means DP5, a nil method Interpolating{} and a nil
// settings defaults. EventGradient panics if event.G, event.Grad, cost.G
// or cost.Grad is nil.
func EventGradient(prob Problem, event *Event, cost *EventCost, solver Solver, method Sensitivity, settings *Settings) (*EventGradientResult, error) {
	if event == nil || event.G == nil || event.Grad == nil {
		panic("ode: EventGradient: event, event.G and event.Grad must be non-nil")
	}
	if cost == nil || cost.G == nil || cost.Grad == nil {
		panic("ode: EventGradient: cost, cost.G and cost.Grad must be non-nil")
	}
	ev := *event
	ev.Terminal = true
	var s Settings
	if settings != nil {
		s = *settings
	}
	s.SaveAt, s.SaveSteps, s.Dense = nil, false, false
	es, err := SolveEvents(prob, []*Event{&ev}, solver, &s)
	if err != nil {
		return nil, fmt.Errorf("ode: EventGradient: locating the event: %w", err)
	}
	if !es.Terminated {
		return nil, fmt.Errorf("ode: EventGradient: no crossing in [%v, %v]: %w", prob.T0, prob.T1, ErrNoEvent)
	}
	ts := es.End
	n, np := prob.System.Dims()
	p := prob.P

	// The coefficients of the linearised terminal cost at (ts, y).
	f := make([]float64, n)
	gy, gp := make([]float64, n), make([]float64, np)
	cy, cp := make([]float64, n), make([]float64, np)
	coef := func(y []float64) (ratio, gdot float64) {
		prob.System.Eval(f, ts, y, p)
		clear(gy)
		clear(gp)
		clear(cy)
		clear(cp)
		gt := event.Grad(gy, gp, ts, y, p)
		ct := cost.Grad(cy, cp, ts, y, p)
		gdot = gt
		cdot := ct
		for i := range f {
			gdot += gy[i] * f[i]
			cdot += cy[i] * f[i]
		}
		return cdot / gdot, gdot
	}
	_, gdot := coef(es.Hits[len(es.Hits)-1].Y)
	if gdot == 0 || math.IsNaN(gdot) || math.IsInf(gdot, 0) {
		return nil, fmt.Errorf("ode: EventGradient: tangential crossing at t = %v (dg/dt = %v): the event time is not differentiable", ts, gdot)
	}

	sub := prob
	sub.T1 = ts
	var stops []float64
	for _, st := range s.Stops {
		if (st-prob.T0)*(ts-st) > 0 {
			stops = append(stops, st)
		}
	}
	s.Stops = stops
	term := &Terminal{
		G: func(y, p []float64) float64 { return cost.G(ts, y, p) },
		Grad: func(dy, dp, y, _ []float64) {
			r, _ := coef(y)
			for i := range dy {
				dy[i] += cy[i] - r*gy[i]
			}
			for i := range dp {
				dp[i] += cp[i] - r*gp[i]
			}
		},
	}
	gr, err := Gradient(sub, Cost{Terminal: term}, solver, method, &s)
	if err != nil {
		return nil, fmt.Errorf("ode: EventGradient: gradient on [%v, %v]: %w", prob.T0, ts, err)
	}
	return &EventGradientResult{
		Value:    gr.Value,
		T:        ts,
		Y:        gr.YT,
		DP:       gr.DP,
		DY0:      gr.DY0,
		DG:       gdot,
		Forward:  es.Stats,
		Gradient: addStats(gr.Forward, gr.Backward),
	}, nil
}

// addStats sums two counters.
func addStats(a, b Stats) Stats {
	return Stats{
		Steps:      a.Steps + b.Steps,
		Rejected:   a.Rejected + b.Rejected,
		FEvals:     a.FEvals + b.FEvals,
		VJPs:       a.VJPs + b.VJPs,
		JVPs:       a.JVPs + b.JVPs,
		JacEvals:   a.JacEvals + b.JacEvals,
		LUs:        a.LUs + b.LUs,
		PeakStored: max(a.PeakStored, b.PeakStored),
	}
}
