package adjoint

import (
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"testing"
)

// Tolerances for Check. Central differences with gonum's default step
// (h ≈ 6e-6) carry truncation error O(h²·f‴) and rounding error O(ε/h),
// both about 1e-10 relative for the well-scaled inputs used here; 1e-6
// leaves room for the larger third derivatives of exp and pow without
// hiding a wrong rule, which shows up as an O(1) error. The two exact
// modes differ only by rounding in a different order of operations.
const (
	fdTol = 1e-6
	adTol = 1e-10
)

type domain int

const (
	anyReal   domain = iota
	positive         // (0.5, 2): for log, sqrt, pow bases, divisors
	awayZero         // |x| in (0.2, 2): for kinks at 0 (abs, relu)
	smallReal        // (-1, 1): for exp-heavy compositions
)

func randInput(rng *rand.Rand, d domain, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.Data {
		switch d {
		case positive:
			t.Data[i] = 0.5 + 1.5*rng.Float64()
		case awayZero:
			v := 0.2 + 1.8*rng.Float64()
			if rng.IntN(2) == 0 {
				v = -v
			}
			t.Data[i] = v
		case smallReal:
			t.Data[i] = 2*rng.Float64() - 1
		default:
			t.Data[i] = rng.NormFloat64()
		}
	}
	return t
}

type opCase struct {
	name   string
	f      func(x ...*Var) *Var
	shapes [][]int
	dom    []domain // per input; missing entries are anyReal
}

func sh(s ...[]int) [][]int { return s }

