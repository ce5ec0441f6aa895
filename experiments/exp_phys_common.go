package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"gonum.org/v1/gonum/optimize"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/ode"
	"github.com/adjointkit/adjointkit/physics"
	"github.com/adjointkit/adjointkit/plots"
)

// This file holds the helpers shared by the physics experiments
// (pendulum_fit, lotka_volterra_fit, spring_chain_identification,
// lorenz96_4dvar, projectile_control, heat_inverse, steady_design,
// chaos_adjoint): fit figures, loss histories, adjoint norms and the
// finite-difference check of a gradient.

// physCurve is one line of a fit figure. A Reference curve (the truth) is
// drawn as a guide, in near-black outside the colour cycle.
type physCurve struct {
	Name      string
	X, Y      []float64
	Reference bool
}

// physFitFigure saves a figure with observations drawn as points and
// curves (truth, initial guess, fit) drawn as lines, the reference curves
// among them last, over the shaded spans if any. Non-finite values are dropped (and noted on the figure).
func physFitFigure(path, title, xlabel, ylabel string, data []physCurve, curves []physCurve, spans ...plots.Span) error {
	var series []plots.Series
	// Reference curves go last, drawn thin over the curves that match them.
	for _, ref := range []bool{false, true} {
		for _, c := range curves {
			if c.Reference == ref {
				series = append(series, plots.Series{Name: c.Name, X: c.X, Y: c.Y, Reference: c.Reference})
			}
		}
	}
	for _, d := range data {
		series = append(series, plots.Series{Name: d.Name, X: d.X, Y: d.Y, NoLine: true})
	}
	_, err := plots.Save(path, plots.Line{
		Title:  title,
		X:      plots.Axis{Label: xlabel},
		Y:      plots.Axis{Label: ylabel},
		Series: series,
		Spans:  spans,
	}, nil)
	return err
}

// physLossFigure saves the loss history (log scale) of one or more fits.
func physLossFigure(path, title string, names []string, hist [][]float64) error {
	fig := plots.Line{
		Title:  title,
		X:      plots.Axis{Label: "L-BFGS iteration"},
		Y:      plots.Axis{Label: "loss", Log: true},
		Legend: plots.BottomLeft,
	}
	for i, h := range hist {
		fig.Series = append(fig.Series, plots.Series{Name: names[i], Y: h, Points: len(h) < 40})
	}
	_, err := plots.Save(path, fig, nil)
	return err
}

// physAdjointTrace records ‖λ(t)‖ during a backward solve (t decreasing),
// for an OnAdjoint hook. A Reference trace (an expected growth, say) is
// drawn as a guide, in near-black outside the colour cycle.
type physAdjointTrace struct {
	T, Norm   []float64
	Reference bool
}

func (a *physAdjointTrace) record(t float64, lambda []float64) {
	var s float64
	for _, v := range lambda {
		s += v * v
	}
	a.T = append(a.T, t)
	a.Norm = append(a.Norm, math.Sqrt(s))
}

// physAdjointFigure saves ‖λ(t)‖ against t on a log axis.
func physAdjointFigure(path, title string, traces []*physAdjointTrace, names []string) error {
	fig := plots.Line{
		Title: title,
		X:     plots.Axis{Label: "t"},
		Y:     plots.Axis{Label: "‖λ(t)‖ (adjoint norm)", Log: true},
	}
	for i, tr := range traces {
		// λ(T1) = 0 when the cost has no terminal term: leave exact zeros
		// out of the log plot.
		var x, y []float64
		for k, v := range tr.Norm {
			if v > 0 {
				x, y = append(x, tr.T[k]), append(y, v)
			}
		}
		// The backward solve runs from T1 down; plot in increasing time.
		slices.Reverse(x)
		slices.Reverse(y)
		fig.Series = append(fig.Series, plots.Series{Name: names[i], X: x, Y: y, Reference: tr.Reference})
	}
	_, err := plots.Save(path, fig, nil)
	return err
}

