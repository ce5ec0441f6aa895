package ode

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
)

func relErr(got, want []float64) float64 {
	var num, den float64
	for i := range want {
		num = math.Max(num, math.Abs(got[i]-want[i]))
		den = math.Max(den, math.Abs(want[i]))
	}
	if den == 0 {
		return num
	}
	return num / den
}

func randVec(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

// TestTracedMatchesHandWritten checks every capability Traced derives by
// automatic differentiation against the hand-written Lotka–Volterra
// derivatives.
func TestTracedMatchesHandWritten(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	hw := lotkaVolterra{}
	for trial := range 5 {
		y, p := randVec(r, 2), randVec(r, 4)
		tt := r.Float64()
		want, got := make([]float64, 2), make([]float64, 2)
		hw.Eval(want, tt, y, p)
		tracedLV.Eval(got, tt, y, p)
		if e := relErr(got, want); e > 1e-15 {
			t.Errorf("trial %d: Eval rel err %g", trial, e)
		}
		v := randVec(r, 2)
		yb, pb := make([]float64, 2), make([]float64, 4)
		yb2, pb2 := make([]float64, 2), make([]float64, 4)
		hw.VJP(yb, pb, tt, y, p, v)
		tracedLV.VJP(yb2, pb2, tt, y, p, v)
		if e := math.Max(relErr(yb2, yb), relErr(pb2, pb)); e > 1e-14 {
			t.Errorf("trial %d: VJP rel err %g", trial, e)
		}
		yd, pd := randVec(r, 2), randVec(r, 4)
		hw.JVP(want, tt, y, p, yd, pd)
		tracedLV.JVP(got, tt, y, p, yd, pd)
		if e := relErr(got, want); e > 1e-14 {
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
	y, p := randVec(r, 2), randVec(r, 4)
	w, u := randVec(r, 2), randVec(r, 2)
	ybar, pbar := make([]float64, 2), make([]float64, 4)
	tracedLV.VJPTangent(ybar, pbar, 0, y, p, w, u)
	// Reference: d/dε VJP(y + εu) by central differences.
	const e = 1e-5
	yp, ym := make([]float64, 2), make([]float64, 2)
	for i := range y {
		yp[i], ym[i] = y[i]+e*u[i], y[i]-e*u[i]
	}
	a, b := make([]float64, 6), make([]float64, 6)
	lotkaVolterra{}.VJP(a[:2], a[2:], 0, yp, p, w)
	lotkaVolterra{}.VJP(b[:2], b[2:], 0, ym, p, w)
	ref := make([]float64, 6)
	for i := range ref {
		ref[i] = (a[i] - b[i]) / (2 * e)
	}
	if err := relErr(append(ybar, pbar...), ref); err > 1e-9 {
		t.Errorf("VJPTangent rel err %g", err)
	}
	// The fallback for a system without SecondOrderer.
	var st Stats
	o := newSysOps(lotkaVolterra{}, p, &st, nil)
	yb2, pb2 := make([]float64, 2), make([]float64, 4)
	o.vjpTangent(yb2, pb2, 0, y, w, u)
	if err := relErr(append(yb2, pb2...), append(ybar, pbar...)); err > 1e-8 {
		t.Errorf("finite-difference VJPTangent rel err %g", err)
	}
	// JVPTangent.
	yd, pd := randVec(r, 2), randVec(r, 4)
	got := make([]float64, 2)
	tracedLV.JVPTangent(got, 0, y, p, yd, pd, u)
	o2 := newSysOps(lotkaVolterra{}, p, &st, nil)
	want := make([]float64, 2)
	o2.jvpTangent(want, 0, y, yd, pd, u)
	if err := relErr(got, want); err > 1e-8 {
		t.Errorf("JVPTangent rel err %g", err)
	}
}

// TestFallbacks checks the derivatives sysOps supplies for a System with
// Eval only: the scaled fd.Jacobian, VJPs and JVPs from it.
func TestFallbacks(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	y, p := []float64{1.3, 1e-3}, []float64{1.5, 1, 3, 1}
	var st Stats
	o := newSysOps(bareLV{}, p, &st, []float64{1e-4, 1e-4})
	j, jr := mat.NewDense(2, 2, nil), mat.NewDense(2, 2, nil)
	o.jacobian(j, 0, y, nil)
	lotkaVolterra{}.Jacobian(jr, 0, y, p)
	if !mat.EqualApprox(j, jr, 1e-4) { // forward differences: √ε relative to the column scale
		t.Errorf("finite-difference Jacobian\n%v\nwant\n%v", mat.Formatted(j), mat.Formatted(jr))
	}
	w := randVec(r, 2)
	yb, pb := make([]float64, 2), make([]float64, 4)
	o.vjp(yb, pb, 0, y, w)
	yr, pr := make([]float64, 2), make([]float64, 4)
	lotkaVolterra{}.VJP(yr, pr, 0, y, p, w)
	if e := relErr(append(yb, pb...), append(yr, pr...)); e > 1e-8 {
		t.Errorf("emulated VJP rel err %g", e)
	}
	yd, pd := randVec(r, 2), randVec(r, 4)
	got, want := make([]float64, 2), make([]float64, 2)
	o.jvp(got, 0, y, yd, pd, nil)
	lotkaVolterra{}.JVP(want, 0, y, p, yd, pd)
	if e := relErr(got, want); e > 1e-6 {
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
	f := func(dst, x []float64) { robertson{}.Eval(dst, 0, x, robP) }
	jfd := mat.NewDense(3, 3, nil)
	fd.Jacobian(jfd, f, y, &fd.JacobianSettings{Formula: fd.Central, Step: 1e-9})
	j := mat.NewDense(3, 3, nil)
	robertson{}.Jacobian(j, 0, y, robP)
	if !mat.EqualApprox(j, jfd, 1e-3) {
		t.Errorf("Jacobian\n%v\nwant\n%v", mat.Formatted(j), mat.Formatted(jfd))
	}
	w := []float64{0.3, -1.1, 0.7}
	yb, pb := make([]float64, 3), make([]float64, 3)
	robertson{}.VJP(yb, pb, 0, y, robP, w)
	want := make([]float64, 3)
	mulTransAdd(want, j, w)
	if e := relErr(yb, want); e > 1e-14 {
		t.Errorf("VJP_y rel err %g", e)
	}
	pj := mat.NewDense(3, 3, nil)
	robertson{}.ParamJacobian(pj, 0, y, robP)
	clear(want)
	mulTransAdd(want, pj, w)
	if e := relErr(pb, want); e > 1e-14 {
		t.Errorf("VJP_p rel err %g", e)
	}
}
