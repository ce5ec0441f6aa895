package metalearn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/metalearn"
	"github.com/adjointkit/adjointkit/nn"
)

// metalearn.Adam and nn.Adam (with decoupled decay) are one rule with two
// denominators, √(v̂+ε²) and √v̂+ε: on gradients far above ε their steps
// agree to about ε relative, and with a large ε they visibly differ, by
// the amount the two denominators predict.
func TestAdamMatchesNNAdam(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const steps, lr = 6, 0.05
	grads := make([][]float64, steps)
	for k := range grads {
		// One sign throughout, so that every step moves each element the
		// same way and the step sizes compare.
		grads[k] = []float64{1 + rng.Float64(), -1 - rng.Float64(), 3 * rng.Float64(), -0.2 * rng.Float64()}
	}
	start := []float64{0.5, -1, 2, 0.1}
	run := func(eps, decay float64) (ours, theirs []float64) {
		p := adjoint.FromData(append([]float64(nil), start...), 4)
		o := nn.NewAdamW(lr, decay)
		o.Eps = eps
		h := metalearn.Hyper{LR: adjoint.ConstScalar(lr), WeightDecay: adjoint.ConstScalar(decay)}
		a := metalearn.Adam{Eps: eps}
		ps := []*adjoint.Var{adjoint.Const(adjoint.FromData(append([]float64(nil), start...), 4))}
		state := []*adjoint.Var{adjoint.Const(adjoint.New(4)), adjoint.Const(adjoint.New(4))}
		for k := range steps {
			g := adjoint.FromData(grads[k], 4)
			o.Step([]*adjoint.Tensor{p}, []*adjoint.Tensor{g})
			ps, state = a.Update(k, h, ps, []*adjoint.Var{adjoint.Const(g)}, state)
		}
		return ps[0].Value().Data, p.Data
	}
	ours, theirs := run(0, 0.1) // the default ε = 1e-8
	for i := range ours {
		moved := math.Abs(theirs[i] - start[i])
		if d := math.Abs(ours[i] - theirs[i]); d > 1e-7*moved {
			t.Errorf("element %d: metalearn %v, nn %v (moved %v)", i, ours[i], theirs[i], moved)
		}
	}
	// With ε = 0.5 the denominators differ visibly, and metalearn's steps
	// are the larger since √(v̂+ε²) < √v̂+ε.
	ours, theirs = run(0.5, 0)
	for i := range ours {
		if math.Abs(ours[i]-start[i]) <= math.Abs(theirs[i]-start[i]) {
			t.Errorf("ε = 0.5, element %d: metalearn moved %v, nn %v; want metalearn's step larger", i, ours[i]-start[i], theirs[i]-start[i])
		}
	}
}