func opCases() []opCase {
	un := func(name string, f func(*Var) *Var, d domain) opCase {
		return opCase{name, func(x ...*Var) *Var { return f(x[0]) }, sh([]int{2, 3}), []domain{d}}
	}
	bin := func(name string, f func(a, b *Var) *Var, a, b []int, da, db domain) opCase {
		return opCase{name, func(x ...*Var) *Var { return f(x[0], x[1]) }, sh(a, b), []domain{da, db}}
	}
	cond := FromData([]float64{1, 0, 0, 1, 1, 0}, 2, 3)
	return []opCase{
		un("exp", Exp, smallReal),
		un("log", Log, positive),
		un("sqrt", Sqrt, positive),
		un("abs", Abs, awayZero),
		un("square", Square, anyReal),
		un("tanh", Tanh, anyReal),
		un("sigmoid", Sigmoid, anyReal),
		un("relu", ReLU, awayZero),
		un("softplus", Softplus, anyReal),
		un("sin", Sin, anyReal),
		un("cos", Cos, anyReal),
		un("neg", Neg, anyReal),
		un("scale", func(x *Var) *Var { return Scale(x, -2.5) }, anyReal),
		un("add_scalar", func(x *Var) *Var { return AddScalar(x, 3) }, anyReal),
		un("pow_const_2.5", func(x *Var) *Var { return PowConst(x, 2.5) }, positive),
		un("pow_const_-1", func(x *Var) *Var { return PowConst(x, -1) }, positive),
		bin("add", Add, []int{3, 4}, []int{3, 4}, anyReal, anyReal),
		bin("add_row_broadcast", Add, []int{3, 4}, []int{4}, anyReal, anyReal),
		bin("add_col_broadcast", Add, []int{3, 1}, []int{3, 4}, anyReal, anyReal),
		bin("sub_outer_broadcast", Sub, []int{3, 1}, []int{1, 4}, anyReal, anyReal),
		bin("mul_3d_broadcast", Mul, []int{2, 3, 4}, []int{3, 1}, anyReal, anyReal),
		bin("mul_scalar", Mul, []int{}, []int{2, 3}, anyReal, anyReal),
		bin("div", Div, []int{3, 4}, []int{4}, anyReal, awayZero),
		bin("pow", Pow, []int{3, 4}, []int{3, 4}, positive, smallReal),
		bin("pow_scalar_exponent", Pow, []int{3, 4}, []int{}, positive, smallReal),
		{"sum", func(x ...*Var) *Var { return Sum(x[0]) }, sh([]int{2, 3, 2}), nil},
		{"mean", func(x ...*Var) *Var { return Mean(x[0]) }, sh([]int{2, 3}), nil},
		{"sum_axis0", func(x ...*Var) *Var { return SumAxis(x[0], 0, false) }, sh([]int{3, 4}), nil},
		{"sum_axis_last_keep", func(x ...*Var) *Var { return SumAxis(x[0], -1, true) }, sh([]int{2, 3, 4}), nil},
		{"mean_axis1", func(x ...*Var) *Var { return MeanAxis(x[0], 1, false) }, sh([]int{2, 3, 4}), nil},
		{"max_axis1", func(x ...*Var) *Var { return MaxAxis(x[0], 1, false) }, sh([]int{3, 5}), nil},
		{"max_axis0_keep", func(x ...*Var) *Var { return MaxAxis(x[0], 0, true) }, sh([]int{4, 2, 3}), nil},
		{"logsumexp", func(x ...*Var) *Var { return LogSumExp(x[0], 1, false) }, sh([]int{3, 4}), nil},
		{"logsumexp_axis0", func(x ...*Var) *Var { return LogSumExp(x[0], 0, true) }, sh([]int{3, 4}), nil},
		{"softmax", func(x ...*Var) *Var { return Softmax(x[0], -1) }, sh([]int{3, 4}), nil},
		{"softmax_axis0", func(x ...*Var) *Var { return Softmax(x[0], 0) }, sh([]int{3, 2, 2}), nil},
		{"log_softmax", func(x ...*Var) *Var { return LogSoftmax(x[0], 1) }, sh([]int{2, 5}), nil},
		{"dot", func(x ...*Var) *Var { return Dot(x[0], x[1]) }, sh([]int{2, 3}, []int{3}), nil},
		{"matmul", func(x ...*Var) *Var { return MatMul(x[0], x[1]) }, sh([]int{3, 4}, []int{4, 2}), nil},
		{"matmul_tA", func(x ...*Var) *Var { return MatMulT(x[0], x[1], true, false) }, sh([]int{4, 3}, []int{4, 2}), nil},
		{"matmul_tB", func(x ...*Var) *Var { return MatMulT(x[0], x[1], false, true) }, sh([]int{3, 4}, []int{2, 4}), nil},
		{"matmul_tAtB", func(x ...*Var) *Var { return MatMulT(x[0], x[1], true, true) }, sh([]int{4, 3}, []int{2, 4}), nil},
		{"matvec", func(x ...*Var) *Var { return MatMul(x[0], x[1]) }, sh([]int{3, 4}, []int{4, 1}), nil},
		{"matvec_tA", func(x ...*Var) *Var { return MatMulT(x[0], x[1], true, false) }, sh([]int{4, 3}, []int{4, 1}), nil},
		{"vecmat", func(x ...*Var) *Var { return MatMul(x[0], x[1]) }, sh([]int{1, 4}, []int{4, 3}), nil},
		{"vecmat_tB", func(x ...*Var) *Var { return MatMulT(x[0], x[1], false, true) }, sh([]int{1, 4}, []int{3, 4}), nil},
		{"vecvec_outer", func(x ...*Var) *Var { return MatMulT(x[0], x[1], true, false) }, sh([]int{1, 3}, []int{1, 2}), nil},
		{"matmul_square_self", func(x ...*Var) *Var { return MatMul(x[0], x[0]) }, sh([]int{3, 3}), nil},
		{"matmul_add_row", func(x ...*Var) *Var { return MatMulAdd(x[0], x[1], x[2]) }, sh([]int{3, 4}, []int{4, 2}, []int{2}), nil},
		{"matmul_add_full", func(x ...*Var) *Var { return MatMulAdd(x[0], x[1], x[2]) }, sh([]int{3, 4}, []int{4, 2}, []int{3, 2}), nil},
		{"matmul_add_col_chain", func(x ...*Var) *Var {
			return Tanh(MatMulAdd(x[0], x[1], MatMulAdd(x[0], x[1], x[2])))
		}, sh([]int{3, 3}, []int{3, 3}, []int{3, 1}), nil},
		{"transpose", func(x ...*Var) *Var { return Mul(Transpose(x[0]), x[1]) }, sh([]int{3, 2}, []int{2, 3}), nil},
		{"permute_3d", func(x ...*Var) *Var { return Mul(Permute(x[0], 2, 0, 1), x[1]) }, sh([]int{2, 3, 4}, []int{4, 2, 3}), nil},
		{"reshape", func(x ...*Var) *Var { return Mul(Reshape(x[0], 3, -1), x[1]) }, sh([]int{2, 3, 2}, []int{3, 4}), nil},
		{"broadcast_to", func(x ...*Var) *Var { return Mul(BroadcastTo(x[0], []int{2, 4, 3}), x[1]) }, sh([]int{1, 3}, []int{2, 4, 3}), nil},
		{"sum_to", func(x ...*Var) *Var { return Square(SumTo(x[0], []int{3, 1})) }, sh([]int{2, 3, 4}), nil},
		{"slice_axis1", func(x ...*Var) *Var { return Square(Slice(x[0], 1, 1, 3)) }, sh([]int{2, 4, 3}), nil},
		{"concat", func(x ...*Var) *Var { return Mul(Concat(1, x[0], x[1], x[0]), Concat(1, x[1], x[0], x[1])) }, sh([]int{2, 2}, []int{2, 2}), nil},
		{"pad", func(x ...*Var) *Var { return Sin(Pad(x[0], 1, 2, 1)) }, sh([]int{2, 3}), nil},
		{"take_repeated", func(x ...*Var) *Var { return Square(Take(x[0], 0, []int{2, 0, 2, 1})) }, sh([]int{3, 2}), nil},
		{"take_axis1", func(x ...*Var) *Var { return Sin(Take(x[0], -1, []int{1, 1, 0})) }, sh([]int{2, 3}), nil},
		{"where", func(x ...*Var) *Var { return Where(cond, Square(x[0]), Sin(x[1])) }, sh([]int{2, 3}, []int{3}), nil},
		{"one_hot_pick", func(x ...*Var) *Var {
			return SumAxis(Mul(LogSoftmax(x[0], 1), Const(OneHot([]int{2, 0, 1}, 4))), 1, false)
		}, sh([]int{3, 4}), nil},
		{"mlp", func(x ...*Var) *Var {
			h := Tanh(Add(MatMul(x[0], x[1]), x[2]))
			return Mean(Square(MatMul(h, x[3])))
		}, sh([]int{5, 3}, []int{3, 4}, []int{4}, []int{4, 2}), nil},
	}
}

func TestPrimitivesAgainstFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for _, c := range opCases() {
		t.Run(c.name, func(t *testing.T) {
			xs := make([]*Tensor, len(c.shapes))
			for i, s := range c.shapes {
				d := anyReal
				if i < len(c.dom) {
					d = c.dom[i]
				}
				xs[i] = randInput(rng, d, s...)
			}
			r := Check(c.f, xs, nil)
			t.Log(r)
			if err := r.Err(fdTol, adTol); err != nil {
				t.Errorf("%v\n%v", err, r)
			}
			if !r.SecondOrder {
				t.Error("second order did not run")
			}
		})
	}
}

func TestRepeatedUse(t *testing.T) {
	// x·(x·x): f'(2) = 3x² = 12, f''(2) = 6x = 12, f'''(x) = 6.
	x := Param(Scalar(2))
	y := Mul(x, Mul(x, x))
	g := GradGraph(y, x)[0]
	if g.Item() != 12 {
		t.Errorf("f'(2) = %v, want 12", g.Item())
	}
	h := GradGraph(g, x)[0]
	if h.Item() != 12 {
		t.Errorf("f''(2) = %v, want 12", h.Item())
	}
	if d3 := Grad(h, x)[0].Item(); d3 != 6 {
		t.Errorf("f'''(2) = %v, want 6", d3)
	}
	if got := HVP(func(v *Var) *Var { return Mul(v, Mul(v, v)) }, Scalar(2), Scalar(1)).Item(); got != 12 {
		t.Errorf("forward-over-reverse f''(2) = %v, want 12", got)
	}
}

func TestSharedSubgraphTwoLosses(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	w := Param(randInput(rng, anyReal, 3, 3))
	x := Const(randInput(rng, anyReal, 3, 1))
	h := Tanh(MatMul(w, x))
	l1 := Sum(Square(h))
	l2 := Sum(Sin(h))
	g1a := Grad(l1, w)[0]
	g2 := Grad(l2, w)[0]
	g1b := Grad(l1, w)[0]
	for i := range g1a.Data {
		if g1a.Data[i] != g1b.Data[i] {
			t.Fatal("differentiating a second loss over the shared subgraph changed the first loss's gradient")
		}
	}
	// Each against its closed form: dL/dW = (dL/dh ⊙ (1−h²)) xᵀ.
	hv, xv := h.Value().Data, x.Value().Data
	for i := range 3 {
		for j := range 3 {
			d := 1 - hv[i]*hv[i]
			want1 := 2 * hv[i] * d * xv[j]
			want2 := math.Cos(hv[i]) * d * xv[j]
			if math.Abs(g1a.At(i, j)-want1) > 1e-14 || math.Abs(g2.At(i, j)-want2) > 1e-14 {
				t.Fatalf("gradient (%d,%d): got %v, %v want %v, %v", i, j, g1a.At(i, j), g2.At(i, j), want1, want2)
			}
		}
	}
	// Both losses at once: the sum's gradient is the sum of gradients.
	gs := Grad(Add(l1, l2), w)[0]
	for i := range gs.Data {
		if math.Abs(gs.Data[i]-(g1a.Data[i]+g2.Data[i])) > 1e-14 {
			t.Fatal("gradient of the summed losses differs from the sum of gradients")
		}
	}
}

