package ode_test

import (
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/ode"
	"github.com/adjointkit/adjointkit/physics"
)

// The models the external tests run on come from package physics, which
// imports ode: so these tests are in package ode_test, not in ode itself
// (where physics cannot be imported), and the models are not copied here.

// lv is the Lotka–Volterra system of SUNDIALS CVODES's example
// cvsLotkaVolterra_ASA, x' = p0 x − p1 x y, y' = −p2 y + p3 x y: physics'
// model in CVODES's parameter order, with hand-written derivatives.
var lv = physics.LotkaVolterra{Order: physics.AlphaBetaGammaDelta}

var (
	lvP  = []float64{1.5, 1, 3, 1}
	lvY0 = []float64{1, 1}
)

// tracedLV is lv written with adjoint ops: the subject of the tests of
// ode.Traced, whose derivatives by automatic differentiation are checked
// against lv's hand-written ones.
var tracedLV = &ode.Traced{N: 2, NP: 4, F: func(_, u, p *adjoint.Var) *adjoint.Var {
	x, y := adjoint.Slice(u, 0, 0, 1), adjoint.Slice(u, 0, 1, 2)
	p0, p1 := adjoint.Slice(p, 0, 0, 1), adjoint.Slice(p, 0, 1, 2)
	p2, p3 := adjoint.Slice(p, 0, 2, 3), adjoint.Slice(p, 0, 3, 4)
	xy := adjoint.Mul(x, y)
	return adjoint.Concat(0,
		adjoint.Sub(adjoint.Mul(p0, x), adjoint.Mul(p1, xy)),
		adjoint.Add(adjoint.Neg(adjoint.Mul(p2, y)), adjoint.Mul(p3, xy)))
}}

// bareLV has only Eval: every derivative falls back to finite differences.
type bareLV struct{}

func (bareLV) Dims() (int, int)                              { return 2, 4 }
func (bareLV) Eval(dst []float64, t float64, u, p []float64) { lv.Eval(dst, t, u, p) }

// robertson is the stiff chemical kinetics of CVODES's example
// cvsRoberts_ASAi_dns, y1' = −p1 y1 + p2 y2 y3, y2' = p1 y1 − p2 y2 y3 −
// p3 y2², y3' = p3 y2²: physics' model, with hand-written derivatives.
var robertson = physics.Robertson{}

var (
	robP    = []float64{0.04, 1e4, 3e7}
	robY0   = []float64{1, 0, 0}
	robATol = []float64{1e-8, 1e-14, 1e-6}
)

// robIntegral is G = ∫ y3 dt.
var robIntegral = &ode.Integral{
	G:    func(_ float64, y, _ []float64) float64 { return y[2] },
	Grad: func(gy, _ []float64, _ float64, _, _ []float64) { gy[2] += 1 },
}

// lvReference reads testdata/cvodes_lotka_volterra.txt, the reference values
// of CVODES's cvsLotkaVolterra_ASA example: map[source][quantity].
func lvReference(t testing.TB) map[string]map[string][]float64 {
	t.Helper()
	ref := map[string]map[string][]float64{}
	for key, v := range ode.ReadReference(t, "testdata/cvodes_lotka_volterra.txt") {
		source, quantity, _ := strings.Cut(key, " ")
		if ref[source] == nil {
			ref[source] = map[string][]float64{}
		}
		ref[source][quantity] = v
	}
	return ref
}

func lvProblem(sys ode.System) ode.Problem {
	return ode.Problem{System: sys, T0: 0, T1: 10, Y0: lvY0, P: lvP}
}

var lvCost = ode.Cost{Terminal: ode.SquaredError([]float64{1, 1})}
