package main

import (
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/adjointkit/adjointkit/adjoint"
)

// TestFwdRevSampledColumns checks that the sampled forward mode gives the
// first columns of JacobianFwd, bit for bit.
func TestFwdRevSampledColumns(t *testing.T) {
	p := newFwdRevProblem(&Run{Seed: 1}, 30, 7, 1)
	full := adjoint.JacobianFwd(nil, p.f, p.x)
	part := p.sampledFwd(9)
	if !mat.Equal(part, full.Slice(0, 7, 0, 9)) {
		t.Errorf("sampled forward columns differ from JacobianFwd:\n%v\n%v", mat.Formatted(part), mat.Formatted(full.Slice(0, 7, 0, 9)))
	}
}

// TestFwdRevQuick checks that -quick keeps only small input sizes and
// never enlarges anything.
func TestFwdRevQuick(t *testing.T) {
	e := registry["forward_vs_reverse"]
	c := e.defaults().(*fwdRevConfig)
	def := *e.defaults().(*fwdRevConfig)
	e.quick(c)
	if slices.Max(c.Dims) > 1000 || c.SamplePasses > def.SamplePasses || c.MinTime > def.MinTime || c.MaxReps > def.MaxReps {
		t.Errorf("quick config %+v is not a shrink of %+v", *c, def)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("quick config rejected: %v", err)
	}
	big := fwdRevConfig{Dims: []int{5000}}
	e.quick(&big)
	if !slices.Equal(big.Dims, []int{5000}) {
		t.Errorf("quick emptied dims = [5000]: got %v", big.Dims)
	}
}

// TestFwdRevValidate checks that bad sizes are rejected.
func TestFwdRevValidate(t *testing.T) {
	c := *registry["forward_vs_reverse"].defaults().(*fwdRevConfig)
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