func TestSecondDerivativesTanhSigmoid(t *testing.T) {
	for _, x0 := range []float64{-2, -0.3, 0, 0.7, 3} {
		x := Param(Scalar(x0))
		th := math.Tanh(x0)
		if got, want := GradGraph(GradGraph(Tanh(x), x)[0], x)[0].Item(), -2*th*(1-th*th); math.Abs(got-want) > 1e-15 {
			t.Errorf("tanh''(%v) = %v, want %v", x0, got, want)
		}
		s := 1 / (1 + math.Exp(-x0))
		if got, want := GradGraph(GradGraph(Sigmoid(x), x)[0], x)[0].Item(), s*(1-s)*(1-2*s); math.Abs(got-want) > 1e-15 {
			t.Errorf("sigmoid''(%v) = %v, want %v", x0, got, want)
		}
	}
}

func TestGradientWithRespectToIntermediate(t *testing.T) {
	x := Param(Vector(0.3, -1.2, 2))
	h := Mul(x, x)           // intermediate
	y := Sum(Mul(Sin(h), h)) // y = Σ h sin h
	gs := Grad(y, h, x)
	for i, hv := range h.Value().Data {
		want := math.Sin(hv) + hv*math.Cos(hv)
		if math.Abs(gs[0].Data[i]-want) > 1e-15 {
			t.Errorf("dy/dh[%d] = %v, want %v", i, gs[0].Data[i], want)
		}
		if wx := want * 2 * x.Value().Data[i]; math.Abs(gs[1].Data[i]-wx) > 1e-14 {
			t.Errorf("dy/dx[%d] = %v, want %v", i, gs[1].Data[i], wx)
		}
	}
	// A value y does not depend on gets zeros.
	other := Param(Vector(1, 2))
	if g := Grad(y, other)[0]; g.Data[0] != 0 || g.Data[1] != 0 || len(g.Data) != 2 {
		t.Errorf("gradient w.r.t. an unrelated value = %v", g)
	}
}

func TestJacobianRevEqualsFwd(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	w := Const(randInput(rng, anyReal, 4, 6))
	f := func(x *Var) *Var { return Softmax(Tanh(MatMul(w, Reshape(x, 6, 1))), 0) }
	x := randInput(rng, anyReal, 6)
	jr := JacobianRev(nil, f, x)
	jf := JacobianFwd(nil, f, x)
	r, c := jr.Dims()
	if r != 4 || c != 6 {
		t.Fatalf("Jacobian is %d×%d, want 4×6", r, c)
	}
	for i := range r {
		for j := range c {
			if d := math.Abs(jr.At(i, j) - jf.At(i, j)); d > 1e-15 {
				t.Fatalf("J[%d,%d]: reverse %v forward %v", i, j, jr.At(i, j), jf.At(i, j))
			}
		}
	}
}

func TestHessianOfQuadraticForm(t *testing.T) {
	// f(x) = ½ xᵀAx + sum(x) with symmetric A has Hessian exactly A.
	a := FromData([]float64{2, 1, 0, 1, 3, -1, 0, -1, 4}, 3, 3)
	f := func(x *Var) *Var {
		xc := Reshape(x, 3, 1)
		return Add(Scale(Sum(MatMulT(xc, MatMul(Const(a), xc), true, false)), 0.5), Sum(x))
	}
	h := Hessian(nil, f, Vector(0.5, -1, 2))
	for i := range 3 {
		for j := range 3 {
			if h.At(i, j) != a.At(i, j) {
				t.Fatalf("H[%d,%d] = %v, want %v", i, j, h.At(i, j), a.At(i, j))
			}
		}
	}
	v := Vector(1, -2, 0.5)
	hv, hvr := HVP(f, Vector(0.5, -1, 2), v), HVPRev(f, Vector(0.5, -1, 2), v)
	for i := range 3 {
		want := a.At(i, 0)*1 + a.At(i, 1)*-2 + a.At(i, 2)*0.5
		if hv.Data[i] != want || hvr.Data[i] != want {
			t.Errorf("Hv[%d] = %v (fwd-rev), %v (rev-rev), want %v", i, hv.Data[i], hvr.Data[i], want)
		}
	}
}

