package main

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"time"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/floats"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/plots"
)

// This file registers the checkpointing experiment: one long nonlinear
// recurrence differentiated under every checkpointing policy, to show what
// each policy pays in stored states and in recomputed steps, that the
// binomial policy attains the revolve optimum, and that the gradient does
// not depend on the policy at all.

// checkpointingConfig is the [params] table of the checkpointing experiment.
type checkpointingConfig struct {
	// Dim is the dimension d of the state x_k.
	Dim int `toml:"dim"`
	// Steps is the number n of steps of the main recurrence.
	Steps int `toml:"steps"`
	// Gain scales the recurrent weights: W = gain·G/√d with G standard
	// normal. Below 1 the driven recurrence forgets its past.
	Gain float64 `toml:"gain"`
	// Drive is the amplitude of the input signal a·sin(ω_i k + φ_i) added
	// to the pre-activation of unit i.
	Drive float64 `toml:"drive"`
	// Every lists the intervals k of the Every(k) policies (each 2 ≤ k < steps).
	Every []int `toml:"every"`
	// Binomial lists the snapshot budgets s of the Binomial(s) policies
	// run on the main recurrence (each 1 ≤ s < steps−1).
	Binomial []int `toml:"binomial"`
	// SweepSteps is the number of steps of a second, shorter recurrence on
	// which Binomial(s) is run for log-spaced s from 1 to sweep_steps−1.
	SweepSteps int `toml:"sweep_steps"`
	// SweepPoints is the number of log-spaced budgets s of that sweep.
	SweepPoints int `toml:"sweep_points"`
	// FDSteps is the number of steps of the recurrence whose gradient is
	// compared with central finite differences.
	FDSteps int `toml:"fd_steps"`
	// FDTol is the tolerance of that comparison (normwise relative error).
	FDTol runner.Tol `toml:"fd_tol"`
}

// Validate checks every key's range.
func (c checkpointingConfig) Validate() error {
	stepsErr := runner.InRange("steps", c.Steps, 4, 1_000_000)
	errs := []error{
		runner.InRange("dim", c.Dim, 1, 256),
		stepsErr,
		runner.InRange("gain", c.Gain, 0.0, 3.0),
		runner.InRange("drive", c.Drive, 0.0, 10.0),
		runner.InRange("sweep_steps", c.SweepSteps, 4, 100_000),
		runner.InRange("sweep_points", c.SweepPoints, 2, 200),
		runner.InRange("fd_steps", c.FDSteps, 1, 1000),
		runner.InRange("fd_tol", c.FDTol, 0.0, 1.0),
	}
	if len(c.Every) == 0 && len(c.Binomial) == 0 {
		errs = append(errs, runner.ParamErrorf("every", "every and binomial are both empty: give at least one policy to compare with StoreAll"))
	}
	if stepsErr != nil {
		// The ranges of every and binomial depend on steps: checked
		// against a bad steps, each entry would be one more error.
		return errors.Join(errs...)
	}
	for i, k := range c.Every {
		errs = append(errs, runner.InRange(fmt.Sprintf("every[%d]", i), k, 2, c.Steps-1))
	}
	for i, s := range c.Binomial {
		errs = append(errs, runner.InRange(fmt.Sprintf("binomial[%d]", i), s, 1, c.Steps-2))
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[checkpointingConfig, ckptResult]{
		Name:    "checkpointing",
		Theme:   "adjoint",
		Summary: "Checkpointing policies on a long tanh recurrence: stored states vs recomputed steps, the revolve optimum, bit-identical gradients.",
		Title: func(c checkpointingConfig) string {
			return fmt.Sprintf("Checkpointing policies on a %d-step tanh recurrence (d = %d)", c.Steps, c.Dim)
		},
		Headline: "fd max rel error",
		Defaults: func() checkpointingConfig {
			return checkpointingConfig{
				Dim: 32, Steps: 100_000, Gain: 0.9, Drive: 0.5,
				Every:      []int{10, 100, 316, 3000},
				Binomial:   []int{10, 20, 50, 100, 300, 1000, 5000},
				SweepSteps: 1000, SweepPoints: 24,
				FDSteps: 20, FDTol: 1e-6,
			}
		},
		Quick: func(c *checkpointingConfig) {
			c.Steps = min(c.Steps, 2000)
			c.Every = slices.DeleteFunc(slices.Clone(c.Every), func(k int) bool { return k >= c.Steps })
			c.Binomial = slices.DeleteFunc(slices.Clone(c.Binomial), func(s int) bool { return s >= c.Steps-1 })
			c.SweepSteps = min(c.SweepSteps, 200)
			c.SweepPoints = min(c.SweepPoints, 10)
			c.FDSteps = min(c.FDSteps, 10)
		},
		Compute: computeCheckpointing,
		Figures: ckptFigures,
		Report:  ckptReport,
	})
}

