package main

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/physics"
	"github.com/adjointkit/adjointkit/plots"
)

// This file registers the steady_design experiment: the heat-source
// distribution that produces a target steady temperature profile in a rod,
// designed by L-BFGS on gradients from one implicit adjoint solve
// (adjoint.ImplicitVJP) per iteration.

// steadyDesignConfig is the [params] table of steady_design.
type steadyDesignConfig struct {
	// N is the number of cells and Length the rod length in m.
	N      int     `toml:"n"`
	Length float64 `toml:"length"`
	// Kappa0 is the mean diffusivity (m²/s); it varies as
	// κ(x) = Kappa0·(1 + ½ sin(2πx/L)).
	Kappa0 float64 `toml:"kappa0"`
	// Plateau is the target temperature rise (K) on the middle of the rod.
	Plateau float64 `toml:"plateau"`
	// Weights are the Tikhonov weights α of the designs compared.
	Weights []float64 `toml:"weights"`
	// RecoverN is the grid of the recovery check (a target made by a known
	// source, designed back with α = 0).
	RecoverN int `toml:"recover_n"`
	// FDStep, FDTol and FitTol: the gradient check and the recovery
	// tolerance (max error relative to the largest source).
	FDStep float64    `toml:"fd_step"`
	FDTol  runner.Tol `toml:"fd_tol"`
	FitTol runner.Tol `toml:"fit_tol"`
	// GMRESRTol is the relative residual at which the GMRES solve of the
	// adjoint system stops, and GMRESTol the allowed normwise relative
	// difference of its λ from the dense LU one. The error of λ is at most
	// the condition number of ∂F/∂u (about 8e3 at N = 100) times the
	// residual, so gmres_rtol = 1e-11 leaves λ within about 1e-7.
	GMRESRTol float64    `toml:"gmres_rtol"`
	GMRESTol  runner.Tol `toml:"gmres_tol"`
	// MaxIterations bounds L-BFGS.
	MaxIterations int `toml:"max_iterations"`
}

// Validate checks the keys.
func (c steadyDesignConfig) Validate() error {
	errs := []error{
		runner.InRange("n", c.N, 3, 500),
		runner.InRange("length", c.Length, 1e-3, 1e3),
		runner.InRange("kappa0", c.Kappa0, 1e-9, 1e6),
		runner.InRange("plateau", c.Plateau, -1e6, 1e6),
		runner.InRange("recover_n", c.RecoverN, 3, 500),
		runner.InRange("fd_step", c.FDStep, 1e-10, 1e-2),
		runner.InRange("fd_tol", c.FDTol, 0.0, 1.0),
		runner.InRange("fit_tol", c.FitTol, 0.0, 1.0),
		runner.InRange("gmres_rtol", c.GMRESRTol, 1e-15, 1e-3),
		runner.InRange("gmres_tol", c.GMRESTol, 0.0, 1.0),
		runner.InRange("max_iterations", c.MaxIterations, 1, 1000000),
	}
	if len(c.Weights) == 0 {
		errs = append(errs, runner.ParamErrorf("weights", "must list at least one weight"))
	}
	for i, w := range c.Weights {
		errs = append(errs, runner.InRange(fmt.Sprintf("weights[%d]", i), w, 0.0, 1e6))
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[steadyDesignConfig, steadyResult]{
		Name:    "steady_design",
		Theme:   "physics",
		Summary: "Steady heat design: sources that produce a target temperature profile, L-BFGS on implicit-adjoint gradients.",
		Defaults: func() steadyDesignConfig {
			return steadyDesignConfig{
				N: 100, Length: 1, Kappa0: 1e-2, Plateau: 1, Weights: []float64{1e-5, 1e-3, 1e-1},
				RecoverN: 30, FDStep: 1e-6, FDTol: 1e-6, FitTol: 1e-3, GMRESRTol: 1e-11, GMRESTol: 1e-7, MaxIterations: 5000,
			}
		},
		Headline: "recovery max rel error",
		Quick: func(c *steadyDesignConfig) {
			c.N = min(c.N, 30)
			c.RecoverN = min(c.RecoverN, 15)
			// On 30 cells the smallest default α converges in fewer than
			// 2000 iterations; a run that does not is flagged in the report.
			c.MaxIterations = min(c.MaxIterations, 2000)
		},
		Compute: computeSteadyDesign,
		Figures: steadyFigures,
		Report:  steadyReport,
	})
}

