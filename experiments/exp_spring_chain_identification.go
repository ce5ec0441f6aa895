package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/ode"
	"github.com/adjointkit/adjointkit/physics"
	"github.com/adjointkit/adjointkit/plots"
)

// This file registers the spring_chain_identification experiment: the
// stiffness of every spring of a chain of N masses (N in the hundreds) from
// observed positions, where the adjoint gradient costs one backward solve
// and forward sensitivities N+2N directions.

// chainIDConfig is the [params] table of spring_chain_identification.
type chainIDConfig struct {
	// N is the number of masses and springs (stiffnesses to identify).
	N int `toml:"n"`
	// Mass is each mass in kg and Damping the damping rate in 1/s.
	Mass    float64 `toml:"mass"`
	Damping float64 `toml:"damping"`
	// Damaged is the index of a spring whose true stiffness is halved (a
	// fault to find); negative means none.
	Damaged int `toml:"damaged"`
	// T1 is the observation window in s and Observations the number of
	// snapshots of all positions in (0, t1].
	T1           float64 `toml:"t1"`
	Observations int     `toml:"observations"`
	// Noise is σ of the position noise in m.
	Noise float64 `toml:"noise"`
	// RTol is the ODE tolerance (relative and absolute).
	RTol float64 `toml:"rtol"`
	// TimingSizes are the N at which one gradient is timed by the adjoint
	// and by forward sensitivities.
	TimingSizes []int `toml:"timing_sizes"`
	// FDStep and FDTol configure the directional-derivative check, whose
	// solves run at rtol = atol = min(rtol, fd_tol·fd_step) (see
	// chainIDConfig.checkRTol); FitTol is the noise-free recovery
	// tolerance (max rel error).
	FDStep float64    `toml:"fd_step"`
	FDTol  runner.Tol `toml:"fd_tol"`
	FitTol runner.Tol `toml:"fit_tol"`
	// AgreeTol is the allowed normwise relative difference between the
	// adjoint and the forward-sensitivity gradients of the timing runs,
	// both from solves at rtol.
	AgreeTol runner.Tol `toml:"agree_tol"`
	// MaxIterations bounds L-BFGS.
	MaxIterations int `toml:"max_iterations"`
}

// Validate checks the keys.
func (c chainIDConfig) Validate() error {
	errs := []error{
		runner.InRange("n", c.N, 1, 5000),
		runner.InRange("mass", c.Mass, 1e-6, 1e6),
		runner.InRange("damping", c.Damping, 0.0, 100.0),
		runner.InRange("damaged", c.Damaged, -1, c.N-1),
		runner.InRange("t1", c.T1, 0.01, 1000.0),
		runner.InRange("observations", c.Observations, 1, 10000),
		runner.InRange("noise", c.Noise, 0.0, 10.0),
		runner.InRange("rtol", c.RTol, 1e-14, 1e-3),
		runner.InRange("fd_step", c.FDStep, 1e-10, 1e-2),
		runner.InRange("fd_tol", c.FDTol, 0.0, 1.0),
		runner.InRange("fit_tol", c.FitTol, 0.0, 1.0),
		runner.InRange("agree_tol", c.AgreeTol, 0.0, 1.0),
		runner.InRange("max_iterations", c.MaxIterations, 1, 100000),
	}
	for i, n := range c.TimingSizes {
		errs = append(errs, runner.InRange(fmt.Sprintf("timing_sizes[%d]", i), n, 1, 5000))
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[chainIDConfig, chainIDResult]{
		Name:    "spring_chain_identification",
		Theme:   "physics",
		Summary: "Spring chain: all N stiffnesses (N in the hundreds) from observed positions; adjoint vs forward-sensitivity cost.",
		Defaults: func() chainIDConfig {
			return chainIDConfig{
				N: 200, Mass: 1, Damping: 0.02, Damaged: 120, T1: 8, Observations: 32, Noise: 1e-3, RTol: 1e-8,
				TimingSizes: []int{25, 50, 100}, FDStep: 1e-5, FDTol: 1e-5, FitTol: 1e-3, AgreeTol: 1e-4, MaxIterations: 2000,
			}
		},
		Headline: "noisy max rel error",
		Quick: func(c *chainIDConfig) {
			// 20 masses suffice: the directional check's solves run at
			// fd_tol·fd_step (checkRTol), where it measures the gradient at
			// every size (2.3e-8 at N = 20 with the damaged spring last,
			// seed 1; at the fits' rtol 1e-8 it was 1.4e-5 there).
			c.N = min(c.N, 20)
			c.Damaged = min(c.Damaged, c.N-1)
			c.TimingSizes = []int{min(10, c.N)}
			c.Observations = min(c.Observations, 16)
		},
		Compute: computeChainID,
		Figures: chainIDFigures,
		Report:  chainIDReport,
	})
}