// drivenTanhStep is the recurrence x_{k+1} = tanh(W x_k + b + u_k) of a
// driven tanh RNN with the input u_{k,i} = a·sin(ω_i k + φ_i), and
// θ = (W, b) with W d×d row-major. Its VJP is written by hand.
type drivenTanhStep struct {
	d            int
	amp          float64
	omega, phase []float64
}

var _ adjoint.Step = (*drivenTanhStep)(nil)

// pre returns the pre-activation of unit i at step k.
func (s *drivenTanhStep) pre(i, k int, x, theta []float64) float64 {
	d := s.d
	w, b := theta[i*d:(i+1)*d], theta[d*d+i]
	return b + floats.Dot(w, x) + s.amp*math.Sin(s.omega[i]*float64(k)+s.phase[i])
}

// Eval computes next = tanh(W x + b + u_k).
func (s *drivenTanhStep) Eval(next []float64, k int, x, theta []float64) {
	for i := range s.d {
		next[i] = math.Tanh(s.pre(i, k, x, theta))
	}
}

// VJP accumulates xbar += Wᵀ g and (Wbar, bbar) += (g xᵀ, g), where
// g = nextbar ⊙ (1 − next²).
func (s *drivenTanhStep) VJP(xbar, thetabar []float64, k int, x, theta, nextbar []float64) {
	d := s.d
	for i := range d {
		th := math.Tanh(s.pre(i, k, x, theta))
		g := nextbar[i] * (1 - th*th)
		floats.AddScaled(xbar, g, theta[i*d:(i+1)*d])
		floats.AddScaled(thetabar[i*d:(i+1)*d], g, x)
		thetabar[d*d+i] += g
	}
}

// ckptLoss is L = (1/n) Σ_{k<n} ½‖x_k − y_k‖² + ½‖x_n − y_n‖²: the
// state should follow the target y_{k,i} = ½ sin(2πk/25 + 0.7 i), on
// average over the run and at its end.
type ckptLoss struct{ n int }

var (
	_ adjoint.Loss        = ckptLoss{}
	_ adjoint.RunningLoss = ckptLoss{}
)

// target returns y_{k,i}.
func (ckptLoss) target(k, i int) float64 {
	return 0.5 * math.Sin(2*math.Pi*float64(k)/25+0.7*float64(i))
}

// half returns ½‖x − y_k‖² and, if xbar is not nil, adds scale·(x − y_k)
// to it.
func (l ckptLoss) half(xbar []float64, scale float64, k int, x []float64) float64 {
	var v float64
	for i, xi := range x {
		r := xi - l.target(k, i)
		v += 0.5 * r * r
		if xbar != nil {
			xbar[i] += scale * r
		}
	}
	return v
}

// Terminal returns ½‖x_n − y_n‖².
func (l ckptLoss) Terminal(x, theta []float64) float64 { return l.half(nil, 0, l.n, x) }

// TerminalGrad adds x_n − y_n to xbar.
func (l ckptLoss) TerminalGrad(xbar, thetabar []float64, x, theta []float64) {
	l.half(xbar, 1, l.n, x)
}

