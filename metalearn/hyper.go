package metalearn

import (
	"fmt"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn"
)

// HyperOptSettings configures OptimizeHyper. A nil *HyperOptSettings means
// the zero value, whose fields all select defaults.
type HyperOptSettings struct {
	// Iterations is the number of hypergradient steps; zero means 10.
	Iterations int
	// Optimizer updates the hyperparameters from their hypergradients;
	// nil means nn.NewAdam(0.01).
	Optimizer nn.Optimizer
	// Unroll configures each differentiated training run (checkpointing
	// policy, truncation, first order); nil means its defaults.
	Unroll *UnrollSettings
	// Project, if non-nil, is applied to the hyperparameter values (in the
	// order of Hyper.Vars) after each update, for instance to keep
	// learning rates positive. It may modify them in place.
	Project func(h []*adjoint.Tensor)
	// OnIteration, if non-nil, is called after each training run that is
	// followed by an update (it = 0, …, Iterations−1) with the run's
	// result (validation loss and hypergradients) and the hyperparameter
	// values it used, before they are updated. Returning an error stops
	// the loop with that error.
	OnIteration func(it int, r UnrollResult, h []*adjoint.Tensor) error
}

// HyperOptResult is the outcome of OptimizeHyper.
type HyperOptResult struct {
	// Hyper holds the final hyperparameters (constants).
	Hyper Hyper
	// Loss is the outer (validation) loss of each iteration's run, before
	// that iteration's update, and finally of the final hyperparameters:
	// Iterations+1 values.
	Loss []float64
}

// OptimizeHyper tunes hyperparameters by hypergradient descent: each
// iteration trains from params for steps inner steps with opt and the
// current h, differentiates the outer (validation) loss of the trained
// parameters with respect to h through the whole run (UnrollGrad), and
// updates h with the outer optimiser. params is not modified; h's values are
// copied.
func OptimizeHyper(opt Optimizer, h Hyper, params []*adjoint.Tensor, inner Objective, outer func(ps []*adjoint.Var) *adjoint.Var, steps int, s *HyperOptSettings) (HyperOptResult, error) {
	if s == nil {
		s = &HyperOptSettings{}
	}
	iters := s.Iterations
	if iters == 0 {
		iters = 10
	}
	o := s.Optimizer
	if o == nil {
		o = nn.NewAdam(0.01)
	}
	vals := make([]*adjoint.Tensor, 0, 3)
	for _, v := range h.Vars() {
		vals = append(vals, v.Value().Clone())
	}
	cur := func() Hyper { return h.withVars(constants(vals)) }
	var res HyperOptResult
	for it := 0; ; it++ {
		r, err := UnrollGrad(opt, cur(), params, inner, outer, steps, s.Unroll)
		if err != nil {
			return res, fmt.Errorf("metalearn: hyperparameter iteration %d: %w", it, err)
		}
		res.Loss = append(res.Loss, r.Loss)
		if it == iters {
			break
		}
		if s.OnIteration != nil {
			if err := s.OnIteration(it, r, vals); err != nil {
				return res, err
			}
		}
		o.Step(vals, r.HyperGrad)
		if s.Project != nil {
			s.Project(vals)
		}
	}
	res.Hyper = cur()
	return res, nil
}