// checkRTol is the solver tolerance of the directional-derivative check.
// A central difference divides the error of the solves by the step, so
// solves at rtol would leave the quotient an error of order rtol/fd_step
// relative (the perturbed and unperturbed solves' errors largely cancel,
// but not enough at small N: rtol 1e-8 gave 1.4e-5 against fd_tol = 1e-5
// at N = 20). Solves at fd_tol·fd_step keep that part well below fd_tol
// at every size, so the check measures the gradient, not the solver.
func (c chainIDConfig) checkRTol() float64 { return min(c.RTol, float64(c.FDTol)*c.FDStep) }

// chainTiming is one gradient at size n by the adjoint and by forward
// sensitivities: wall times, work and agreement.
type chainTiming struct {
	n          int
	adj, fwd   float64 // seconds
	agree      float64 // normwise relative difference
	adjB, fwdB ode.Stats
}

// chainIDResult is what computeChainID finds.
type chainIDResult struct {
	truth, initial []float64 // stiffnesses
	times          []float64 // observation times
	dataMass       []float64 // the noisy observations of the middle mass
	// fine is a grid of [0, T1], and yTruth, yInit, yFit the middle mass's
	// displacement on it for the true, initial and identified stiffnesses.
	fine                []float64
	yTruth, yInit, yFit []float64
	dirErr              float64 // directional derivatives vs central differences, largest relative error
	noisyFit, cleanFit  *physics.Result
	fitSeconds          float64 // wall time of the noisy fit
	adjoint             [2]*physAdjointTrace
	timings             []chainTiming
}

// middle is the mass whose displacement the report shows.
func (c chainIDConfig) middle() int { return c.N / 2 }

func computeChainID(env *runner.Env, c chainIDConfig) (*chainIDResult, error) {
	rng := env.Rand()
	chain, err := physics.NewSpringChain(c.N, c.Mass, c.Damping)
	if err != nil {
		return nil, err
	}
	res := &chainIDResult{truth: make([]float64, c.N), initial: make([]float64, c.N)}
	y0 := make([]float64, 2*c.N)
	for i := range res.truth {
		res.truth[i] = 1 + 0.3*math.Sin(2*math.Pi*float64(i)/float64(c.N)) + 0.2*rng.Float64()
		y0[i] = 0.3 * rng.NormFloat64()
	}
	if c.Damaged >= 0 {
		res.truth[c.Damaged] /= 2
	}
	set := &ode.Settings{RTol: c.RTol, ATol: c.RTol}
	prob, err := physics.NewProblem(chain, y0, res.truth, 0, c.T1)
	if err != nil {
		return nil, err
	}
	pos := make([]int, c.N)
	for i := range pos {
		pos[i] = i
	}
	res.times = physLinspace(c.T1/float64(c.Observations), c.T1, c.Observations)
	clean, err := physics.Synthesize(prob, res.times, pos, nil, set)
	if err != nil {
		return nil, err
	}
	noisy := physAddNoise(rng, clean, c.Noise)
	for i := range res.initial {
		res.initial[i] = 1.1
	}
	guess := prob
	guess.P = res.initial
	mk := func(data [][]float64, set *ode.Settings) *physics.Estimation {
		return &physics.Estimation{Problem: guess, Times: res.times, Data: data, Observe: pos, Params: pos, Settings: set}
	}
	estNoisy, estClean := mk(noisy, set), mk(clean, set)
	if err := estNoisy.Validate(); err != nil {
		return nil, err
	}
	total := 3 + len(c.TimingSizes)
	env.Progress(0, total, "directional-derivative check")
	tight := c.checkRTol()
	if res.dirErr, err = physDirCheck(env.Rand(), mk(noisy, &ode.Settings{RTol: tight, ATol: tight}).Loss, res.initial, 3, c.FDStep); err != nil {
		return nil, err
	}
	opt := &physics.OptimizeSettings{MaxIterations: c.MaxIterations}
	env.Progress(1, total, "fit to noisy data")
	start := time.Now()
	if res.noisyFit, err = physics.Minimize(estNoisy.Loss, res.initial, opt); err != nil {
		return nil, fmt.Errorf("fit to noisy data: %w", err)
	}
	res.fitSeconds = time.Since(start).Seconds()
	if err := env.Context().Err(); err != nil {
		return nil, err
	}
	env.Progress(2, total, "fit to noise-free data")
	if res.cleanFit, err = physics.Minimize(estClean.Loss, res.initial, opt); err != nil {
		return nil, fmt.Errorf("fit to noise-free data: %w", err)
	}

	// Gradient cost: adjoint vs forward sensitivities.
	for k, n := range c.TimingSizes {
		if err := env.Context().Err(); err != nil {
			return nil, err
		}
		env.Progress(3+k, total, fmt.Sprintf("one gradient, N = %d", n))
		tm, err := chainGradientCost(rng, c, n, res.times, set)
		if err != nil {
			return nil, fmt.Errorf("gradient cost at N = %d: %w", n, err)
		}
		res.timings = append(res.timings, tm)
	}

	// The middle mass, and the adjoint at the start and at the fit.
	res.fine = physLinspace(0, c.T1, 400)
	fine := &ode.Settings{RTol: c.RTol, ATol: c.RTol, SaveAt: res.fine}
	for _, tr := range []struct {
		k   []float64
		dst *[]float64
	}{{res.truth, &res.yTruth}, {res.initial, &res.yInit}, {res.noisyFit.X, &res.yFit}} {
		sol, err := ode.Solve(estNoisy.With(tr.k), nil, fine)
		if err != nil {
			return nil, err
		}
		*tr.dst = physColumn(sol.Y, c.middle())
	}
	res.dataMass = physColumn(noisy, c.middle())
	for i, k := range [][]float64{res.initial, res.noisyFit.X} {
		tr := &physAdjointTrace{}
		if _, err := ode.Gradient(estNoisy.With(k), estNoisy.Cost(), nil, &ode.Interpolating{OnAdjoint: tr.record}, set); err != nil {
			return nil, err
		}
		res.adjoint[i] = tr
	}
	return res, nil
}

