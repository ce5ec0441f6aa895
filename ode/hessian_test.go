package ode

import (
	"math"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
)

// cvsHessian is the system of CVODES's example cvsHessian_ASA_FSA:
// y1' = −p1 y1² − y3, y2' = −y2, y3' = −p2² y2 y3.
var cvsHessian = &Traced{N: 3, NP: 2, F: func(_, y, p *adjoint.Var) *adjoint.Var {
	e, q := adjoint.Elements(y), adjoint.Elements(p)
	return adjoint.Stack(
		adjoint.Sub(adjoint.Neg(adjoint.Mul(q[0], adjoint.Square(e[0]))), e[2]),
		adjoint.Neg(e[1]),
		adjoint.Neg(adjoint.Mul(adjoint.Mul(adjoint.Square(q[1]), e[1]), e[2])))
}}

// cvsHessianOp integrates G = ∫₀² ½‖y‖² dt.
func cvsHessianOp(m Sensitivity) *Op {
	return &Op{System: cvsHessian, T0: 0, T1: 2, Method: m,
		Integrand: func(_, y, _ *adjoint.Var) *adjoint.Var { return adjoint.Scale(adjoint.Sum(adjoint.Square(y)), 0.5) },
		Settings:  &Settings{RTol: 1e-10, ATol: 1e-12}}
}

// printedUnit returns one unit in the last of 5 significant digits of v.
func printedUnit(v float64) float64 {
	return math.Pow(10, math.Floor(math.Log10(math.Abs(v)))-4)
}

// TestCVODESHessian reproduces CVODES's cvsHessian_ASA_FSA: G, dG/dp and
// the Hessian d²G/dp² to the digits CVODES prints, the Hessian by
// forward-over-adjoint (CVODES's method) and by reverse over the adjoint,
// checked against forward-over-forward and central differences of the
// adjoint gradient.
func TestCVODESHessian(t *testing.T) {
	ref := readReference(t, "testdata/cvodes_hessian.txt")
	y0, p := adjoint.Vector(1, 1, 1), adjoint.Vector(1, 2)
	for _, m := range []Sensitivity{&Interpolating{}, &Discrete{}} {
		op := cvsHessianOp(m)
		G := func(xs ...*adjoint.Var) *adjoint.Var {
			_, q, err := op.SolveIntegral(adjoint.Const(y0), xs[0])
			if err != nil {
				t.Fatal(err)
			}
			return q
		}
		pv := adjoint.Param(p)
		g := G(pv)
		grad := adjoint.Grad(g, pv)[0].Data
		// Forward over adjoint: one Hessian-vector product per column.
		hfa := mat.NewDense(2, 2, nil)
		for j := range 2 {
			e := adjoint.New(2)
			e.Data[j] = 1
			hfa.SetCol(j, adjoint.HVPArgs(G, []*adjoint.Tensor{p}, []*adjoint.Tensor{e})[0].Data)
		}
		hra := adjoint.HessianArgs(nil, G, []*adjoint.Tensor{p})
		// Forward over forward: a tangent of the tangent, through the
		// tangent system of the tangent system.
		hff := mat.NewDense(2, 2, nil)
		for i := range 2 {
			ei := adjoint.New(2)
			ei.Data[i] = 1
			d := adjoint.Tangent(g, []*adjoint.Var{pv}, []*adjoint.Var{adjoint.Const(ei)}, true)
			for j := range 2 {
				ej := adjoint.New(2)
				ej.Data[j] = 1
				hff.Set(i, j, adjoint.Tangent(d, []*adjoint.Var{pv}, []*adjoint.Var{adjoint.Const(ej)}, false).Item())
			}
		}
		// Central differences of the adjoint gradient.
		hfd := mat.NewDense(2, 2, nil)
		fd.Jacobian(hfd, func(dst, x []float64) {
			xv := adjoint.Param(adjoint.Vector(x...))
			copy(dst, adjoint.Grad(G(xv), xv)[0].Data)
		}, p.Data, &fd.JacobianSettings{Formula: fd.Central, Step: 1e-4})
		if err := op.Err(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%v: G %.8e, dG/dp %.8e, H %.8e, forward-over-forward %.8e, finite differences %.8e",
			m, g.Item(), grad, mat.Formatted(hra, mat.FormatPython()), mat.Formatted(hff, mat.FormatPython()), mat.Formatted(hfd, mat.FormatPython()))

		// The published digits: half a unit in the last printed digit.
		check := func(what string, got, want []float64, units float64) {
			for i := range want {
				if d := math.Abs(got[i] - want[i]); d > units*printedUnit(want[i]) {
					t.Errorf("%v: %s[%d] = %.8e, CVODES prints %.4e", m, what, i, got[i], want[i])
				}
			}
		}
		check("G", []float64{g.Item()}, ref["G"], 0.5)
		check("dG/dp", grad, ref["dGdp_fwd"], 0.5)
		// CVODES's adjoint gradient differs from its forward one by one unit
		// in the last printed digit of dG/dp2 (1.8036e-02 against
		// 1.8037e-02): its adjoint at rtol 1e-8 is that far off.
		check("dG/dp (CVODES's adjoint)", grad, ref["dGdp_adj"], 1)
		check("H", mat.DenseCopyOf(hra).RawMatrix().Data, ref["H"], 0.5)
		check("H by forward over adjoint", hfa.RawMatrix().Data, ref["H"], 0.5)

		// The methods against each other.
		scale := mat.Norm(hra, math.Inf(1))
		if !mat.EqualApprox(hfa, hra, 1e-9*scale) {
			t.Errorf("%v: forward-over-adjoint and reverse-over-adjoint Hessians differ", m)
		}
		if !mat.EqualApprox(hff, hra, 1e-8*scale) {
			t.Errorf("%v: forward-over-forward Hessian differs: %v", m, mat.Formatted(hff))
		}
		if !mat.EqualApprox(hfd, hra, 1e-7*scale) {
			t.Errorf("%v: finite differences of the gradient differ: %v", m, mat.Formatted(hfd))
		}
	}
}

