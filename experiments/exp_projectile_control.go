package main

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/ode"
	"github.com/adjointkit/adjointkit/physics"
)

// This file registers the projectile_control experiment: the launch speed
// and angle that make a projectile with quadratic drag land on a target at a
// given time, by L-BFGS on gradients through the landing time (an event
// differentiated by the implicit function theorem).

// projectileConfig is the [params] table of projectile_control.
type projectileConfig struct {
	// Drag is k in 1/m and Height the launch height in m.
	Drag   float64 `toml:"drag"`
	Height float64 `toml:"height"`
	// Speed (m/s) and Angle (rad) of the launch that defines the target
	// (its landing distance and time): the truth the fit should find.
	Speed float64 `toml:"speed"`
	Angle float64 `toml:"angle"`
	// InitialSpeed and InitialAngle are the initial guess.
	InitialSpeed float64 `toml:"initial_speed"`
	InitialAngle float64 `toml:"initial_angle"`
	// RTol is the ODE tolerance (relative and absolute).
	RTol float64 `toml:"rtol"`
	// FDStep, FDTol and FitTol: the checks of the event-time gradients and
	// of the recovered controls (max rel error).
	FDStep float64    `toml:"fd_step"`
	FDTol  runner.Tol `toml:"fd_tol"`
	FitTol runner.Tol `toml:"fit_tol"`
}

// Validate checks the keys.
func (c projectileConfig) Validate() error {
	return errors.Join(
		runner.InRange("drag", c.Drag, 0.0, 10.0),
		runner.InRange("height", c.Height, 0.0, 1e4),
		runner.InRange("speed", c.Speed, 0.1, 1e4),
		runner.InRange("angle", c.Angle, 0.01, 1.56),
		runner.InRange("initial_speed", c.InitialSpeed, 0.1, 1e4),
		runner.InRange("initial_angle", c.InitialAngle, 0.01, 1.56),
		runner.InRange("rtol", c.RTol, 1e-14, 1e-3),
		runner.InRange("fd_step", c.FDStep, 1e-10, 1e-2),
		runner.InRange("fd_tol", c.FDTol, 0.0, 1.0),
		runner.InRange("fit_tol", c.FitTol, 0.0, 1.0),
	)
}

func init() {
	runner.RegisterLegacy(runner.LegacySpec[projectileConfig]{
		Name:    "projectile_control",
		Theme:   "physics",
		Summary: "Dragged projectile: launch speed and angle to land on a target at a given time, with the landing (event) time differentiated.",
		Defaults: func() projectileConfig {
			return projectileConfig{
				Drag: 0.01, Height: 1, Speed: 32, Angle: 0.65, InitialSpeed: 20, InitialAngle: 0.3,
				RTol: 1e-10, FDStep: 1e-6, FDTol: 1e-6, FitTol: 1e-6,
			}
		},
		Run: runProjectile,
	})
}