// chainGradientCost times one gradient of a misfit with respect to the n
// stiffnesses of a random chain of n masses, by the interpolating adjoint
// and by forward sensitivities.
func chainGradientCost(rng *rand.Rand, c chainIDConfig, n int, times []float64, set *ode.Settings) (chainTiming, error) {
	ch, err := physics.NewSpringChain(n, c.Mass, c.Damping)
	if err != nil {
		return chainTiming{}, err
	}
	yy := make([]float64, 2*n)
	kk := make([]float64, n)
	for i := range kk {
		kk[i] = 1 + 0.2*rng.Float64()
		yy[i] = 0.3 * rng.NormFloat64()
	}
	pr, err := physics.NewProblem(ch, yy, kk, 0, c.T1)
	if err != nil {
		return chainTiming{}, err
	}
	obs := make([]int, n)
	for i := range obs {
		obs[i] = i
	}
	data := make([][]float64, len(times))
	for i := range data {
		data[i] = make([]float64, n)
	}
	e := &physics.Estimation{Problem: pr, Times: times, Data: data, Observe: obs, Params: obs, Settings: set}
	tm := chainTiming{n: n}
	t0 := time.Now()
	ga, err := ode.Gradient(pr, e.Cost(), nil, &ode.Interpolating{}, set)
	if err != nil {
		return chainTiming{}, err
	}
	tm.adj = time.Since(t0).Seconds()
	t0 = time.Now()
	gf, err := ode.Gradient(pr, e.Cost(), nil, &ode.Forward{}, set)
	if err != nil {
		return chainTiming{}, err
	}
	tm.fwd = time.Since(t0).Seconds()
	var num, den float64
	for i := range ga.DP {
		num += (ga.DP[i] - gf.DP[i]) * (ga.DP[i] - gf.DP[i])
		den += gf.DP[i] * gf.DP[i]
	}
	tm.agree = math.Sqrt(num / den)
	tm.adjB, tm.fwdB = ga.Backward, gf.Backward
	return tm, nil
}

