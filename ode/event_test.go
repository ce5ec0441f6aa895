package ode

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

// eventOsc is y” = −ω²y as a first-order system; p = [ω].
type eventOsc struct{}

func (eventOsc) Dims() (int, int) { return 2, 1 }
func (eventOsc) Eval(dst []float64, _ float64, y, p []float64) {
	dst[0] = y[1]
	dst[1] = -p[0] * p[0] * y[0]
}

// eventBall is a projectile with quadratic drag, p = [g, k]:
// x' = u, z' = w, u' = −k|v|u, w' = −g − k|v|w, with exact VJPs and JVPs.
type eventBall struct{}

var eventDragBall eventBall

func (eventBall) Dims() (int, int) { return 4, 2 }
func (eventBall) Eval(dst []float64, _ float64, y, p []float64) {
	s := math.Hypot(y[2], y[3])
	dst[0], dst[1] = y[2], y[3]
	dst[2] = -p[1] * s * y[2]
	dst[3] = -p[0] - p[1]*s*y[3]
}

// jac returns ∂(u', w')/∂(u, w) and ∂/∂(g, k) rows.
func (eventBall) partials(y, p []float64) (a [2][2]float64, b [2][2]float64) {
	u, w := y[2], y[3]
	s := math.Hypot(u, w)
	k := p[1]
	var su, sw float64
	if s > 0 {
		su, sw = u/s, w/s
	}
	a[0][0] = -k * (s + u*su)
	a[0][1] = -k * u * sw
	a[1][0] = -k * w * su
	a[1][1] = -k * (s + w*sw)
	b[0][0], b[0][1] = 0, -s*u
	b[1][0], b[1][1] = -1, -s*w
	return
}

func (e eventBall) VJP(ybar, pbar []float64, _ float64, y, p, v []float64) {
	a, b := e.partials(y, p)
	if ybar != nil {
		ybar[2] += v[0] + a[0][0]*v[2] + a[1][0]*v[3]
		ybar[3] += v[1] + a[0][1]*v[2] + a[1][1]*v[3]
	}
	if pbar != nil {
		pbar[0] += b[0][0]*v[2] + b[1][0]*v[3]
		pbar[1] += b[0][1]*v[2] + b[1][1]*v[3]
	}
}

func (e eventBall) JVP(dst []float64, _ float64, y, p, yd, pd []float64) {
	a, b := e.partials(y, p)
	dst[0], dst[1] = yd[2], yd[3]
	dst[2] = a[0][0]*yd[2] + a[0][1]*yd[3]
	dst[3] = a[1][0]*yd[2] + a[1][1]*yd[3]
	if pd != nil {
		dst[2] += b[0][0]*pd[0] + b[0][1]*pd[1]
		dst[3] += b[1][0]*pd[0] + b[1][1]*pd[1]
	}
}

func TestSolveEventsDirectionAndContinue(t *testing.T) {
	prob := Problem{System: eventOsc{}, T0: 0, T1: 10, Y0: []float64{0, 1}, P: []float64{1}}
	zero := func(t float64, y, p []float64) float64 { return y[0] }
	for _, tc := range []struct {
		dir  Direction
		want []float64
	}{
		{Either, []float64{math.Pi, 2 * math.Pi, 3 * math.Pi}},
		{Rising, []float64{2 * math.Pi}},
		{Falling, []float64{math.Pi, 3 * math.Pi}},
	} {
		t.Run(tc.dir.String(), func(t *testing.T) {
			es, err := SolveEvents(prob, []*Event{{G: zero, Direction: tc.dir}}, Tsit5, &Settings{RTol: 1e-10, ATol: 1e-12})
			if err != nil {
				t.Fatal(err)
			}
			if es.Terminated || es.End != 10 {
				t.Errorf("terminated %v at %v, want a full solve", es.Terminated, es.End)
			}
			if len(es.Hits) != len(tc.want) {
				t.Fatalf("got %d hits %v, want %v", len(es.Hits), es.Hits, tc.want)
			}
			for i, h := range es.Hits {
				if math.Abs(h.T-tc.want[i]) > 1e-8 {
					t.Errorf("hit %d at %.12f, want %.12f", i, h.T, tc.want[i])
				}
			}
		})
	}
}

