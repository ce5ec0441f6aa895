package ode_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/adjointkit/adjointkit/ode"
	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
)

// TestTracedMatchesHandWritten checks every capability Traced derives by
// automatic differentiation against the hand-written Lotka–Volterra
// derivatives.
func TestTracedMatchesHandWritten(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	hw := lv
	for trial := range 5 {
		y, p := ode.RandVec(r, 2), ode.RandVec(r, 4)
		tt := r.Float64()
		want, got := make([]float64, 2), make([]float64, 2)
		hw.Eval(want, tt, y, p)
		tracedLV.Eval(got, tt, y, p)
		if e := ode.RelErr(got, want); e > 1e-15 {
			t.Errorf("trial %d: Eval rel err %g", trial, e)
		}
		v := ode.RandVec(r, 2)
		yb, pb := make([]float64, 2), make([]float64, 4)
		yb2, pb2 := make([]float64, 2), make([]float64, 4)
		hw.VJP(yb, pb, tt, y, p, v)
		tracedLV.VJP(yb2, pb2, tt, y, p, v)
		if e := math.Max(ode.RelErr(yb2, yb), ode.RelErr(pb2, pb)); e > 1e-14 {
			t.Errorf("trial %d: VJP rel err %g", trial, e)
		}
		yd, pd := ode.RandVec(r, 2), ode.RandVec(r, 4)
		hw.JVP(want, tt, y, p, yd, pd)
		tracedLV.JVP(got, tt, y, p, yd, pd)
		if e := ode.RelErr(got, want); e > 1e-14 {
			t.Errorf("trial %d: JVP rel err %g", trial, e)
		}
		j1, j2 := mat.NewDense(2, 2, nil), mat.NewDense(2, 2, nil)
		hw.Jacobian(j1, tt, y, p)
		tracedLV.Jacobian(j2, tt, y, p)
		if !mat.EqualApprox(j1, j2, 1e-14) {
			t.Errorf("trial %d: Jacobian\n%v\nwant\n%v", trial, mat.Formatted(j2), mat.Formatted(j1))
		}
		pj1, pj2 := mat.NewDense(2, 4, nil), mat.NewDense(2, 4, nil)
		hw.ParamJacobian(pj1, tt, y, p)
		tracedLV.ParamJacobian(pj2, tt, y, p)
		if !mat.EqualApprox(pj1, pj2, 1e-14) {
			t.Errorf("trial %d: ParamJacobian mismatch", trial)
		}
		tracedLV.TimeDeriv(got, tt, y, p)
		if got[0] != 0 || got[1] != 0 {
			t.Errorf("trial %d: ∂f/∂t = %v for an autonomous system", trial, got)
		}
	}
}

// TestSecondOrder checks Traced's exact second derivatives against central
// differences of its first derivatives, and the finite-difference fallback
// of sysOps against the exact ones.
func TestSecondOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	y, p := ode.RandVec(r, 2), ode.RandVec(r, 4)
	w, u := ode.RandVec(r, 2), ode.RandVec(r, 2)
	ybar, pbar := make([]float64, 2), make([]float64, 4)
	tracedLV.VJPTangent(ybar, pbar, 0, y, p, w, 0, u, nil)
	// Reference: d/dε VJP(y + εu) by central differences.
	const e = 1e-5
	yp, ym := make([]float64, 2), make([]float64, 2)
	for i := range y {
		yp[i], ym[i] = y[i]+e*u[i], y[i]-e*u[i]
	}
	a, b := make([]float64, 6), make([]float64, 6)
	lv.VJP(a[:2], a[2:], 0, yp, p, w)
	lv.VJP(b[:2], b[2:], 0, ym, p, w)
	ref := make([]float64, 6)
	for i := range ref {
		ref[i] = (a[i] - b[i]) / (2 * e)
	}
	if err := ode.RelErr(append(ybar, pbar...), ref); err > 1e-9 {
		t.Errorf("VJPTangent rel err %g", err)
	}
	// The fallback for a system without SecondOrderer.
	var st ode.Stats
	o := ode.NewSysOps(lv, p, &st, nil)
	yb2, pb2 := make([]float64, 2), make([]float64, 4)
	o.VJPTangent(yb2, pb2, 0, 0, y, w, 0, u, nil)
	if err := ode.RelErr(append(yb2, pb2...), append(ybar, pbar...)); err > 1e-8 {
		t.Errorf("finite-difference VJPTangent rel err %g", err)
	}
	// JVPTangent.
	yd, pd := ode.RandVec(r, 2), ode.RandVec(r, 4)
	got := make([]float64, 2)
	tracedLV.JVPTangent(got, 0, y, p, yd, pd, 0, u, nil)
	o2 := ode.NewSysOps(lv, p, &st, nil)
	want := make([]float64, 2)
	o2.JVPTangent(want, 0, 0, y, yd, pd, 0, u, nil)
	if err := ode.RelErr(got, want); err > 1e-8 {
		t.Errorf("JVPTangent rel err %g", err)
	}
}

