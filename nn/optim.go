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

// SGD is stochastic gradient descent with optional momentum and (coupled,
// L2) weight decay. With g the gradient plus WeightDecay·θ, each step does
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
	// WeightDecay adds WeightDecay·θ to the gradient (L2 regularisation,
	// PyTorch's SGD weight_decay).
	WeightDecay float64

	vel []*adjoint.Tensor
}

// SetLR sets the learning rate (for a Schedule).
func (o *SGD) SetLR(lr float64) { o.LR = lr }

// SetMomentum sets Momentum (for a schedule that cycles it).
func (o *SGD) SetMomentum(m float64) { o.Momentum = m }

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
// bias-corrected moment estimates, in the formulation and order of
// operations of PyTorch's torch.optim.Adam and AdamW. With g the gradient,
// at step t = 1, 2, …:
//
//	θ ← θ·(1 − LR·DecoupledDecay)            AdamW's decoupled decay
//	g ← g + L2·θ                              Adam's coupled L2 penalty
//	m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²
//	θ ← θ − (LR/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + Eps)
//
// The two kinds of weight decay are different regularisers, and are named
// so that neither passes for the other. L2 (PyTorch's Adam weight_decay)
// adds a penalty's gradient, which the adaptive denominator then rescales,
// so weights with large gradients decay less; DecoupledDecay (PyTorch's
// AdamW weight_decay, Loshchilov and Hutter 2019) shrinks every weight by
// the same factor whatever its gradient. Use NewAdam or NewAdamW for the
// usual constants. An element whose gradient has been zero so far (with
// Eps = 0) is not moved.
//
// metalearn.Adam is the same rule written with differentiable operations
// for unrolled inner loops; its denominator is √(v̂ + ε²) instead of √v̂ + ε
// so that its derivatives stay finite where a gradient is exactly zero.
// The two differ by less than ε in the denominator (a relative difference
// below ε/(√v̂ + ε) in the step) and share their default constants.
type Adam struct {
	// LR is the learning rate (the largest step per element, roughly).
	LR float64
	// Beta1 and Beta2 are the decay rates of the moment estimates, in
	// [0, 1); NewAdam sets AdamBeta1 and AdamBeta2.
	Beta1, Beta2 float64
	// Eps keeps the division finite; NewAdam sets AdamEps.
	Eps float64
	// L2 is the coefficient of the coupled L2 penalty ½·L2·‖θ‖², whose
	// gradient L2·θ is added to g; zero means none.
	L2 float64
	// DecoupledDecay is AdamW's decay rate: every step multiplies θ by
	// 1 − LR·DecoupledDecay before the update; zero means none.
	DecoupledDecay float64

	t    int
	m, v []*adjoint.Tensor
}

// Adam's default constants (Kingma and Ba's, PyTorch's), shared with
// metalearn.Adam.
const (
	AdamBeta1 = 0.9
	AdamBeta2 = 0.999
	AdamEps   = 1e-8
)

// NewAdam returns Adam with learning rate lr, β₁ = AdamBeta1,
// β₂ = AdamBeta2, ε = AdamEps and no weight decay: torch.optim.Adam's
// defaults.
func NewAdam(lr float64) *Adam {
	return &Adam{LR: lr, Beta1: AdamBeta1, Beta2: AdamBeta2, Eps: AdamEps}
}

// NewAdamW returns AdamW: NewAdam(lr) with decoupled weight decay at the
// given rate (torch.optim.AdamW's default is 0.01).
func NewAdamW(lr, decay float64) *Adam {
	a := NewAdam(lr)
	a.DecoupledDecay = decay
	return a
}

// SetLR sets the learning rate (for a Schedule).
func (o *Adam) SetLR(lr float64) { o.LR = lr }

// SetMomentum sets Beta1, Adam's momentum (for a schedule that cycles it,
// as PyTorch's schedulers set betas[0]).
func (o *Adam) SetMomentum(m float64) { o.Beta1 = m }

// Step updates params from grads.
func (o *Adam) Step(params, grads []*adjoint.Tensor) {
	checkStep("Adam", params, grads)
	o.m = ensureState("Adam", o.m, params)
	o.v = ensureState("Adam", o.v, params)
	o.t++
	stepSize := o.LR / (1 - math.Pow(o.Beta1, float64(o.t)))
	c2 := math.Sqrt(1 - math.Pow(o.Beta2, float64(o.t)))
	shrink := 1 - o.LR*o.DecoupledDecay
	for i, p := range params {
		g, m, v := grads[i].Data, o.m[i].Data, o.v[i].Data
		for j, th := range p.Data {
			if o.DecoupledDecay != 0 {
				th *= shrink
			}
			gj := g[j]
			if o.L2 != 0 {
				gj += o.L2 * th
			}
			m[j] = m[j]*o.Beta1 + gj*(1-o.Beta1)
			v[j] = v[j]*o.Beta2 + (1-o.Beta2)*(gj*gj)
			if den := math.Sqrt(v[j])/c2 + o.Eps; den != 0 {
				th -= stepSize * (m[j] / den)
			}
			p.Data[j] = th
		}
	}
}

// ClipGlobalNorm scales grads in place so that their global norm
// √(Σᵢ‖gᵢ‖²) is at most maxNorm, keeping their direction, and returns the
// norm they had before. Gradients already within the bound are left alone.
//
// The scale is exactly maxNorm/norm. PyTorch's clip_grad_norm_ uses
// maxNorm/(norm + 1e-6), so its clipped gradients are smaller than these
// by the factor norm/(norm + 1e-6), and it also scales (by less than one)
// gradients within 1e-6 of the bound.
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