func TestSolveEventsTerminal(t *testing.T) {
	prob := Problem{System: eventOsc{}, T0: 0, T1: 10, Y0: []float64{0, 1}, P: []float64{1}}
	// Two events: y crosses 0.5 rising (continue), y crosses 0 (terminal).
	evs := []*Event{
		{G: func(t float64, y, p []float64) float64 { return y[0] - 0.5 }, Direction: Rising},
		{G: func(t float64, y, p []float64) float64 { return y[0] }, Terminal: true},
	}
	es, err := SolveEvents(prob, evs, DP5, &Settings{RTol: 1e-10, ATol: 1e-12, SaveAt: []float64{1, 2, 3, 4}, Dense: true})
	if err != nil {
		t.Fatal(err)
	}
	if !es.Terminated || math.Abs(es.End-math.Pi) > 1e-8 {
		t.Fatalf("end %v terminated %v, want π", es.End, es.Terminated)
	}
	if len(es.Hits) != 2 || es.Hits[0].Event != 0 || math.Abs(es.Hits[0].T-math.Pi/6) > 1e-8 {
		t.Errorf("hits %v, want y=0.5 at π/6 then y=0 at π", es.Hits)
	}
	if len(es.T) != 3 {
		t.Errorf("outputs at %v, want 1, 2, 3 (before the terminal event)", es.T)
	}
	if y := es.At(nil, 2.5); math.Abs(y[0]-math.Sin(2.5)) > 1e-8 {
		t.Errorf("dense output %v, want sin(2.5)", y[0])
	}
}

func eventGround() *Event {
	return &Event{
		G: func(_ float64, y, _ []float64) float64 { return y[1] },
		Grad: func(gy, _ []float64, _ float64, _, _ []float64) float64 {
			gy[1]++
			return 0
		},
		Direction: Falling,
	}
}

// TestEventGradientFreeFall checks dt*/dg and dt*/dz₀ for a drag-free fall,
// t* = (w₀ + √(w₀² + 2gz₀))/g.
func TestEventGradientFreeFall(t *testing.T) {
	g, z0, w0 := 9.81, 10.0, 3.0
	prob := Problem{System: eventDragBall, T0: 0, T1: 10, Y0: []float64{0, z0, 1, w0}, P: []float64{g, 0}}
	s := math.Sqrt(w0*w0 + 2*g*z0)
	want := (w0 + s) / g
	dtdg := (z0/s)/g - want/g
	dtdz0 := 1 / s
	dtdw0 := (1 + w0/s) / g
	for _, m := range []Sensitivity{&Forward{}, &Interpolating{}, &Discrete{}, &Backsolve{}} {
		t.Run(m.String(), func(t *testing.T) {
			r, err := EventGradient(prob, eventGround(), EventTime(), DP5, m, &Settings{RTol: 1e-10, ATol: 1e-12})
			if err != nil {
				t.Fatal(err)
			}
			check := func(name string, got, want, tol float64) {
				if math.Abs(got-want) > tol*math.Abs(want) {
					t.Errorf("%s = %.10g, want %.10g", name, got, want)
				}
			}
			check("t*", r.T, want, 1e-9)
			check("dt*/dg", r.DP[0], dtdg, 1e-6)
			check("dt*/dz0", r.DY0[1], dtdz0, 1e-6)
			check("dt*/dw0", r.DY0[3], dtdw0, 1e-6)
		})
	}
}

// TestEventGradientDragFD checks the gradient of the landing distance and of
// the event time of a dragged projectile against central differences.
func TestEventGradientDragFD(t *testing.T) {
	prob := Problem{System: eventDragBall, T0: 0, T1: 20, Y0: []float64{0, 1, 12, 9}, P: []float64{9.81, 0.05}}
	set := &Settings{RTol: 1e-11, ATol: 1e-12}
	for ci, cost := range []*EventCost{EventTime(), EventState(0)} {
		for _, m := range []Sensitivity{&Forward{}, &Interpolating{}} {
			t.Run(fmt.Sprintf("cost%d/%s", ci, m), func(t *testing.T) {
				r, err := EventGradient(prob, eventGround(), cost, DP5, m, set)
				if err != nil {
					t.Fatal(err)
				}
				val := func(pr Problem) float64 {
					es, err := SolveEvents(pr, []*Event{{G: eventGround().G, Direction: Falling, Terminal: true}}, DP5, set)
					if err != nil || !es.Terminated {
						t.Fatal(err)
					}
					return cost.G(es.End, es.Y[0], pr.P)
				}
				const h = 1e-5
				for i := range prob.P {
					pp := prob
					pp.P = append([]float64(nil), prob.P...)
					pp.P[i] += h
					fp := val(pp)
					pp.P[i] -= 2 * h
					fm := val(pp)
					fd := (fp - fm) / (2 * h)
					if math.Abs(fd-r.DP[i]) > 1e-5*(1+math.Abs(fd)) {
						t.Errorf("dG/dp[%d] = %.10g, FD %.10g", i, r.DP[i], fd)
					}
				}
				for i := range prob.Y0 {
					pp := prob
					pp.Y0 = append([]float64(nil), prob.Y0...)
					pp.Y0[i] += h
					fp := val(pp)
					pp.Y0[i] -= 2 * h
					fm := val(pp)
					fd := (fp - fm) / (2 * h)
					if math.Abs(fd-r.DY0[i]) > 1e-5*(1+math.Abs(fd)) {
						t.Errorf("dG/dy0[%d] = %.10g, FD %.10g", i, r.DY0[i], fd)
					}
				}
			})
		}
	}
}