func chainIDFigures(dir runner.Dir, c chainIDConfig, res *chainIDResult) error {
	idx := make([]float64, c.N)
	for i := range idx {
		idx[i] = float64(i)
	}
	if err := physFitFigure(dir.Path("stiffness.png"), fmt.Sprintf("Stiffness of each of the %d springs", c.N), "spring index", "k (N/m)",
		nil, []physCurve{
			{Name: "truth", X: idx, Y: res.truth, Reference: true},
			{Name: fmt.Sprintf("fit, noise σ = %g m", c.Noise), X: idx, Y: res.noisyFit.X},
			{Name: "initial guess", X: idx, Y: res.initial},
		}); err != nil {
		return err
	}
	if err := physFitFigure(dir.Path("mass.png"), fmt.Sprintf("Displacement of mass %d", c.middle()), "t (s)", "x (m)",
		[]physCurve{{Name: "data", X: res.times, Y: res.dataMass}},
		[]physCurve{{Name: "truth", X: res.fine, Y: res.yTruth, Reference: true}, {Name: "fit", X: res.fine, Y: res.yFit}, {Name: "initial guess", X: res.fine, Y: res.yInit}}); err != nil {
		return err
	}
	if err := physLossFigure(dir.Path("loss.png"), "Loss against iteration", []string{"noisy", "noise-free"}, [][]float64{res.noisyFit.History, res.cleanFit.History}); err != nil {
		return err
	}
	if err := physAdjointFigure(dir.Path("adjoint.png"), "Adjoint norm over time", res.adjoint[:], []string{"at the initial guess", "at the fit"}); err != nil {
		return err
	}
	if len(res.timings) > 1 {
		var ns, ta, tf []float64
		for _, tm := range res.timings {
			ns = append(ns, float64(tm.n))
			ta = append(ta, tm.adj)
			tf = append(tf, tm.fwd)
		}
		if _, err := plots.Save(dir.Path("cost.png"), plots.Line{
			Title:  "Time of one gradient dL/dk (N stiffnesses)",
			X:      plots.Axis{Label: "N", Log: true},
			Y:      plots.Axis{Label: "seconds", Log: true},
			Series: []plots.Series{{Name: "interpolating adjoint", X: ns, Y: ta, Points: true}, {Name: "forward sensitivities", X: ns, Y: tf, Points: true}},
		}, nil); err != nil {
			return err
		}
	}
	return nil
}

// maxRelErr is max_i |k_i − truth_i| / truth_i.
func (r *chainIDResult) maxRelErr(k []float64) float64 {
	var m float64
	for i := range k {
		m = math.Max(m, math.Abs(k[i]-r.truth[i])/r.truth[i])
	}
	return m
}

// rmsRelErr is the root mean square of (k_i − truth_i) / truth_i.
func (r *chainIDResult) rmsRelErr(k []float64) float64 {
	var s float64
	for i := range k {
		d := (k[i] - r.truth[i]) / r.truth[i]
		s += d * d
	}
	return math.Sqrt(s / float64(len(k)))
}