// Running returns (1/n)·½‖x_k − y_k‖².
func (l ckptLoss) Running(k int, x, theta []float64) float64 {
	return l.half(nil, 0, k, x) / float64(l.n)
}

// RunningGrad adds (x_k − y_k)/n to xbar.
func (l ckptLoss) RunningGrad(xbar, thetabar []float64, k int, x, theta []float64) {
	l.half(xbar, 1/float64(l.n), k, x)
}

// ckptForwardLoss evaluates the recurrence's loss by a plain forward loop,
// independently of adjoint.Recurrence.
func ckptForwardLoss(step adjoint.Step, loss ckptLoss, x0, theta []float64) float64 {
	x := slices.Clone(x0)
	next := make([]float64, len(x0))
	var v float64
	for k := range loss.n {
		v += loss.Running(k, x, theta)
		step.Eval(next, k, x, theta)
		x, next = next, x
	}
	return v + loss.Terminal(x, theta)
}

// revolveOptimum returns Griewank and Walther's minimal number of step
// evaluations p(n, s) + 1 for reversing n steps with s snapshots (the +1
// is the final step to x_n), computed here from the closed form with
// math/big, independently of adjoint.BinomialEvals:
//
//	p(n, s) = t·n − C(s+t, t−1),  t the least integer with C(s+t, s) ≥ n.
func revolveOptimum(n, s int) int {
	if n <= 1 {
		return n
	}
	bn := big.NewInt(int64(n))
	var c big.Int
	t := 0
	for c.Binomial(int64(s+t), int64(s)).Cmp(bn) < 0 {
		t++
	}
	c.Binomial(int64(s+t), int64(t-1))
	return t*n - int(c.Int64()) + 1
}

// ckptRun is the outcome of one Recurrence under one policy.
type ckptRun struct {
	policy  adjoint.Policy
	res     adjoint.RecurrenceResult
	gx, gt  []float64 // dL/dx0, dL/dθ
	lamNorm []float64 // ‖λ_k‖, k = 0 … n
	seconds float64
}

// ckptRecur runs adjoint.Recurrence under policy p and records the adjoint
// norms.
func ckptRecur(step adjoint.Step, loss ckptLoss, x0, theta []float64, p adjoint.Policy) (ckptRun, error) {
	pr := ckptRun{policy: p, gx: make([]float64, len(x0)), gt: make([]float64, len(theta)),
		lamNorm: make([]float64, loss.n+1)}
	set := &adjoint.RecurrenceSettings{
		OnAdjoint: func(k int, lam []float64) { pr.lamNorm[k] = floats.Norm(lam, 2) },
	}
	start := time.Now()
	res, err := adjoint.Recurrence(pr.gx, pr.gt, step, loss, x0, theta, loss.n, p, set)
	pr.seconds = time.Since(start).Seconds()
	pr.res = res
	if err != nil {
		return pr, fmt.Errorf("%v, n = %d: %w", p, loss.n, err)
	}
	return pr, nil
}

// ckptPolicy is one policy's costs on the main recurrence, and whether its
// results equal StoreAll's bit for bit.
type ckptPolicy struct {
	policy                         adjoint.Policy
	res                            adjoint.RecurrenceResult
	sameLoss, sameX, sameT, sameLk bool
	seconds                        float64
}

// identical reports whether every result equals StoreAll's.
func (p ckptPolicy) identical() bool { return p.sameLoss && p.sameX && p.sameT && p.sameLk }

// ckptBinPoint compares the step evaluations of Binomial(s) on n steps with
// the revolve optimum and with adjoint.BinomialEvals.
type ckptBinPoint struct{ n, s, measured, optimum, lib int }

// ckptResult is what computeCheckpointing finds.
type ckptResult struct {
	params       int            // entries of θ
	ref          ckptRun        // StoreAll on the main recurrence
	policies     []ckptPolicy   // StoreAll, then Every(k), then Binomial(s) as configured
	points       []ckptBinPoint // the sweep, then the main recurrence's Binomial(s)
	sweep        int            // budgets in the sweep
	sweepSeconds float64
	fdErr        float64 // gradient vs central differences, normwise relative
	fdInputs     int
	fdSeconds    float64
}

