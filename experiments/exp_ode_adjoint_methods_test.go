package main

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/ode"
)

// TestODEAdjConvergedReference recomputes the converged Lotka–Volterra
// reference the experiment quotes, independently of its adjoint methods:
// fixed-step RK4 with forward sensitivities at 20000 and 40000 steps.
func TestODEAdjConvergedReference(t *testing.T) {
	prob, cost := odeAdjLVProblem()
	want := append(append(slices.Clone(odeAdjLVConvU), odeAdjLVConvDU0...), odeAdjLVConvDP...)
	for _, steps := range []int{20000, 40000} {
		g, err := ode.Gradient(prob, cost, ode.RK4, &ode.Forward{}, &ode.Settings{Step: 10 / float64(steps)})
		if err != nil {
			t.Fatal(err)
		}
		got := append(append(slices.Clone(g.YT), g.DY0...), g.DP...)
		if e := odeAdjElemRel(got, want); e > 1e-10 {
			t.Errorf("%d RK4 steps: component-wise relative error %.3g against the quoted reference, want ≤ 1e-10", steps, e)
		}
	}
}

// TestODEAdjElemRel checks the component-wise relative error.
func TestODEAdjElemRel(t *testing.T) {
	if got := odeAdjElemRel([]float64{1.1, -2}, []float64{1, -2.5}); math.Abs(got-0.2) > 1e-15 {
		t.Errorf("odeAdjElemRel = %v, want 0.2", got)
	}
}

// TestODEAdjConfig checks that bad values are rejected (the registry test
// checks that the defaults and their quick shrink are accepted).
func TestODEAdjConfig(t *testing.T) {
	for _, bad := range []func(*odeAdjConfig){
		func(c *odeAdjConfig) { c.LVSolvers = nil },
		func(c *odeAdjConfig) { c.LVSolvers = []string{"RK4"} },
		func(c *odeAdjConfig) { c.RobATol = []float64{1e-8} },
		func(c *odeAdjConfig) { c.RobTimes = []float64{-1} },
		func(c *odeAdjConfig) { c.RobTimes = nil },
		func(c *odeAdjConfig) { c.CheckpointEvery = 0 },
	} {
		b := *runner.Defaults[odeAdjConfig]("ode_adjoint_methods", false)
		bad(&b)
		if b.Validate() == nil {
			t.Errorf("accepted %+v", b)
		}
	}
}

// TestODEAdjReportFollowsTheNumbers checks that the report's outcome
// sentences come from the result: a result where a method misses the
// converged reference by more than the tolerance says so.
func TestODEAdjReportFollowsTheNumbers(t *testing.T) {
	c := *runner.Defaults[odeAdjConfig]("ode_adjoint_methods", true)
	res, err := computeODEAdjointMethods(&runner.Env{Seed: 1}, c)
	if err != nil {
		t.Fatal(err)
	}
	var rep runner.Report
	odeAdjReport(&rep, c, res)
	if !strings.Contains(rep.Text(), "smaller than the tolerance") || !rep.Passed() {
		t.Fatalf("the quick run should pass and say so:\n%s\n%v", rep.Text(), rep.Failed())
	}
	// Spoil one gradient: the sentence and the checks must follow.
	res.lv[0].outcomes[2].res.DP[0] *= 1.01
	rep = runner.Report{}
	odeAdjReport(&rep, c, res)
	if text := rep.Text(); !strings.Contains(text, "is the interpolating adjoint's 0.01: larger than the tolerance") {
		t.Errorf("a spoilt gradient is not reported as such:\n%s", text)
	}
	if rep.Passed() {
		t.Error("a spoilt gradient passes the checks")
	}
}
