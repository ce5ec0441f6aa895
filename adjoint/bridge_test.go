package adjoint

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
)

// mustPanic runs f and returns its panic message, failing the test if f
// does not panic.
func mustPanic(t *testing.T, f func()) string {
	t.Helper()
	var msg string
	func() {
		defer func() {
			if r := recover(); r != nil {
				msg, _ = r.(string)
				if msg == "" {
					msg = "non-string panic"
				}
			}
		}()
		f()
	}()
	if msg == "" {
		t.Fatal("no panic")
	}
	return msg
}

// TestUntrackedIsAnError: differentiating with respect to a constant, or a
// value computed from constants only, panics with an "adjoint:" message in
// every mode; a tracked value the output does not depend on gets zeros.
func TestUntrackedIsAnError(t *testing.T) {
	x := Param(Vector(1, 2))
	c := Const(Vector(3, 4))
	fromConst := Exp(c)
	y := Sum(Mul(x, c))
	for name, f := range map[string]func(){
		"Grad of a Const":           func() { Grad(y, x, c) },
		"Grad of a constant result": func() { Grad(y, fromConst) },
		"GradGraph":                 func() { GradGraph(y, c) },
		"VJP":                       func() { VJP(y, Scalar(1), c) },
		"Backward":                  func() { Backward(y, []*Var{Detach(x)}, nil) },
		"Tangent":                   func() { Tangent(y, []*Var{c}, []*Var{Const(Vector(1, 1))}, false) },
	} {
		msg := mustPanic(t, f)
		if !strings.HasPrefix(msg, "adjoint: ") || !strings.Contains(msg, "not tracked") {
			t.Errorf("%s: panic %q", name, msg)
		}
	}
	unrelated := Param(Vector(5))
	g := Grad(y, x, unrelated)
	if g[1].Data[0] != 0 || g[0].Data[0] != 3 || g[0].Data[1] != 4 {
		t.Errorf("gradients %v %v, want [3 4] and [0]", g[0], g[1])
	}
	if d := Tangent(y, []*Var{unrelated}, []*Var{Const(Vector(1))}, false).Item(); d != 0 {
		t.Errorf("tangent along an unrelated leaf %v, want 0", d)
	}
}

func TestLayoutVarsJoin(t *testing.T) {
	l := NewLayout([]int{2, 2}, []int{}, []int{3})
	x := Param(Vector(1, 2, 3, 4, 5, 6, 7, 8))
	parts := l.Vars(x)
	if len(parts) != 3 || !equalInts(parts[0].Shape(), []int{2, 2}) || parts[1].Shape() == nil || len(parts[1].Shape()) != 0 || parts[2].Size() != 3 {
		t.Fatalf("parts %v", parts)
	}
	if parts[1].Item() != 5 || parts[2].Value().Data[2] != 8 {
		t.Errorf("parts %v", parts)
	}
	r := Check(func(v ...*Var) *Var {
		ps := l.Vars(v[0])
		return l.Join(Square(ps[0]), Scale(ps[1], 3), Tanh(ps[2]))
	}, []*Tensor{x.Value()}, nil)
	if err := r.Err(fdTol, adTol); err != nil {
		t.Error(err, r)
	}
	if msg := mustPanic(t, func() { l.Join(parts[2], parts[1], parts[0]) }); !strings.HasPrefix(msg, "adjoint: Layout.Join") {
		t.Error(msg)
	}
}

