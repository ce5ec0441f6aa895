package main

import (
	"math/rand/v2"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/nn"
)

// TestResidualNetsSameWeights checks that the two nets start from the same
// parameter values but do not share them, and that with the branch
// multiplier at zero the residual net is the identity on its hidden stack.
func TestResidualNetsSameWeights(t *testing.T) {
	c := *runner.Defaults[residualConfig]("residual", false)
	c.Depth, c.Width = 4, 5
	plain, res := residualNets(rand.New(rand.NewPCG(1, 2)), c, "tanh", 0.3)
	pv, rv := nn.ParamValues(plain.Params()), nn.ParamValues(res.Params())
	if len(pv) != len(rv) {
		t.Fatalf("%d vs %d parameters", len(pv), len(rv))
	}
	for i := range pv {
		if &pv[i].Data[0] == &rv[i].Data[0] {
			t.Errorf("parameter %d is shared", i)
		}
		if relErr(pv[i].Data, rv[i].Data) != 0 {
			t.Errorf("parameter %d differs", i)
		}
	}
	// α = 0: every block is the identity, so the output is the read-out of
	// the input layer's activation.
	_, res0 := residualNets(rand.New(rand.NewPCG(1, 2)), c, "tanh", 0)
	x := adjoint.Const(adjoint.FromData([]float64{0.3, -0.2, 0.9, 0.1}, 2, 2))
	layers := res0.Children()
	parts := res0.Split(nn.Vars(res0))
	h := layers[1].Apply(nil, layers[0].Apply(parts[0], x))
	want := layers[len(layers)-1].Apply(parts[len(layers)-1], h)
	if e := relErr(res0.Forward(x).Value().Data, want.Value().Data); e != 0 {
		t.Errorf("α = 0: residual net differs from the skip-only path by %g", e)
	}
}

func TestResidualValidate(t *testing.T) {
	c := *runner.Defaults[residualConfig]("residual", false)
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c.Activations = []string{"swish"}
	if err := c.Validate(); err == nil {
		t.Error("activation swish accepted")
	}
}
