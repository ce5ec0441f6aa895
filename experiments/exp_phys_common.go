package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

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

// physCurve is one line of a fit figure.
type physCurve struct {
	Name string
	X, Y []float64
}

// physFitFigure saves a figure with observations drawn as points and
// curves (truth, initial guess, fit) drawn as lines. Non-finite values are
// dropped (and noted on the figure).
func physFitFigure(path, title, xlabel, ylabel string, data []physCurve, curves []physCurve) error {
	var series []plots.Series
	for _, c := range curves {
		series = append(series, plots.Series{Name: c.Name, X: c.X, Y: c.Y})
	}
	for _, d := range data {
		series = append(series, plots.Series{Name: d.Name, X: d.X, Y: d.Y, NoLine: true})
	}
	_, err := plots.Save(path, plots.Line{
		Title:  title,
		X:      plots.Axis{Label: xlabel},
		Y:      plots.Axis{Label: ylabel},
		Series: series,
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
// for an OnAdjoint hook.
type physAdjointTrace struct {
	T, Norm []float64
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
		fig.Series = append(fig.Series, plots.Series{Name: names[i], X: x, Y: y})
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

// physFitReport writes the table of a fit's recovered values and records
// its metrics under the given prefix.
func physFitReport(r *runner.LegacyRun, prefix string, names []string, truth, initial []float64, res *physics.Result) (maxRel float64) {
	t := r.Report.Table("unknown", "truth", "initial guess", "recovered", "rel. error")
	for i, name := range names {
		re := math.Abs(res.X[i]-truth[i]) / math.Max(math.Abs(truth[i]), 1e-300)
		maxRel = math.Max(maxRel, re)
		t.Row(name, fmt.Sprintf("%.6g", truth[i]), fmt.Sprintf("%.6g", initial[i]), fmt.Sprintf("%.6g", res.X[i]), re)
	}
	r.Report.Paraf("L-BFGS: %d iterations, %d gradient evaluations (each one forward and one adjoint solve), %d loss-only evaluations, final loss %s; %s.",
		res.Iterations, res.Evaluations, res.LossOnly, runner.Num(res.Loss), physStatus(res))
	r.Report.Metric(prefix+"max rel error", maxRel)
	r.Report.Metric(prefix+"iterations", float64(res.Iterations))
	r.Report.Metric(prefix+"gradient evaluations", float64(res.Evaluations))
	r.Report.Metric(prefix+"final loss", res.Loss)
	return maxRel
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

// physTrajFitSpec describes a trajectory-fitting experiment: estimate some
// parameters of a model from noisy observations of some state components.
type physTrajFitSpec struct {
	Model      physics.Model
	Y0, Truth  []float64 // initial state and true parameters
	Initial    []float64 // initial guess of the estimated parameters
	Params     []int     // estimated parameter indices
	ParamNames []string  // their names (with units)
	Observe    []int     // observed components
	StateNames []string  // names of all state components
	T1         float64
	Times      []float64
	Noise      float64 // standard deviation of the additive noise
	RTol       float64
	FDStep     float64
	FDTol      runner.Tol
	FitTol     runner.Tol // noise-free recovery tolerance (max rel error)
}

// physTrajFit runs a trajectory fit and writes its report sections.
func physTrajFit(r *runner.LegacyRun, s physTrajFitSpec) error {
	rng := r.Rand()
	set := &ode.Settings{RTol: s.RTol, ATol: s.RTol}
	prob, err := physics.NewProblem(s.Model, s.Y0, s.Truth, 0, s.T1)
	if err != nil {
		return err
	}
	clean, err := physics.Synthesize(prob, s.Times, s.Observe, nil, set)
	if err != nil {
		return err
	}
	noisy := physAddNoise(rng, clean, s.Noise)
	start := slices.Clone(s.Truth)
	for k, i := range s.Params {
		start[i] = s.Initial[k]
	}
	guess, err := physics.NewProblem(s.Model, s.Y0, start, 0, s.T1)
	if err != nil {
		return err
	}
	est := func(data [][]float64) *physics.Estimation {
		return &physics.Estimation{Problem: guess, Times: s.Times, Data: data, Observe: s.Observe, Params: s.Params, Settings: set}
	}
	noisyEst, cleanEst := est(noisy), est(clean)
	if err := noisyEst.Validate(); err != nil {
		return err
	}
	truthX := make([]float64, len(s.Params))
	for k, i := range s.Params {
		truthX[k] = s.Truth[i]
	}

	// Verification first: the gradient at the starting point.
	rel, g, gfd, err := physGradCheck(noisyEst.Loss, s.Initial, s.FDStep)
	if err != nil {
		return err
	}

	resNoisy, err := physics.Minimize(noisyEst.Loss, s.Initial, nil)
	if err != nil {
		return err
	}
	resClean, err := physics.Minimize(cleanEst.Loss, s.Initial, nil)
	if err != nil {
		return err
	}

	// Trajectories on a fine grid.
	fine := physLinspace(0, s.T1, 400)
	traj := func(x []float64) ([][]float64, error) {
		pr := noisyEst.With(x)
		sol, err := ode.Solve(pr, nil, &ode.Settings{RTol: s.RTol, ATol: s.RTol, SaveAt: fine})
		if err != nil {
			return nil, err
		}
		return sol.Y, nil
	}
	yTruth, err := traj(truthX)
	if err != nil {
		return err
	}
	yInit, err := traj(s.Initial)
	if err != nil {
		return err
	}
	yFit, err := traj(resNoisy.X)
	if err != nil {
		return err
	}
	col := func(ys [][]float64, j int) []float64 {
		c := make([]float64, len(ys))
		for i, y := range ys {
			c[i] = y[j]
		}
		return c
	}
	var figs []string
	for j, k := range s.Observe {
		file := fmt.Sprintf("fit_%d.png", k)
		err := physFitFigure(r.Path(file), "Fit of "+s.StateNames[k], "t", s.StateNames[k],
			[]physCurve{{Name: fmt.Sprintf("data (σ = %g)", s.Noise), X: s.Times, Y: col(noisy, j)}},
			[]physCurve{
				{Name: "truth", X: fine, Y: col(yTruth, k)},
				{Name: "initial guess", X: fine, Y: col(yInit, k)},
				{Name: "fit", X: fine, Y: col(yFit, k)},
			})
		if err != nil {
			return err
		}
		figs = append(figs, file)
	}

	// The adjoint's norm over time at the initial guess and at the fit.
	var traces []*physAdjointTrace
	for _, x := range [][]float64{s.Initial, resNoisy.X} {
		tr := &physAdjointTrace{}
		_, err := ode.Gradient(noisyEst.With(x), noisyEst.Cost(), nil, &ode.Interpolating{OnAdjoint: tr.record}, set)
		if err != nil {
			return err
		}
		traces = append(traces, tr)
	}
	if err := physAdjointFigure(r.Path("adjoint.png"), "Adjoint norm over time (jumps at observations)", traces, []string{"at initial guess", "at fit"}); err != nil {
		return err
	}
	if err := physLossFigure(r.Path("loss.png"), "Loss vs iteration", []string{"noisy data", "noise-free data"}, [][]float64{resNoisy.History, resClean.History}); err != nil {
		return err
	}

	r.Report.Heading("Fit to noisy data")
	r.Report.Paraf("%d observations of %d state component(s) over [0, %g] with Gaussian noise σ = %g; unknowns estimated by L-BFGS (gonum/optimize) on interpolating-adjoint gradients (DP5, rtol = atol = %g).",
		len(s.Times), len(s.Observe), s.T1, s.Noise, s.RTol)
	maxNoisy := physFitReport(r, "noisy: ", s.ParamNames, truthX, s.Initial, resNoisy)
	for _, f := range figs {
		r.Report.Figure(f, "Data (points), the true trajectory, the initial guess and the fit.")
	}
	r.Report.Heading("Fit to noise-free data")
	maxClean := physFitReport(r, "noise-free: ", s.ParamNames, truthX, s.Initial, resClean)
	r.Report.Figure("loss.png", "Loss after each L-BFGS iteration, noisy and noise-free data.")
	r.Report.Figure("adjoint.png", "Norm of the adjoint λ(t) of the data misfit, solved backwards from T; it jumps at every observation.")
	r.Report.Heading("Gradient at the starting point")
	t := r.Report.Table("unknown", "adjoint", "central differences")
	for i, name := range s.ParamNames {
		t.Row(name, fmt.Sprintf("%.9g", g[i]), fmt.Sprintf("%.9g", gfd[i]))
	}
	_ = maxNoisy
	r.Report.Check("adjoint gradient at the start vs central differences (normwise rel.)", rel, s.FDTol)
	r.Report.Check("noise-free fit recovers the truth (max rel error)", maxClean, s.FitTol)
	r.Report.CheckTrue("noisy fit decreases the loss", resNoisy.Loss < resNoisy.History[0], fmt.Sprintf("%s → %s", runner.Num(resNoisy.History[0]), runner.Num(resNoisy.Loss)))
	return nil
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

// physDirCheck compares directional derivatives ⟨∇L, v⟩ along k random
// unit directions with central differences of L (2k loss evaluations, for
// many unknowns) and returns the largest relative error.
func physDirCheck(r *runner.LegacyRun, loss func(grad, x []float64) (float64, error), x []float64, k int, h float64) (float64, error) {
	rng := r.Rand()
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
