package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/optimize"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/ode"
	"github.com/adjointkit/adjointkit/physics"
	"github.com/adjointkit/adjointkit/plots"
)

// This file registers the heat_inverse experiment: the initial temperature
// profile of a rod from noisy measurements at the final time — a backward
// heat problem, severely ill-posed — with Tikhonov regularisation, the
// error of the recovered profile against the regularisation weight for
// several noise levels.

// heatInverseConfig is the [params] table of heat_inverse.
type heatInverseConfig struct {
	// N is the number of cells, Length the rod length (m), Kappa the
	// diffusivity (m²/s) and T1 the measurement time (s).
	N      int     `toml:"n"`
	Length float64 `toml:"length"`
	Kappa  float64 `toml:"kappa"`
	T1     float64 `toml:"t1"`
	// Noise lists the measurement noise levels σ (K), increasing.
	Noise []float64 `toml:"noise"`
	// Weights lists the Tikhonov weights α swept, increasing.
	Weights []float64 `toml:"weights"`
	// RTol is the ODE tolerance (relative and absolute).
	RTol float64 `toml:"rtol"`
	// MaxIterations bounds each L-BFGS run.
	MaxIterations int `toml:"max_iterations"`
	// FDStep and FDTol configure the gradient check.
	FDStep float64    `toml:"fd_step"`
	FDTol  runner.Tol `toml:"fd_tol"`
}

// Validate checks the keys.
func (c heatInverseConfig) Validate() error {
	errs := []error{
		runner.InRange("n", c.N, 3, 2000),
		runner.InRange("length", c.Length, 1e-3, 1e3),
		runner.InRange("kappa", c.Kappa, 1e-9, 1e3),
		runner.InRange("t1", c.T1, 1e-6, 1e6),
		runner.InRange("rtol", c.RTol, 1e-14, 1e-3),
		runner.InRange("max_iterations", c.MaxIterations, 1, 1000000),
		runner.InRange("fd_step", c.FDStep, 1e-10, 1e-2),
		runner.InRange("fd_tol", c.FDTol, 0, 1),
	}
	if len(c.Noise) == 0 {
		errs = append(errs, runner.ParamErrorf("noise", "must list at least one noise level"))
	}
	if len(c.Weights) < 2 {
		errs = append(errs, runner.ParamErrorf("weights", "must list at least two weights, got %d", len(c.Weights)))
	}
	for i, s := range c.Noise {
		errs = append(errs, runner.InRange(fmt.Sprintf("noise[%d]", i), s, 0.0, 100.0))
	}
	for i, w := range c.Weights {
		errs = append(errs, runner.InRange(fmt.Sprintf("weights[%d]", i), w, 1e-16, 1e6))
	}
	if !slices.IsSorted(c.Noise) {
		errs = append(errs, runner.ParamErrorf("noise", "must be increasing, got %v", c.Noise))
	}
	if !slices.IsSorted(c.Weights) {
		errs = append(errs, runner.ParamErrorf("weights", "must be increasing, got %v", c.Weights))
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[heatInverseConfig, heatInverseResult]{
		Name:    "heat_inverse",
		Theme:   "physics",
		Summary: "Backward heat problem: initial profile from final-time measurements with Tikhonov regularisation; error vs weight for two noise levels.",
		Defaults: func() heatInverseConfig {
			return heatInverseConfig{
				N: 50, Length: 1, Kappa: 2e-3, T1: 2, Noise: []float64{1e-3, 3e-2},
				Weights: []float64{1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1},
				RTol:    1e-8, MaxIterations: 500, FDStep: 1e-3, FDTol: 1e-5,
			}
		},
		Headline: "adjoint gradient vs central differences (rel)",
		Quick: func(c *heatInverseConfig) {
			c.N = min(c.N, 20)
			if len(c.Weights) > 3 {
				c.Weights = []float64{c.Weights[0], c.Weights[len(c.Weights)/2], c.Weights[len(c.Weights)-1]}
			}
			// max_iterations stays: a lower cap stops the middle weight
			// short of convergence (α = 1e-4 needs about 220 iterations on
			// 20 cells), and the best α would be chosen among the rest.
		},
		Compute: computeHeatInverse,
		Figures: heatInverseFigures,
		Report:  heatInverseReport,
	})
}