func computeCheckpointing(env *runner.Env, c checkpointingConfig) (*ckptResult, error) {
	ctx := env.Context()
	d, n := c.Dim, c.Steps

	// The problem: random W of the given gain, small random b, random
	// input frequencies and phases, random x0.
	rng := env.Rand()
	step := &drivenTanhStep{d: d, amp: c.Drive, omega: make([]float64, d), phase: make([]float64, d)}
	for i := range d {
		step.omega[i] = 0.05 + 0.45*rng.Float64()
		step.phase[i] = 2 * math.Pi * rng.Float64()
	}
	theta := make([]float64, d*d+d)
	for i := range d * d {
		theta[i] = c.Gain * rng.NormFloat64() / math.Sqrt(float64(d))
	}
	for i := range d {
		theta[d*d+i] = 0.1 * rng.NormFloat64()
	}
	x0 := make([]float64, d)
	for i := range x0 {
		x0[i] = 0.5 * (2*rng.Float64() - 1)
	}
	loss := ckptLoss{n: n}
	res := &ckptResult{params: len(theta)}

	// Gradient check against central finite differences on a short run.
	fdLoss := ckptLoss{n: c.FDSteps}
	fdRun, err := ckptRecur(step, fdLoss, x0, theta, adjoint.Binomial(max(1, c.FDSteps/4)))
	if err != nil {
		return nil, err
	}
	z := append(slices.Clone(x0), theta...)
	start := time.Now()
	fdGrad := fd.Gradient(nil, func(z []float64) float64 {
		return ckptForwardLoss(step, fdLoss, z[:d], z[d:])
	}, z, &fd.Settings{Formula: fd.Central})
	res.fdSeconds, res.fdInputs = time.Since(start).Seconds(), len(z)
	res.fdErr = relErr(append(slices.Clone(fdRun.gx), fdRun.gt...), fdGrad)

	// The main comparison: every policy on the n-step recurrence.
	policies := []adjoint.Policy{adjoint.StoreAll()}
	for _, k := range c.Every {
		policies = append(policies, adjoint.Every(k))
	}
	for _, s := range c.Binomial {
		policies = append(policies, adjoint.Binomial(s))
	}
	for i, p := range policies {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		env.Progress(i, len(policies)+c.SweepPoints, p.String())
		pr, err := ckptRecur(step, loss, x0, theta, p)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			res.ref = pr
			if pr.res.Loss != ckptForwardLoss(step, loss, x0, theta) {
				return nil, fmt.Errorf("StoreAll: loss %v differs from a plain forward loop", pr.res.Loss)
			}
		}
		ref := res.ref
		res.policies = append(res.policies, ckptPolicy{
			policy: p, res: pr.res, seconds: pr.seconds,
			sameLoss: pr.res.Loss == ref.res.Loss, sameX: floats.Equal(pr.gx, ref.gx), sameT: floats.Equal(pr.gt, ref.gt),
			sameLk: floats.Equal(pr.lamNorm, ref.lamNorm),
		})
	}

	// The binomial counts against the revolve optimum: a dense sweep of s
	// on a shorter recurrence, plus the main recurrence's budgets.
	sweepLoss := ckptLoss{n: c.SweepSteps}
	sweepS := ckptLogInts(1, c.SweepSteps-1, c.SweepPoints)
	res.sweep = len(sweepS)
	sweepStart := time.Now()
	for i, s := range sweepS {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		env.Progress(len(policies)+i, len(policies)+c.SweepPoints, fmt.Sprintf("sweep Binomial(%d)", s))
		pr, err := ckptRecur(step, sweepLoss, x0, theta, adjoint.Binomial(s))
		if err != nil {
			return nil, err
		}
		res.points = append(res.points, ckptBinPoint{c.SweepSteps, s, pr.res.Evals, revolveOptimum(c.SweepSteps, s), adjoint.BinomialEvals(c.SweepSteps, s)})
	}
	res.sweepSeconds = time.Since(sweepStart).Seconds()
	for i, s := range c.Binomial {
		pr := res.policies[1+len(c.Every)+i]
		res.points = append(res.points, ckptBinPoint{n, s, pr.res.Evals, revolveOptimum(n, s), adjoint.BinomialEvals(n, s)})
	}
	return res, nil
}

