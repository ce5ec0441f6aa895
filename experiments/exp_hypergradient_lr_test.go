package main

import (
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestHyperLRReportFollowsTheNumbers checks that the outcome sentence and
// the min_gain check follow the validation losses: a learnt schedule that
// made things worse is reported as such and fails.
func TestHyperLRReportFollowsTheNumbers(t *testing.T) {
	c := *runner.Defaults[hyperLRConfig]("hypergradient_lr", true)
	res := &hyperLRResult{
		v0: 0.04, v1: 0.01, bestLR: 0.2, bestVal: 0.02, bitEqual: true,
		train0: make([]float64, c.InnerSteps), train1: make([]float64, c.InnerSteps),
	}
	report := func() *runner.Report {
		var rep runner.Report
		hyperLRReport(&rep, c, res)
		return &rep
	}
	rep := report()
	if text := rep.Text(); !strings.Contains(text, "0.01, is smaller than the initial schedule's 0.04 (a factor 0.25)") ||
		!strings.Contains(text, "It is smaller than the 0.02 of the best constant rate") || !rep.Passed() {
		t.Errorf("a learnt schedule 4× better:\n%s\n%v", text, rep.Failed())
	}
	res.v1 = 0.05
	rep = report()
	if text := rep.Text(); !strings.Contains(text, "0.05, is larger than the initial schedule's 0.04") ||
		!strings.Contains(text, "It is larger than the 0.02") {
		t.Errorf("a learnt schedule that is worse:\n%s", text)
	}
	if f := rep.Failed(); len(f) != 1 || !strings.Contains(f[0], "validation MSE fell below 0.5") {
		t.Errorf("a learnt schedule that is worse should fail the min_gain check alone; failed: %v", f)
	}
}
