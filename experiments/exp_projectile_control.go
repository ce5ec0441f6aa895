package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

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
	// MaxIterations bounds the L-BFGS run, 1 to 100000.
	MaxIterations int `toml:"max_iterations"`
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
		runner.InRange("max_iterations", c.MaxIterations, 1, 100000),
		runner.InRange("fd_step", c.FDStep, 1e-10, 1e-2),
		runner.InRange("fd_tol", c.FDTol, 0.0, 1.0),
		runner.InRange("fit_tol", c.FitTol, 0.0, 1.0),
	)
}

func init() {
	runner.Register(runner.Spec[projectileConfig, projectileResult]{
		Name:    "projectile_control",
		Theme:   "physics",
		Summary: "Dragged projectile: launch speed and angle to land on a target at a given time, with the landing (event) time differentiated.",
		Defaults: func() projectileConfig {
			return projectileConfig{
				Drag: 0.01, Height: 1, Speed: 32, Angle: 0.65, InitialSpeed: 20, InitialAngle: 0.3,
				RTol: 1e-10, MaxIterations: 500, FDStep: 1e-6, FDTol: 1e-6, FitTol: 1e-6,
			}
		},
		Compute: computeProjectile,
		Figures: projectileFigures,
		Report:  projectileReport,

		Headline: "max rel error",
	})
}

// projSens holds the derivatives of one landing quantity (the time t* or
// the distance x(t*)) with respect to the launch speed v and angle a.
type projSens struct{ dv, da float64 }

// projMethod is one method's derivatives of t* and x(t*).
type projMethod struct {
	name string
	sens [2]projSens // [0]: t*, [1]: x(t*)
}

// projPath is a trajectory from launch to landing.
type projPath struct {
	name   string
	x, z   []float64
	launch []float64 // speed and angle
}

// projectileResult is what computeProjectile finds.
type projectileResult struct {
	target, flight float64 // the target distance and flight time
	methods        []projMethod
	fd             [2]projSens // central differences of the shooting map
	sensErr        float64     // largest relative error of any method's derivative against fd
	lossErr        float64     // loss gradient at the start vs central differences, normwise relative
	lossG, lossFD  []float64
	fit            *physics.Result
	landX, landT   float64 // where and when the optimum lands
	paths          []projPath
	// adjoint holds ‖λ(t)‖ of the landing time at the initial guess and at
	// the optimum.
	adjoint [2]*physAdjointTrace
}