// steadyPlateau is the target: Plateau on the middle third of the rod,
// with smooth edges of width L/40, and 0 at the ends.
func steadyPlateau(x, length, plateau float64) float64 {
	w := length / 40
	return plateau * 0.5 * (math.Tanh((x-length/3)/w) - math.Tanh((x-2*length/3)/w))
}

func steadyRod(n int, length, kappa0 float64) (*physics.HeatSteady, error) {
	h, err := physics.NewHeat1D(n, length)
	if err != nil {
		return nil, err
	}
	kappa := make([]float64, n+1)
	for j := range kappa {
		kappa[j] = kappa0 * (1 + 0.5*math.Sin(2*math.Pi*float64(j)/float64(n)))
	}
	return &physics.HeatSteady{Heat: h, Kappa: kappa}, nil
}

// steadyDesign is the design for one Tikhonov weight.
type steadyDesign struct {
	alpha     float64
	res       *physics.Result
	u         []float64 // its steady temperature
	misfit    float64   // max |u − u*|
	sourceMax float64   // max |s|
	variation float64   // Σ|s_{i+1} − s_i|, the sources' total variation
}

// steadyResult is what computeSteadyDesign finds.
type steadyResult struct {
	x, target []float64 // cell centres and the target temperature
	gradErr   float64   // implicit-adjoint gradient at s = 0 vs central differences
	designs   []steadyDesign
	// recovery is the α = 0 design of a target made by a known source, and
	// recoveryErr its max error relative to the largest source.
	recovery    *physics.Result
	recoveryErr float64
	// lambda0 and lambda1 are the adjoint fields at s = 0 and at the
	// first design, implicit0 the dense solve at s = 0.
	lambda0, lambda1 []float64
	implicit0        adjoint.ImplicitResult
	gmresErr         float64 // GMRES λ vs dense LU λ at s = 0, normwise relative
}

func computeSteadyDesign(env *runner.Env, c steadyDesignConfig) (*steadyResult, error) {
	st, err := steadyRod(c.N, c.Length, c.Kappa0)
	if err != nil {
		return nil, err
	}
	res := &steadyResult{x: st.Heat.X(), target: make([]float64, c.N)}
	for i, xi := range res.x {
		res.target[i] = steadyPlateau(xi, c.Length, c.Plateau)
	}
	zero := make([]float64, c.N)
	// Verification: the implicit-adjoint gradient at s = 0 against central
	// differences.
	d0 := &physics.HeatDesign{Steady: st, Target: res.target, Tikhonov: c.Weights[0]}
	if res.gradErr, _, _, err = physGradCheck(d0.Loss, zero, c.FDStep); err != nil {
		return nil, err
	}

	total := len(c.Weights) + 1
	for k, a := range c.Weights {
		if err := env.Context().Err(); err != nil {
			return nil, err
		}
		env.Progress(k, total, fmt.Sprintf("design α = %g", a))
		d := &physics.HeatDesign{Steady: st, Target: res.target, Tikhonov: a}
		r, err := physics.Minimize(d.Loss, zero, &physics.OptimizeSettings{MaxIterations: c.MaxIterations})
		if err != nil {
			return nil, fmt.Errorf("design α = %g: %w", a, err)
		}
		des := steadyDesign{alpha: a, res: r, u: make([]float64, c.N)}
		if err := st.Solve(des.u, r.X); err != nil {
			return nil, err
		}
		for i := range des.u {
			des.misfit = math.Max(des.misfit, math.Abs(des.u[i]-res.target[i]))
			des.sourceMax = math.Max(des.sourceMax, math.Abs(r.X[i]))
			if i > 0 {
				des.variation += math.Abs(r.X[i] - r.X[i-1])
			}
		}
		res.designs = append(res.designs, des)
	}

	// Recovery: a target made by a known source, designed back with α = 0
	// and the strictest stopping tests (gradient 1e-16, no function test).
	env.Progress(len(c.Weights), total, "recovery of a known source")
	rst, err := steadyRod(c.RecoverN, c.Length, c.Kappa0)
	if err != nil {
		return nil, err
	}
	sTrue := make([]float64, c.RecoverN)
	var sMax float64
	for i, xi := range rst.Heat.X() {
		sTrue[i] = 0.2 * math.Exp(-40*(xi/c.Length-0.3)*(xi/c.Length-0.3)) * c.Kappa0 / (c.Length * c.Length) * 100
		sMax = math.Max(sMax, sTrue[i])
	}
	rTarget := make([]float64, c.RecoverN)
	if err := rst.Solve(rTarget, sTrue); err != nil {
		return nil, err
	}
	rd := &physics.HeatDesign{Steady: rst, Target: rTarget}
	res.recovery, err = physics.Minimize(rd.Loss, make([]float64, c.RecoverN), &physics.OptimizeSettings{MaxIterations: c.MaxIterations, GradientTol: 1e-16, FunctionTol: -1})
	if err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	for i := range sTrue {
		res.recoveryErr = math.Max(res.recoveryErr, math.Abs(res.recovery.X[i]-sTrue[i])/sMax)
	}

	// The adjoint field λ(x) at the start (dense LU and GMRES) and at the
	// first design.
	adjointAt := func(s []float64, set *adjoint.ImplicitSettings) (adjoint.ImplicitResult, error) {
		u := make([]float64, c.N)
		if err := st.Solve(u, s); err != nil {
			return adjoint.ImplicitResult{}, err
		}
		ubar := make([]float64, c.N)
		for i := range u {
			ubar[i] = (u[i] - res.target[i]) * st.Heat.Dx()
		}
		return adjoint.ImplicitVJP(nil, st, u, s, ubar, set)
	}
	if res.implicit0, err = adjointAt(zero, nil); err != nil {
		return nil, err
	}
	res.lambda0 = res.implicit0.Lambda
	ir1, err := adjointAt(res.designs[0].res.X, nil)
	if err != nil {
		return nil, err
	}
	res.lambda1 = ir1.Lambda
	irG, err := adjointAt(zero, &adjoint.ImplicitSettings{Solver: adjoint.SolverGMRES, Krylov: &adjoint.KrylovSettings{Tol: c.GMRESRTol, Restart: c.N}})
	if err != nil {
		return nil, err
	}
	res.gmresErr = relErr(irG.Lambda, res.lambda0)
	return res, nil
}

