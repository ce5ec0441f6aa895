package nn

import (
	"fmt"
	"math"
	"slices"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Optimizer updates parameters in place from their gradients.
//
// An optimiser with state (momentum, moment estimates) keeps one state per
// parameter position, created on the first Step; later Steps must pass the
// same number of tensors with the same shapes, in the same order.
type Optimizer interface {
	// Step updates params[i] in place using grads[i], the gradient of the
	// loss with respect to it. It does not modify grads.
	Step(params, grads []*adjoint.Tensor)
}

var (
	_ Optimizer = (*SGD)(nil)
	_ Optimizer = (*Adam)(nil)
)

// SGD is stochastic gradient descent with optional momentum and weight
// decay. With g the gradient plus WeightDecay·θ, each step does
//
//	v ← Momentum·v + g
//	θ ← θ − LR·v                 (or θ − LR·(g + Momentum·v) with Nesterov)
//
// the formulation of PyTorch's torch.optim.SGD (v starts at zero). The zero
// value of each field is a valid choice: plain SGD without decay.
type SGD struct {
	// LR is the learning rate.
	LR float64
	// Momentum is the velocity's decay factor, in [0, 1); zero means none.
	Momentum float64
	// Nesterov uses Nesterov's look-ahead momentum.
	Nesterov bool
	// WeightDecay adds WeightDecay·θ to the gradient (L2 regularisation).
	WeightDecay float64

	vel []*adjoint.Tensor
}

// Step updates params from grads.
func (o *SGD) Step(params, grads []*adjoint.Tensor) {
	checkStep("SGD", params, grads)
	if o.Momentum != 0 {
		o.vel = ensureState("SGD", o.vel, params)
	}
	for i, p := range params {
		g := grads[i].Data
		for j, th := range p.Data {
			d := g[j] + o.WeightDecay*th
			if o.Momentum != 0 {
				v := o.vel[i].Data
				v[j] = o.Momentum*v[j] + d
				if o.Nesterov {
					d += o.Momentum * v[j]
				} else {
					d = v[j]
				}
			}
			p.Data[j] = th - o.LR*d
		}
	}
}

// Adam is the adaptive-moment optimiser of Kingma and Ba (2015), with
// bias-corrected first and second moment estimates and optional decoupled
// weight decay (AdamW, Loshchilov and Hutter 2019):
//
//	m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²
//	θ ← θ − LR·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + Eps) − LR·WeightDecay·θ
//
// Use NewAdam for the usual constants. An element whose gradient has been
// zero so far (with Eps = 0) is not moved.
type Adam struct {
	// LR is the learning rate (the largest step per element, roughly).
	LR float64
	// Beta1 and Beta2 are the decay rates of the moment estimates, in
	// [0, 1); NewAdam sets 0.9 and 0.999.
	Beta1, Beta2 float64
	// Eps keeps the division finite; NewAdam sets 1e-8.
	Eps float64
	// WeightDecay is the decoupled decay rate; zero means none.
	WeightDecay float64

	t    int
	m, v []*adjoint.Tensor
}

// NewAdam returns Adam with learning rate lr, β₁ = 0.9, β₂ = 0.999 and
// ε = 1e-8.
func NewAdam(lr float64) *Adam { return &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// Step updates params from grads.
func (o *Adam) Step(params, grads []*adjoint.Tensor) {
	checkStep("Adam", params, grads)
	o.m = ensureState("Adam", o.m, params)
	o.v = ensureState("Adam", o.v, params)
	o.t++
	c1 := 1 - math.Pow(o.Beta1, float64(o.t))
	c2 := 1 - math.Pow(o.Beta2, float64(o.t))
	for i, p := range params {
		g, m, v := grads[i].Data, o.m[i].Data, o.v[i].Data
		for j, th := range p.Data {
			m[j] = o.Beta1*m[j] + (1-o.Beta1)*g[j]
			v[j] = o.Beta2*v[j] + (1-o.Beta2)*g[j]*g[j]
			step := 0.0
			if den := math.Sqrt(v[j]/c2) + o.Eps; den != 0 {
				step = (m[j] / c1) / den
			}
			p.Data[j] = th - o.LR*step - o.LR*o.WeightDecay*th
		}
	}
}

// ClipGlobalNorm scales grads in place so that their global norm
// √(Σᵢ‖gᵢ‖²) is at most maxNorm, keeping their direction, and returns the
// norm they had before. Gradients already within the bound are left alone.
func ClipGlobalNorm(grads []*adjoint.Tensor, maxNorm float64) float64 {
	if !(maxNorm > 0) {
		panic(fmt.Sprintf("nn: ClipGlobalNorm: bound %g must be positive", maxNorm))
	}
	n := GlobalNorm(grads)
	if n > maxNorm {
		s := maxNorm / n
		for _, g := range grads {
			for j := range g.Data {
				g.Data[j] *= s
			}
		}
	}
	return n
}

// GlobalNorm returns √(Σᵢ‖tᵢ‖²), computed without overflow.
func GlobalNorm(ts []*adjoint.Tensor) float64 {
	var n float64
	for _, t := range ts {
		n = math.Hypot(n, t.Norm())
	}
	return n
}

func checkStep(who string, params, grads []*adjoint.Tensor) {
	if len(params) != len(grads) {
		panic(fmt.Sprintf("nn: %s.Step: %d parameters but %d gradients", who, len(params), len(grads)))
	}
	for i := range params {
		if !adjoint.SameShape(params[i], grads[i]) {
			panic(fmt.Sprintf("nn: %s.Step: parameter %d has shape %v, its gradient %v", who, i, params[i].Shape, grads[i].Shape))
		}
	}
}

// ensureState returns per-parameter zero tensors, creating them on first
// use and checking on later use that the parameters have not changed.
func ensureState(who string, st []*adjoint.Tensor, params []*adjoint.Tensor) []*adjoint.Tensor {
	if st == nil {
		st = make([]*adjoint.Tensor, len(params))
		for i, p := range params {
			st[i] = adjoint.New(p.Shape...)
		}
		return st
	}
	if len(st) != len(params) {
		panic(fmt.Sprintf("nn: %s.Step: %d parameters, but the optimiser was started with %d", who, len(params), len(st)))
	}
	for i, p := range params {
		if !slices.Equal(st[i].Shape, p.Shape) {
			panic(fmt.Sprintf("nn: %s.Step: parameter %d has shape %v, but the optimiser was started with %v", who, i, p.Shape, st[i].Shape))
		}
	}
	return st
}
