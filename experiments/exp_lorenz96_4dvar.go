package main

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/ode"
	"github.com/adjointkit/adjointkit/physics"
	"github.com/adjointkit/adjointkit/plots"
)

// This file registers the lorenz96_4dvar experiment: strong-constraint
// 4D-Var data assimilation for Lorenz-96 — the initial state of all N sites
// from noisy observations of every other site over a window, by L-BFGS on
// adjoint gradients — and the forecast error after the window with and
// without assimilation.

// l96Config is the [params] table of lorenz96_4dvar.
type l96Config struct {
	// N is the number of sites (variables).
	N int `toml:"n"`
	// Forcing is F.
	Forcing float64 `toml:"forcing"`
	// Spinup is the time the random initial state is run for to reach the
	// attractor before the window starts, 5 to 1000. With less, the truth
	// is still in its transient, where the fit of the window's initial
	// state from noise-free data fails for some seeds (spinup 4, seeds 1
	// to 3: all fail; 0 fails outright).
	Spinup float64 `toml:"spinup"`
	// Window is the length of the assimilation window.
	Window float64 `toml:"window"`
	// Observations is the number of observation times in (0, window].
	Observations int `toml:"observations"`
	// ObsNoise is σ_o, the observation noise; BackgroundError is σ_b, the
	// standard deviation of the background (first guess) error.
	ObsNoise        float64 `toml:"obs_noise"`
	BackgroundError float64 `toml:"background_error"`
	// Forecast is the length of the forecast after the window.
	Forecast float64 `toml:"forecast"`
	// RTol is the ODE tolerance (relative and absolute).
	RTol float64 `toml:"rtol"`
	// MaxIterations bounds each L-BFGS run, 1 to 100000.
	MaxIterations int `toml:"max_iterations"`
	// FDStep and FDTol configure the gradient check; FitTol is the
	// noise-free recovery tolerance (max abs error of the initial state).
	FDStep float64    `toml:"fd_step"`
	FDTol  runner.Tol `toml:"fd_tol"`
	FitTol runner.Tol `toml:"fit_tol"`
}

// Validate checks the keys.
func (c l96Config) Validate() error {
	return errors.Join(
		runner.InRange("n", c.N, 4, 10000),
		runner.InRange("forcing", c.Forcing, -100.0, 100.0),
		runner.InRange("spinup", c.Spinup, 5.0, 1000.0),
		runner.InRange("window", c.Window, 0.01, 100.0),
		runner.InRange("observations", c.Observations, 1, 10000),
		runner.InRange("obs_noise", c.ObsNoise, 0.0, 100.0),
		runner.InRange("background_error", c.BackgroundError, 1e-6, 100.0),
		runner.InRange("forecast", c.Forecast, 0.0, 100.0),
		runner.InRange("rtol", c.RTol, 1e-14, 1e-3),
		runner.InRange("max_iterations", c.MaxIterations, 1, 100000),
		runner.InRange("fd_step", c.FDStep, 1e-10, 1e-2),
		runner.InRange("fd_tol", c.FDTol, 0.0, 1.0),
		runner.InRange("fit_tol", c.FitTol, 0.0, 10.0),
	)
}

func init() {
	runner.Register(runner.Spec[l96Config, l96Result]{
		Name:    "lorenz96_4dvar",
		Theme:   "physics",
		Summary: "4D-Var for Lorenz-96 (N = 40): initial state from noisy observations of half the sites, and the forecast error with and without it.",
		Defaults: func() l96Config {
			return l96Config{
				N: 40, Forcing: 8, Spinup: 10, Window: 1, Observations: 20, ObsNoise: 0.2, BackgroundError: 1,
				Forecast: 3, RTol: 1e-8, MaxIterations: 500, FDStep: 1e-6, FDTol: 1e-5, FitTol: 1e-4,
			}
		},
		Headline: "analysis RMS error",
		Quick: func(c *l96Config) {
			c.N = min(c.N, 12)
			c.Observations = min(c.Observations, 10)
			c.Forecast = min(c.Forecast, 2)
		},
		Compute: computeL96,
		Figures: l96Figures,
		Report:  l96Report,
	})
}

// l96Sites are the sites drawn: an observed one and an unobserved one.
var l96Sites = []int{0, 1}

// l96Result is what computeL96 finds.
type l96Result struct {
	truth, background []float64 // the true initial state and the first guess
	obs               []int     // observed sites
	times             []float64 // observation times
	noisy             [][]float64
	gradErr           float64 // adjoint gradient at the background vs central differences, normwise relative
	// fit is 4D-Var on the noisy data with the background term; cleanFit
	// on noise-free data without it, and cleanErr its max abs error.
	fit, cleanFit *physics.Result
	cleanErr      float64
	// grid covers the window and the forecast; errB and errA are the RMS
	// errors of the forecasts from the background and the analysis on it,
	// and sites[k] the truth, background and analysis at site l96Sites[k].
	grid       []float64
	errB, errA []float64
	sites      [][3][]float64
	adjoint    [2]*physAdjointTrace // ‖λ(t)‖ at the background and at the analysis
}