// heatInvFit is one L-BFGS fit of the initial profile.
type heatInvFit struct {
	res *physics.Result
	err float64 // relative L2 error of the recovered profile
}

// capped reports whether the fit stopped at the iteration limit rather than
// converging: its profile is an unconverged iterate.
func (f heatInvFit) capped() bool { return f.res.Status == optimize.IterationLimit }

// heatInverseResult is what computeHeatInverse finds.
type heatInverseResult struct {
	x, truth []float64      // cell centres and the true initial profile
	clean    []float64      // the noise-free final state
	data     [][]float64    // [noise] the measured final state
	fits     [][]heatInvFit // [noise][weight]
	best     []int          // [noise] index of the weight with the smallest error among converged fits (-1: none)
	gradErr  float64        // adjoint gradient at u₀ = 0 vs central differences, normwise relative
	fitFinal []float64      // the final state of the best fit at the largest noise
	// adjoint holds ‖λ(t)‖ of the best fit's misfit at the largest noise,
	// at u₀ = 0 and at the fit.
	adjoint [2]*physAdjointTrace
}

// heatInvTruth is the true initial profile: a broad and a narrow bump.
func heatInvTruth(x, length float64) float64 {
	s := x / length
	return math.Exp(-math.Pow((s-0.3)/0.1, 2)) + 0.8*math.Exp(-math.Pow((s-0.7)/0.05, 2))
}

func computeHeatInverse(env *runner.Env, c heatInverseConfig) (*heatInverseResult, error) {
	rng := env.Rand()
	h, err := physics.NewHeat1D(c.N, c.Length)
	if err != nil {
		return nil, err
	}
	kappa := make([]float64, c.N+1)
	for i := range kappa {
		kappa[i] = c.Kappa
	}
	res := &heatInverseResult{x: h.X(), truth: make([]float64, c.N)}
	for i, xi := range res.x {
		res.truth[i] = heatInvTruth(xi, c.Length)
	}
	set := &ode.Settings{RTol: c.RTol, ATol: c.RTol}
	prob, err := physics.NewProblem(h, res.truth, h.Params(kappa, make([]float64, c.N)), 0, c.T1)
	if err != nil {
		return nil, err
	}
	clean, err := physics.Synthesize(prob, []float64{c.T1}, nil, nil, set)
	if err != nil {
		return nil, err
	}
	res.clean = clean[0]
	all := make([]int, c.N)
	for i := range all {
		all[i] = i
	}
	zero := make([]float64, c.N)
	guess := prob
	guess.Y0 = zero
	estimation := func(data []float64, alpha float64) *physics.Estimation {
		return &physics.Estimation{Problem: guess, Times: []float64{c.T1}, Data: [][]float64{data},
			InitialState: all, Tikhonov: alpha, Settings: set}
	}

	for k, sigma := range c.Noise {
		d := physAddNoise(rng, clean, sigma)[0]
		res.data = append(res.data, d)
		var fits []heatInvFit
		for j, a := range c.Weights {
			if err := env.Context().Err(); err != nil {
				return nil, err
			}
			env.Progress(k*len(c.Weights)+j, len(c.Noise)*len(c.Weights), fmt.Sprintf("σ = %g, α = %g", sigma, a))
			est := estimation(d, a)
			if k == 0 && j == 0 {
				if err := est.Validate(); err != nil {
					return nil, err
				}
				if res.gradErr, _, _, err = physGradCheck(est.Loss, zero, c.FDStep); err != nil {
					return nil, err
				}
			}
			r, err := physics.Minimize(est.Loss, zero, &physics.OptimizeSettings{MaxIterations: c.MaxIterations})
			if err != nil {
				return nil, fmt.Errorf("σ = %g, α = %g: %w", sigma, a, err)
			}
			fits = append(fits, heatInvFit{res: r, err: heatInvRelL2(r.X, res.truth)})
		}
		res.fits = append(res.fits, fits)
		best := -1
		for j, f := range fits {
			if !f.capped() && (best < 0 || f.err < fits[best].err) {
				best = j
			}
		}
		res.best = append(res.best, best)
	}

	// The final state and the adjoint of the best fit at the largest noise.
	last := len(c.Noise) - 1
	b := max(res.best[last], 0)
	est := estimation(res.data[last], c.Weights[b])
	fit := res.fits[last][b].res.X
	final, err := physics.Synthesize(est.With(fit), []float64{c.T1}, nil, nil, set)
	if err != nil {
		return nil, err
	}
	res.fitFinal = final[0]
	for i, u0 := range [][]float64{zero, fit} {
		tr := &physAdjointTrace{}
		if _, err := ode.Gradient(est.With(u0), est.Cost(), nil, &ode.Interpolating{OnAdjoint: tr.record}, set); err != nil {
			return nil, err
		}
		res.adjoint[i] = tr
	}
	return res, nil
}