// ckptLevel returns the median of ‖λ_k‖ away from the end, over
// k = 0 … n − tail (the running-loss level), and how many steps back from
// k = n it takes ‖λ_k‖ to come within twice that level.
func ckptLevel(lam []float64, tail int) (level float64, settle int) {
	n := len(lam) - 1
	body := slices.Clone(lam[:max(1, n-tail+1)])
	slices.Sort(body)
	level = body[len(body)/2]
	for settle = 0; settle < n && lam[n-settle] > 2*level; settle++ {
	}
	return level, settle
}

// ckptTail is the number of steps shown at the end of the run.
func ckptTail(n int) int { return min(n, 200) }

func ckptFigures(dir runner.Dir, c checkpointingConfig, res *ckptResult) error {
	n := c.Steps
	// Extra evaluations against peak stored states.
	every := plots.Series{Name: "Every(k)", Points: true}
	binom := plots.Series{Name: "Binomial(s)", Points: true}
	for i, p := range res.policies[1:] {
		x, y := float64(p.res.PeakStored), float64(p.res.Recomputed())
		if i < len(c.Every) {
			every.X, every.Y = append(every.X, x), append(every.Y, y)
		} else {
			binom.X, binom.Y = append(binom.X, x), append(binom.Y, y)
		}
	}
	var series []plots.Series
	for _, sr := range []plots.Series{every, binom} {
		if len(sr.X) > 0 {
			sortByX(sr.X, sr.Y)
			series = append(series, sr)
		}
	}

	// Binomial(s) against the closed-form optimum.
	optimum := func(n int, dash plots.Dash) plots.Series {
		var xs, ys []float64
		for _, s := range ckptLogInts(1, n-1, 300) {
			xs, ys = append(xs, float64(s)), append(ys, float64(revolveOptimum(n, s)))
		}
		return plots.Series{Name: fmt.Sprintf("optimum, n = %d", n), X: xs, Y: ys, Reference: true, Dash: dash}
	}
	measured := func(n int) plots.Series {
		s := plots.Series{Name: fmt.Sprintf("measured, n = %d", n), NoLine: true}
		for _, p := range res.points {
			if p.n == n {
				s.X, s.Y = append(s.X, float64(p.s)), append(s.Y, float64(p.measured))
			}
		}
		return s
	}
	binFig := []plots.Series{optimum(c.SweepSteps, plots.Solid), measured(c.SweepSteps)}
	if len(c.Binomial) > 0 {
		binFig = append(binFig, optimum(n, plots.Dashed), measured(n))
	}

	// Gradient flow through time: the adjoint norms of StoreAll's run.
	lam := res.ref.lamNorm
	stride := max(1, n/4000)
	var ks, norms []float64
	for k := 0; k <= n; k += stride {
		ks, norms = append(ks, float64(k)), append(norms, lam[k])
	}
	tail := ckptTail(n)
	var tk, tn []float64
	for k := n - tail; k <= n; k++ {
		tk, tn = append(tk, float64(k-n)), append(tn, lam[k])
	}
	return parallel([]func() error{
		func() error {
			_, err := plots.Save(dir.Path("memory_vs_recompute.png"), plots.Line{
				Title:  fmt.Sprintf("checkpointing a %d-step recurrence", n),
				X:      plots.Axis{Label: "peak stored states", Log: true},
				Y:      plots.Axis{Label: "extra step evaluations", Log: true},
				Series: series,
			}, nil)
			return err
		},
		func() error {
			_, err := plots.Save(dir.Path("binomial_vs_revolve.png"), plots.Line{
				Title:  "Binomial(s): measured step evaluations vs the revolve optimum",
				X:      plots.Axis{Label: "snapshots s", Log: true},
				Y:      plots.Axis{Label: "step evaluations", Log: true},
				Series: binFig,
			}, nil)
			return err
		},
		func() error {
			_, err := plots.Save(dir.Path("adjoint_norm.png"), plots.Line{
				Title:  "gradient flow through time",
				X:      plots.Axis{Label: "step k"},
				Y:      plots.Axis{Label: "‖λ_k‖ = ‖∂L/∂x_k‖", Log: true},
				Series: []plots.Series{{X: ks, Y: norms}},
				Legend: plots.NoLegend,
			}, nil)
			return err
		},
		func() error {
			_, err := plots.Save(dir.Path("adjoint_norm_end.png"), plots.Line{
				Title:  fmt.Sprintf("the last %d steps", tail),
				X:      plots.Axis{Label: "k − n"},
				Y:      plots.Axis{Label: "‖λ_k‖", Log: true},
				Series: []plots.Series{{X: tk, Y: tn, Points: tail <= 60}},
				Legend: plots.NoLegend,
			}, nil)
			return err
		},
	})
}

