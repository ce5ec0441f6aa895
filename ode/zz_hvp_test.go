package ode

import (
	"testing"
	"time"

	"github.com/adjointkit/adjointkit/adjoint"
)

func TestZZHVPCost(t *testing.T) {
	y0, p, v := adjoint.Vector(1, 1, 1), adjoint.Vector(1, 2), adjoint.Vector(0.6, -0.8)
	for _, m := range []Sensitivity{&Interpolating{}, &Discrete{}} {
		op := cvsHessianOp(m)
		G := func(xs ...*adjoint.Var) *adjoint.Var {
			_, q, _ := op.SolveIntegral(adjoint.Const(y0), xs[0])
			return q
		}
		st0 := op.Stats()
		start := time.Now()
		pv := adjoint.Param(p)
		adjoint.Grad(G(pv), pv)
		d1 := time.Since(start)
		st1 := op.Stats()
		start = time.Now()
		adjoint.HVPArgs(G, []*adjoint.Tensor{p}, []*adjoint.Tensor{v})
		d2 := time.Since(start)
		st2 := op.Stats()
		t.Logf("%v grad %v: %d solves fwd %v | bwd %v", m, d1, st1.Solves-st0.Solves, sub(st1.Forward, st0.Forward), sub(st1.Backward, st0.Backward))
		t.Logf("%v HVP %v: %d solves fwd %v | bwd %v", m, d2, st2.Solves-st1.Solves, sub(st2.Forward, st1.Forward), sub(st2.Backward, st1.Backward))
	}
}

func sub(a, b Stats) Stats {
	return Stats{Steps: a.Steps - b.Steps, Rejected: a.Rejected - b.Rejected, FEvals: a.FEvals - b.FEvals, VJPs: a.VJPs - b.VJPs, JVPs: a.JVPs - b.JVPs}
}