// heatInvRelL2 is ‖u − truth‖₂ / ‖truth‖₂.
func heatInvRelL2(u, truth []float64) float64 {
	var num, den float64
	for i := range u {
		num += (u[i] - truth[i]) * (u[i] - truth[i])
		den += truth[i] * truth[i]
	}
	return math.Sqrt(num / den)
}

// under returns the weight index shown as under-regularised at the largest
// noise: the one just below the best.
func (r *heatInverseResult) under() int {
	return max(r.best[len(r.best)-1]-1, 0)
}

func heatInverseFigures(dir runner.Dir, c heatInverseConfig, res *heatInverseResult) error {
	var series []plots.Series
	for k, sigma := range c.Noise {
		e := make([]float64, len(c.Weights))
		for j := range c.Weights {
			e[j] = res.fits[k][j].err
		}
		series = append(series, plots.Series{Name: fmt.Sprintf("noise σ = %g K", sigma), X: c.Weights, Y: e, Points: true})
	}
	if _, err := plots.Save(dir.Path("error_vs_alpha.png"), plots.Line{
		Title:  "Error of the recovered initial profile against regularisation",
		X:      plots.Axis{Label: "Tikhonov weight α", Log: true},
		Y:      plots.Axis{Label: "relative L2 error", Log: true},
		Series: series,
	}, nil); err != nil {
		return err
	}

	last := len(c.Noise) - 1
	curves := []physCurve{{Name: "truth", X: res.x, Y: res.truth}}
	for k, sigma := range c.Noise {
		if b := res.best[k]; b >= 0 {
			curves = append(curves, physCurve{Name: fmt.Sprintf("σ = %g, best α = %g", sigma, c.Weights[b]), X: res.x, Y: res.fits[k][b].res.X})
		}
	}
	u := res.under()
	curves = append(curves, physCurve{Name: fmt.Sprintf("σ = %g, α = %g", c.Noise[last], c.Weights[u]), X: res.x, Y: res.fits[last][u].res.X})
	if err := physFitFigure(dir.Path("profiles.png"), "Initial temperature u(x, 0)", "x (m)", "u (K)", nil, curves); err != nil {
		return err
	}

	if err := physFitFigure(dir.Path("final.png"), fmt.Sprintf("Temperature at t = %g s", c.T1), "x (m)", "u (K)",
		[]physCurve{{Name: fmt.Sprintf("measured, σ = %g", c.Noise[last]), X: res.x, Y: res.data[last]}},
		[]physCurve{{Name: "truth", X: res.x, Y: res.clean}, {Name: "fit", X: res.x, Y: res.fitFinal}}); err != nil {
		return err
	}

	var hist [][]float64
	var names []string
	for k, sigma := range c.Noise {
		if b := res.best[k]; b >= 0 {
			hist = append(hist, res.fits[k][b].res.History)
			names = append(names, fmt.Sprintf("σ = %g, α = %g", sigma, c.Weights[b]))
		}
	}
	if err := physLossFigure(dir.Path("loss.png"), "Loss against iteration at the best α", names, hist); err != nil {
		return err
	}
	return physAdjointFigure(dir.Path("adjoint.png"), "Adjoint norm: the heat equation backwards in time",
		res.adjoint[:], []string{"at u₀ = 0", "at the fit"})
}

