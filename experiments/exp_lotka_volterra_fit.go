package main

import (
	"errors"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/physics"
)

// This file registers the lotka_volterra_fit experiment: the four rates of
// the Lotka–Volterra model from noisy observations of both populations at 20
// times, by L-BFGS on adjoint gradients.

// lvFitConfig is the [params] table of lotka_volterra_fit.
type lvFitConfig struct {
	// Truth holds the true rates α, β, δ, γ.
	Truth []float64 `toml:"truth"`
	// Initial holds the initial guess of the rates.
	Initial []float64 `toml:"initial"`
	// Y0 is the initial state (prey, predator).
	Y0 []float64 `toml:"y0"`
	// T1 is the end of the observation window.
	T1 float64 `toml:"t1"`
	// Observations is the number of observation times, evenly spaced in
	// (0, t1].
	Observations int `toml:"observations"`
	// Noise is the standard deviation of the additive Gaussian noise.
	Noise float64 `toml:"noise"`
	// RTol is the ODE tolerance (relative and absolute).
	RTol float64 `toml:"rtol"`
	// MaxIterations bounds each L-BFGS run, 1 to 100000.
	MaxIterations int `toml:"max_iterations"`
	// FDStep is the relative central-difference step of the check.
	FDStep float64 `toml:"fd_step"`
	// FDTol is the tolerance of the gradient check.
	FDTol runner.Tol `toml:"fd_tol"`
	// FitTol is the tolerance of the noise-free recovery (max rel error).
	FitTol runner.Tol `toml:"fit_tol"`
}

// Validate checks the keys.
func (c lvFitConfig) Validate() error {
	errs := []error{
		runner.InRange("t1", c.T1, 0.1, 1000.0),
		runner.InRange("observations", c.Observations, 2, 10000),
		runner.InRange("noise", c.Noise, 0.0, 10.0),
		runner.InRange("rtol", c.RTol, 1e-14, 1e-3),
		runner.InRange("max_iterations", c.MaxIterations, 1, 100000),
		runner.InRange("fd_step", c.FDStep, 1e-10, 1e-2),
		runner.InRange("fd_tol", c.FDTol, 0.0, 1.0),
		runner.InRange("fit_tol", c.FitTol, 0.0, 1.0),
	}
	for _, kv := range []struct {
		key string
		v   []float64
		n   int
	}{{"truth", c.Truth, 4}, {"initial", c.Initial, 4}, {"y0", c.Y0, 2}} {
		if len(kv.v) != kv.n {
			errs = append(errs, runner.ParamErrorf(kv.key, "must have %d values, got %d", kv.n, len(kv.v)))
			continue
		}
		for _, v := range kv.v {
			if !(v > 0) {
				errs = append(errs, runner.ParamErrorf(kv.key, "values must be positive, got %v", kv.v))
				break
			}
		}
	}
	return errors.Join(errs...)
}

func init() {
	physRegisterTrajFit(runner.Spec[lvFitConfig, physTrajFitResult]{
		Name:    "lotka_volterra_fit",
		Theme:   "physics",
		Summary: "Lotka–Volterra rates α, β, δ, γ from noisy observations at 20 times: L-BFGS on adjoint gradients.",
		Defaults: func() lvFitConfig {
			return lvFitConfig{
				Truth: []float64{1.5, 1, 3, 1}, Initial: []float64{1.2, 0.8, 2.5, 1.3}, Y0: []float64{1, 1},
				T1: 10, Observations: 20, Noise: 0.1, RTol: 1e-10, MaxIterations: 500, FDStep: 1e-6, FDTol: 1e-5, FitTol: 1e-5,
			}
		},
		Headline: "noisy: max rel error",
	}, lvFitConfig.spec)
}

// spec is the trajectory fit the configuration describes: all four rates
// of physics.LotkaVolterra (in its default order α, β, δ, γ) from both
// populations.
func (c lvFitConfig) spec() physTrajFitSpec {
	return physTrajFitSpec{
		Model: physics.LotkaVolterra{Order: physics.AlphaBetaDeltaGamma}, Y0: c.Y0, Truth: c.Truth, Initial: c.Initial,
		Params:     []int{0, 1, 2, 3},
		ParamNames: []string{"α (prey growth)", "β (predation)", "δ (predator growth)", "γ (predator death)"},
		Observe:    []int{0, 1},
		StateNames: []string{"prey x", "predator y"},
		T1:         c.T1, Times: physLinspace(c.T1/float64(c.Observations), c.T1, c.Observations),
		Noise: c.Noise, RTol: c.RTol, FDStep: c.FDStep, FDTol: c.FDTol, FitTol: c.FitTol, MaxIterations: c.MaxIterations,
	}
}
