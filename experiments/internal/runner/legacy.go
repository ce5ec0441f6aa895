package runner

import (
	"context"
	"fmt"
	"math/rand/v2"
)

// This file is a TEMPORARY BRIDGE. It keeps the experiments written for the
// first runner — one Run function that computes, plots and writes the report
// at once — working until each is split into Compute, Figures and Report
// (Spec). Delete the file once nothing calls RegisterLegacy; the list of
// experiments still using it is in experiments/doc.go.

// LegacySpec is an experiment of the first runner: Spec's fields, with one
// Run function in place of Compute, Figures and Report.
//
// It is part of the temporary bridge: write a Spec.
type LegacySpec[C any] struct {
	Name     string
	Theme    string
	Summary  string
	Defaults func() C
	Quick    func(c *C)
	Title    func(c C) string
	// Run computes, writes figures to r.Path(file) and fills r.Report.
	Run func(r *LegacyRun, c C) error
}

// RegisterLegacy registers an experiment of the first runner.
//
// It is part of the temporary bridge: use Register.
func RegisterLegacy[C any](s LegacySpec[C]) {
	if s.Run == nil {
		panic(fmt.Sprintf("runner: experiment %q has no Run function", s.Name))
	}
	e := newExperiment(s.Name, s.Theme, s.Summary, s.Defaults, s.Quick, s.Title)
	e.legacy = true
	e.run = func(env *Env, dir Dir, rep *Report, cfg any) error {
		r := &LegacyRun{Seed: env.Seed, Report: rep, env: env, dir: dir}
		return s.Run(r, *cfg.(*C))
	}
	add(e)
}

// LegacyRun is what a LegacySpec's Run function gets. A LegacyRun built by
// hand (&LegacyRun{Seed: 1, Report: &Report{}}) works too: Context is never
// cancelled, Progress and Logf print nothing and Path resolves against the
// current directory.
//
// It is part of the temporary bridge.
type LegacyRun struct {
	// Seed is the run's seed.
	Seed int64
	// Report is the report being built.
	Report *Report

	env *Env
	dir Dir
}

func (r *LegacyRun) e() *Env {
	if r.env == nil {
		r.env = &Env{Seed: r.Seed}
	}
	return r.env
}

// Context returns the run's context; see Env.Context.
func (r *LegacyRun) Context() context.Context { return r.e().Context() }

// Rand returns a new seeded random stream; see Env.Rand.
func (r *LegacyRun) Rand() *rand.Rand { return r.e().Rand() }

// Progress reports progress; see Env.Progress.
func (r *LegacyRun) Progress(done, total int, what string) { r.e().Progress(done, total, what) }

// StepProgress returns a progress callback for a library loop; see
// Env.StepProgress.
func (r *LegacyRun) StepProgress(what string) func(done, total int) error {
	return r.e().StepProgress(what)
}

// Logf prints a diagnostic line; see Env.Logf.
func (r *LegacyRun) Logf(format string, args ...any) { r.e().Logf(format, args...) }

// Path returns where to write a figure; see Dir.Path.
func (r *LegacyRun) Path(file string) string { return r.dir.Path(file) }