func heatInverseReport(rep *runner.Report, c heatInverseConfig, res *heatInverseResult) {
	last := len(c.Noise) - 1
	rep.Heading("Backward heat problem")
	rep.Paraf("A rod of %g m on N = %d cells, diffusivity %g m²/s, ends held at 0 K. The initial profile (a broad and a narrow bump) "+
		"is to be found from one noisy measurement of every cell at t = %g s (diffusion length √(κt) = %.3g m). "+
		"The misfit ½‖u(T) − d‖² + ½α‖u₀‖² is minimised over the N initial values by L-BFGS from u₀ = 0, "+
		"on interpolating-adjoint gradients, for at most %d iterations.",
		c.Length, c.N, c.Kappa, c.T1, math.Sqrt(c.Kappa*c.T1), c.MaxIterations)

	hdr := []string{"α"}
	for _, s := range c.Noise {
		hdr = append(hdr, fmt.Sprintf("rel. L2 error, σ = %g", s), "iterations")
	}
	t := rep.Table(hdr...)
	var capped []string
	for j, a := range c.Weights {
		row := []any{a}
		for k, s := range c.Noise {
			f := res.fits[k][j]
			err, its := runner.Num(f.err), fmt.Sprint(f.res.Iterations)
			if f.capped() {
				err, its = err+" (not converged)", its+" (limit)"
				capped = append(capped, fmt.Sprintf("σ = %g, α = %g", s, a))
			}
			if j == res.best[k] {
				err = "**" + err + "**"
			}
			row = append(row, err, its)
		}
		t.Row(row...)
	}
	rep.Para("The smallest error among the converged fits of each noise level is in bold.")
	rep.Claim(len(capped) == 0,
		fmt.Sprintf("Every fit converged within the limit of %d iterations.", c.MaxIterations),
		fmt.Sprintf("%s stopped at the limit of %d iterations without converging (%s): "+
			"their errors are those of the last iterate, not of the minimiser, and they are left out of the choice of the best α.",
			runner.Count(len(capped), "fit", "fits"), c.MaxIterations, strings.Join(capped, "; ")))

	for k, sigma := range c.Noise {
		b := res.best[k]
		if b < 0 {
			rep.Paraf("At σ = %g no fit converged, so no best α is chosen.", sigma)
			continue
		}
		text := fmt.Sprintf("At σ = %g the best α is %g (error %s).", sigma, c.Weights[b], runner.Num(res.fits[k][b].err))
		if b > 0 {
			below := heatInvErrors(res.fits[k][:b+1])
			slices.Reverse(below) // from the best α down
			text += fmt.Sprintf(" Below it, as α falls, the error %s (to %s at α = %g): "+
				"too little regularisation lets the measurement noise through, and the backward heat equation amplifies it.",
				runner.Trend(below), runner.Num(below[len(below)-1]), c.Weights[0])
		}
		if b < len(c.Weights)-1 {
			above := heatInvErrors(res.fits[k][b:])
			text += fmt.Sprintf(" Above it, as α grows, the error %s (to %s at α = %g): too much regularisation over-smooths.",
				runner.Trend(above), runner.Num(above[len(above)-1]), c.Weights[len(c.Weights)-1])
		}
		rep.Para(text)
	}
	if last > 0 && res.best[0] >= 0 && res.best[last] >= 0 {
		a0, a1 := c.Weights[res.best[0]], c.Weights[res.best[last]]
		e0, e1 := res.fits[0][res.best[0]].err, res.fits[last][res.best[last]].err
		rep.Paraf("With more noise the best α, %g at σ = %g, is %s the %g of σ = %g, and the smallest attainable error, %s, is %s the %s of σ = %g.",
			a1, c.Noise[last], runner.Compare(a1, a0), a0, c.Noise[0], runner.Num(e1), runner.Compare(e1, e0), runner.Num(e0), c.Noise[0])
	}

	rep.Figure("error_vs_alpha.png", "Relative L2 error of the recovered initial profile against α, for each noise level.")
	rep.Figure("profiles.png", fmt.Sprintf("The true initial profile, the recoveries at the best α of each noise level, and at σ = %g the recovery with the next smaller α = %g (error %s), where the amplified noise shows.",
		c.Noise[last], c.Weights[res.under()], runner.Num(res.fits[last][res.under()].err)))
	rep.Figure("final.png", fmt.Sprintf("The measurements at t = %g s (σ = %g), the true final state and the final state of the best fit.", c.T1, c.Noise[last]))
	rep.Figure("loss.png", "Loss after each L-BFGS iteration at the best α of each noise level.")
	z, f := res.adjoint[0], res.adjoint[1]
	rep.Figure("adjoint.png", fmt.Sprintf("Norm of the adjoint λ(t), solved backwards from the measurement time t = %g s, where λ is the misfit u(T) − d. "+
		"It obeys a heat equation run backwards in time, which smooths and damps it: from t = %g to t = 0 its norm %s, from %s to %s, at u₀ = 0, "+
		"and %s, from %s to %s, at the fit.",
		c.T1, c.T1, heatInvChange(z), runner.Num(z.Norm[0]), runner.Num(z.Norm[len(z.Norm)-1]),
		heatInvChange(f), runner.Num(f.Norm[0]), runner.Num(f.Norm[len(f.Norm)-1])))

	for k, sigma := range c.Noise {
		if b := res.best[k]; b >= 0 {
			rep.Metric(fmt.Sprintf("best alpha, noise %g", sigma), c.Weights[b])
			rep.Metric(fmt.Sprintf("best rel L2 error, noise %g", sigma), res.fits[k][b].err)
		}
	}
	rep.Metric("fits stopped at the iteration limit", float64(len(capped)))
	rep.Metric("adjoint gradient vs central differences (rel)", res.gradErr)

	rep.Check("adjoint gradient at u₀ = 0 vs central differences (normwise rel.)", res.gradErr, c.FDTol)
	for k, sigma := range c.Noise {
		b := res.best[k]
		detail := "no fit converged"
		if b >= 0 {
			detail = fmt.Sprintf("best α = %g converged in %d iterations", c.Weights[b], res.fits[k][b].res.Iterations)
		}
		rep.CheckTrue(fmt.Sprintf("σ = %g: the best α is chosen among converged fits", sigma), b >= 0, detail)
	}
	if last > 0 && res.best[0] >= 0 && res.best[last] >= 0 {
		lo, hi := res.fits[0][res.best[0]].err, res.fits[last][res.best[last]].err
		rep.CheckTrue("more noise gives a larger best error", hi > lo,
			fmt.Sprintf("%s (σ = %g) vs %s (σ = %g)", runner.Num(lo), c.Noise[0], runner.Num(hi), c.Noise[last]))
	}
}

// heatInvErrors returns the errors of fits.
func heatInvErrors(fits []heatInvFit) []float64 {
	e := make([]float64, len(fits))
	for i, f := range fits {
		e[i] = f.err
	}
	return e
}

// heatInvChange says how ‖λ‖ changes over the backward solve: "falls" or
// "does not fall".
func heatInvChange(tr *physAdjointTrace) string {
	return runner.Choose(tr.Norm[len(tr.Norm)-1] < tr.Norm[0], "falls", "does not fall")
}
