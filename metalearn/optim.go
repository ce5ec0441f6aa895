package metalearn

import (
	"fmt"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn"
)

// Schedule says how Hyper.LR is indexed.
type Schedule int

const (
	// Constant: LR holds one learning rate for every step and tensor.
	Constant Schedule = iota
	// PerStep: LR has one entry per inner step.
	PerStep
	// PerTensor: LR has one entry per parameter tensor (a per-layer
	// learning rate when each layer has its weight and bias tensors
	// listed separately).
	PerTensor
	// PerStepTensor: LR is a [steps, tensors] matrix.
	PerStepTensor
)

// String returns the schedule's name.
func (s Schedule) String() string {
	switch s {
	case Constant:
		return "Constant"
	case PerStep:
		return "PerStep"
	case PerTensor:
		return "PerTensor"
	case PerStepTensor:
		return "PerStepTensor"
	}
	return fmt.Sprintf("Schedule(%d)", int(s))
}

// Hyper holds the hyperparameters of an inner optimiser as differentiable
// values, so that the parameters after an unrolled run are functions of
// them. Make them with adjoint.Param to differentiate with respect to them,
// or with adjoint.Const to hold them fixed.
type Hyper struct {
	// LR is the learning rate, indexed as Schedule says. Required.
	LR *adjoint.Var
	// Schedule says how LR is indexed; the zero value is Constant.
	Schedule Schedule
	// Momentum is a one-element value: SGD's momentum μ, or Adam's β₁.
	// Nil means no momentum for SGD and Adam.Beta1 for Adam.
	Momentum *adjoint.Var
	// WeightDecay is a one-element value: SGD's coupled L2 coefficient
	// (added to the gradient, like nn.SGD.WeightDecay) or Adam's decoupled
	// decay rate (AdamW's, like nn.Adam.DecoupledDecay). Nil means none.
	WeightDecay *adjoint.Var
}

// Vars returns the hyperparameters that are set, in the order LR,
// Momentum, WeightDecay: the order of UnrollResult.HyperGrad.
func (h Hyper) Vars() []*adjoint.Var {
	vs := []*adjoint.Var{h.LR}
	if h.Momentum != nil {
		vs = append(vs, h.Momentum)
	}
	if h.WeightDecay != nil {
		vs = append(vs, h.WeightDecay)
	}
	return vs
}

// withVars returns h with its set hyperparameters replaced by vs (in the
// order of Vars).
func (h Hyper) withVars(vs []*adjoint.Var) Hyper {
	out := Hyper{LR: vs[0], Schedule: h.Schedule}
	i := 1
	if h.Momentum != nil {
		out.Momentum = vs[i]
		i++
	}
	if h.WeightDecay != nil {
		out.WeightDecay = vs[i]
	}
	return out
}

// detach returns h with every hyperparameter cut out of its graph.
func (h Hyper) detach() Hyper {
	vs := h.Vars()
	for i, v := range vs {
		vs[i] = adjoint.Detach(v)
	}
	return h.withVars(vs)
}

// check panics if h does not fit steps inner steps on tensors tensors.
func (h Hyper) check(steps, tensors int) {
	if h.LR == nil {
		panic("metalearn: Hyper.LR is nil")
	}
	want := map[Schedule][]int{Constant: {1}, PerStep: {steps}, PerTensor: {tensors}, PerStepTensor: {steps, tensors}}[h.Schedule]
	if want == nil {
		panic(fmt.Sprintf("metalearn: unknown %v", h.Schedule))
	}
	n := 1
	for _, d := range want {
		n *= d
	}
	if h.LR.Size() != n {
		panic(fmt.Sprintf("metalearn: Hyper.LR has %d elements, want %d for %v with %d steps and %d tensors", h.LR.Size(), n, h.Schedule, steps, tensors))
	}
	if h.Momentum != nil && h.Momentum.Size() != 1 {
		panic(fmt.Sprintf("metalearn: Hyper.Momentum has %d elements, want 1", h.Momentum.Size()))
	}
	if h.WeightDecay != nil && h.WeightDecay.Size() != 1 {
		panic(fmt.Sprintf("metalearn: Hyper.WeightDecay has %d elements, want 1", h.WeightDecay.Size()))
	}
}

// lr returns the learning rate of step k for tensor i (a one-element value
// that broadcasts against any tensor).
func (h Hyper) lr(k, i, tensors int) *adjoint.Var {
	var j int
	switch h.Schedule {
	case Constant:
		if len(h.LR.Shape()) == 0 {
			return h.LR
		}
		j = 0
	case PerStep:
		j = k
	case PerTensor:
		j = i
	case PerStepTensor:
		j = k*tensors + i
	}
	flat := h.LR
	if len(flat.Shape()) != 1 {
		flat = adjoint.Reshape(flat, -1)
	}
	return adjoint.Slice(flat, 0, j, j+1)
}

// Optimizer is a differentiable update rule for an inner loop. It is
// written with the adjoint core's operations, so the updated parameters
// are differentiable with respect to the parameters, the gradients, the
// state and the hyperparameters, to every order.
type Optimizer interface {
	// Slots returns how many state tensors the optimiser keeps per
	// parameter tensor with hyperparameters h (SGD with momentum 1, Adam
	// 2). The state starts at zero.
	Slots(h Hyper) int
	// Update takes inner step k (counting from 0) from params with
	// gradients grads and state (Slots(h) blocks of len(params) tensors,
	// block j holding slot j of every parameter), returning the new
	// parameters and the new state in the same layout.
	Update(k int, h Hyper, params, grads, state []*adjoint.Var) (next, nextState []*adjoint.Var)
}