func ckptReport(rep *runner.Report, c checkpointingConfig, res *ckptResult) {
	d, n := c.Dim, c.Steps
	ref := res.ref
	rep.Heading("Problem")
	rep.Paraf("The recurrence is a driven tanh RNN with a %d-dimensional state, "+
		"`x_{k+1} = tanh(W x_k + b + u_k)`, `u_{k,i} = %g·sin(ω_i k + φ_i)`, run for n = %d steps; "+
		"θ = (W, b) has %d entries, W = %g·G/√d with G standard normal. "+
		"The loss is `L = (1/n) Σ_{k<n} ½‖x_k − y_k‖² + ½‖x_n − y_n‖²` for a periodic target y. "+
		"`adjoint.Recurrence` computes dL/dx₀ and dL/dθ with a hand-written VJP of the step; "+
		"a checkpointing policy decides which states the forward sweep keeps and which the reverse sweep recomputes.",
		d, c.Drive, n, res.params, c.Gain)

	rep.Heading("Memory against recomputation")
	rep.Paraf("Each policy was run on the same %d-step recurrence. *Peak stored* counts the states held "+
		"as checkpoints at once (x₀ included, %d floats each); *extra evaluations* are the step evaluations beyond "+
		"the n of one forward sweep (`RecurrenceResult.Recomputed()`). *Identical* means equal to StoreAll's result "+
		"bit for bit (`==` on every float64), not merely close.", n, d)
	tab := rep.Table("policy", "peak stored", "stored (KiB)", "step evaluations", "extra evaluations", "extra / n",
		"identical to StoreAll (loss, dL/dx₀, dL/dθ, ‖λ_k‖)")
	yes := func(b bool) string { return runner.Choose(b, "yes", "NO") }
	allIdentical := true
	for _, p := range res.policies {
		allIdentical = allIdentical && p.identical()
		kib := float64(p.res.PeakStored*d*8) / 1024
		same := "yes"
		if !p.identical() {
			same = fmt.Sprintf("NO (loss %s, dL/dx₀ %s, dL/dθ %s, ‖λ_k‖ %s)", yes(p.sameLoss), yes(p.sameX), yes(p.sameT), yes(p.sameLk))
		}
		prec := 0
		if kib < 10 {
			prec = 1
		}
		tab.Row(p.policy.String(), p.res.PeakStored, strconv.FormatFloat(kib, 'f', prec, 64), p.res.Evals,
			p.res.Recomputed(), float64(p.res.Recomputed())/float64(n), same)
		rep.Metric(fmt.Sprintf("%v peak stored", p.policy), float64(p.res.PeakStored))
		rep.Metric(fmt.Sprintf("%v step evaluations", p.policy), float64(p.res.Evals))
	}
	everyOK, binPeakOK := true, true
	everyLo, everyHi, everyPeak := math.Inf(1), math.Inf(-1), math.MaxInt
	for i, k := range c.Every {
		p := res.policies[1+i]
		m := (n + k - 1) / k
		everyOK = everyOK && p.res.Evals == n+(m-1)*(k-1)
		r := float64(p.res.Recomputed()) / float64(n)
		everyLo, everyHi, everyPeak = min(everyLo, r), max(everyHi, r), min(everyPeak, p.res.PeakStored)
	}
	binLo, binHi := math.Inf(1), math.Inf(-1)
	for i, s := range c.Binomial {
		p := res.policies[1+len(c.Every)+i]
		binPeakOK = binPeakOK && p.res.PeakStored <= s
		r := float64(p.res.Recomputed()) / float64(n)
		binLo, binHi = min(binLo, r), max(binHi, r)
	}
	caption := fmt.Sprintf("Extra step evaluations against peak stored states, n = %d; Every(k) for k = %v, Binomial(s) for s = %v, "+
		"each series joined in order of stored states. StoreAll (%d stored states, 0 extra evaluations) lies off the log scale.",
		n, c.Every, c.Binomial, ref.res.PeakStored)
	if len(c.Every) > 0 {
		caption += fmt.Sprintf(" Every(k) recomputes %.2f n to %.2f n steps whatever k, and stores at least %d states (2√n = %.0f);",
			everyLo, everyHi, everyPeak, 2*math.Sqrt(float64(n)))
	}
	if len(c.Binomial) > 0 {
		caption += fmt.Sprintf(" Binomial(s) trades memory for recomputation over the whole range, from %.2f n extra evaluations with the most snapshots to %.2f n with the fewest.",
			binLo, binHi)
	}
	rep.Figure("memory_vs_recompute.png", caption)

	mismatches := 0
	for _, p := range res.points {
		if p.measured != p.optimum || p.lib != p.optimum {
			mismatches++
		}
	}
	rep.Heading("Binomial checkpointing attains the revolve optimum")
	rep.Paraf("Griewank and Walther's revolve schedule reverses n steps with s snapshots in the fewest forward steps "+
		"possible, `p(n, s) = t·n − C(s+t, t−1)` with t the least integer such that `C(s+t, s) ≥ n`; "+
		"the recurrence needs one more evaluation, the final step to x_n. The experiment computes this closed form "+
		"itself (with math/big, independently of the library) and compares it with `RecurrenceResult.Evals` "+
		"of `Binomial(s)` on a %d-step recurrence for %d log-spaced s and on the main %d-step recurrence.",
		c.SweepSteps, res.sweep, n)
	rep.Figure("binomial_vs_revolve.png", fmt.Sprintf("Step evaluations of Binomial(s) (points) against the closed-form optimum (near-black lines): "+
		"%d of %d points lie exactly on it.", len(res.points)-mismatches, len(res.points)))
	for _, part := range [][]ckptBinPoint{res.points[:res.sweep], res.points[res.sweep:]} {
		if len(part) == 0 {
			continue
		}
		rep.Subheading(fmt.Sprintf("n = %d", part[0].n))
		btab := rep.Table("s", "measured evaluations", "revolve optimum", "adjoint.BinomialEvals", "extra / n")
		for _, p := range part {
			btab.Row(p.s, p.measured, p.optimum, p.lib, float64(p.measured-p.n)/float64(p.n))
		}
	}

	lam := ref.lamNorm
	lamMin, lamMax := floats.Min(lam), floats.Max(lam)
	tail := ckptTail(n)
	level, settle := ckptLevel(lam, tail)
	rep.Heading("Gradient flow through time")
	rep.Paraf("The `OnAdjoint` hook of `adjoint.Recurrence` reports each adjoint state λ_k = ∂L/∂x_k as the reverse "+
		"sweep produces it (k = n, n−1, …, 0). At k = n it is the terminal-loss gradient, ‖λ_n‖ = %s; moving back, what flows "+
		"from later steps decays with the recurrence's memory (here with gain %g), and ‖λ_k‖ comes within twice the level set by the "+
		"running loss after %s. That level, the median of ‖λ_k‖ over k ≤ n − %d, is %s, %s times 1/n = %s. ‖λ_k‖ ranges from %s to %s over the run.",
		runner.Num(lam[n]), c.Gain, runner.Count(settle, "step", "steps"), tail, runner.Num(level), runner.Num(level*float64(n)), runner.Num(1/float64(n)),
		runner.Num(lamMin), runner.Num(lamMax))
	shown := "every k shown"
	if stride := max(1, n/4000); stride > 1 {
		shown = fmt.Sprintf("one k in %d shown", stride)
	}
	rep.Figure("adjoint_norm.png", fmt.Sprintf("‖λ_k‖ against k over the whole run (%s).", shown))
	rep.Figure("adjoint_norm_end.png", fmt.Sprintf("The same over the last %d steps: the terminal gradient decays back in time into the running-loss level within %s.",
		tail, runner.Count(settle, "step", "steps")))
	rep.Metric("loss", ref.res.Loss)
	rep.Metric("‖dL/dx0‖", floats.Norm(ref.gx, 2))
	rep.Metric("‖dL/dθ‖", floats.Norm(ref.gt, 2))
	rep.Metric("max ‖λ_k‖", lamMax)
	rep.Metric("min ‖λ_k‖", lamMin)

	rep.Heading("Gradient check")
	rep.Paraf("The gradient of a %d-step run of the same recurrence (Binomial(%d)) is compared with gonum's central "+
		"differences of a plain forward loop over all %d inputs (x₀ and θ): normwise relative error "+
		"max|g − g_fd| / max|g_fd| = %s, what central differences with gonum's default step (≈ 6e-6) reach here. "+
		"The tolerance %g is %s times larger: only a wrong gradient fails the check.",
		c.FDSteps, max(1, c.FDSteps/4), res.fdInputs, runner.Num(res.fdErr), c.FDTol, runner.Num(float64(c.FDTol)/res.fdErr))
	rep.Metric("fd max rel error", res.fdErr)

	rep.Timing(fmt.Sprintf("central differences, n = %d (%d loss evaluations)", c.FDSteps, 2*res.fdInputs), res.fdSeconds)
	for _, p := range res.policies {
		rep.Timing(fmt.Sprintf("Recurrence %v, n = %d", p.policy, n), p.seconds)
	}
	rep.Timing(fmt.Sprintf("Binomial(s) sweep, n = %d, %d budgets", c.SweepSteps, res.sweep), res.sweepSeconds)

	rep.Check(fmt.Sprintf("gradient vs central differences (n = %d)", c.FDSteps), res.fdErr, c.FDTol)
	rep.CheckTrue("every policy bit-identical to StoreAll", allIdentical,
		fmt.Sprintf("loss, dL/dx₀, dL/dθ and ‖λ_k‖ of %d policies equal StoreAll's bit for bit: %s", len(res.policies)-1, yes(allIdentical)))
	rep.CheckTrue("Binomial(s) evaluations = revolve optimum", mismatches == 0,
		fmt.Sprintf("%d of %d (n, s) pairs match the closed form exactly", len(res.points)-mismatches, len(res.points)))
	if len(c.Binomial) > 0 {
		rep.CheckTrue("Binomial(s) stores at most s states", binPeakOK, fmt.Sprintf("%d budgets", len(c.Binomial)))
	}
	if len(c.Every) > 0 {
		rep.CheckTrue("Every(k) evaluations = n + (m−1)(k−1)", everyOK, fmt.Sprintf("%d intervals, m = ⌈n/k⌉", len(c.Every)))
	}
}

// ckptLogInts returns up to m distinct integers spaced evenly in log
// between lo and hi, both included, in increasing order.
func ckptLogInts(lo, hi, m int) []int {
	var out []int
	for i := range m {
		v := int(math.Round(math.Exp(math.Log(float64(lo)) + float64(i)/float64(m-1)*(math.Log(float64(hi))-math.Log(float64(lo))))))
		if len(out) == 0 || v > out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}
