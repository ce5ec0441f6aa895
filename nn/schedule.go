package nn

import (
	"fmt"
	"math"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Schedule gives the learning rate of every optimiser step. Drive an
// optimiser with one through Scheduled.
type Schedule interface {
	// LR returns the learning rate of step k, counting from 0 (the rate
	// PyTorch's optimiser holds after k calls of its scheduler's step).
	LR(k int) float64
}

// MomentumSchedule is implemented by schedules that can also set the
// momentum of every step, such as OneCycle with CycleMomentum. Scheduled
// passes the momentum to the optimiser, which must then be a
// MomentumSetter.
type MomentumSchedule interface {
	// Momentum returns the momentum of step k, counting from 0, and
	// whether the schedule sets it at all.
	Momentum(k int) (m float64, ok bool)
}

// MomentumSetter is an optimiser whose momentum can be set between steps:
// SGD's Momentum, Adam's β₁.
type MomentumSetter interface {
	// SetMomentum sets the momentum of the following steps.
	SetMomentum(m float64)
}

var (
	_ Schedule         = StepDecay{}
	_ Schedule         = ExponentialDecay{}
	_ Schedule         = WarmupCosine{}
	_ Schedule         = OneCycle{}
	_ MomentumSchedule = OneCycle{}
	_ Optimizer        = (*Scheduled)(nil)
	_ MomentumSetter   = (*SGD)(nil)
	_ MomentumSetter   = (*Adam)(nil)
)

// StepDecay multiplies the rate by Gamma every Every steps:
// LR(k) = Base·Gamma^⌊k/Every⌋ (torch.optim.lr_scheduler.StepLR).
type StepDecay struct {
	// Base is the initial rate.
	Base float64
	// Every is the number of steps between decays; it must be positive.
	Every int
	// Gamma is the decay factor.
	Gamma float64
}

// LR returns Base·Gamma^⌊k/Every⌋.
func (s StepDecay) LR(k int) float64 {
	if s.Every <= 0 {
		panic(fmt.Sprintf("nn: StepDecay: Every %d must be positive", s.Every))
	}
	return s.Base * math.Pow(s.Gamma, float64(k/s.Every))
}

// ExponentialDecay multiplies the rate by Gamma every step:
// LR(k) = Base·Gamma^k (torch.optim.lr_scheduler.ExponentialLR).
type ExponentialDecay struct {
	// Base is the initial rate and Gamma the factor per step.
	Base, Gamma float64
}

// LR returns Base·Gamma^k.
func (s ExponentialDecay) LR(k int) float64 { return s.Base * math.Pow(s.Gamma, float64(k)) }

// WarmupCosine rises linearly for Warmup steps and then follows half a
// cosine from Base down to Min, reached at step Total:
//
//	LR(k) = Base·(f + (1−f)·k/Warmup)                       k < Warmup
//	LR(k) = Min + (Base − Min)·(1 + cos(π·(k−Warmup)/(Total−Warmup)))/2   Warmup ≤ k ≤ Total
//	LR(k) = Min                                               k > Total
//
// with f = StartFactor. It is PyTorch's LinearLR(start_factor=f,
// total_iters=Warmup) followed by CosineAnnealingLR(T_max=Total−Warmup,
// eta_min=Min) in a SequentialLR, in closed form (PyTorch updates the
// cosine recursively, which agrees to rounding). Past Total the two part:
// PyTorch's cosine goes on, back up to Base at 2·Total − Warmup and down
// again, with period 2·(Total − Warmup); this schedule stays at Min, which
// is what a run that overshoots its planned length wants, unless Periodic
// asks for PyTorch's behaviour.
type WarmupCosine struct {
	// Base is the peak rate, reached at step Warmup.
	Base float64
	// Min is the final rate.
	Min float64
	// Warmup is the number of warm-up steps; zero means none.
	Warmup int
	// StartFactor is the fraction of Base at step 0; zero starts from a
	// rate of zero.
	StartFactor float64
	// Total is the step at which the rate reaches Min; it must exceed
	// Warmup.
	Total int
	// Periodic continues the cosine past Total, as PyTorch's
	// CosineAnnealingLR does; false holds the rate at Min there.
	Periodic bool
}

// LR returns the rate of step k.
func (s WarmupCosine) LR(k int) float64 {
	if s.Warmup < 0 || s.Total <= s.Warmup {
		panic(fmt.Sprintf("nn: WarmupCosine: need 0 ≤ Warmup (%d) < Total (%d)", s.Warmup, s.Total))
	}
	switch {
	case k < s.Warmup:
		return s.Base * (s.StartFactor + (1-s.StartFactor)*float64(k)/float64(s.Warmup))
	case k > s.Total && !s.Periodic:
		return s.Min
	}
	x := float64(k-s.Warmup) / float64(s.Total-s.Warmup)
	return s.Min + (s.Base-s.Min)*(1+math.Cos(math.Pi*x))/2
}

// OneCycle is Smith and Topin's one-cycle policy
// (torch.optim.lr_scheduler.OneCycleLR): the rate rises from Max/DivFactor
// to Max over the first PctStart of Total steps, then anneals to
// Max/(DivFactor·FinalDivFactor) at step Total−1, by half-cosines (or
// straight lines with Linear). With ThreePhase it rises, falls back to
// Max/DivFactor symmetrically, and only then anneals to the final rate.
// Steps from Total on keep the final rate (PyTorch raises an error there).
//
// With CycleMomentum the momentum moves the other way, from MaxMomentum
// down to BaseMomentum while the rate rises and back up while it falls
// (with ThreePhase: back up in the second phase, then held at
// MaxMomentum), along the same curves: PyTorch's cycle_momentum, which is
// on by default there and off here unless set. Scheduled passes it to the
// optimiser (SGD's Momentum, Adam's β₁).
type OneCycle struct {
	// Max is the peak rate.
	Max float64
	// Total is the number of steps of the cycle; it must exceed 1.
	Total int
	// PctStart is the fraction of the steps spent rising; zero means 0.3.
	PctStart float64
	// DivFactor sets the initial rate Max/DivFactor; zero means 25.
	DivFactor float64
	// FinalDivFactor sets the final rate Max/(DivFactor·FinalDivFactor);
	// zero means 1e4.
	FinalDivFactor float64
	// Linear anneals along straight lines instead of half-cosines.
	Linear bool
	// ThreePhase uses PyTorch's three_phase variant.
	ThreePhase bool
	// CycleMomentum makes Momentum report the cycled momentum.
	CycleMomentum bool
	// BaseMomentum and MaxMomentum bound the cycled momentum; zero means
	// PyTorch's 0.85 and 0.95.
	BaseMomentum, MaxMomentum float64
}

// phase returns the phase of step k (0, 1 or 2) and how far through it
// the step is (0 to 1), following OneCycleLR.get_lr.
func (s OneCycle) phase(k int) (int, float64) {
	pct := s.PctStart
	if pct == 0 {
		pct = 0.3
	}
	if s.Total <= 1 || !(pct > 0 && pct < 1) {
		panic(fmt.Sprintf("nn: OneCycle: need Total (%d) > 1 and PctStart %g in (0, 1)", s.Total, pct))
	}
	n := float64(s.Total)
	ends := []float64{pct*n - 1, n - 1}
	if s.ThreePhase {
		ends = []float64{pct*n - 1, 2*pct*n - 2, n - 1}
	}
	step := float64(min(k, s.Total-1))
	start := 0.0
	for i, end := range ends {
		if step <= end || i == len(ends)-1 {
			return i, (step - start) / (end - start)
		}
		start = end
	}
	panic("unreachable")
}

// anneal goes from a to b as x goes from 0 to 1, by a half-cosine or a
// straight line.
func (s OneCycle) anneal(a, b, x float64) float64 {
	if s.Linear {
		return (b-a)*x + a
	}
	return b + (a-b)/2*(math.Cos(math.Pi*x)+1)
}

// LR returns the rate of step k.
func (s OneCycle) LR(k int) float64 {
	div, final := s.DivFactor, s.FinalDivFactor
	if div == 0 {
		div = 25
	}
	if final == 0 {
		final = 1e4
	}
	if !(div > 0) || !(final > 0) {
		panic(fmt.Sprintf("nn: OneCycle: factors %g and %g must be positive", div, final))
	}
	initial := s.Max / div
	low := initial / final
	rates := [][2]float64{{initial, s.Max}, {s.Max, low}}
	if s.ThreePhase {
		rates = [][2]float64{{initial, s.Max}, {s.Max, initial}, {initial, low}}
	}
	i, x := s.phase(k)
	return s.anneal(rates[i][0], rates[i][1], x)
}

// Momentum returns the momentum of step k when CycleMomentum is set.
func (s OneCycle) Momentum(k int) (float64, bool) {
	if !s.CycleMomentum {
		return 0, false
	}
	lo, hi := s.BaseMomentum, s.MaxMomentum
	if lo == 0 {
		lo = 0.85
	}
	if hi == 0 {
		hi = 0.95
	}
	moms := [][2]float64{{hi, lo}, {lo, hi}}
	if s.ThreePhase {
		moms = [][2]float64{{hi, lo}, {lo, hi}, {hi, hi}}
	}
	i, x := s.phase(k)
	return s.anneal(moms[i][0], moms[i][1], x), true
}

// LROptimizer is an optimiser whose learning rate can be set between
// steps, such as SGD and Adam.
type LROptimizer interface {
	Optimizer
	// SetLR sets the learning rate of the following steps.
	SetLR(lr float64)
}

// Scheduled is an Optimizer that sets the learning rate of Optimizer to
// Schedule.LR(k) before its k-th step (counting from 0), and its momentum
// too when the schedule sets one (MomentumSchedule): give it to a Trainer
// in place of the optimiser it wraps.
type Scheduled struct {
	// Optimizer takes the steps; required.
	Optimizer LROptimizer
	// Schedule gives the rates; required.
	Schedule Schedule

	k int
}

// Step sets the learning rate of this step and lets the optimiser take it.
func (s *Scheduled) Step(params, grads []*adjoint.Tensor) {
	if s.Optimizer == nil || s.Schedule == nil {
		panic("nn: Scheduled: Optimizer and Schedule are required")
	}
	s.Optimizer.SetLR(s.Schedule.LR(s.k))
	if ms, ok := s.Schedule.(MomentumSchedule); ok {
		if m, on := ms.Momentum(s.k); on {
			setter, ok := s.Optimizer.(MomentumSetter)
			if !ok {
				panic(fmt.Sprintf("nn: Scheduled: the schedule sets the momentum, and %T has none", s.Optimizer))
			}
			setter.SetMomentum(m)
		}
	}
	s.Optimizer.Step(params, grads)
	s.k++
}

// Steps returns the number of steps taken so far.
func (s *Scheduled) Steps() int { return s.k }