var (
	_ Optimizer = SGD{}
	_ Optimizer = Adam{}
)

// SGD is differentiable stochastic gradient descent with optional momentum
// and weight decay, in PyTorch's formulation: with g the gradient plus
// WeightDecay·θ,
//
//	v ← μ·v + g,  θ ← θ − η·v
//
// (without Momentum, θ ← θ − η·g and no state). η, μ and the decay come
// from the Hyper passed to Update.
type SGD struct{}

// Slots returns 1 with momentum and 0 without.
func (SGD) Slots(h Hyper) int {
	if h.Momentum != nil {
		return 1
	}
	return 0
}

// Update takes one SGD step.
func (SGD) Update(k int, h Hyper, params, grads, state []*adjoint.Var) (next, nextState []*adjoint.Var) {
	n := len(params)
	next = make([]*adjoint.Var, n)
	if h.Momentum != nil {
		nextState = make([]*adjoint.Var, n)
	}
	for i, p := range params {
		g := grads[i]
		if h.WeightDecay != nil {
			g = adjoint.Add(g, scaleBy(h.WeightDecay, p))
		}
		if h.Momentum != nil {
			g = adjoint.Add(scaleBy(h.Momentum, state[i]), g)
			nextState[i] = g
		}
		next[i] = adjoint.Sub(p, scaleBy(h.lr(k, i, n), g))
	}
	return next, nextState
}

// Adam is the differentiable adaptive-moment update of Kingma and Ba with
// bias correction and AdamW's decoupled weight decay:
//
//	m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  t = k+1
//	θ ← θ − η·(m/(1−β₁ᵗ)) / √(v/(1−β₂ᵗ) + ε²) − η·λ·θ
//
// It is the rule of nn.Adam (with nn.Adam.DecoupledDecay = λ) written with
// differentiable operations, with one deliberate difference: the
// denominator is √(v̂ + ε²) instead of nn.Adam's (and PyTorch's) √v̂ + ε.
// Both are ε at v̂ = 0 and they differ by less than ε elsewhere, so the
// steps agree to a relative 1e-8 for gradients far above ε; but √v̂ has an
// infinite derivative at v̂ = 0, so a gradient component that is exactly
// zero (a dead ReLU, an unused input) would make the meta-gradient through
// nn.Adam's form infinite or NaN, while √(v̂ + ε²) is smooth there, with
// finite derivatives of every order. The test
// TestAdamMatchesNNAdam checks the two against each other.
//
// β₁ is Hyper.Momentum when set (and is then differentiable), λ is
// Hyper.WeightDecay. There is no coupled L2 term: add it to the inner loss
// if wanted.
type Adam struct {
	// Beta1 and Beta2 are the moment decay rates; zero means nn.AdamBeta1
	// and nn.AdamBeta2 (0.9 and 0.999). Beta1 is used only when
	// Hyper.Momentum is nil.
	Beta1, Beta2 float64
	// Eps is ε; zero means nn.AdamEps (1e-8).
	Eps float64
}

// Slots returns 2: the first and second moment estimates.
func (Adam) Slots(Hyper) int { return 2 }

// Update takes one Adam step.
func (a Adam) Update(k int, h Hyper, params, grads, state []*adjoint.Var) (next, nextState []*adjoint.Var) {
	b1, b2, eps := a.Beta1, a.Beta2, a.Eps
	if b1 == 0 {
		b1 = nn.AdamBeta1
	}
	if b2 == 0 {
		b2 = nn.AdamBeta2
	}
	if eps == 0 {
		eps = nn.AdamEps
	}
	t := float64(k + 1)
	var beta1, corr1 *adjoint.Var
	if h.Momentum != nil {
		beta1 = h.Momentum
		corr1 = adjoint.AddScalar(adjoint.Neg(adjoint.PowConst(beta1, t)), 1)
	} else {
		beta1 = adjoint.ConstScalar(b1)
		corr1 = adjoint.ConstScalar(1 - pow(b1, t))
	}
	oneMinusB1 := adjoint.AddScalar(adjoint.Neg(beta1), 1)
	corr2 := 1 - pow(b2, t)
	n := len(params)
	next = make([]*adjoint.Var, n)
	nextState = make([]*adjoint.Var, 2*n)
	for i, p := range params {
		g := grads[i]
		m := adjoint.Add(adjoint.Mul(beta1, state[i]), adjoint.Mul(oneMinusB1, g))
		v := adjoint.Add(adjoint.Scale(state[n+i], b2), adjoint.Scale(adjoint.Square(g), 1-b2))
		nextState[i], nextState[n+i] = m, v
		den := adjoint.Sqrt(adjoint.AddScalar(adjoint.Scale(v, 1/corr2), eps*eps))
		upd := adjoint.Div(adjoint.Div(m, corr1), den)
		if h.WeightDecay != nil {
			upd = adjoint.Add(upd, scaleBy(h.WeightDecay, p))
		}
		next[i] = adjoint.Sub(p, scaleBy(h.lr(k, i, n), upd))
	}
	return next, nextState
}

// scaleBy returns c·x for a one-element c: a plain Scale when c is a
// constant (cheaper, and records no dependence), a Mul when c is
// differentiable.
func scaleBy(c, x *adjoint.Var) *adjoint.Var {
	if !c.Tracked() {
		return adjoint.Scale(x, c.Value().Data[0])
	}
	return adjoint.Mul(c, x)
}

// pow returns b^t for a whole number t ≥ 0 by repeated multiplication, so
// that it agrees bit for bit with nothing but itself across platforms.
func pow(b, t float64) float64 {
	r := 1.0
	for range int(t) {
		r *= b
	}
	return r
}