func chainIDReport(rep *runner.Report, c chainIDConfig, res *chainIDResult) {
	rep.Heading("Identification")
	damaged := "No spring is damaged."
	if c.Damaged >= 0 {
		damaged = fmt.Sprintf("Spring %d is damaged: its stiffness is half what it would be.", c.Damaged)
	}
	rep.Paraf("A chain of N = %d masses (%g kg, damping %g 1/s) and %d springs, released from random displacements; all positions observed at %d times in (0, %g] s "+
		"with noise σ = %g m. %s L-BFGS (at most %d iterations) from k = 1.1 N/m everywhere on interpolating-adjoint gradients (DP5, rtol = atol = %g).",
		c.N, c.Mass, c.Damping, c.N, c.Observations, c.T1, c.Noise, damaged, c.MaxIterations, c.RTol)
	t := rep.Table("data", "max rel error of k", "RMS rel error", "iterations", "gradient evaluations", "stopped")
	nMax, cMax := res.maxRelErr(res.noisyFit.X), res.maxRelErr(res.cleanFit.X)
	t.Row(fmt.Sprintf("noise σ = %g m", c.Noise), nMax, res.rmsRelErr(res.noisyFit.X), res.noisyFit.Iterations, res.noisyFit.Evaluations, physStatus(res.noisyFit))
	t.Row("noise-free", cMax, res.rmsRelErr(res.cleanFit.X), res.cleanFit.Iterations, res.cleanFit.Evaluations, physStatus(res.cleanFit))
	physCapReport(rep, physRun{"noisy data", res.noisyFit, c.MaxIterations}, physRun{"noise-free data", res.cleanFit, c.MaxIterations})
	rep.Paraf("Without noise every stiffness is recovered to %s (largest relative error), %s the tolerance %s.",
		runner.Num(cMax), runner.Compare(cMax, float64(c.FitTol)), runner.Num(float64(c.FitTol)))
	if d := c.Damaged; d >= 0 {
		e := math.Abs(res.noisyFit.X[d]-res.truth[d]) / res.truth[d]
		rep.Paraf("Damaged spring %d: true k = %.4g N/m, identified %.4g N/m from the noisy data (relative error %s, against %s RMS over all springs).",
			d, res.truth[d], res.noisyFit.X[d], runner.Num(e), runner.Num(res.rmsRelErr(res.noisyFit.X)))
	}
	rep.Figure("stiffness.png", "True (near-black), identified and initial stiffness of every spring.")
	rep.Figure("mass.png", fmt.Sprintf("Displacement of the middle mass (%d): data, truth, fit and initial guess.", c.middle()))
	rep.Figure("loss.png", "Loss after each L-BFGS iteration.")
	rep.Figure("adjoint.png", "Norm of the adjoint λ(t) of the noisy misfit at the initial guess and at the fit; each snapshot time adds a jump, the misfit there.")
	rep.Timing("noisy fit", res.fitSeconds)

	rep.Heading("Cost of one gradient: adjoint vs forward sensitivities")
	rep.Paraf("One gradient of the misfit with respect to the N stiffnesses of a random chain of N masses, by the interpolating adjoint and by forward "+
		"sensitivities (one tangent per parameter and per initial value: 3N directions), both from solves at rtol %g. The counts are the products "+
		"of the backward (adjoint) or tangent (forward) integration and do not vary between runs; the wall times, which do, are in the Timings section.", c.RTol)
	tt := rep.Table("N", "adjoint VJPs", "forward JVPs", "JVPs / VJPs", "rel. difference")
	var ratios []float64
	var worstAgree float64
	for _, tm := range res.timings {
		r := float64(tm.fwdB.JVPs) / float64(tm.adjB.VJPs)
		ratios = append(ratios, r)
		worstAgree = math.Max(worstAgree, tm.agree)
		tt.Row(tm.n, tm.adjB.VJPs, tm.fwdB.JVPs, r, tm.agree)
		rep.Timing(fmt.Sprintf("gradient N=%d adjoint", tm.n), tm.adj)
		rep.Timing(fmt.Sprintf("gradient N=%d forward", tm.n), tm.fwd)
	}
	if len(res.timings) > 1 {
		first, last := res.timings[0], res.timings[len(res.timings)-1]
		rep.Paraf("From N = %d to N = %d the adjoint's VJPs go from %d to %d, the forward JVPs from %d to %d; the ratio JVPs / VJPs %s, from %s to %s.",
			first.n, last.n, first.adjB.VJPs, last.adjB.VJPs, first.fwdB.JVPs, last.fwdB.JVPs,
			runner.Trend(ratios), runner.Num(ratios[0]), runner.Num(ratios[len(ratios)-1]))
		rep.Figure("cost.png", "Wall time of one gradient against N, measured in this run (the numbers are in the Timings section).")
	}
	rep.Paraf("The two gradients differ by at most %s (normwise relative), %s the tolerance %s.",
		runner.Num(worstAgree), runner.Compare(worstAgree, float64(c.AgreeTol)), runner.Num(float64(c.AgreeTol)))
	rep.Paraf("Gradient check: directional derivatives ⟨∇L, v⟩ at the initial guess along 3 random unit directions against central differences of L "+
		"(step %g), every solve at rtol = atol = %s (%s): largest relative difference %s, %s the tolerance %s.",
		c.FDStep, runner.Num(c.checkRTol()),
		runner.Choose(c.checkRTol() < c.RTol, "fd_tol·fd_step, tighter than the fits' rtol, so that the solves' error divided by the step stays well below the tolerance",
			"the fits' rtol, already at most fd_tol·fd_step"),
		runner.Num(res.dirErr), runner.Compare(res.dirErr, float64(c.FDTol)), runner.Num(float64(c.FDTol)))

	rep.Metric("noisy max rel error", nMax)
	rep.Metric("noisy iterations", float64(res.noisyFit.Iterations))
	rep.Metric("noisy gradient evaluations", float64(res.noisyFit.Evaluations))
	rep.Metric("noise-free max rel error", cMax)
	rep.Metric("noise-free iterations", float64(res.cleanFit.Iterations))
	rep.Check("directional derivatives at the start vs central differences (3 random directions)", res.dirErr, c.FDTol)
	rep.Check("noise-free fit recovers every stiffness (max rel error)", cMax, c.FitTol)
	rep.Check("adjoint vs forward-sensitivity gradients (normwise rel.)", worstAgree, c.AgreeTol)
}
