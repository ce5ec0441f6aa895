package ode_test

import (
	"math"
	"testing"

	"github.com/adjointkit/adjointkit/ode"
)

// TestLotkaVolterraReference: every sensitivity method with every adaptive
// solver (and fixed-step RK4) agrees with the converged reference values,
// component by component, at CVODES's tolerances: to 1e-7 relative (the
// requirement is 1e-6; the reference file expects about 1e-7), and with
// CVODES's own output to its accuracy of about 3e-7.
func TestLotkaVolterraReference(t *testing.T) {
	ref := lvReference(t)
	conv, cv := ref["converged"], ref["cvodes"]
	type solverCase struct {
		s   ode.Solver
		set *ode.Settings
	}
	tight := &ode.Settings{RTol: 1e-10, ATol: 1e-14}
	solvers := []solverCase{
		{ode.BS3, tight}, {ode.DP5, tight}, {ode.Tsit5, tight}, {ode.Rodas4, tight},
		{ode.RK4, &ode.Settings{Step: 0.002}},
	}
	methods := []func() ode.Sensitivity{
		func() ode.Sensitivity { return &ode.Forward{} },
		func() ode.Sensitivity { return &ode.Backsolve{} },
		func() ode.Sensitivity { return &ode.Interpolating{} },
		func() ode.Sensitivity { return &ode.Discrete{} },
	}
	for _, sc := range solvers {
		for _, mk := range methods {
			m := mk()
			res, err := ode.Gradient(lvProblem(lv), lvCost, sc.s, m, sc.set)
			if err != nil {
				t.Errorf("%v, %v: %v", sc.s, m, err)
				continue
			}
			eu := ode.ElemRel(res.YT, conv["u"])
			ey := ode.ElemRel(res.DY0, conv["dgdu0"])
			ep := ode.ElemRel(res.DP, conv["dgdp"])
			ec := math.Max(ode.ElemRel(res.DY0, cv["dgdu0"]), ode.ElemRel(res.DP, cv["dgdp"]))
			t.Logf("%-6v %-22v rel err vs converged: u %.1e  dg/du0 %.1e  dg/dp %.1e  (vs CVODES %.1e)", sc.s, m, eu, ey, ep, ec)
			if eu > 1e-7 || ey > 1e-7 || ep > 1e-7 {
				t.Errorf("%v, %v: relative errors u %g, dg/du0 %g, dg/dp %g exceed 1e-7", sc.s, m, eu, ey, ep)
			}
			if ec > 2e-6 {
				t.Errorf("%v, %v: relative error %g against CVODES's output", sc.s, m, ec)
			}
		}
	}
	// The same through the automatic-differentiation adapter, and through
	// finite-difference fallbacks for a System with Eval only.
	for _, sys := range []ode.System{tracedLV, bareLV{}} {
		res, err := ode.Gradient(lvProblem(sys), lvCost, ode.DP5, &ode.Interpolating{}, tight)
		if err != nil {
			t.Fatal(err)
		}
		e := math.Max(ode.ElemRel(res.DY0, conv["dgdu0"]), ode.ElemRel(res.DP, conv["dgdp"]))
		t.Logf("DP5    interpolating, %T: rel err %.1e", sys, e)
		if e > 1e-7 {
			t.Errorf("%T: relative error %g", sys, e)
		}
	}
}
