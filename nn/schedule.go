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

var (
	_ Schedule  = StepDecay{}
	_ Schedule  = ExponentialDecay{}
	_ Schedule  = WarmupCosine{}
	_ Schedule  = OneCycle{}
	_ Optimizer = (*Scheduled)(nil)
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
// cosine recursively, which agrees to rounding up to Total; past Total
// PyTorch's rate rises again, while this one stays at Min).
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
}

// LR returns the rate of step k.
func (s WarmupCosine) LR(k int) float64 {
	if s.Warmup < 0 || s.Total <= s.Warmup {
		panic(fmt.Sprintf("nn: WarmupCosine: need 0 ≤ Warmup (%d) < Total (%d)", s.Warmup, s.Total))
	}
	switch {
	case k < s.Warmup:
		return s.Base * (s.StartFactor + (1-s.StartFactor)*float64(k)/float64(s.Warmup))
	case k > s.Total:
		return s.Min
	}
	x := float64(k-s.Warmup) / float64(s.Total-s.Warmup)
	return s.Min + (s.Base-s.Min)*(1+math.Cos(math.Pi*x))/2
}

// OneCycle is Smith and Topin's one-cycle policy
// (torch.optim.lr_scheduler.OneCycleLR with its defaults): the rate rises
// from Max/DivFactor to Max over the first PctStart of Total steps, then
// anneals to Max/(DivFactor·FinalDivFactor) at step Total−1, by
// half-cosines (or straight lines with Linear). With ThreePhase it rises,
// falls back to Max/DivFactor symmetrically, and only then anneals to the
// final rate. Steps from Total on keep the final rate (PyTorch raises an
// error there). PyTorch's version also cycles the momentum by default;
// this one schedules the learning rate only (cycle_momentum=False).
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
}

// LR returns the rate of step k, following OneCycleLR.get_lr.
func (s OneCycle) LR(k int) float64 {
	pct, div, final := s.PctStart, s.DivFactor, s.FinalDivFactor
	if pct == 0 {
		pct = 0.3
	}
	if div == 0 {
		div = 25
	}
	if final == 0 {
		final = 1e4
	}
	if s.Total <= 1 || !(pct > 0 && pct < 1) || !(div > 0) || !(final > 0) {
		panic(fmt.Sprintf("nn: OneCycle: need Total (%d) > 1, PctStart %g in (0, 1) and positive factors", s.Total, pct))
	}
	initial := s.Max / div
	low := initial / final
	n := float64(s.Total)
	type phase struct{ end, from, to float64 }
	phases := []phase{{pct*n - 1, initial, s.Max}, {n - 1, s.Max, low}}
	if s.ThreePhase {
		phases = []phase{{pct*n - 1, initial, s.Max}, {2*pct*n - 2, s.Max, initial}, {n - 1, initial, low}}
	}
	step := float64(min(k, s.Total-1))
	start := 0.0
	for i, p := range phases {
		if step <= p.end || i == len(phases)-1 {
			x := (step - start) / (p.end - start)
			if s.Linear {
				return (p.to-p.from)*x + p.from
			}
			return p.to + (p.from-p.to)/2*(math.Cos(math.Pi*x)+1)
		}
		start = p.end
	}
	panic("unreachable")
}

// LROptimizer is an optimiser whose learning rate can be set between
// steps, such as SGD and Adam.
type LROptimizer interface {
	Optimizer
	// SetLR sets the learning rate of the following steps.
	SetLR(lr float64)
}

// Scheduled is an Optimizer that sets the learning rate of Optimizer to
// Schedule.LR(k) before its k-th step (counting from 0): give it to a
// Trainer in place of the optimiser it wraps.
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
	s.Optimizer.Step(params, grads)
	s.k++
}

// Steps returns the number of steps taken so far.
func (s *Scheduled) Steps() int { return s.k }