// physGradCheck compares the gradient of loss at x with central differences
// with relative step h (absolute h·max(1, |x_i|)) and returns the
// normwise relative error ‖g − g_FD‖/‖g_FD‖ and both gradients.
func physGradCheck(loss func(grad, x []float64) (float64, error), x []float64, h float64) (rel float64, g, gfd []float64, err error) {
	g = make([]float64, len(x))
	if _, err = loss(g, x); err != nil {
		return 0, nil, nil, err
	}
	gfd = make([]float64, len(x))
	xx := slices.Clone(x)
	for i := range x {
		step := h * math.Max(1, math.Abs(x[i]))
		xx[i] = x[i] + step
		fp, err := loss(nil, xx)
		if err != nil {
			return 0, nil, nil, err
		}
		xx[i] = x[i] - step
		fm, err := loss(nil, xx)
		if err != nil {
			return 0, nil, nil, err
		}
		xx[i] = x[i]
		gfd[i] = (fp - fm) / (2 * step)
	}
	var num, den float64
	for i := range g {
		num += (g[i] - gfd[i]) * (g[i] - gfd[i])
		den += gfd[i] * gfd[i]
	}
	if den == 0 {
		return math.Sqrt(num), g, gfd, nil
	}
	return math.Sqrt(num / den), g, gfd, nil
}

// physAddNoise returns a copy of the observations clean with independent
// Gaussian noise of standard deviation sigma added to every value, drawn
// row by row from rng (so a seed gives the same data set every run).
func physAddNoise(rng *rand.Rand, clean [][]float64, sigma float64) [][]float64 {
	noisy := make([][]float64, len(clean))
	for i, row := range clean {
		noisy[i] = make([]float64, len(row))
		for j, v := range row {
			noisy[i][j] = v + sigma*rng.NormFloat64()
		}
	}
	return noisy
}

// physLinspace returns n points from a to b, the last exactly b.
func physLinspace(a, b float64, n int) []float64 {
	t := make([]float64, n)
	for i := range t {
		t[i] = a + (b-a)*float64(i)/float64(max(n-1, 1))
	}
	if n > 1 {
		t[n-1] = b
	}
	return t
}

// physStatus says in words why a minimisation stopped.
func physStatus(res *physics.Result) string {
	switch res.Status {
	case optimize.Failure:
		return "stopped when the line search could make no further progress (the loss is flat to the precision of its ODE-based gradient)"
	case optimize.GradientThreshold:
		return "converged: gradient norm below the threshold"
	case optimize.FunctionConvergence:
		return "converged: the loss stopped decreasing"
	case optimize.IterationLimit:
		return "stopped at the iteration limit"
	}
	return "status " + res.Status.String()
}

// physCapped reports whether a minimisation stopped at its iteration limit
// rather than converging: its point is an unconverged iterate.
func physCapped(r *physics.Result) bool { return r.Status == optimize.IterationLimit }

// physRun is one L-BFGS run as a report names it.
type physRun struct {
	name  string
	res   *physics.Result
	limit int // its iteration limit
}

// physCapReport says whether every run converged within its iteration
// limit, naming those that stopped at it, and records how many did as the
// metric "fits stopped at the iteration limit".
func physCapReport(rep *runner.Report, runs ...physRun) {
	var capped []string
	for _, r := range runs {
		if physCapped(r.res) {
			capped = append(capped, fmt.Sprintf("%s (limit %d)", r.name, r.limit))
		}
	}
	all := runner.Choose(len(runs) == 1, "The L-BFGS run", fmt.Sprintf("Each of the %d L-BFGS runs", len(runs)))
	rep.Claim(len(capped) == 0,
		fmt.Sprintf("%s converged before its iteration limit (%s).", all, physLimits(runs)),
		fmt.Sprintf("%s stopped at the iteration limit without converging: %s. Its numbers are those of the last iterate, not of the minimiser.",
			runner.Count(len(capped), "run", "runs"), strings.Join(capped, "; ")))
	rep.Metric("fits stopped at the iteration limit", float64(len(capped)))
}

// physLimits lists the iteration limits of runs: "500", or "500, 2000"
// when they differ.
func physLimits(runs []physRun) string {
	var l []string
	for _, r := range runs {
		if s := fmt.Sprint(r.limit); !slices.Contains(l, s) {
			l = append(l, s)
		}
	}
	return runner.Choose(len(l) == 1, "", "limits ") + strings.Join(l, ", ") + runner.Choose(len(l) == 1, " iterations", "")
}

// physFitTable writes the table of a fit's recovered values and its L-BFGS
// summary, records its metrics under the given prefix and returns the
// largest relative error of the recovered values.
func physFitTable(rep *runner.Report, prefix string, names []string, truth, initial []float64, res *physics.Result) (maxRel float64) {
	t := rep.Table("unknown", "truth", "initial guess", "recovered", "rel. error")
	for i, name := range names {
		re := math.Abs(res.X[i]-truth[i]) / math.Max(math.Abs(truth[i]), 1e-300)
		maxRel = math.Max(maxRel, re)
		t.Row(name, fmt.Sprintf("%.6g", truth[i]), fmt.Sprintf("%.6g", initial[i]), fmt.Sprintf("%.6g", res.X[i]), re)
	}
	rep.Paraf("L-BFGS: %d iterations, %d gradient evaluations (each one forward and one adjoint solve), %d loss-only evaluations, final loss %s; %s.",
		res.Iterations, res.Evaluations, res.LossOnly, runner.Num(res.Loss), physStatus(res))
	rep.Metric(prefix+"max rel error", maxRel)
	rep.Metric(prefix+"iterations", float64(res.Iterations))
	rep.Metric(prefix+"gradient evaluations", float64(res.Evaluations))
	rep.Metric(prefix+"final loss", res.Loss)
	return maxRel
}

