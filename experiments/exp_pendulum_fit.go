package main

import (
	"errors"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/physics"
)

// This file registers the pendulum_fit experiment: the length and damping
// of a damped, driven pendulum from a noisy observed angle trajectory.

// pendulumFitConfig is the [params] table of pendulum_fit.
type pendulumFitConfig struct {
	// Length and Damping are the true length (m) and damping rate (1/s).
	Length  float64 `toml:"length"`
	Damping float64 `toml:"damping"`
	// Amplitude (rad/s², 0 to 100) and Frequency (rad/s, 0 to 100) of the
	// drive A cos(Ωt), known. A negative A or Ω adds nothing: it is a
	// phase shift (or no change at all) of a positive one.
	Amplitude float64 `toml:"amplitude"`
	Frequency float64 `toml:"frequency"`
	// InitialLength and InitialDamping are the initial guess.
	InitialLength  float64 `toml:"initial_length"`
	InitialDamping float64 `toml:"initial_damping"`
	// Theta0 is the initial angle in rad (released at rest).
	Theta0 float64 `toml:"theta0"`
	// T1 is the observation window in s.
	T1 float64 `toml:"t1"`
	// Observations is the number of angle observations in (0, t1].
	Observations int `toml:"observations"`
	// Noise is the standard deviation of the angle noise in rad.
	Noise float64 `toml:"noise"`
	// RTol is the ODE tolerance (relative and absolute).
	RTol float64 `toml:"rtol"`
	// MaxIterations bounds each L-BFGS run, 1 to 100000.
	MaxIterations int `toml:"max_iterations"`
	// FDStep, FDTol and FitTol: see lotka_volterra_fit.
	FDStep float64    `toml:"fd_step"`
	FDTol  runner.Tol `toml:"fd_tol"`
	FitTol runner.Tol `toml:"fit_tol"`
}

// Validate checks the keys.
func (c pendulumFitConfig) Validate() error {
	return errors.Join(
		runner.InRange("length", c.Length, 0.01, 100.0),
		runner.InRange("damping", c.Damping, 0.0, 100.0),
		runner.InRange("amplitude", c.Amplitude, 0.0, 100.0),
		runner.InRange("frequency", c.Frequency, 0.0, 100.0),
		runner.InRange("initial_length", c.InitialLength, 0.01, 100.0),
		runner.InRange("initial_damping", c.InitialDamping, 0.0, 100.0),
		runner.InRange("theta0", c.Theta0, -3.2, 3.2),
		runner.InRange("t1", c.T1, 0.1, 1000.0),
		runner.InRange("observations", c.Observations, 2, 10000),
		runner.InRange("noise", c.Noise, 0.0, 10.0),
		runner.InRange("rtol", c.RTol, 1e-14, 1e-3),
		runner.InRange("max_iterations", c.MaxIterations, 1, 100000),
		runner.InRange("fd_step", c.FDStep, 1e-10, 1e-2),
		runner.InRange("fd_tol", c.FDTol, 0.0, 1.0),
		runner.InRange("fit_tol", c.FitTol, 0.0, 1.0),
	)
}

func init() {
	physRegisterTrajFit(runner.Spec[pendulumFitConfig, physTrajFitResult]{
		Name:    "pendulum_fit",
		Theme:   "physics",
		Summary: "Damped driven pendulum: length and damping from a noisy angle trajectory, L-BFGS on adjoint gradients.",
		Defaults: func() pendulumFitConfig {
			return pendulumFitConfig{
				Length: 1.2, Damping: 0.25, Amplitude: 0.6, Frequency: 1.4,
				InitialLength: 0.9, InitialDamping: 0.1, Theta0: 1, T1: 15, Observations: 60, Noise: 0.05,
				RTol: 1e-10, MaxIterations: 500, FDStep: 1e-6, FDTol: 1e-5, FitTol: 1e-5,
			}
		},
		Headline: "noisy: max rel error",
		Quick: func(c *pendulumFitConfig) {
			c.T1 = min(c.T1, 6)
			c.Observations = min(c.Observations, 24)
		},
	}, pendulumFitConfig.spec)
}

// spec is the trajectory fit the configuration describes: the length and
// damping of physics.Pendulum from its angle, the drive known.
func (c pendulumFitConfig) spec() physTrajFitSpec {
	return physTrajFitSpec{
		Model: &physics.Pendulum{}, Y0: []float64{c.Theta0, 0},
		Truth:      []float64{c.Length, c.Damping, c.Amplitude, c.Frequency},
		Initial:    []float64{c.InitialLength, c.InitialDamping},
		Params:     []int{physics.PendulumLength, physics.PendulumDamping},
		ParamNames: []string{"length L (m)", "damping c (1/s)"},
		Observe:    []int{0},
		StateNames: []string{"angle θ (rad)", "angular velocity ω (rad/s)"},
		T1:         c.T1, Times: physLinspace(c.T1/float64(c.Observations), c.T1, c.Observations),
		Noise: c.Noise, RTol: c.RTol, FDStep: c.FDStep, FDTol: c.FDTol, FitTol: c.FitTol, MaxIterations: c.MaxIterations,
	}
}
