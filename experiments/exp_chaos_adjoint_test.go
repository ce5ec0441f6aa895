package main

import (
	"math"
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestChaosOneFit checks that the growth rate the report checks is the
// least-squares slope of log(T·|dJ/dρ|) over the windows T ≥ fit_from,
// recomputed here from the normal equations, and that the report's
// sentence and check follow it when it is spoilt.
func TestChaosOneFit(t *testing.T) {
	c := *runner.Defaults[chaosConfig]("chaos_adjoint", true)
	res, err := computeChaos(&runner.Env{Seed: 1}, c)
	if err != nil {
		t.Fatal(err)
	}
	var n, sx, sy, sxx, sxy float64
	for i, T := range c.Windows {
		if T >= c.FitFrom {
			y := res.meanLog[i] + math.Log(T)
			n, sx, sy, sxx, sxy = n+1, sx+T, sy+y, sxx+T*T, sxy+T*y
		}
	}
	if want := (n*sxy - sx*sy) / (n*sxx - sx*sx); math.Abs(res.rate-want) > 1e-12*math.Abs(want) {
		t.Errorf("fitted rate %v, normal equations %v", res.rate, want)
	}

	var rep runner.Report
	chaosReport(&rep, c, res)
	if !rep.Passed() || !strings.Contains(rep.Text(), "smaller than the tolerance 0.25") {
		t.Fatalf("the quick run should pass and say so:\n%s\n%v", rep.Text(), rep.Failed())
	}
	res.rate = 2 * c.Lyapunov
	rep = runner.Report{}
	chaosReport(&rep, c, res)
	if text := rep.Text(); !strings.Contains(text, "It grows at 1.812 per time unit") || !strings.Contains(text, "larger than the tolerance 0.25") {
		t.Errorf("a spoilt rate is not reported as such:\n%s", text)
	}
	if rep.Passed() {
		t.Error("a spoilt rate passes the checks")
	}
}