// TestRecording checks the bridge's flat VJP, JVP and second derivatives
// against each other and against finite differences, on
// f(a, b) = (a₀·sin b, a₁² b).
func TestRecording(t *testing.T) {
	f := func(in []*Var) *Var {
		a, b := Elements(in[0]), in[1]
		return Stack(Mul(a[0], Sin(b)), Mul(Square(a[1]), b))
	}
	a, b := []float64{0.7, -1.2}, []float64{0.4}
	rec := Record(f, FromData(a, 2), Scalar(b[0]))
	// Full Jacobian by VJPs, by JVPs and by finite differences.
	z := []float64{a[0], a[1], b[0]}
	num := mat.NewDense(2, 3, nil)
	fd.Jacobian(num, func(y, z []float64) {
		copy(y, Record(f, FromData(z[:2], 2), Scalar(z[2])).Value())
	}, z, &fd.JacobianSettings{Formula: fd.Central})
	for i := range 2 {
		ga, gb := make([]float64, 2), make([]float64, 1)
		e := make([]float64, 2)
		e[i] = 1
		rec.VJP([][]float64{ga, gb}, e)
		got := []float64{ga[0], ga[1], gb[0]}
		if s := Compare(got, num.RawRowView(i)); s.MaxRel > 1e-8 {
			t.Errorf("VJP row %d: %v, want %v", i, got, num.RawRowView(i))
		}
	}
	for j := range 3 {
		da, db := make([]float64, 2), make([]float64, 1)
		if j < 2 {
			da[j] = 1
		} else {
			db[0] = 1
		}
		col := make([]float64, 2)
		rec.JVP(col, da, db)
		if s := Compare(col, mat.Col(nil, j, num)); s.MaxRel > 1e-8 {
			t.Errorf("JVP column %d: %v, want %v", j, col, mat.Col(nil, j, num))
		}
	}
	// Accumulation, and nil destinations left alone.
	ga := []float64{10, 20}
	rec.VJP([][]float64{ga, nil}, []float64{1, 0})
	if ga[0] != 10+math.Sin(b[0]) || ga[1] != 20 {
		t.Errorf("accumulated VJP %v", ga)
	}
	// Reverse over forward: ∇_a ⟨w, J·(u, 0)⟩ against finite differences of
	// the JVP.
	u, w := []float64{0.3, -0.8}, []float64{1.1, -0.5}
	got := make([]float64, 2)
	rec.Tangent(u, nil).VJP([][]float64{got, nil}, w)
	want := make([]float64, 2)
	fd.Gradient(want, func(av []float64) float64 {
		jv := make([]float64, 2)
		Record(f, FromData(av, 2), Scalar(b[0])).JVP(jv, u, nil)
		return w[0]*jv[0] + w[1]*jv[1]
	}, a, &fd.Settings{Formula: fd.Central})
	if s := Compare(got, want); s.MaxRel > 1e-7 {
		t.Errorf("reverse over forward %v, want %v", got, want)
	}
}

// TestRecordingNestedDerivative: a program that differentiates its own
// input (a field defined as a gradient) computes the same function whether
// its value or its derivative is asked for, because the bridge tracks every
// argument in every call.
func TestRecordingNestedDerivative(t *testing.T) {
	// F(x) = ∇E(x) with E = Σ x⁴/4: F(x) = x³, J = diag(3x²).
	field := func(x *Var) *Var {
		e := Scale(Sum(PowConst(x, 4)), 0.25)
		return GradGraph(e, x)[0]
	}
	tf := &TracedFunc{F: field, In: 2, Out: 2}
	x := []float64{1.5, -2}
	y := make([]float64, 2)
	tf.Eval(y, x)
	if y[0] != 1.5*1.5*1.5 || y[1] != -8 {
		t.Errorf("Eval = %v, want [3.375 -8]", y)
	}
	xbar := make([]float64, 2)
	tf.VJP(xbar, x, []float64{1, 1})
	if math.Abs(xbar[0]-3*1.5*1.5) > 1e-14 || math.Abs(xbar[1]-12) > 1e-14 {
		t.Errorf("VJP = %v, want [6.75 12]", xbar)
	}
	step := TracedStep{F: func(_ int, x, _ *Var) *Var { return Sub(x, Scale(field(x), 0.1)) }}
	next := make([]float64, 2)
	step.Eval(next, 0, x, nil)
	if math.Abs(next[0]-(1.5-0.3375)) > 1e-15 {
		t.Errorf("TracedStep.Eval = %v", next)
	}
}

// sqrtPrim is √x as a Primitive defined through the public extension
// point, with rules written in traced operations.
type sqrtPrim struct{}

func (sqrtPrim) Name() string { return "my_sqrt" }
func (sqrtPrim) VJP(g *Var, _ []*Var, out *Var, _ []bool) []*Var {
	return []*Var{Div(g, Scale(out, 2))}
}
func (sqrtPrim) JVP(t []*Var, _ []*Var, out *Var) *Var { return Div(t[0], Scale(out, 2)) }

