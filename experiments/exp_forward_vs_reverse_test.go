package main

import (
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestFwdRevSampledColumns checks that the sampled forward mode gives the
// first columns of JacobianFwd, bit for bit.
func TestFwdRevSampledColumns(t *testing.T) {
	p := newFwdRevProblem(rand.New(rand.NewPCG(1, 2)), 30, 7, 1)
	full := adjoint.JacobianFwd(nil, p.f, p.x)
	part := p.sampledFwd(9)
	if !mat.Equal(part, full.Slice(0, 7, 0, 9)) {
		t.Errorf("sampled forward columns differ from JacobianFwd:\n%v\n%v", mat.Formatted(part), mat.Formatted(full.Slice(0, 7, 0, 9)))
	}
}

// TestFwdRevValidate checks that bad sizes are rejected.
func TestFwdRevValidate(t *testing.T) {
	c := *runner.Defaults[fwdRevConfig]("forward_vs_reverse", false)
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
	for _, bad := range []func(*fwdRevConfig){
		func(c *fwdRevConfig) { c.Dims = nil },
		func(c *fwdRevConfig) { c.Dims = []int{0} },
		func(c *fwdRevConfig) { c.Outputs = []int{5000} },
		func(c *fwdRevConfig) { c.MinTime = -1 },
	} {
		b := c
		bad(&b)
		if b.Validate() == nil {
			t.Errorf("accepted %+v", b)
		}
	}
}

// TestFwdRevReportFollowsTimes builds a result whose times grow like d²
// (forward) and d (reverse), reports it, and checks that the fitted slopes
// and the crossover quoted come from those times, that the pass counts are
// worded right, and that no measured number reaches the body.
func TestFwdRevReportFollowsTimes(t *testing.T) {
	c := *runner.Defaults[fwdRevConfig]("forward_vs_reverse", false)
	res := &fwdRevResult{dims: []int{1, 10, 100, 1000}, ks: []int{1, 10}}
	for _, k := range res.ks {
		var row []fwdRevCell
		for _, d := range res.dims {
			fd, kd := float64(d), float64(k)
			row = append(row, fwdRevCell{d: d, k: k, fwdPasses: d, fwd: 1e-6 * kd * fd * fd, rev: 0.5e-6 * kd * kd * fd, eval: 1e-7 * kd * fd})
		}
		res.cells = append(res.cells, row)
	}
	var rep runner.Report
	fwdRevReport(&rep, c, res)
	md := rep.Text() + strings.Join(rep.TimingNotes(), "\n")
	for _, want := range []string{
		"forward mode 2.00 (pass counts predict 2), reverse mode 1.00 (predicted 1), one evaluation of f 1.00",
		"at k = 1 reverse mode was faster at every d",
		"at k = 10 forward mode was faster at d = 1 and reverse mode at the other sizes",
		"1 pass of cost",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(rep.Text(), "2.00") || strings.Contains(rep.Text(), "1 passes") {
		t.Errorf("the body quotes a measured slope or says \"1 passes\":\n%s", rep.Text())
	}
}