func computeL96(env *runner.Env, c l96Config) (*l96Result, error) {
	rng := env.Rand()
	m, err := physics.NewLorenz96(c.N)
	if err != nil {
		return nil, err
	}
	p := []float64{c.Forcing}
	set := &ode.Settings{RTol: c.RTol, ATol: c.RTol}
	x := make([]float64, c.N)
	for i := range x {
		x[i] = c.Forcing + rng.NormFloat64()
	}
	spin, err := physics.NewProblem(m, x, p, 0, c.Spinup)
	if err != nil {
		return nil, err
	}
	sol, err := ode.Solve(spin, nil, set)
	if err != nil {
		return nil, fmt.Errorf("spin-up: %w", err)
	}
	res := &l96Result{truth: sol.Y[0]}
	prob, err := physics.NewProblem(m, res.truth, p, 0, c.Window)
	if err != nil {
		return nil, err
	}
	for i := 0; i < c.N; i += 2 {
		res.obs = append(res.obs, i)
	}
	res.times = physLinspace(c.Window/float64(c.Observations), c.Window, c.Observations)
	clean, err := physics.Synthesize(prob, res.times, res.obs, nil, set)
	if err != nil {
		return nil, err
	}
	res.noisy = physAddNoise(rng, clean, c.ObsNoise)
	res.background = make([]float64, c.N)
	for i := range res.background {
		res.background[i] = res.truth[i] + c.BackgroundError*rng.NormFloat64()
	}
	all := make([]int, c.N)
	for i := range all {
		all[i] = i
	}
	first := prob
	first.Y0 = res.background
	// The 4D-Var cost ½Σ‖Hx(tᵢ) − dᵢ‖²/σo² + ½‖x₀ − x_b‖²/σb², times σo².
	est := &physics.Estimation{
		Problem: first, Times: res.times, Data: res.noisy, Observe: res.obs, InitialState: all,
		Tikhonov: (c.ObsNoise / c.BackgroundError) * (c.ObsNoise / c.BackgroundError), Prior: res.background,
		Settings: set,
	}
	if err := est.Validate(); err != nil {
		return nil, err
	}
	env.Progress(0, 3, "gradient check")
	if res.gradErr, _, _, err = physGradCheck(est.Loss, res.background, c.FDStep); err != nil {
		return nil, err
	}
	opt := &physics.OptimizeSettings{MaxIterations: c.MaxIterations}
	env.Progress(1, 3, "4D-Var, noisy data")
	if res.fit, err = physics.Minimize(est.Loss, res.background, opt); err != nil {
		return nil, fmt.Errorf("4D-Var on noisy data: %w", err)
	}
	if err := env.Context().Err(); err != nil {
		return nil, err
	}
	// Noise-free, unregularised: does 4D-Var recover the truth exactly?
	env.Progress(2, 3, "4D-Var, noise-free data")
	cleanEst := *est
	cleanEst.Data, cleanEst.Tikhonov, cleanEst.Prior = clean, 0, nil
	if res.cleanFit, err = physics.Minimize(cleanEst.Loss, res.background, opt); err != nil {
		return nil, fmt.Errorf("4D-Var on noise-free data: %w", err)
	}
	for i := range res.truth {
		res.cleanErr = math.Max(res.cleanErr, math.Abs(res.cleanFit.X[i]-res.truth[i]))
	}

	// Forecasts from the truth, the background and the analysis.
	tEnd := c.Window + c.Forecast
	res.grid = physLinspace(0, tEnd, 300)
	run := func(x0 []float64) ([][]float64, error) {
		pr, err := physics.NewProblem(m, x0, p, 0, tEnd)
		if err != nil {
			return nil, err
		}
		s, err := ode.Solve(pr, nil, &ode.Settings{RTol: c.RTol, ATol: c.RTol, SaveAt: res.grid})
		if err != nil {
			return nil, fmt.Errorf("forecast: %w", err)
		}
		return s.Y, nil
	}
	yt, err := run(res.truth)
	if err != nil {
		return nil, err
	}
	yb, err := run(res.background)
	if err != nil {
		return nil, err
	}
	ya, err := run(res.fit.X)
	if err != nil {
		return nil, err
	}
	rms := func(y [][]float64) []float64 {
		e := make([]float64, len(y))
		for k := range y {
			var s float64
			for i := range y[k] {
				d := y[k][i] - yt[k][i]
				s += d * d
			}
			e[k] = math.Sqrt(s / float64(c.N))
		}
		return e
	}
	res.errB, res.errA = rms(yb), rms(ya)
	for _, site := range l96Sites {
		res.sites = append(res.sites, [3][]float64{physColumn(yt, site), physColumn(yb, site), physColumn(ya, site)})
	}
	for i, x0 := range [][]float64{res.background, res.fit.X} {
		tr := &physAdjointTrace{}
		if _, err := ode.Gradient(est.With(x0), est.Cost(), nil, &ode.Interpolating{OnAdjoint: tr.record}, set); err != nil {
			return nil, err
		}
		res.adjoint[i] = tr
	}
	return res, nil
}

