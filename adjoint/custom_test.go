package adjoint

import (
	"math"
	"strings"
	"testing"
)

// prodSin is f(x) = (x0·x1, sin x0) with a hand-written VJP. wrong makes
// the VJP drop a term, to prove that Check notices.
type prodSin struct{ wrong bool }

func (prodSin) Dims() (int, int) { return 2, 2 }
func (prodSin) Eval(y, x []float64) {
	y[0] = x[0] * x[1]
	y[1] = math.Sin(x[0])
}
func (p prodSin) VJP(xbar, x, ybar []float64) {
	xbar[0] += ybar[0]*x[1] + ybar[1]*math.Cos(x[0])
	if !p.wrong {
		xbar[1] += ybar[0] * x[0]
	}
}

type prodSinJVP struct{ prodSin }

func (prodSinJVP) JVP(ydot, x, xdot []float64) {
	ydot[0] = xdot[0]*x[1] + x[0]*xdot[1]
	ydot[1] = math.Cos(x[0]) * xdot[0]
}

var (
	_ Func  = prodSin{}
	_ JVPer = prodSinJVP{}
)

func TestCustomFuncInsideTrace(t *testing.T) {
	x := Vector(0.7, -1.3)
	for _, f := range []Func{prodSin{}, prodSinJVP{}} {
		r := Check(func(v ...*Var) *Var { return Tanh(Apply(f, Mul(v[0], v[0]))) }, []*Tensor{x}, &CheckSettings{FirstOrderOnly: true})
		if err := r.Err(fdTol, adTol); err != nil {
			t.Errorf("%T: %v\n%v", f, err, r)
		}
	}
}

func TestCheckCatchesWrongVJP(t *testing.T) {
	r := Check(func(v ...*Var) *Var { return Apply(prodSin{wrong: true}, v[0]) }, []*Tensor{Vector(0.7, -1.3)}, &CheckSettings{FirstOrderOnly: true})
	if r.Err(fdTol, adTol) == nil {
		t.Fatalf("a VJP missing a term passed the check: %v", r)
	}
	if r.RevFD.MaxRel < 0.1 {
		t.Errorf("reverse vs fd error %v, expected O(1)", r.RevFD.MaxRel)
	}
}

func TestCustomFuncSecondOrder(t *testing.T) {
	// Differentiating the VJP again with respect to the cotangent is a JVP
	// of f and works; with respect to x it needs second derivatives that a
	// Func does not have, and must say so.
	x := Param(Vector(0.7, -1.3))
	u := Param(Vector(0.5, 2))
	y := Apply(prodSinJVP{}, x)
	g := Backward(y, []*Var{x}, &GradSettings{Cotangent: u, CreateGraph: true})[0]
	// d/du ⟨g, w⟩ = J w.
	w := Vector(1, -1)
	got := Grad(Dot(g, Const(w)), u)[0]
	jw := make([]float64, 2)
	prodSinJVP{}.JVP(jw, x.Value().Data, w.Data)
	for i := range jw {
		if math.Abs(got.Data[i]-jw[i]) > 1e-15 {
			t.Errorf("d/du <VJP, w> = %v, want J w = %v", got.Data, jw)
		}
	}
	defer func() {
		r := recover()
		if s, ok := r.(string); !ok || !strings.Contains(s, "second derivatives of custom Func") {
			t.Fatalf("expected a panic about second derivatives, got %v", r)
		}
	}()
	Grad(Sum(g), x)
}

func TestTracedFunc(t *testing.T) {
	tf := &TracedFunc{F: func(x *Var) *Var {
		return Concat(0, Reshape(Sum(Mul(x, x)), 1), Sin(Slice(x, 0, 0, 2)))
	}, In: 3, Out: 3}
	x := []float64{0.3, -0.8, 1.5}
	y := make([]float64, 3)
	tf.Eval(y, x)
	want := []float64{0.09 + 0.64 + 2.25, math.Sin(0.3), math.Sin(-0.8)}
	for i := range y {
		if math.Abs(y[i]-want[i]) > 1e-15 {
			t.Fatalf("Eval = %v, want %v", y, want)
		}
	}
	// VJP accumulates.
	xbar := []float64{1, 1, 1}
	tf.VJP(xbar, x, []float64{1, 2, 3})
	wantBar := []float64{1 + 2*0.3 + 2*math.Cos(0.3), 1 + 2*-0.8 + 3*math.Cos(-0.8), 1 + 2*1.5}
	for i := range xbar {
		if math.Abs(xbar[i]-wantBar[i]) > 1e-15 {
			t.Fatalf("VJP = %v, want %v", xbar, wantBar)
		}
	}
	// Used inside another trace it is inlined, so second order is exact.
	r := Check(func(v ...*Var) *Var { return Apply(tf, v[0]) }, []*Tensor{Vector(x...)}, nil)
	if err := r.Err(fdTol, adTol); err != nil {
		t.Errorf("%v\n%v", err, r)
	}
	// Wrapped by a plain Func-only view it is opaque, and still first-order exact.
	r = Check(func(v ...*Var) *Var { return Apply(funcOnly{tf}, v[0]) }, []*Tensor{Vector(x...)}, &CheckSettings{FirstOrderOnly: true})
	if err := r.Err(fdTol, adTol); err != nil {
		t.Errorf("opaque: %v\n%v", err, r)
	}
}

// funcOnly hides every capability of a Func but the Func methods.
type funcOnly struct{ f Func }

func (o funcOnly) Dims() (int, int)            { return o.f.Dims() }
func (o funcOnly) Eval(y, x []float64)         { o.f.Eval(y, x) }
func (o funcOnly) VJP(xbar, x, ybar []float64) { o.f.VJP(xbar, x, ybar) }
