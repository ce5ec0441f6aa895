package metalearn

import (
	"fmt"
	"math"

	"github.com/adjointkit/adjointkit/adjoint"
)

// UnrollResult is what UnrollGrad returns.
type UnrollResult struct {
	// Loss is the outer loss at the final parameters.
	Loss float64
	// Params are the final parameters θ_n.
	Params []*adjoint.Tensor
	// ParamsGrad is dL/dθ_0, the gradient with respect to the initial
	// parameters (with UnrollSettings.Truncate, the gradient with respect
	// to the parameters where backpropagation starts).
	ParamsGrad []*adjoint.Tensor
	// HyperGrad is dL/dh, one tensor per hyperparameter in the order of
	// Hyper.Vars, each with that hyperparameter's shape.
	HyperGrad []*adjoint.Tensor
	// Recurrence reports the adjoint engine's work: step evaluations,
	// VJPs, and the peak number of stored states.
	Recurrence adjoint.RecurrenceResult
}

// UnrollGrad computes the same gradients as differentiating outer(Unroll(…))
// but runs the inner loop through the adjoint-state engine
// (adjoint.Recurrence): the state x_k packs the parameters and the
// optimiser's moments with an adjoint.Layout, the hyperparameters are the
// engine's θ, and each step's vector-Jacobian product re-traces that one
// step, differentiating through its inner gradient (a Hessian-vector
// product). With a checkpointing policy (settings.Policy: Every(k),
// Binomial(s)) memory stays bounded for 1000+ inner steps; every policy
// gives bit-identical gradients.
//
// params are the initial parameter values and h's hyperparameter values are
// read from h (whether built with Param or Const). A non-finite loss, state
// or adjoint is an error wrapping adjoint.ErrNonFinite. A nil settings means
// defaults.
func UnrollGrad(opt Optimizer, h Hyper, params []*adjoint.Tensor, inner Objective, outer func(ps []*adjoint.Var) *adjoint.Var, steps int, s *UnrollSettings) (UnrollResult, error) {
	if s == nil {
		s = &UnrollSettings{}
	}
	if steps < 0 {
		panic(fmt.Sprintf("metalearn: negative number of steps %d", steps))
	}
	if outer == nil || inner == nil || opt == nil {
		panic("metalearn: UnrollGrad needs an optimiser, an inner and an outer loss")
	}
	h.check(steps, len(params))
	np := len(params)
	slots := opt.Slots(h)
	shapes := make([][]int, 0, (1+slots)*np)
	for range 1 + slots {
		for _, p := range params {
			shapes = append(shapes, p.Shape)
		}
	}
	xl := adjoint.NewLayout(shapes...)
	hv := h.Vars()
	hts := make([]*adjoint.Tensor, len(hv))
	for i, v := range hv {
		hts[i] = v.Value()
	}
	hl := adjoint.LayoutOf(hts...)
	theta := hl.Pack(nil, hts...)
	x0 := xl.Pack(nil, append(append([]*adjoint.Tensor(nil), params...), zeros(params, slots)...)...)

	st := &innerStep{opt: opt, h: h, np: np, xl: xl, hl: hl, inner: inner, firstOrder: s.FirstOrder, onStep: s.OnStep}
	n := steps
	if s.Truncate > 0 && s.Truncate < steps {
		next := make([]float64, len(x0))
		for k := range steps - s.Truncate {
			st.Eval(next, k, x0, theta)
			if err := finiteState(k+1, next); err != nil {
				return UnrollResult{}, err
			}
			x0, next = next, x0
		}
		st.offset = steps - s.Truncate
		n = s.Truncate
	}
	loss := adjoint.TracedLoss{Terminal: func(x, _ *adjoint.Var) *adjoint.Var {
		return outer(xl.Vars(x)[:np])
	}}.AsLoss()

	var res UnrollResult
	res.Params = make([]*adjoint.Tensor, np)
	rs := &adjoint.RecurrenceSettings{
		OnState: func(k int, x []float64) {
			if k == n {
				copy(res.Params, xl.Unpack(x)[:np])
			}
		},
	}
	if s.OnAdjoint != nil {
		plen := len(x0)
		if slots > 0 {
			plen = xl.Offset(np)
		}
		rs.OnAdjoint = func(k int, lambda []float64) {
			s.OnAdjoint(k+st.offset, norm(lambda[:plen]))
		}
	}
	x0bar := make([]float64, len(x0))
	thetabar := make([]float64, len(theta))
	rr, err := adjoint.Recurrence(x0bar, thetabar, st, loss, x0, theta, n, s.Policy, rs)
	res.Recurrence = rr
	res.Loss = rr.Loss
	if err != nil {
		return res, fmt.Errorf("metalearn: unrolled inner loop: %w", err)
	}
	res.ParamsGrad = xl.Unpack(x0bar)[:np]
	res.HyperGrad = hl.Unpack(thetabar)
	return res, nil
}