// l96Observed reports whether site is observed (every other site is).
func l96Observed(site int) bool { return site%2 == 0 }

// l96SiteFile is the figure of a site.
func l96SiteFile(site int) string { return fmt.Sprintf("site_%d.png", site) }

func l96Figures(dir runner.Dir, c l96Config, res *l96Result) error {
	window := []plots.Span{{X: plots.Extent{Min: 0, Max: c.Window}, Label: "assimilation window"}}
	if _, err := plots.Save(dir.Path("forecast_error.png"), plots.Line{
		Title: fmt.Sprintf("RMS error against the truth: window [0, %g], forecast to %g", c.Window, c.Window+c.Forecast),
		X:     plots.Axis{Label: "t (model time units; 1 ≈ 5 days)"},
		Y:     plots.Axis{Label: "RMS error over all sites", Log: true},
		Series: []plots.Series{
			{Name: "background (no assimilation)", X: res.grid, Y: res.errB},
			{Name: "4D-Var analysis", X: res.grid, Y: res.errA},
		},
		Spans: window,
	}, nil); err != nil {
		return err
	}
	for k, site := range l96Sites {
		var data []physCurve
		kind := "unobserved"
		if l96Observed(site) {
			kind = "observed"
			j := slices.Index(res.obs, site)
			data = []physCurve{{Name: "observations", X: res.times, Y: physColumn(res.noisy, j)}}
		}
		s := res.sites[k]
		if err := physFitFigure(dir.Path(l96SiteFile(site)), fmt.Sprintf("Site %d (%s)", site, kind), "t", fmt.Sprintf("x_%d", site), data,
			[]physCurve{
				{Name: "truth", X: res.grid, Y: s[0], Reference: true},
				{Name: "analysis", X: res.grid, Y: s[2]},
				{Name: "background", X: res.grid, Y: s[1]},
			}, window...); err != nil {
			return err
		}
	}
	if err := physAdjointFigure(dir.Path("adjoint.png"), "Adjoint norm over the window", res.adjoint[:], []string{"at the background", "at the analysis"}); err != nil {
		return err
	}
	return physLossFigure(dir.Path("loss.png"), "4D-Var cost against iteration", []string{"noisy data + background term", "noise-free data, no background"},
		[][]float64{res.fit.History, res.cleanFit.History})
}

// l96RMS is the root mean square of x − truth.
func l96RMS(x, truth []float64) float64 {
	var s float64
	for i := range x {
		s += (x[i] - truth[i]) * (x[i] - truth[i])
	}
	return math.Sqrt(s / float64(len(x)))
}

// at returns the value of e (on res.grid) at time t: the first grid point
// at or after t.
func (r *l96Result) at(e []float64, t float64) float64 {
	k, _ := slices.BinarySearch(r.grid, t)
	return e[min(k, len(e)-1)]
}

// windowRMS is the RMS over the grid points in the window of a − b.
func (r *l96Result) windowRMS(a, b []float64, window float64) float64 {
	var s float64
	n := 0
	for k, t := range r.grid {
		if t <= window {
			s += (a[k] - b[k]) * (a[k] - b[k])
			n++
		}
	}
	return math.Sqrt(s / float64(n))
}