func steadyFigures(dir runner.Dir, c steadyDesignConfig, res *steadyResult) error {
	curves := []physCurve{{Name: "target", X: res.x, Y: res.target, Reference: true}}
	for _, d := range res.designs {
		curves = append(curves, physCurve{Name: fmt.Sprintf("designed, α = %g", d.alpha), X: res.x, Y: d.u})
	}
	if err := physFitFigure(dir.Path("profile.png"), "Steady temperature: target and designs", "x (m)", "u (K)", nil, curves); err != nil {
		return err
	}
	var src []physCurve
	var hist [][]float64
	var names []string
	for _, d := range res.designs {
		src = append(src, physCurve{Name: fmt.Sprintf("α = %g", d.alpha), X: res.x, Y: d.res.X})
		hist = append(hist, d.res.History)
		names = append(names, fmt.Sprintf("α = %g", d.alpha))
	}
	if err := physFitFigure(dir.Path("sources.png"), "Designed heat sources", "x (m)", "s (K/s)", nil, src); err != nil {
		return err
	}
	if err := physLossFigure(dir.Path("loss.png"), "Design loss against iteration", names, hist); err != nil {
		return err
	}
	n0, m0 := steadyScaled(res.lambda0)
	n1, m1 := steadyScaled(res.lambda1)
	_, err := plots.Save(dir.Path("adjoint.png"), plots.Line{
		Title: "Adjoint field λ(x) of the steady problem (each scaled by its max)",
		X:     plots.Axis{Label: "x (m)"},
		Y:     plots.Axis{Label: "λ / max|λ|"},
		Series: []plots.Series{
			{Name: fmt.Sprintf("at s = 0 (max %.2g)", m0), X: res.x, Y: n0},
			{Name: fmt.Sprintf("at the design, α = %g (max %.2g)", res.designs[0].alpha, m1), X: res.x, Y: n1},
		},
	}, nil)
	return err
}

// steadyScaled returns v divided by max|v|, and max|v|.
func steadyScaled(v []float64) ([]float64, float64) {
	var m float64
	for _, e := range v {
		m = math.Max(m, math.Abs(e))
	}
	out := make([]float64, len(v))
	for i, e := range v {
		out[i] = e / m
	}
	return out, m
}