func TestEventGradientNoEvent(t *testing.T) {
	prob := Problem{System: eventDragBall, T0: 0, T1: 0.1, Y0: []float64{0, 10, 1, 1}, P: []float64{9.81, 0}}
	_, err := EventGradient(prob, eventGround(), EventTime(), nil, nil, nil)
	if !errors.Is(err, ErrNoEvent) {
		t.Fatalf("err = %v, want ErrNoEvent", err)
	}
}

func TestSolveEventsBackward(t *testing.T) {
	prob := Problem{System: eventOsc{}, T0: 0, T1: -7, Y0: []float64{0, 1}, P: []float64{1}}
	es, err := SolveEvents(prob, []*Event{{G: func(t float64, y, p []float64) float64 { return y[0] }, Direction: Rising}}, DP5, &Settings{RTol: 1e-10, ATol: 1e-12, SaveSteps: true})
	if err != nil {
		t.Fatal(err)
	}
	// y = sin t; backwards from 0 it goes negative, rises through 0 at −π
	// (as t decreases) and falls through 0 at −2π.
	if len(es.Hits) != 1 || math.Abs(es.Hits[0].T+math.Pi) > 1e-8 {
		t.Fatalf("hits %v, want one at −π", es.Hits)
	}
	if es.T[0] != 0 || es.T[len(es.T)-1] != -7 {
		t.Errorf("outputs from %v to %v, want 0 to −7", es.T[0], es.T[len(es.T)-1])
	}
}

// TestSolveEventsStopsEarly checks that a terminal event ends the
// integration soon after it rather than at T1, and that the dense output is
// continuous across the windows of the solve.
func TestSolveEventsStopsEarly(t *testing.T) {
	prob := Problem{System: eventOsc{}, T0: 0, T1: 200, Y0: []float64{0, 1}, P: []float64{1}}
	set := &Settings{RTol: 1e-9, ATol: 1e-12, Dense: true}
	full, err := Solve(prob, DP5, set)
	if err != nil {
		t.Fatal(err)
	}
	ev := &Event{G: func(t float64, y, p []float64) float64 { return y[0] + 0.5 }, Terminal: true}
	es, err := SolveEvents(prob, []*Event{ev}, DP5, set)
	if err != nil {
		t.Fatal(err)
	}
	want := math.Pi + math.Pi/6 // sin t = −½ first at 7π/6
	if math.Abs(es.End-want) > 1e-8 {
		t.Errorf("end %.12f, want %.12f", es.End, want)
	}
	if es.Stats.Steps*5 > full.Stats.Steps {
		t.Errorf("terminal solve took %d steps, the full solve %d", es.Stats.Steps, full.Stats.Steps)
	}
	for _, tt := range []float64{0.3, 1.7, 2.9, 3.5} {
		if y := es.At(nil, tt); math.Abs(y[0]-math.Sin(tt)) > 1e-7 {
			t.Errorf("At(%v) = %v, want %v", tt, y[0], math.Sin(tt))
		}
	}
}

// A ball thrown upwards at 3 m/s from 10 m lands (z = 0, falling) after
// (3 + √(9 + 2·9.81·10))/9.81 s; the landing time's sensitivity to the
// launch height is 1/√(w₀² + 2gz₀).
func ExampleEventGradient() {
	prob := Problem{System: eventDragBall, T0: 0, T1: 10, Y0: []float64{0, 10, 1, 3}, P: []float64{9.81, 0}}
	ground := &Event{
		G: func(_ float64, y, _ []float64) float64 { return y[1] },
		Grad: func(gy, _ []float64, _ float64, _, _ []float64) float64 {
			gy[1]++
			return 0
		},
		Direction: Falling,
	}
	r, err := EventGradient(prob, ground, EventTime(), nil, &Interpolating{}, &Settings{RTol: 1e-10, ATol: 1e-12})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("t* = %.6f s, dt*/dz0 = %.6f s/m (exact %.6f)\n", r.T, r.DY0[1], 1/math.Sqrt(9+2*9.81*10))
	// Output:
	// t* = 1.766035 s, dt*/dz0 = 0.069809 s/m (exact 0.069809)
}