func computeProjectile(env *runner.Env, c projectileConfig) (*projectileResult, error) {
	set := &ode.Settings{RTol: c.RTol, ATol: c.RTol}
	// A fixed search window (rather than one scaled with each launch) keeps
	// the solver's step sequence a smooth function of the controls, which
	// the finite-difference checks need.
	aim := &physics.Aim{Drag: c.Drag, Height: c.Height, MaxTime: 30, Settings: set}
	target, flight, err := aim.Shoot(c.Speed, c.Angle)
	if err != nil {
		return nil, err
	}
	aim.Target, aim.FlightTime = target, flight
	if err := aim.Validate(); err != nil {
		return nil, err
	}
	res := &projectileResult{target: target, flight: flight}
	x0 := []float64{c.InitialSpeed, c.InitialAngle}

	// Verification: the event-time and range gradients at the start, by the
	// adjoint and by forward sensitivities, against central differences of
	// the shooting map.
	env.Progress(0, 3, "event-time gradients")
	prob, err := physics.NewProblem(&physics.Projectile{}, physics.LaunchState(x0[0], x0[1], c.Height), []float64{c.Drag}, 0, aim.MaxTime)
	if err != nil {
		return nil, err
	}
	for _, m := range []ode.Sensitivity{&ode.Interpolating{}, &ode.Forward{}} {
		pm := projMethod{name: m.String()}
		for k, cost := range []*ode.EventCost{ode.EventTime(), physics.Range()} {
			g, err := ode.EventGradient(prob, physics.Ground(), cost, nil, m, set)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", m, err)
			}
			dv, da := physics.LaunchVJP(g.DY0, x0[0], x0[1])
			pm.sens[k] = projSens{dv, da}
		}
		res.methods = append(res.methods, pm)
	}
	for j := range 2 {
		h := c.FDStep * math.Max(1, math.Abs(x0[j]))
		xp, xm := slices.Clone(x0), slices.Clone(x0)
		xp[j] += h
		xm[j] -= h
		dp, tp, err := aim.Shoot(xp[0], xp[1])
		if err != nil {
			return nil, err
		}
		dm, tm, err := aim.Shoot(xm[0], xm[1])
		if err != nil {
			return nil, err
		}
		dt, dd := (tp-tm)/(2*h), (dp-dm)/(2*h)
		if j == 0 {
			res.fd[0].dv, res.fd[1].dv = dt, dd
		} else {
			res.fd[0].da, res.fd[1].da = dt, dd
		}
	}
	for _, m := range res.methods {
		for k := range 2 {
			res.sensErr = math.Max(res.sensErr, math.Abs(m.sens[k].dv-res.fd[k].dv)/math.Abs(res.fd[k].dv))
			res.sensErr = math.Max(res.sensErr, math.Abs(m.sens[k].da-res.fd[k].da)/math.Abs(res.fd[k].da))
		}
	}
	if res.lossErr, res.lossG, res.lossFD, err = physGradCheck(aim.Loss, x0, c.FDStep); err != nil {
		return nil, err
	}

	// The optimisation, keeping the iterates.
	env.Progress(1, 3, "L-BFGS")
	var iterates [][]float64
	res.fit, err = physics.Minimize(aim.Loss, x0, &physics.OptimizeSettings{
		MaxIterations: c.MaxIterations,
		OnIteration:   func(_ int, x []float64, _ float64) { iterates = append(iterates, slices.Clone(x)) },
	})
	if err != nil {
		return nil, err
	}
	if res.landX, res.landT, err = aim.Shoot(res.fit.X[0], res.fit.X[1]); err != nil {
		return nil, err
	}

	// Trajectories of the start, some iterates and the optimum.
	env.Progress(2, 3, "trajectories")
	path := func(name string, x []float64) error {
		pr := prob
		pr.Y0 = physics.LaunchState(x[0], x[1], c.Height)
		es, err := ode.SolveEvents(pr, []*ode.Event{physics.Ground()}, nil, &ode.Settings{RTol: c.RTol, ATol: c.RTol, SaveSteps: true, MaxStep: 0.05})
		if err != nil {
			return fmt.Errorf("trajectory of the %s: %w", name, err)
		}
		p := projPath{name: name, launch: slices.Clone(x)}
		for _, y := range es.Y {
			p.x = append(p.x, y[0])
			p.z = append(p.z, y[1])
		}
		res.paths = append(res.paths, p)
		return nil
	}
	for _, k := range []int{0, 2, 5, 10} {
		if k == 0 || k < len(iterates)-1 {
			name := fmt.Sprintf("iteration %d", k)
			if k == 0 {
				name = "initial guess"
			}
			if err := path(name, iterates[k]); err != nil {
				return nil, err
			}
		}
	}
	if err := path("optimum", res.fit.X); err != nil {
		return nil, err
	}
	for i, x := range [][]float64{x0, res.fit.X} {
		tr := &physAdjointTrace{}
		pr := prob
		pr.Y0 = physics.LaunchState(x[0], x[1], c.Height)
		if _, err := ode.EventGradient(pr, physics.Ground(), ode.EventTime(), nil, &ode.Interpolating{OnAdjoint: tr.record}, set); err != nil {
			return nil, err
		}
		res.adjoint[i] = tr
	}
	return res, nil
}

func projectileFigures(dir runner.Dir, c projectileConfig, res *projectileResult) error {
	var curves []physCurve
	for _, p := range res.paths {
		curves = append(curves, physCurve{Name: fmt.Sprintf("%s: %.3g m/s, %.3g rad", p.name, p.launch[0], p.launch[1]), X: p.x, Y: p.z})
	}
	if err := physFitFigure(dir.Path("trajectories.png"), "Trajectories of the L-BFGS iterates", "x (m)", "z (m)",
		[]physCurve{{Name: "target", X: []float64{res.target}, Y: []float64{0}}}, curves); err != nil {
		return err
	}
	if err := physLossFigure(dir.Path("loss.png"), "Loss against iteration", []string{"½(x(t*) − target)^2 + ½(t* − T)^2"}, [][]float64{res.fit.History}); err != nil {
		return err
	}
	return physAdjointFigure(dir.Path("adjoint.png"), "Adjoint of the landing time t* over the flight", res.adjoint[:], []string{"at the initial guess", "at the optimum"})
}