func steadyReport(rep *runner.Report, c steadyDesignConfig, res *steadyResult) {
	rep.Heading("Design")
	rep.Paraf("A rod of %g m on N = %d cells, ends held at 0 K, diffusivity κ(x) = %g·(1 + ½ sin 2πx/L) m²/s. Target: %g K on the middle third with smooth edges. "+
		"Each design minimises ½‖u(s) − u\\*‖²Δx + ½α‖s‖²Δx by L-BFGS from s = 0 (at most %d iterations); each gradient is one steady solve and one adjoint solve "+
		"(∂F/∂u)ᵀλ = (u − u\\*)Δx by `adjoint.ImplicitVJP` (%v, condition number %s), whatever the number of sources.",
		c.Length, c.N, c.Kappa0, c.Plateau, c.MaxIterations, res.implicit0.Solver, runner.Num(res.implicit0.Cond))
	t := rep.Table("α", "max |u − u\\*| (K)", "max |s| (K/s)", "total variation of s (K/s)", "iterations", "gradient evaluations", "stopped")
	var runs []physRun
	for i, d := range res.designs {
		t.Row(d.alpha, d.misfit, d.sourceMax, d.variation, d.res.Iterations, d.res.Evaluations, physStatus(d.res))
		rep.Metric(fmt.Sprintf("design %d misfit", i), d.misfit)
		rep.Metric(fmt.Sprintf("design %d iterations", i), float64(d.res.Iterations))
		runs = append(runs, physRun{fmt.Sprintf("design α = %g", d.alpha), d.res, c.MaxIterations})
	}
	runs = append(runs, physRun{"recovery of the known source", res.recovery, c.MaxIterations})
	physCapReport(rep, runs...)
	if len(res.designs) > 1 {
		// The designs in order of decreasing α: the sentence follows α down.
		byAlpha := slices.Clone(res.designs)
		slices.SortStableFunc(byAlpha, func(a, b steadyDesign) int { return cmp.Compare(b.alpha, a.alpha) })
		pick := func(f func(steadyDesign) float64) []float64 {
			v := make([]float64, len(byAlpha))
			for i, d := range byAlpha {
				v[i] = f(d)
			}
			return v
		}
		mis := pick(func(d steadyDesign) float64 { return d.misfit })
		smax := pick(func(d steadyDesign) float64 { return d.sourceMax })
		tv := pick(func(d steadyDesign) float64 { return d.variation })
		hi, lo := byAlpha[0], byAlpha[len(byAlpha)-1]
		rep.Paraf("As α falls from %g to %g, the largest misfit %s (%s → %s K), the largest source %s (%s → %s K/s) and the sources' total variation %s (%s → %s K/s). "+
			"The steady operator smooths, so matching the target's sharp edges needs large and rough sources, which the regulariser penalises.",
			hi.alpha, lo.alpha, runner.Trend(mis), runner.Num(hi.misfit), runner.Num(lo.misfit),
			runner.Trend(smax), runner.Num(hi.sourceMax), runner.Num(lo.sourceMax),
			runner.Trend(tv), runner.Num(hi.variation), runner.Num(lo.variation))
	}
	rep.Figure("profile.png", "The target profile (near-black) and the steady profiles of the designs.")
	rep.Figure("sources.png", "The designed sources.")
	rep.Figure("loss.png", "Loss after each L-BFGS iteration.")
	rep.Figure("adjoint.png", "The adjoint field λ(x): the sensitivity of the loss to a source in each cell is −λ (plus the regulariser's αsΔx).")
	rep.Paraf("The implicit-adjoint gradient at s = 0 (α = %g) differs from central differences (relative step %g) by %s, %s the tolerance %s. "+
		"The adjoint solved by full GMRES (no restarts, stopped at relative residual %g) differs from the dense LU one by %s, %s the tolerance %s.",
		c.Weights[0], c.FDStep, runner.Num(res.gradErr), runner.Compare(res.gradErr, float64(c.FDTol)), runner.Num(float64(c.FDTol)),
		c.GMRESRTol, runner.Num(res.gmresErr), runner.Compare(res.gmresErr, float64(c.GMRESTol)), runner.Num(float64(c.GMRESTol)))

	rep.Heading("Recovery of a known source")
	r := res.recovery
	rep.Paraf("On N = %d cells, a target made by a Gaussian source is designed back with α = 0 and the strictest stopping tests (gradient norm below 1e-16, "+
		"no test on the decrease of the loss): after %d iterations (%d gradient evaluations; %s) the largest error is %s of the largest source, %s the tolerance %s.",
		c.RecoverN, r.Iterations, r.Evaluations, physStatus(r), runner.Num(res.recoveryErr),
		runner.Compare(res.recoveryErr, float64(c.FitTol)), runner.Num(float64(c.FitTol)))
	rep.Metric("recovery max rel error", res.recoveryErr)
	rep.Check("implicit-adjoint gradient at s = 0 vs central differences (normwise rel.)", res.gradErr, c.FDTol)
	rep.Check("full GMRES adjoint vs dense LU adjoint (normwise rel.)", res.gmresErr, c.GMRESTol)
	rep.Check("α = 0 design recovers a known source (max error / max source)", res.recoveryErr, c.FitTol)
}