func TestNoGraphMode(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	w := randInput(rng, anyReal, 8, 8)
	x := randInput(rng, anyReal, 4, 8)
	f := func(w, x *Var) *Var { return Tanh(MatMul(x, w)) }
	y := f(Const(w), Const(x))
	if y.Tracked() || !y.IsLeaf() {
		t.Fatal("an operation on constants recorded a graph")
	}
	yp := f(Param(w), Const(x))
	for i := range y.Value().Data {
		if y.Value().Data[i] != yp.Value().Data[i] {
			t.Fatal("no-graph result differs from the traced one")
		}
	}
	// A recorded Var carries its input list in the same allocation, so
	// the saving shows in bytes rather than in the number of allocations.
	traced := bytesPerRun(20, func() { f(Param(w), Const(x)) })
	plain := bytesPerRun(20, func() { f(Const(w), Const(x)) })
	if plain >= traced {
		t.Errorf("no-graph mode allocates %v bytes per run, traced %v: expected fewer", plain, traced)
	}
}

// bytesPerRun is the average number of bytes f allocates per call.
func bytesPerRun(runs int, f func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

func TestGradConsistentUnderBroadcastAccumulation(t *testing.T) {
	// A bias used by every row of a batch collects the sum of the rows'
	// gradients.
	b := Param(Vector(0.1, -0.2, 0.3))
	x := Const(FromData([]float64{1, 2, 3, 4, 5, 6}, 2, 3))
	g := Grad(Sum(Mul(Add(x, b), x)), b)[0]
	want := []float64{5, 7, 9}
	for i := range want {
		if g.Data[i] != want[i] {
			t.Fatalf("bias gradient %v, want %v", g.Data, want)
		}
	}
}

func expectPanic(t *testing.T, prefix string, f func()) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("expected a panic")
		}
		s, ok := r.(string)
		if !ok || len(s) < len(prefix) || s[:len(prefix)] != prefix {
			t.Fatalf("panic %v does not start with %q", r, prefix)
		}
	}()
	f()
}

func TestShapeMisusePanics(t *testing.T) {
	a, b := Const(New(2, 3)), Const(New(4, 3))
	expectPanic(t, "adjoint:", func() { Add(a, b) })
	expectPanic(t, "adjoint:", func() { MatMul(a, b) })
	expectPanic(t, "adjoint:", func() { Reshape(a, 4, 2) })
	expectPanic(t, "adjoint:", func() { Slice(a, 1, 2, 5) })
	expectPanic(t, "adjoint:", func() { Take(a, 0, []int{2}) })
	expectPanic(t, "adjoint:", func() { SumAxis(a, 2, false) })
	expectPanic(t, "adjoint:", func() { Grad(Param(New(2)), Param(New(2))) })
	expectPanic(t, "adjoint:", func() { OneHot([]int{3}, 3) })
}

func TestMaxAxisTiesAndNaN(t *testing.T) {
	x := Param(FromData([]float64{1, 3, 3, 2, 5, 5, 5, 0}, 2, 4))
	m := MaxAxis(x, 1, false)
	if m.Value().Data[0] != 3 || m.Value().Data[1] != 5 {
		t.Fatalf("max = %v", m.Value().Data)
	}
	g := Grad(Sum(m), x)[0]
	want := []float64{0, 1, 0, 0, 1, 0, 0, 0} // first maximum of each row
	for i := range want {
		if g.Data[i] != want[i] {
			t.Fatalf("gradient %v, want %v (ties go to the first maximum)", g.Data, want)
		}
	}
	y := Const(FromData([]float64{1, math.NaN(), 2}, 3))
	if v := MaxAxis(y, 0, false).Item(); !math.IsNaN(v) {
		t.Errorf("max of a row with NaN = %v, want NaN", v)
	}
}