// physDirCheck compares directional derivatives ⟨∇L, v⟩ along k random
// unit directions drawn from rng with central differences of L (2k loss
// evaluations, for many unknowns) and returns the largest relative error.
func physDirCheck(rng *rand.Rand, loss func(grad, x []float64) (float64, error), x []float64, k int, h float64) (float64, error) {
	g := make([]float64, len(x))
	if _, err := loss(g, x); err != nil {
		return 0, err
	}
	var worst float64
	xx := make([]float64, len(x))
	for range k {
		v := make([]float64, len(x))
		var nv float64
		for i := range v {
			v[i] = rng.NormFloat64()
			nv += v[i] * v[i]
		}
		nv = math.Sqrt(nv)
		var dir float64
		for i := range v {
			v[i] /= nv
			dir += g[i] * v[i]
		}
		for i := range x {
			xx[i] = x[i] + h*v[i]
		}
		fp, err := loss(nil, xx)
		if err != nil {
			return 0, err
		}
		for i := range x {
			xx[i] = x[i] - h*v[i]
		}
		fm, err := loss(nil, xx)
		if err != nil {
			return 0, err
		}
		fd := (fp - fm) / (2 * h)
		worst = math.Max(worst, math.Abs(dir-fd)/math.Max(math.Abs(fd), 1e-300))
	}
	return worst, nil
}

// physColumn returns component j of every state in ys.
func physColumn(ys [][]float64, j int) []float64 {
	c := make([]float64, len(ys))
	for i, y := range ys {
		c[i] = y[j]
	}
	return c
}

// physNoiseLevel says how the final loss L of a least-squares fit of k
// unknowns to m values with noise σ compares with what the noise alone
// leaves at the least-squares fit: 2L/σ² follows a χ² distribution with
// m − k degrees of freedom, so L ≈ ½(m − k)σ² ± ½σ²√(2(m − k)).
func physNoiseLevel(loss float64, m, k int, sigma float64) string {
	dof := float64(m - k)
	mean, sd := sigma*sigma*dof/2, sigma*sigma*math.Sqrt(2*dof)/2
	z := (loss - mean) / sd
	return fmt.Sprintf("The final loss of the fit to noisy data, %s, is %.1f standard deviations %s ½(m − k)σ² = %s, the loss the noise alone leaves at the least-squares fit "+
		"of k = %d unknowns to m = %d values (2L/σ² is χ²-distributed with m − k degrees of freedom): %s",
		runner.Num(loss), math.Abs(z), runner.Choose(z >= 0, "above", "below"), runner.Num(mean), k, m,
		runner.Choose(math.Abs(z) <= 3, "the fit explains the data down to the noise.",
			"the fit does not explain the data down to the noise (a difference of more than 3 standard deviations)."))
}

// physTrajFitSpec describes a trajectory-fitting experiment: estimate some
// parameters of a model from noisy observations of some state components.
type physTrajFitSpec struct {
	Model      physics.Model
	Y0, Truth  []float64 // initial state and true parameters
	Initial    []float64 // initial guess of the estimated parameters
	Params     []int     // estimated parameter indices
	ParamNames []string  // their names (with units)
	Observe    []int     // observed components
	StateNames []string  // names of all state components (markup)
	T1         float64
	Times      []float64
	Noise      float64 // standard deviation of the additive noise
	RTol       float64
	FDStep     float64
	FDTol      runner.Tol
	FitTol     runner.Tol // noise-free recovery tolerance (max rel error)
	// MaxIterations bounds each L-BFGS run.
	MaxIterations int
}

// physRegisterTrajFit registers a trajectory-fitting experiment: s with
// its Compute, Figures and Report steps those of the trajectory fit that
// spec makes of a configuration.
func physRegisterTrajFit[C any](s runner.Spec[C, physTrajFitResult], spec func(C) physTrajFitSpec) {
	s.Compute = func(env *runner.Env, c C) (*physTrajFitResult, error) { return computePhysTrajFit(env, spec(c)) }
	s.Figures = func(dir runner.Dir, c C, res *physTrajFitResult) error { return physTrajFitFigures(dir, spec(c), res) }
	s.Report = func(rep *runner.Report, c C, res *physTrajFitResult) { physTrajFitReport(rep, spec(c), res) }
	runner.Register(s)
}

