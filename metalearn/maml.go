package metalearn

import (
	"fmt"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Model is a model applied functionally, with explicitly given parameter
// values: every nn.Layer (nn.Sequential, nn.Linear, …) is one.
type Model interface {
	Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var
}

// LossFunc compares a prediction with a target and returns a one-element
// value, like nn.MSE.
type LossFunc func(pred, target *adjoint.Var) *adjoint.Var

// Batch is a set of inputs and their targets, the batch size being the
// leading dimension of both.
type Batch struct {
	X, Y *adjoint.Tensor
}

// Task is one task of a meta-learning problem: the loss adaptation
// minimises (on the support set) and the loss the adapted parameters are
// judged by (on the query set), both as functions of the parameter values.
type Task struct {
	// Inner is the adaptation loss. Required.
	Inner func(ps []*adjoint.Var) *adjoint.Var
	// Outer is the loss after adaptation. Required by MAML and IMAML;
	// Reptile uses it only to report MetaResult.Loss.
	Outer func(ps []*adjoint.Var) *adjoint.Var
}

// Supervised returns the task of fitting model to support (the inner loss)
// and being judged on query (the outer loss) under loss; a nil loss means
// mean squared error.
func Supervised(model Model, loss LossFunc, support, query Batch) Task {
	if loss == nil {
		loss = mse
	}
	f := func(b Batch) func(ps []*adjoint.Var) *adjoint.Var {
		x, y := adjoint.Const(b.X), adjoint.Const(b.Y)
		return func(ps []*adjoint.Var) *adjoint.Var { return loss(model.Apply(ps, x), y) }
	}
	return Task{Inner: f(support), Outer: f(query)}
}

// mse is mean((pred − target)²).
func mse(pred, target *adjoint.Var) *adjoint.Var {
	return adjoint.Mean(adjoint.Square(adjoint.Sub(pred, target)))
}

// MetaResult is the outcome of one meta-gradient computation over a batch
// of tasks.
type MetaResult struct {
	// Loss is the mean over the tasks of the outer loss after adaptation.
	Loss float64
	// Grad is the meta-gradient, one tensor per parameter tensor: the
	// gradient of the mean outer loss with respect to the initial
	// parameters (for Reptile, the mean of θ − φ_task).
	Grad []*adjoint.Tensor
	// CGIterations is the total number of conjugate-gradient iterations
	// (IMAML only).
	CGIterations int
	// MaxInnerResidual is the largest relative norm of the inner
	// problem's optimality residual over the tasks (IMAML only): the
	// implicit gradient is exact only where it is small.
	MaxInnerResidual float64
}

// MAML is model-agnostic meta-learning (Finn, Abbeel and Levine 2017):
// each task adapts the shared initial parameters θ by InnerSteps steps of
// gradient descent on its inner loss, φ = θ − α∇L_inner(θ) − …, and the
// meta-gradient is the gradient of the mean outer loss L_outer(φ) with
// respect to θ, through the adaptation — exact second order (Hessian terms
// included), or first order (FOMAML) with FirstOrder.
type MAML struct {
	// InnerLR is α, the adaptation step size; it must be positive.
	InnerLR float64
	// InnerSteps is the number of adaptation steps; zero means 1.
	InnerSteps int
	// FirstOrder drops the second-order terms: first-order MAML.
	FirstOrder bool
}

// MetaGrad returns the mean outer loss after adaptation over tasks and its
// meta-gradient with respect to params. It panics if InnerLR is not
// positive or tasks is empty; a non-finite loss is an error wrapping
// adjoint.ErrNonFinite.
func (m MAML) MetaGrad(params []*adjoint.Tensor, tasks []Task) (MetaResult, error) {
	if !(m.InnerLR > 0) {
		panic(fmt.Sprintf("metalearn: MAML.InnerLR must be positive, got %v", m.InnerLR))
	}
	if len(tasks) == 0 {
		panic("metalearn: MetaGrad needs at least one task")
	}
	steps := max(m.InnerSteps, 1)
	h := Hyper{LR: adjoint.ConstScalar(m.InnerLR)}
	res := MetaResult{Grad: make([]*adjoint.Tensor, len(params))}
	for i, p := range params {
		res.Grad[i] = adjoint.New(p.Shape...)
	}
	set := &UnrollSettings{FirstOrder: m.FirstOrder}
	w := 1 / float64(len(tasks))
	for t, task := range tasks {
		if task.Inner == nil || task.Outer == nil {
			panic(fmt.Sprintf("metalearn: task %d needs Inner and Outer losses", t))
		}
		theta := leaves(params)
		fast, err := Unroll(SGD{}, h, theta, func(_ int, ps []*adjoint.Var) *adjoint.Var { return task.Inner(ps) }, steps, set)
		if err != nil {
			return res, fmt.Errorf("task %d: %w", t, err)
		}
		outer := task.Outer(fast)
		if err := finite(steps, "outer loss", outer.Value().Data); err != nil {
			return res, fmt.Errorf("task %d: %w", t, err)
		}
		res.Loss += w * outer.Item()
		for i, g := range adjoint.Grad(outer, theta...) {
			d := res.Grad[i].Data
			for j, v := range g.Data {
				d[j] += w * v
			}
		}
	}
	return res, nil
}

// leaves returns a differentiable leaf over each tensor.
func leaves(ts []*adjoint.Tensor) []*adjoint.Var {
	out := make([]*adjoint.Var, len(ts))
	for i, t := range ts {
		out[i] = adjoint.Param(t)
	}
	return out
}

// Reptile is the first-order meta-learning algorithm of Nichol, Achiam and
// Schulman (2018): each task adapts θ by InnerSteps steps of gradient
// descent on its inner loss to φ, and the meta-update moves θ towards the
// adapted parameters, θ ← θ − ε·mean(θ − φ). MetaGrad returns mean(θ − φ)
// as the "gradient", to be used with any outer optimiser.
type Reptile struct {
	// InnerLR is the adaptation step size; it must be positive.
	InnerLR float64
	// InnerSteps is the number of adaptation steps; zero means 1.
	InnerSteps int
}

// MetaGrad returns mean(θ − φ_task) over tasks and, in Loss, the mean outer
// loss after adaptation (zero for tasks without Outer). It panics if
// InnerLR is not positive or tasks is empty.
func (r Reptile) MetaGrad(params []*adjoint.Tensor, tasks []Task) (MetaResult, error) {
	if !(r.InnerLR > 0) {
		panic(fmt.Sprintf("metalearn: Reptile.InnerLR must be positive, got %v", r.InnerLR))
	}
	if len(tasks) == 0 {
		panic("metalearn: MetaGrad needs at least one task")
	}
	steps := max(r.InnerSteps, 1)
	res := MetaResult{Grad: make([]*adjoint.Tensor, len(params))}
	for i, p := range params {
		res.Grad[i] = adjoint.New(p.Shape...)
	}
	w := 1 / float64(len(tasks))
	for t, task := range tasks {
		phi, err := Adapt(params, task.Inner, r.InnerLR, steps, nil)
		if err != nil {
			return res, fmt.Errorf("task %d: %w", t, err)
		}
		for i, p := range params {
			d := res.Grad[i].Data
			for j, v := range p.Data {
				d[j] += w * (v - phi[i].Data[j])
			}
		}
		if task.Outer != nil {
			res.Loss += w * task.Outer(constants(phi)).Item()
		}
	}
	return res, nil
}

// constants wraps tensors as constants.
func constants(ts []*adjoint.Tensor) []*adjoint.Var {
	out := make([]*adjoint.Var, len(ts))
	for i, t := range ts {
		out[i] = adjoint.Const(t)
	}
	return out
}

// Adapt runs steps steps of plain gradient descent with step size lr on
// loss from params, without recording a graph across steps, and returns the
// adapted parameters (params is not modified). If each is non-nil it is
// called with the parameters after k steps, k = 0, …, steps; they must not
// be modified. A non-finite loss or gradient is an error wrapping
// adjoint.ErrNonFinite.
func Adapt(params []*adjoint.Tensor, loss func(ps []*adjoint.Var) *adjoint.Var, lr float64, steps int, each func(k int, ps []*adjoint.Tensor)) ([]*adjoint.Tensor, error) {
	cur := make([]*adjoint.Tensor, len(params))
	for i, p := range params {
		cur[i] = p.Clone()
	}
	for k := 0; ; k++ {
		if each != nil {
			each(k, cur)
		}
		if k == steps {
			return cur, nil
		}
		ps := leaves(cur)
		l := loss(ps)
		if err := finite(k, "inner loss", l.Value().Data); err != nil {
			return nil, err
		}
		gs := adjoint.Grad(l, ps...)
		next := make([]*adjoint.Tensor, len(cur))
		for i, p := range cur {
			if err := finite(k, "inner gradient", gs[i].Data); err != nil {
				return nil, err
			}
			next[i] = p.Clone()
			for j, g := range gs[i].Data {
				next[i].Data[j] -= lr * g
			}
		}
		cur = next
	}
}
