package adjoint

import "fmt"

// TracedStep is a Step written with this package's operations: the engine
// calls Eval in no-graph mode and, when it needs a step's VJP, re-traces
// that one step and runs a reverse pass over it. Memory therefore never
// holds more than one step's graph, whatever the checkpointing policy.
//
// F receives the step index, the state as a 1-D value and θ as a 1-D value,
// and must return the next state with the same number of elements as x.
type TracedStep struct {
	F func(k int, x, theta *Var) *Var
}

var _ Step = TracedStep{}

// Eval computes next = F(k, x, θ) without recording a graph.
func (s TracedStep) Eval(next []float64, k int, x, theta []float64) {
	y := s.F(k, Const(FromData(x, len(x))), Const(FromData(theta, len(theta))))
	if y.Size() != len(next) {
		panic(fmt.Sprintf("adjoint: TracedStep returned %d elements for a state of %d", y.Size(), len(next)))
	}
	copy(next, y.val.Data)
}

// VJP accumulates the step's vector-Jacobian products into xbar and
// thetabar.
func (s TracedStep) VJP(xbar, thetabar []float64, k int, x, theta, nextbar []float64) {
	xp, tp := Param(FromData(x, len(x))), Param(FromData(theta, len(theta)))
	y := s.F(k, xp, tp)
	gs := Backward(y, []*Var{xp, tp}, &GradSettings{Cotangent: Const(FromData(nextbar, y.Shape()...))})
	accumulate(xbar, gs[0].val.Data)
	accumulate(thetabar, gs[1].val.Data)
}

// TracedLoss is a Loss (and RunningLoss) written with this package's
// operations. Terminal is required; Running may be nil, meaning no per-step
// terms. Both return one-element values.
type TracedLoss struct {
	Terminal func(x, theta *Var) *Var
	Running  func(k int, x, theta *Var) *Var
}

// AsLoss returns l as a Loss, which also implements RunningLoss exactly
// when l.Running is set.
func (l TracedLoss) AsLoss() Loss {
	if l.Terminal == nil {
		panic("adjoint: TracedLoss needs a Terminal function")
	}
	t := tracedTerminal{l.Terminal}
	if l.Running == nil {
		return t
	}
	return tracedRunning{t, l.Running}
}

type tracedTerminal struct {
	f func(x, theta *Var) *Var
}

func (t tracedTerminal) Terminal(x, theta []float64) float64 {
	return t.f(Const(FromData(x, len(x))), Const(FromData(theta, len(theta)))).Item()
}

func (t tracedTerminal) TerminalGrad(xbar, thetabar []float64, x, theta []float64) {
	xp, tp := Param(FromData(x, len(x))), Param(FromData(theta, len(theta)))
	gs := Grad(t.f(xp, tp), xp, tp)
	accumulate(xbar, gs[0].Data)
	accumulate(thetabar, gs[1].Data)
}

type tracedRunning struct {
	tracedTerminal
	f func(k int, x, theta *Var) *Var
}

func (r tracedRunning) Running(k int, x, theta []float64) float64 {
	return r.f(k, Const(FromData(x, len(x))), Const(FromData(theta, len(theta)))).Item()
}

func (r tracedRunning) RunningGrad(xbar, thetabar []float64, k int, x, theta []float64) {
	xp, tp := Param(FromData(x, len(x))), Param(FromData(theta, len(theta)))
	gs := Grad(r.f(k, xp, tp), xp, tp)
	accumulate(xbar, gs[0].Data)
	accumulate(thetabar, gs[1].Data)
}

// accumulate adds src into dst; a nil dst means the caller does not want
// this gradient.
func accumulate(dst, src []float64) {
	if dst == nil {
		return
	}
	for i, v := range src {
		dst[i] += v
	}
}