// physTrajFitResult is what computePhysTrajFit finds.
type physTrajFitResult struct {
	truthX []float64   // the true values of the estimated parameters
	noisy  [][]float64 // [time][observed component] the data
	// noisyFit and cleanFit are the fits to the noisy and the noise-free
	// data, both from the initial guess.
	noisyFit, cleanFit *physics.Result
	// gradErr is the normwise relative error of the adjoint gradient g at
	// the initial guess against central differences gfd.
	gradErr float64
	g, gfd  []float64
	// fine is a grid of [0, T1], and yTruth, yInit, yFit the trajectories
	// of the truth, the initial guess and the noisy fit on it.
	fine                []float64
	yTruth, yInit, yFit [][]float64
	adjInitial, adjFit  *physAdjointTrace // ‖λ(t)‖ of the noisy misfit at the initial guess and at the fit
}

// computePhysTrajFit draws the noisy data, checks the gradient at the
// initial guess and fits the noisy and the noise-free data.
func computePhysTrajFit(env *runner.Env, s physTrajFitSpec) (*physTrajFitResult, error) {
	rng := env.Rand()
	set := &ode.Settings{RTol: s.RTol, ATol: s.RTol}
	prob, err := physics.NewProblem(s.Model, s.Y0, s.Truth, 0, s.T1)
	if err != nil {
		return nil, err
	}
	clean, err := physics.Synthesize(prob, s.Times, s.Observe, nil, set)
	if err != nil {
		return nil, err
	}
	res := &physTrajFitResult{noisy: physAddNoise(rng, clean, s.Noise)}
	start := slices.Clone(s.Truth)
	for k, i := range s.Params {
		start[i] = s.Initial[k]
	}
	guess, err := physics.NewProblem(s.Model, s.Y0, start, 0, s.T1)
	if err != nil {
		return nil, err
	}
	est := func(data [][]float64) *physics.Estimation {
		return &physics.Estimation{Problem: guess, Times: s.Times, Data: data, Observe: s.Observe, Params: s.Params, Settings: set}
	}
	noisyEst, cleanEst := est(res.noisy), est(clean)
	if err := noisyEst.Validate(); err != nil {
		return nil, err
	}
	res.truthX = make([]float64, len(s.Params))
	for k, i := range s.Params {
		res.truthX[k] = s.Truth[i]
	}

	env.Progress(0, 3, "gradient check")
	if res.gradErr, res.g, res.gfd, err = physGradCheck(noisyEst.Loss, s.Initial, s.FDStep); err != nil {
		return nil, err
	}
	opt := &physics.OptimizeSettings{MaxIterations: s.MaxIterations}
	env.Progress(1, 3, "fit to noisy data")
	if res.noisyFit, err = physics.Minimize(noisyEst.Loss, s.Initial, opt); err != nil {
		return nil, fmt.Errorf("fit to noisy data: %w", err)
	}
	if err := env.Context().Err(); err != nil {
		return nil, err
	}
	env.Progress(2, 3, "fit to noise-free data")
	if res.cleanFit, err = physics.Minimize(cleanEst.Loss, s.Initial, opt); err != nil {
		return nil, fmt.Errorf("fit to noise-free data: %w", err)
	}

	res.fine = physLinspace(0, s.T1, 400)
	fine := &ode.Settings{RTol: s.RTol, ATol: s.RTol, SaveAt: res.fine}
	for _, tr := range []struct {
		x   []float64
		dst *[][]float64
	}{{res.truthX, &res.yTruth}, {s.Initial, &res.yInit}, {res.noisyFit.X, &res.yFit}} {
		sol, err := ode.Solve(noisyEst.With(tr.x), nil, fine)
		if err != nil {
			return nil, err
		}
		*tr.dst = sol.Y
	}
	for i, x := range [][]float64{s.Initial, res.noisyFit.X} {
		tr := &physAdjointTrace{}
		if _, err := ode.Gradient(noisyEst.With(x), noisyEst.Cost(), nil, &ode.Interpolating{OnAdjoint: tr.record}, set); err != nil {
			return nil, err
		}
		if i == 0 {
			res.adjInitial = tr
		} else {
			res.adjFit = tr
		}
	}
	return res, nil
}