func l96Report(rep *runner.Report, c l96Config, res *l96Result) {
	analysis := res.fit.X
	errB, errA, errC := l96RMS(res.background, res.truth), l96RMS(analysis, res.truth), l96RMS(res.cleanFit.X, res.truth)
	rep.Heading("Assimilation")
	rep.Paraf("Lorenz-96 with N = %d, F = %g. Sites 0, 2, 4, … (%d of %d) are observed at %d times in (0, %g] with noise σ_o = %g; the background is the truth plus noise σ_b = %g. "+
		"The 4D-Var cost is ½Σ‖Hx(tᵢ) − dᵢ‖²/σ_o² + ½‖x₀ − x_b‖²/σ_b², minimised over all %d initial values by L-BFGS (at most %d iterations) on interpolating-adjoint gradients.",
		c.N, c.Forcing, len(res.obs), c.N, c.Observations, c.Window, c.ObsNoise, c.BackgroundError, c.N, c.MaxIterations)
	t := rep.Table("initial state", "RMS error vs truth")
	t.Row("background x_b", errB)
	t.Row("4D-Var analysis (noisy data)", errA)
	t.Row("4D-Var, noise-free data, no background", errC)
	rep.Paraf("Noisy fit: %d iterations, %d gradient evaluations; %s. Noise-free fit: %d iterations, %d gradient evaluations; %s.",
		res.fit.Iterations, res.fit.Evaluations, physStatus(res.fit), res.cleanFit.Iterations, res.cleanFit.Evaluations, physStatus(res.cleanFit))
	physCapReport(rep, physRun{"noisy data", res.fit, c.MaxIterations}, physRun{"noise-free data", res.cleanFit, c.MaxIterations})
	rep.Paraf("The analysis is %s the background (RMS error %s against %s). Without noise and without the background term the initial state is recovered "+
		"to %s (largest absolute error), %s the tolerance %s.",
		runner.Choose(errA < errB, "closer to the truth than", "not closer to the truth than"), runner.Num(errA), runner.Num(errB),
		runner.Num(res.cleanErr), runner.Compare(res.cleanErr, float64(c.FitTol)), runner.Num(float64(c.FitTol)))
	for k, site := range l96Sites {
		s := res.sites[k]
		ea, eb := res.windowRMS(s[2], s[0], c.Window), res.windowRMS(s[1], s[0], c.Window)
		what := "An observed site: observations (points), truth, analysis forecast and background forecast."
		if !l96Observed(site) {
			what = "An unobserved site, known to the analysis only through the dynamics: truth, analysis forecast and background forecast."
		}
		rep.Figure(l96SiteFile(site), fmt.Sprintf("%s The shaded band is the assimilation window; over it the RMS error at this site is %s for the analysis and %s for the background.",
			what, runner.Num(ea), runner.Num(eb)))
	}

	rep.Heading("Forecast")
	tEnd := c.Window + c.Forecast
	ft := rep.Table("time", "RMS error, background", "RMS error, analysis")
	for _, tt := range []float64{0, c.Window, c.Window + c.Forecast/2, tEnd} {
		ft.Row(fmt.Sprintf("%g", tt), res.at(res.errB, tt), res.at(res.errA, tt))
	}
	below := 0
	for k := range res.grid {
		if res.errA[k] < res.errB[k] {
			below++
		}
	}
	aw, ae := res.at(res.errA, c.Window), res.errA[len(res.errA)-1]
	rate := math.Log(ae/aw) / c.Forecast
	rep.Paraf("The analysis forecast's error is smaller than the background forecast's at %s. "+
		"After the window it %s from %s at t = %g to %s at t = %g, an average e-folding rate of %.2f per time unit, "+
		"and ends %s the background forecast's %s.",
		runner.Choose(below == len(res.grid), fmt.Sprintf("every one of the %d plotted times", len(res.grid)), fmt.Sprintf("%d of the %d plotted times", below, len(res.grid))),
		runner.Choose(ae > aw, "grows", "does not grow"), runner.Num(aw), c.Window, runner.Num(ae), tEnd, rate,
		runner.Compare(ae, res.errB[len(res.errB)-1]), runner.Num(res.errB[len(res.errB)-1]))
	rep.Figure("forecast_error.png", fmt.Sprintf("RMS error of the forecasts from the background and from the analysis; the shaded band is the assimilation window [0, %g].", c.Window))
	rep.Figure("loss.png", "4D-Var cost after each L-BFGS iteration.")
	rep.Figure("adjoint.png", "Norm of the adjoint λ(t) over the window, at the background and at the analysis; each observation time adds a jump, the misfit there.")

	rep.Metric("background RMS error", errB)
	rep.Metric("analysis RMS error", errA)
	rep.Metric("forecast RMS error at end, background", res.errB[len(res.errB)-1])
	rep.Metric("forecast RMS error at end, analysis", ae)
	rep.Metric("iterations", float64(res.fit.Iterations))
	rep.Metric("gradient evaluations", float64(res.fit.Evaluations))
	rep.Metric("noise-free max abs error", res.cleanErr)
	rep.Check("adjoint gradient at the background vs central differences (normwise rel.)", res.gradErr, c.FDTol)
	rep.Check("noise-free 4D-Var recovers the initial state (max abs error)", res.cleanErr, c.FitTol)
	rep.CheckTrue("analysis is closer to the truth than the background", errA < errB,
		fmt.Sprintf("%s vs %s", runner.Num(errA), runner.Num(errB)))
}
