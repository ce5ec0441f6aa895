package main

import (
	"math"
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestShadowEstimate checks the confidence interval against Student's t
// quantile from tables: t(0.975, 3) = 3.182446.
func TestShadowEstimate(t *testing.T) {
	e := newShadowEstimate([]float64{1, 2, 3, 6}, 0.95)
	sd := math.Sqrt((4 + 1 + 0 + 9) / 3.0) // mean 3
	if want := 3.182446 * sd / 2; e.mean != 3 || math.Abs(e.hw-want) > 1e-6 {
		t.Errorf("mean %v ± %v, want 3 ± %v", e.mean, e.hw, want)
	}
}

// TestShadowReferenceFixedPoint checks the reference on a case with a known
// answer: below ρ ≈ 24.06 the attractor of Lorenz-63 is a fixed point with
// z = ρ − 1, so the slope of ⟨z⟩ is exactly one and the pairs agree.
func TestShadowReferenceFixedPoint(t *testing.T) {
	c := *runner.Defaults[shadowConfig]("shadowing_lorenz", true)
	c.RefPairs, c.RefWindow, c.RefSpinUp, c.RefRTol = 4, 20, 200, 1e-10
	env := &runner.Env{Seed: 1}
	ref, err := shadowReference(env, c, 12, env.Rand())
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(ref.slope.mean-1) > 1e-6 || ref.slope.hw > 1e-6 || math.Abs(ref.zPlus.mean-(12+c.RefDRho-1)) > 1e-6 {
		t.Errorf("slope %v ± %v, ⟨z⟩ at ρ + Δ %v: want 1, 0 and %v", ref.slope.mean, ref.slope.hw, ref.zPlus.mean, 12+c.RefDRho-1)
	}
}

// TestShadowConfig checks that bad values are rejected (the registry test
// checks the defaults and their quick shrink).
func TestShadowConfig(t *testing.T) {
	for name, bad := range map[string]func(*shadowConfig){
		"rhos not increasing": func(c *shadowConfig) { c.Rhos = []float64{30, 28} },
		"no windows":          func(c *shadowConfig) { c.Windows = nil },
		"adjoint window":      func(c *shadowConfig) { c.AdjWindows = []float64{1, 100} },
		"two trajectories":    func(c *shadowConfig) { c.Trajectories = 2 },
		"confidence":          func(c *shadowConfig) { c.Confidence = 1 },
		"unstable":            func(c *shadowConfig) { c.Unstable = 0 },
	} {
		c := *runner.Defaults[shadowConfig]("shadowing_lorenz", false)
		bad(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestShadowReportFollowsTheNumbers builds results by hand and checks that
// the report's verdicts follow them.
func TestShadowReportFollowsTheNumbers(t *testing.T) {
	c := *runner.Defaults[shadowConfig]("shadowing_lorenz", false)
	est := func(m, hw float64) shadowEstimate { return shadowEstimate{values: []float64{m}, mean: m, hw: hw} }
	run := func(m, hw float64) *shadowRun {
		return &shadowRun{est: est(m, hw), average: 23.5, lyapunov: 0.9, work: 1e4}
	}
	build := func(lss, nilss float64) *shadowResult {
		res := &shadowResult{
			sweep: []shadowRho{{rho: 28, lss: run(lss, 0.003), nilss: run(nilss, 0.003),
				ref: shadowRef{slope: est(1, 0.008), zMinus: est(21.5, 0.01), zPlus: est(25.5, 0.01)}}},
			adj:       []shadowAdjRun{{T: 1, geo: 0.6, lo: 0.1, hi: 1, work: 2e3}, {T: 20, geo: 4e5, lo: 1e4, hi: 1e6, work: 4e4}},
			fdAdj:     0.88,
			fdRho:     0.88,
			formGrads: [2][]float64{{1}, {1}},
		}
		for _, T := range []float64{25, 50} {
			res.windows = append(res.windows, shadowWindowRun{T: T, lss: run(lss, 0.01*25/T), nilss: run(nilss, 0.01*25/T)})
		}
		res.windows[1].lss.work, res.windows[1].nilss.work = 2e4, 2e4
		return res
	}
	report := func(res *shadowResult) (string, *runner.Report) {
		var rep runner.Report
		shadowReport(&rep, c, res)
		return rep.Text(), &rep
	}
	text, rep := report(build(1.005, 1.004))
	if !strings.Contains(text, "Both shadowing estimates lie inside") || !rep.Passed() {
		t.Errorf("estimates inside the intervals: %v\n%s", rep.Failed(), text)
	}
	text, rep = report(build(1.02, 1.018))
	if !strings.Contains(text, "lie outside the reference's confidence interval") || !rep.Passed() {
		t.Errorf("a 2%% systematic difference is reported as such and allowed: %v\n%s", rep.Failed(), text)
	}
	text, rep = report(build(1.15, 1.02))
	if !strings.Contains(text, "not within 0.1") || rep.Passed() {
		t.Errorf("a 15%% difference must fail: %v\n%s", rep.Failed(), text)
	}
}