// physTrajFitFile is the fit figure of state component k.
func physTrajFitFile(k int) string { return fmt.Sprintf("fit_%d.png", k) }

func physTrajFitFigures(dir runner.Dir, s physTrajFitSpec, res *physTrajFitResult) error {
	for j, k := range s.Observe {
		err := physFitFigure(dir.Path(physTrajFitFile(k)), "Fit of "+s.StateNames[k], "t", s.StateNames[k],
			[]physCurve{{Name: fmt.Sprintf("data (σ = %g)", s.Noise), X: s.Times, Y: physColumn(res.noisy, j)}},
			[]physCurve{
				{Name: "truth", X: res.fine, Y: physColumn(res.yTruth, k), Reference: true},
				{Name: "fit", X: res.fine, Y: physColumn(res.yFit, k)},
				{Name: "initial guess", X: res.fine, Y: physColumn(res.yInit, k)},
			})
		if err != nil {
			return err
		}
	}
	if err := physAdjointFigure(dir.Path("adjoint.png"), "Adjoint norm of the data misfit, solved backwards",
		[]*physAdjointTrace{res.adjInitial, res.adjFit}, []string{"at the initial guess", "at the fit"}); err != nil {
		return err
	}
	return physLossFigure(dir.Path("loss.png"), "Loss against iteration", []string{"noisy data", "noise-free data"},
		[][]float64{res.noisyFit.History, res.cleanFit.History})
}

func physTrajFitReport(rep *runner.Report, s physTrajFitSpec, res *physTrajFitResult) {
	var observed []string
	for _, k := range s.Observe {
		observed = append(observed, s.StateNames[k])
	}
	m := len(s.Times) * len(s.Observe)
	rep.Heading("Fit to noisy data")
	rep.Paraf("%s of %s at %d times in (0, %g] with Gaussian noise σ = %g; the unknowns are estimated by L-BFGS (gonum/optimize, at most %d iterations) "+
		"on interpolating-adjoint gradients (DP5, rtol = atol = %g), from the initial guess.",
		runner.Count(m, "observation", "observations"), strings.Join(observed, " and "), len(s.Times), s.T1, s.Noise, s.MaxIterations, s.RTol)
	physFitTable(rep, "noisy: ", s.ParamNames, res.truthX, s.Initial, res.noisyFit)
	if s.Noise > 0 {
		rep.Para(physNoiseLevel(res.noisyFit.Loss, m, len(s.Params), s.Noise))
	}
	for _, k := range s.Observe {
		rep.Figure(physTrajFitFile(k), fmt.Sprintf("Fit of %s: the data (points), the true trajectory, the fit to the noisy data and the initial guess.", s.StateNames[k]))
	}
	rep.Heading("Fit to noise-free data")
	maxClean := physFitTable(rep, "noise-free: ", s.ParamNames, res.truthX, s.Initial, res.cleanFit)
	rep.Paraf("Without noise the largest relative error of the recovered values is %s, %s the tolerance %s.",
		runner.Num(maxClean), runner.Compare(maxClean, float64(s.FitTol)), runner.Num(float64(s.FitTol)))
	physCapReport(rep, physRun{"noisy data", res.noisyFit, s.MaxIterations}, physRun{"noise-free data", res.cleanFit, s.MaxIterations})
	rep.Figure("loss.png", "Loss after each L-BFGS iteration, noisy and noise-free data.")
	rep.Figure("adjoint.png", "Norm of the adjoint λ(t) of the data misfit, solved backwards from T, at the initial guess and at the fit to the noisy data. "+
		"Each observation time adds a jump to λ: the misfit of the observed components there.")

	rep.Heading("Gradient at the initial guess")
	t := rep.Table("unknown", "adjoint", "central differences")
	for i, name := range s.ParamNames {
		t.Row(name, fmt.Sprintf("%.9g", res.g[i]), fmt.Sprintf("%.9g", res.gfd[i]))
	}
	rep.Paraf("The normwise relative difference is %s, %s the tolerance %s (central differences with relative step %g).",
		runner.Num(res.gradErr), runner.Compare(res.gradErr, float64(s.FDTol)), runner.Num(float64(s.FDTol)), s.FDStep)

	nf := res.noisyFit
	rep.Check("adjoint gradient at the start vs central differences (normwise rel.)", res.gradErr, s.FDTol)
	rep.Check("noise-free fit recovers the truth (max rel error)", maxClean, s.FitTol)
	rep.CheckTrue("noisy fit decreases the loss", nf.Loss < nf.History[0], fmt.Sprintf("%s → %s", runner.Num(nf.History[0]), runner.Num(nf.Loss)))
}