func runProjectile(r *runner.LegacyRun, c projectileConfig) error {
	set := &ode.Settings{RTol: c.RTol, ATol: c.RTol}
	// A fixed search window (rather than one scaled with each launch) keeps
	// the solver's step sequence a smooth function of the controls, which
	// the finite-difference checks need.
	aim := &physics.Aim{Drag: c.Drag, Height: c.Height, MaxTime: 30, Settings: set}
	target, tflight, err := aim.Shoot(c.Speed, c.Angle)
	if err != nil {
		return err
	}
	aim.Target, aim.FlightTime = target, tflight
	if err := aim.Validate(); err != nil {
		return err
	}
	x0 := []float64{c.InitialSpeed, c.InitialAngle}

	// Verification: the event-time and range gradients at the start, by the
	// adjoint and by forward sensitivities, against central differences of
	// the shooting map.
	prob, err := physics.NewProblem(&physics.Projectile{}, physics.LaunchState(x0[0], x0[1], c.Height), []float64{c.Drag}, 0, aim.MaxTime)
	if err != nil {
		return err
	}
	type sens struct{ dv, da float64 }
	grads := map[string][2]sens{}
	for _, m := range []ode.Sensitivity{&ode.Interpolating{}, &ode.Forward{}} {
		var out [2]sens
		for k, cost := range []*ode.EventCost{ode.EventTime(), physics.Range()} {
			g, err := ode.EventGradient(prob, physics.Ground(), cost, nil, m, set)
			if err != nil {
				return err
			}
			dv, da := physics.LaunchVJP(g.DY0, x0[0], x0[1])
			out[k] = sens{dv, da}
		}
		grads[m.String()] = out
	}
	var fd [2]sens
	for j := range 2 {
		h := c.FDStep * math.Max(1, math.Abs(x0[j]))
		xp, xm := slices.Clone(x0), slices.Clone(x0)
		xp[j] += h
		xm[j] -= h
		dp, tp, err := aim.Shoot(xp[0], xp[1])
		if err != nil {
			return err
		}
		dm, tm, err := aim.Shoot(xm[0], xm[1])
		if err != nil {
			return err
		}
		dt, dd := (tp-tm)/(2*h), (dp-dm)/(2*h)
		if j == 0 {
			fd[0].dv, fd[1].dv = dt, dd
		} else {
			fd[0].da, fd[1].da = dt, dd
		}
	}
	var worst float64
	for _, g := range grads {
		for k := range 2 {
			worst = math.Max(worst, math.Abs(g[k].dv-fd[k].dv)/math.Abs(fd[k].dv))
			worst = math.Max(worst, math.Abs(g[k].da-fd[k].da)/math.Abs(fd[k].da))
		}
	}
	rel, lg, lfd, err := physGradCheck(aim.Loss, x0, c.FDStep)
	if err != nil {
		return err
	}

	// The optimisation, keeping the iterates.
	var iterates [][]float64
	res, err := physics.Minimize(aim.Loss, x0, &physics.OptimizeSettings{
		OnIteration: func(_ int, x []float64, _ float64) { iterates = append(iterates, slices.Clone(x)) },
	})
	if err != nil {
		return err
	}
	truth := []float64{c.Speed, c.Angle}

	// Trajectories.
	path := func(x []float64) (xs, zs []float64, err error) {
		pr, err := physics.NewProblem(&physics.Projectile{}, physics.LaunchState(x[0], x[1], c.Height), []float64{c.Drag}, 0, aim.MaxTime)
		if err != nil {
			return nil, nil, err
		}
		es, err := ode.SolveEvents(pr, []*ode.Event{physics.Ground()}, nil, &ode.Settings{RTol: c.RTol, ATol: c.RTol, SaveSteps: true, MaxStep: 0.05})
		if err != nil {
			return nil, nil, err
		}
		for _, y := range es.Y {
			xs = append(xs, y[0])
			zs = append(zs, y[1])
		}
		return xs, zs, nil
	}
	var curves []physCurve
	pick := []int{0}
	for _, k := range []int{2, 5, 10} {
		if k < len(iterates)-1 {
			pick = append(pick, k)
		}
	}
	for _, k := range pick {
		xs, zs, err := path(iterates[k])
		if err != nil {
			return err
		}
		name := fmt.Sprintf("iteration %d", k)
		if k == 0 {
			name = "initial guess"
		}
		curves = append(curves, physCurve{Name: name, X: xs, Y: zs})
	}
	xs, zs, err := path(res.X)
	if err != nil {
		return err
	}
	curves = append(curves, physCurve{Name: "optimum", X: xs, Y: zs})
	if err := physFitFigure(r.Path("trajectories.png"), "Trajectories of the L-BFGS iterates", "x (m)", "z (m)",
		[]physCurve{{Name: "target", X: []float64{target}, Y: []float64{0}}}, curves); err != nil {
		return err
	}
	if err := physLossFigure(r.Path("loss.png"), "Loss vs iteration", []string{"½(x(t*) − target)² + ½(t* − T)²"}, [][]float64{res.History}); err != nil {
		return err
	}
	var traces []*physAdjointTrace
	for _, x := range [][]float64{x0, res.X} {
		tr := &physAdjointTrace{}
		pr := prob
		pr.Y0 = physics.LaunchState(x[0], x[1], c.Height)
		if _, err := ode.EventGradient(pr, physics.Ground(), ode.EventTime(), nil, &ode.Interpolating{OnAdjoint: tr.record}, set); err != nil {
			return err
		}
		traces = append(traces, tr)
	}
	if err := physAdjointFigure(r.Path("adjoint.png"), "Adjoint of the landing time t* over the flight", traces, []string{"at initial guess", "at optimum"}); err != nil {
		return err
	}

	r.Report.Heading("Aiming")
	r.Report.Paraf("A projectile with quadratic drag k = %g 1/m, launched from %g m, must land at x = %.6g m after t* = %.6g s (the landing of a %g m/s, %g rad launch). L-BFGS minimises ½(x(t*) − target)² + ½(t* − T)² over speed and angle; each gradient locates the landing t* (root of z = 0 on the dense output), then differentiates the terminal cost at t* with dt*/dθ = −(∂z/∂θ)/ż by the interpolating adjoint (ode.EventGradient).",
		c.Drag, c.Height, target, tflight, c.Speed, c.Angle)
	physFitReport(r, "", []string{"speed (m/s)", "angle (rad)"}, truth, x0, res)
	dOpt, tOpt, err := aim.Shoot(res.X[0], res.X[1])
	if err != nil {
		return err
	}
	r.Report.Paraf("The optimum lands at x = %.9g m (miss %.2g m) at t* = %.9g s (error %.2g s).", dOpt, dOpt-target, tOpt, tOpt-tflight)
	r.Report.Figure("trajectories.png", "Trajectories of the initial guess, some iterates and the optimum; the target is the point on the ground.")
	r.Report.Figure("loss.png", "Loss after each L-BFGS iteration.")
	r.Report.Figure("adjoint.png", "Norm of the adjoint λ(t) of the landing time t* (λ(0) = dt*/dy₀), solved back from the landing, at the initial guess and at the optimum.")
	r.Report.Heading("Event-time sensitivities at the initial guess")
	t := r.Report.Table("method", "dt*/dv (s²/m)", "dt*/da (s/rad)", "dx(t*)/dv (s)", "dx(t*)/da (m/rad)")
	for _, name := range []string{"interpolating adjoint", "forward sensitivities"} {
		g := grads[name]
		t.Row(name, fmt.Sprintf("%.9g", g[0].dv), fmt.Sprintf("%.9g", g[0].da), fmt.Sprintf("%.9g", g[1].dv), fmt.Sprintf("%.9g", g[1].da))
	}
	t.Row("central differences", fmt.Sprintf("%.9g", fd[0].dv), fmt.Sprintf("%.9g", fd[0].da), fmt.Sprintf("%.9g", fd[1].dv), fmt.Sprintf("%.9g", fd[1].da))
	r.Report.Paraf("Loss gradient at the start: adjoint (%.9g, %.9g), central differences (%.9g, %.9g).", lg[0], lg[1], lfd[0], lfd[1])
	var maxRel float64
	for i := range truth {
		maxRel = math.Max(maxRel, math.Abs(res.X[i]-truth[i])/truth[i])
	}
	r.Report.Check("event-time and landing-distance gradients vs central differences (max rel., both methods)", worst, c.FDTol)
	r.Report.Check("loss gradient at the start vs central differences (normwise rel.)", rel, c.FDTol)
	r.Report.Check("recovered launch speed and angle (max rel error)", maxRel, c.FitTol)
	return nil
}