// TestCVODESHessianHandWritten: the same Hessian from the hand-written
// system and running cost (exact second derivatives supplied by hand, no
// automatic differentiation inside the solves), with an explicit and the
// stiff solver, agrees with the published digits and with the Traced
// system's Hessian.
func TestCVODESHessianHandWritten(t *testing.T) {
	ref := readReference(t, "testdata/cvodes_hessian.txt")
	y0, p := adjoint.Vector(1, 1, 1), adjoint.Vector(1, 2)
	hessian := func(op *Op) *mat.SymDense {
		h := adjoint.HessianArgs(nil, func(xs ...*adjoint.Var) *adjoint.Var {
			_, q, _ := op.SolveIntegral(adjoint.Const(y0), xs[0])
			return q
		}, []*adjoint.Tensor{p})
		if err := op.Err(); err != nil {
			t.Fatal(err)
		}
		return h
	}
	traced := hessian(cvsHessianOp(&Interpolating{}))
	for _, s := range []Solver{DP5, Rodas4} {
		op := &Op{System: cvsHessianHW{}, T0: 0, T1: 2, Integral: halfSquares, Solver: s,
			Settings: &Settings{RTol: 1e-10, ATol: 1e-12}}
		h := hessian(op)
		got := mat.DenseCopyOf(h).RawMatrix().Data
		for i, want := range ref["H"] {
			if d := math.Abs(got[i] - want); d > 0.5*printedUnit(want) {
				t.Errorf("%v: H[%d] = %.8e, CVODES prints %.4e", s, i, got[i], want)
			}
		}
		// Rodas4 at these tolerances is less accurate than DP5.
		if !mat.EqualApprox(h, traced, 1e-7*mat.Norm(traced, math.Inf(1))) {
			t.Errorf("%v: hand-written Hessian %v, Traced %v", s, mat.Formatted(h), mat.Formatted(traced))
		}
	}
}
