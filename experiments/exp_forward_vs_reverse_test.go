package main

import (
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestFwdRevSampledColumns checks that the sampled forward mode gives the
// first columns of JacobianFwd, bit for bit.
func TestFwdRevSampledColumns(t *testing.T) {
	p := newFwdRevProblem(&runner.LegacyRun{Seed: 1}, 30, 7, 1)
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