// TestFallbacks checks the derivatives sysOps supplies for a System with
// Eval only: the scaled fd.Jacobian, VJPs and JVPs from it.
func TestFallbacks(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	y, p := []float64{1.3, 1e-3}, []float64{1.5, 1, 3, 1}
	var st ode.Stats
	o := ode.NewSysOps(bareLV{}, p, &st, []float64{1e-4, 1e-4})
	j, jr := mat.NewDense(2, 2, nil), mat.NewDense(2, 2, nil)
	o.Jacobian(j, 0, y)
	lv.Jacobian(jr, 0, y, p)
	if !mat.EqualApprox(j, jr, 1e-4) { // forward differences: √ε relative to the column scale
		t.Errorf("finite-difference Jacobian\n%v\nwant\n%v", mat.Formatted(j), mat.Formatted(jr))
	}
	w := ode.RandVec(r, 2)
	yb, pb := make([]float64, 2), make([]float64, 4)
	o.VJP(yb, pb, 0, y, w)
	yr, pr := make([]float64, 2), make([]float64, 4)
	lv.VJP(yr, pr, 0, y, p, w)
	if e := ode.RelErr(append(yb, pb...), append(yr, pr...)); e > 1e-8 {
		t.Errorf("emulated VJP rel err %g", e)
	}
	yd, pd := ode.RandVec(r, 2), ode.RandVec(r, 4)
	got, want := make([]float64, 2), make([]float64, 2)
	o.JVP(got, 0, y, yd, pd)
	lv.JVP(want, 0, y, p, yd, pd)
	if e := ode.RelErr(got, want); e > 1e-6 {
		t.Errorf("finite-difference JVP rel err %g", e)
	}
	if st.FEvals == 0 || st.VJPs != 1 || st.JVPs != 1 {
		t.Errorf("counters %v", st)
	}
}

// TestRobertsonDerivatives checks the hand-written Robertson derivatives
// used throughout against gonum's finite differences.
func TestRobertsonDerivatives(t *testing.T) {
	y := []float64{0.9, 2e-5, 0.1}
	f := func(dst, x []float64) { robertson.Eval(dst, 0, x, robP) }
	jfd := mat.NewDense(3, 3, nil)
	fd.Jacobian(jfd, f, y, &fd.JacobianSettings{Formula: fd.Central, Step: 1e-9})
	j := mat.NewDense(3, 3, nil)
	robertson.Jacobian(j, 0, y, robP)
	if !mat.EqualApprox(j, jfd, 1e-3) {
		t.Errorf("Jacobian\n%v\nwant\n%v", mat.Formatted(j), mat.Formatted(jfd))
	}
	w := []float64{0.3, -1.1, 0.7}
	yb, pb := make([]float64, 3), make([]float64, 3)
	robertson.VJP(yb, pb, 0, y, robP, w)
	want := make([]float64, 3)
	mat.NewVecDense(3, want).MulVec(j.T(), mat.NewVecDense(3, w)) // want = Jᵀw
	if e := ode.RelErr(yb, want); e > 1e-14 {
		t.Errorf("VJP_y rel err %g", e)
	}
	pj := mat.NewDense(3, 3, nil)
	robertson.ParamJacobian(pj, 0, y, robP)
	clear(want)
	mat.NewVecDense(3, want).MulVec(pj.T(), mat.NewVecDense(3, w)) // want = (∂f/∂p)ᵀw
	if e := ode.RelErr(pb, want); e > 1e-14 {
		t.Errorf("VJP_p rel err %g", e)
	}
}

// TestDenseDerivative: the derivative of every dense-output formula against
// central differences of the interpolant, inside steps.
func TestDenseDerivative(t *testing.T) {
	prob := lvProblem(lv)
	for _, c := range []struct {
		s      ode.Solver
		interp ode.Interpolation
	}{{ode.DP5, ode.InterpNative}, {ode.Tsit5, ode.InterpNative}, {ode.BS3, ode.InterpNative}, {ode.Rodas4, ode.InterpNative}, {ode.DP5, ode.InterpHermite}} {
		sol, err := ode.Solve(prob, c.s, &ode.Settings{RTol: 1e-6, Dense: true, Interpolation: c.interp})
		if err != nil {
			t.Fatal(err)
		}
		var worst float64
		for _, rec := range sol.DenseSteps(5) {
			for _, th := range []float64{0.13, 0.5, 0.91} {
				tm := rec.T + th*rec.H
				d := make([]float64, 2)
				rec.Deriv(d, tm)
				a, b := make([]float64, 2), make([]float64, 2)
				e := 1e-6 * rec.H
				rec.Eval(a, tm+e)
				rec.Eval(b, tm-e)
				for i := range a {
					a[i] = (a[i] - b[i]) / (2 * e)
				}
				worst = math.Max(worst, ode.RelErr(d, a))
			}
		}
		if worst > 1e-7 {
			t.Errorf("%v (interpolation %d): dense derivative vs central differences rel err %g", c.s, c.interp, worst)
		}
	}
}