// norm returns the Euclidean norm of v, scaled so that it neither
// overflows nor underflows.
func norm(v []float64) float64 {
	var scale float64
	for _, x := range v {
		scale = max(scale, math.Abs(x))
	}
	if scale == 0 || math.IsInf(scale, 0) || math.IsNaN(scale) {
		return scale
	}
	var ss float64
	for _, x := range v {
		ss += (x / scale) * (x / scale)
	}
	return scale * math.Sqrt(ss)
}

// zeros returns slots zero tensors per parameter, slot by slot.
func zeros(params []*adjoint.Tensor, slots int) []*adjoint.Tensor {
	out := make([]*adjoint.Tensor, 0, slots*len(params))
	for range slots {
		for _, p := range params {
			out = append(out, adjoint.New(p.Shape...))
		}
	}
	return out
}

// finiteState returns an error if x holds a non-finite value.
func finiteState(k int, x []float64) error {
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("metalearn: state after inner step %d is %v: %w", k, v, adjoint.ErrNonFinite)
		}
	}
	return nil
}

// innerStep is one optimiser update as an adjoint.Step: x packs the
// parameters and the optimiser state, θ the hyperparameters.
type innerStep struct {
	opt        Optimizer
	h          Hyper
	np         int
	xl, hl     adjoint.Layout
	inner      Objective
	firstOrder bool
	offset     int // global index of the engine's step 0
	onStep     func(k int, loss float64)
	reported   int // global steps whose loss was reported (recomputations are not)
}

var _ adjoint.Step = (*innerStep)(nil)

// update returns one optimiser update as a traced function of the flat
// state and hyperparameters, for the bridge (adjoint.Record), which hands it
// tracked leaves in every call. With graph false (plain evaluation) the
// inner gradient and the update are computed without recording a graph —
// the same values, less work; the loss of the step is stored in *loss.
func (s *innerStep) update(k int, graph bool, loss *float64) func(in []*adjoint.Var) *adjoint.Var {
	return func(in []*adjoint.Var) *adjoint.Var {
		all := s.xl.Vars(in[0])
		ps, state := all[:s.np], all[s.np:]
		h := s.h.withVars(s.hl.Vars(in[1]))
		l := s.inner(k+s.offset, ps)
		*loss = l.Item()
		var gs []*adjoint.Var
		if graph && !s.firstOrder {
			gs = adjoint.GradGraph(l, ps...)
		} else {
			gs = adjoint.Backward(l, ps, nil)
		}
		if !graph {
			for i, p := range ps {
				ps[i] = adjoint.Detach(p)
			}
			for i, v := range state {
				state[i] = adjoint.Detach(v)
			}
			h = h.detach()
		}
		next, nextState := s.opt.Update(k+s.offset, h, ps, gs, state)
		return s.xl.Join(append(next, nextState...)...)
	}
}

// Eval computes the next state.
func (s *innerStep) Eval(next []float64, k int, x, theta []float64) {
	var loss float64
	r := adjoint.Record(s.update(k, false, &loss), vec(x), vec(theta))
	copy(next, r.Value())
	if s.onStep != nil && k+s.offset == s.reported {
		s.reported++
		s.onStep(k+s.offset, loss)
	}
}

// VJP accumulates the step's vector-Jacobian products, through the inner
// gradient (second order) unless the step is first-order.
func (s *innerStep) VJP(xbar, thetabar []float64, k int, x, theta, nextbar []float64) {
	var loss float64
	adjoint.Record(s.update(k, true, &loss), vec(x), vec(theta)).VJP([][]float64{xbar, thetabar}, nextbar)
}

// vec wraps a flat slice as a 1-D tensor without copying.
func vec(x []float64) *adjoint.Tensor { return adjoint.FromData(x, len(x)) }