func mySqrt(x *Var) *Var {
	out := New(x.Shape()...)
	for i, v := range x.Value().Data {
		out.Data[i] = math.Sqrt(v)
	}
	return Custom(sqrtPrim{}, out, x)
}

func TestCustomPrimitive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	x := randInput(rng, positive, 2, 3)
	r := Check(func(v ...*Var) *Var { return Mul(mySqrt(v[0]), v[0]) }, []*Tensor{x}, nil)
	if err := r.Err(fdTol, adTol); err != nil {
		t.Error(err, r)
	}
	if op := mySqrt(Param(x)).Op(); op != "my_sqrt" {
		t.Errorf("Op() = %q", op)
	}
	if mySqrt(Const(x)).Tracked() {
		t.Error("a primitive of constants recorded a graph")
	}
}

// TestHVPArgs: the multi-argument HVP and Hessian against the single
// argument ones on the concatenated input and against finite differences.
func TestHVPArgs(t *testing.T) {
	f := func(xs ...*Var) *Var {
		a, b := xs[0], xs[1]
		return Add(Sum(Mul(Sin(a), MatMul(b, Transpose(b)))), Sum(Exp(Mul(a, a))))
	}
	rng := rand.New(rand.NewPCG(9, 10))
	a, b := randInput(rng, smallReal, 2, 2), randInput(rng, smallReal, 2, 3)
	l := LayoutOf(a, b)
	flat := func(z *Var) *Var { return f(l.Vars(z)...) }
	z := FromData(l.Pack(nil, a, b), l.Size())
	h := HessianArgs(nil, f, []*Tensor{a, b})
	h1 := Hessian(nil, flat, z)
	if !mat.EqualApprox(h, h1, 1e-13) {
		t.Errorf("HessianArgs differs from the Hessian of the flat function")
	}
	hfd := mat.NewDense(l.Size(), l.Size(), nil)
	fd.Jacobian(hfd, func(g, zz []float64) {
		zp := Param(FromData(zz, len(zz)))
		copy(g, Grad(flat(zp), zp)[0].Data)
	}, z.Data, &fd.JacobianSettings{Formula: fd.Central})
	if !mat.EqualApprox(h, hfd, 1e-7) {
		t.Errorf("HessianArgs\n%v\nfinite differences\n%v", mat.Formatted(h), mat.Formatted(hfd))
	}
	va, vb := randInput(rng, anyReal, 2, 2), randInput(rng, anyReal, 2, 3)
	hv := HVPArgs(f, []*Tensor{a, b}, []*Tensor{va, vb})
	want := mat.NewVecDense(l.Size(), nil)
	want.MulVec(h, mat.NewVecDense(l.Size(), l.Pack(nil, va, vb)))
	if s := Compare(l.Pack(nil, hv...), want.RawVector().Data); s.MaxRel > 1e-13 {
		t.Errorf("HVPArgs vs Hessian·v: %v", s)
	}
	if !equalInts(hv[1].Shape, []int{2, 3}) {
		t.Errorf("HVP block shape %v", hv[1].Shape)
	}
}

func TestIndexElementsStack(t *testing.T) {
	x := Vector(0.3, -0.7, 1.1, 0.2, 0.9, -1.4)
	r := Check(func(v ...*Var) *Var {
		m := Reshape(v[0], 2, 3)
		e := Elements(v[0])
		return Stack(Mul(Index(m, 1, 2), e[0]), Sin(Index(m, 0, 1)), Mul(e[3], e[3]))
	}, []*Tensor{x}, nil)
	if err := r.Err(fdTol, adTol); err != nil {
		t.Error(err, r)
	}
	if v := Index(Const(x.Reshaped(2, 3)), 1, 0).Item(); v != 0.2 {
		t.Errorf("Index = %v", v)
	}
	if s := Stack(ConstScalar(1), ConstScalar(2)).Shape(); !equalInts(s, []int{2}) {
		t.Errorf("Stack of scalars has shape %v", s)
	}
	if s := Stack(Const(New(2, 3)), Const(New(2, 3)), Const(New(2, 3))).Shape(); !equalInts(s, []int{3, 2, 3}) {
		t.Errorf("Stack shape %v", s)
	}
	mustPanic(t, func() { Index(Const(x), 6) })
	mustPanic(t, func() { Stack(Const(New(2)), Const(New(3))) })
}
