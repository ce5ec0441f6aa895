package metalearn

import (
	"fmt"
	"math"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Objective is an inner loss: its value at inner step k for the parameter
// values ps (one per parameter tensor). It must be written with the adjoint
// core's operations and return a one-element value.
type Objective func(k int, ps []*adjoint.Var) *adjoint.Var

// UnrollSettings configures Unroll and UnrollGrad. A nil *UnrollSettings
// means the zero value, whose fields all select defaults.
type UnrollSettings struct {
	// FirstOrder treats the inner gradients as constants: the Hessian
	// terms of the meta-gradient are dropped (first-order MAML), while the
	// dependence on the hyperparameters through the update itself is
	// kept. False (the default) keeps the exact second-order terms.
	FirstOrder bool
	// Truncate, when positive and smaller than the number of steps,
	// differentiates through the last Truncate steps only (truncated
	// backpropagation): the earlier steps run without a graph, and the
	// gradient with respect to the initial parameters is that with respect
	// to the parameters at step n − Truncate, passed straight through.
	// Zero means every step.
	Truncate int
	// Policy is the checkpointing policy of UnrollGrad (ignored by
	// Unroll). The zero Policy is adjoint.StoreAll.
	Policy adjoint.Policy
	// OnStep, if non-nil, is called with each inner loss as it is
	// computed, k = 0, …, n−1 (not for recomputed steps).
	OnStep func(k int, loss float64)
	// OnAdjoint, if non-nil, is called by UnrollGrad with the norm of the
	// adjoint of the parameters, ‖dL/dθ_k‖, for k = n, n−1, … down to the
	// first differentiated step (ignored by Unroll).
	OnAdjoint func(k int, norm float64)
}

// Unroll runs steps updates of opt on the inner loss, starting from params,
// and returns the final parameters as values of one recorded graph: they are
// differentiable, exactly and to every order, with respect to params and to
// the hyperparameters in h (make those with adjoint.Param). Differentiate a
// loss of the result with adjoint.Grad or adjoint.Backward.
//
// The graph holds every step, so memory grows with steps; UnrollGrad gives
// the same gradients with checkpointing in bounded memory. A non-finite
// inner loss or gradient is an error wrapping adjoint.ErrNonFinite that
// names the step. Unroll panics if h does not fit steps and len(params).
func Unroll(opt Optimizer, h Hyper, params []*adjoint.Var, inner Objective, steps int, s *UnrollSettings) ([]*adjoint.Var, error) {
	if s == nil {
		s = &UnrollSettings{}
	}
	if steps < 0 {
		panic(fmt.Sprintf("metalearn: negative number of steps %d", steps))
	}
	h.check(steps, len(params))
	n := len(params)
	slots := opt.Slots(h)
	state := make([]*adjoint.Var, slots*n)
	for j := range state {
		state[j] = adjoint.Const(adjoint.New(params[j%n].Shape()...))
	}
	ps := make([]*adjoint.Var, n)
	for i, p := range params {
		ps[i] = p
		if !p.Tracked() { // a constant: give the inner gradient a leaf
			ps[i] = adjoint.Param(p.Value())
		}
	}
	start := 0
	if s.Truncate > 0 && s.Truncate < steps {
		start = steps - s.Truncate
		hd := h.detach()
		cur := make([]*adjoint.Var, n)
		for i, p := range params {
			cur[i] = adjoint.Detach(p)
		}
		for k := range start {
			leaves := make([]*adjoint.Var, n)
			for i, p := range cur {
				leaves[i] = adjoint.Param(p.Value())
			}
			loss := inner(k, leaves)
			if err := finite(k, "inner loss", loss.Value().Data); err != nil {
				return nil, err
			}
			if s.OnStep != nil {
				s.OnStep(k, loss.Item())
			}
			gs := adjoint.Backward(loss, leaves, nil)
			cur, state = opt.Update(k, hd, cur, gs, state)
		}
		// Pass the gradient straight through to the initial parameters;
		// constant ones get a fresh leaf for the inner gradients, as above.
		for i, p := range params {
			if !p.Tracked() {
				ps[i] = adjoint.Param(cur[i].Value())
				continue
			}
			d := cur[i].Value().Clone()
			for j, v := range p.Value().Data {
				d.Data[j] -= v
			}
			ps[i] = adjoint.Add(p, adjoint.Const(d))
		}
		for j, v := range state {
			state[j] = adjoint.Detach(v)
		}
	}
	for k := start; k < steps; k++ {
		loss := inner(k, ps)
		if err := finite(k, "inner loss", loss.Value().Data); err != nil {
			return nil, err
		}
		if s.OnStep != nil {
			s.OnStep(k, loss.Item())
		}
		var gs []*adjoint.Var
		if s.FirstOrder || !loss.Tracked() {
			gs = adjoint.Backward(loss, ps, nil)
		} else {
			gs = adjoint.GradGraph(loss, ps...)
		}
		for _, g := range gs {
			if err := finite(k, "inner gradient", g.Value().Data); err != nil {
				return nil, err
			}
		}
		ps, state = opt.Update(k, h, ps, gs, state)
	}
	return ps, nil
}

// finite returns an error wrapping adjoint.ErrNonFinite if v holds a NaN or
// an infinity.
func finite(k int, what string, v []float64) error {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("metalearn: inner step %d: %s is %v: %w", k, what, x, adjoint.ErrNonFinite)
		}
	}
	return nil
}