func projectileReport(rep *runner.Report, c projectileConfig, res *projectileResult) {
	rep.Heading("Aiming")
	rep.Paraf("A projectile with quadratic drag k = %g 1/m, launched from %g m, must land at x = %.6g m after T = %.6g s (the landing of a %g m/s, %g rad launch). "+
		"L-BFGS (at most %d iterations) minimises ½(x(t\\*) − target)² + ½(t\\* − T)² over speed and angle; each gradient locates the landing t\\* "+
		"(root of z = 0 on the dense output), then differentiates the terminal cost at t\\* with dt\\*/dθ = −(∂z/∂θ)/ż by the interpolating adjoint (`ode.EventGradient`).",
		c.Drag, c.Height, res.target, res.flight, c.Speed, c.Angle, c.MaxIterations)
	truth := []float64{c.Speed, c.Angle}
	maxRel := physFitTable(rep, "", []string{"speed (m/s)", "angle (rad)"}, truth, []float64{c.InitialSpeed, c.InitialAngle}, res.fit)
	physCapReport(rep, physRun{"aiming", res.fit, c.MaxIterations})
	rep.Paraf("The optimum lands at x = %.9g m (miss %s m) at t\\* = %.9g s (error %s s); the largest relative error of the recovered launch is %s, %s the tolerance %s.",
		res.landX, runner.Num(res.landX-res.target), res.landT, runner.Num(res.landT-res.flight),
		runner.Num(maxRel), runner.Compare(maxRel, float64(c.FitTol)), runner.Num(float64(c.FitTol)))
	var names []string
	for _, p := range res.paths {
		names = append(names, p.name)
	}
	last := len(names) - 1
	names[last] = "the " + names[last]
	rep.Figure("trajectories.png", fmt.Sprintf("Trajectories of the %s and %s, labelled with their launch speed and angle; the target is the point on the ground.",
		strings.Join(names[:last], ", "), names[last]))
	rep.Figure("loss.png", "Loss after each L-BFGS iteration.")
	rep.Figure("adjoint.png", "Norm of the adjoint λ(t) of the landing time t* (λ(0) = dt*/dy₀), solved back from the landing, at the initial guess and at the optimum.")

	rep.Heading("Event-time sensitivities at the initial guess")
	t := rep.Table("method", "dt\\*/dv (s²/m)", "dt\\*/da (s/rad)", "dx(t\\*)/dv (s)", "dx(t\\*)/da (m/rad)")
	g9 := func(v float64) string { return fmt.Sprintf("%.9g", v) }
	for _, m := range res.methods {
		t.Row(m.name, g9(m.sens[0].dv), g9(m.sens[0].da), g9(m.sens[1].dv), g9(m.sens[1].da))
	}
	t.Row("central differences", g9(res.fd[0].dv), g9(res.fd[0].da), g9(res.fd[1].dv), g9(res.fd[1].da))
	rep.Paraf("The largest relative difference from central differences (relative step %g) is %s, %s the tolerance %s. "+
		"Loss gradient at the start: adjoint (%.9g, %.9g), central differences (%.9g, %.9g), normwise relative difference %s.",
		c.FDStep, runner.Num(res.sensErr), runner.Compare(res.sensErr, float64(c.FDTol)), runner.Num(float64(c.FDTol)),
		res.lossG[0], res.lossG[1], res.lossFD[0], res.lossFD[1], runner.Num(res.lossErr))

	rep.Check("event-time and landing-distance gradients vs central differences (max rel., both methods)", res.sensErr, c.FDTol)
	rep.Check("loss gradient at the start vs central differences (normwise rel.)", res.lossErr, c.FDTol)
	rep.Check("recovered launch speed and angle (max rel error)", maxRel, c.FitTol)
}
