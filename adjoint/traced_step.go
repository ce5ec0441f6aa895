package adjoint

import "fmt"

// TracedStep is a Step written with this package's operations: the engine
// records one run of F per call (Record) and, when it needs a step's VJP,
// runs a reverse pass over that one step's graph. Memory therefore never
// holds more than one step's graph, whatever the checkpointing policy.
//
// F receives the step index, the state as a 1-D value and θ as a 1-D value,
// both tracked in every call (see Record), and must return the next state
// with the same number of elements as x.
type TracedStep struct {
	F func(k int, x, theta *Var) *Var
}

var _ Step = TracedStep{}

func (s TracedStep) record(k int, x, theta []float64) *Recording {
	r := Record(func(in []*Var) *Var { return s.F(k, in[0], in[1]) }, vector(x), vector(theta))
	if r.Out.Size() != len(x) {
		panic(fmt.Sprintf("adjoint: TracedStep returned %d elements for a state of %d", r.Out.Size(), len(x)))
	}
	return r
}

// Eval computes next = F(k, x, θ).
func (s TracedStep) Eval(next []float64, k int, x, theta []float64) {
	copy(next, s.record(k, x, theta).Value())
}

// VJP accumulates the step's vector-Jacobian products into xbar and
// thetabar.
func (s TracedStep) VJP(xbar, thetabar []float64, k int, x, theta, nextbar []float64) {
	s.record(k, x, theta).VJP([][]float64{xbar, thetabar}, nextbar)
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

// scalarRecord records a one-element loss term of (x, θ).
func scalarRecord(f func(x, theta *Var) *Var, x, theta []float64) *Recording {
	r := Record(func(in []*Var) *Var { return f(in[0], in[1]) }, vector(x), vector(theta))
	if r.Out.Size() != 1 {
		panic(fmt.Sprintf("adjoint: TracedLoss term returned shape %v, want one element", r.Out.Shape()))
	}
	return r
}

type tracedTerminal struct {
	f func(x, theta *Var) *Var
}

func (t tracedTerminal) Terminal(x, theta []float64) float64 {
	return scalarRecord(t.f, x, theta).Value()[0]
}

func (t tracedTerminal) TerminalGrad(xbar, thetabar []float64, x, theta []float64) {
	scalarRecord(t.f, x, theta).VJP([][]float64{xbar, thetabar}, []float64{1})
}

type tracedRunning struct {
	tracedTerminal
	f func(k int, x, theta *Var) *Var
}

func (r tracedRunning) at(k int) func(x, theta *Var) *Var {
	return func(x, theta *Var) *Var { return r.f(k, x, theta) }
}

func (r tracedRunning) Running(k int, x, theta []float64) float64 {
	return scalarRecord(r.at(k), x, theta).Value()[0]
}

func (r tracedRunning) RunningGrad(xbar, thetabar []float64, k int, x, theta []float64) {
	scalarRecord(r.at(k), x, theta).VJP([][]float64{xbar, thetabar}, []float64{1})
}

// vector wraps a flat slice as a 1-D tensor without copying.
func vector(x []float64) *Tensor { return FromData(x, len(x)) }

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
