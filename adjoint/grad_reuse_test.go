package adjoint

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// A graph in which parameters collect many contributions (a weight and a
// bias shared by eight recurrence steps, a value used several times), so
// that the reverse pass adds in place and through the matrix kernel.
func sharedGraph(w, b, h0 *Var, x *Tensor) *Var {
	h := h0
	for t := range 8 {
		xt := Const(FromData(x.Data[t*12:(t+1)*12], 3, 4))
		if t%2 == 0 {
			h = Tanh(Add(Add(MatMul(h, w), MatMul(xt, w)), b))
		} else {
			h = Sigmoid(MatMulAdd(h, w, MatMulAdd(xt, w, b)))
		}
	}
	return Sum(Mul(h, Add(h, Square(h))))
}

func sharedInputs() (w, b, h0 *Tensor, x *Tensor) {
	rng := rand.New(rand.NewPCG(41, 42))
	return randInput(rng, anyReal, 4, 4), randInput(rng, anyReal, 4), randInput(rng, anyReal, 3, 4), randInput(rng, anyReal, 8*12)
}

// In-place accumulation gives the same bits as the recorded reverse pass,
// which adds with Add.
func TestGradAccumulationMatchesRecordedPass(t *testing.T) {
	wt, bt, ht, x := sharedInputs()
	w, b, h := Param(wt), Param(bt), Param(ht)
	y := sharedGraph(w, b, h, x)
	plain := Backward(y, []*Var{w, b, h}, nil)
	recorded := Backward(y, []*Var{w, b, h}, &GradSettings{CreateGraph: true})
	for i := range plain {
		for j, v := range plain[i].Value().Data {
			if math.Float64bits(v) != math.Float64bits(recorded[i].Value().Data[j]) {
				t.Fatalf("gradient %d, element %d: %v in place, %v recorded", i, j, v, recorded[i].Value().Data[j])
			}
		}
	}
	r := Check(func(v ...*Var) *Var { return sharedGraph(v[0], v[1], v[2], x) }, []*Tensor{wt, bt, ht}, nil)
	if err := r.Err(fdTol, adTol); err != nil {
		t.Error(err)
	}
}

// Reused buffers never reach anything a caller holds: gradients returned
// by one pass stay as they were through later passes (even after the
// caller writes to them), the forward values and the cotangent seed are
// never written, and distinct wanted values get distinct gradients.
func TestGradBuffersNotShared(t *testing.T) {
	wt, bt, ht, x := sharedInputs()
	w, b, h := Param(wt), Param(bt), Param(ht)
	y := sharedGraph(w, b, h, x)
	order := topoOrder(y)
	before := make([][]float64, len(order))
	for i, v := range order {
		before[i] = slices.Clone(v.Value().Data)
	}
	seed := Full(1.5, y.Shape()...)
	first := VJP(y, seed, w, b, h)
	saved := make([][]float64, len(first))
	for i, g := range first {
		saved[i] = slices.Clone(g.Data)
	}
	for i := range first[0].Data {
		first[0].Data[i] = math.NaN() // the caller owns it and may scribble
	}
	for range 3 {
		again := VJP(y, seed, w, b, h)
		for i := 1; i < len(again); i++ {
			if !slices.Equal(again[i].Data, first[i].Data) || !slices.Equal(first[i].Data, saved[i]) {
				t.Fatalf("gradient %d changed between passes", i)
			}
		}
		if !slices.Equal(again[0].Data, saved[0]) {
			t.Fatal("a caller's writes to a returned gradient reached a later pass")
		}
		for i := range again {
			for j := range again {
				if i != j && &again[i].Data[0] == &again[j].Data[0] {
					t.Fatalf("gradients %d and %d share storage", i, j)
				}
			}
		}
	}
	for i, v := range order {
		if !slices.Equal(v.Value().Data, before[i]) && !hasNaNs(before[i]) {
			t.Fatalf("the reverse pass wrote to the forward value of %s", v.Op())
		}
	}
	if !slices.Equal(seed.Data, []float64{1.5}) {
		t.Fatal("the reverse pass wrote to the cotangent seed")
	}
}

func hasNaNs(xs []float64) bool {
	for _, v := range xs {
		if v != v {
			return true
		}
	}
	return false
}

// The fused derivative products of the reverse pass without a graph give
// the bits of the recorded pass, which forms the derivative and multiplies.
func TestFusedUnaryVJPMatchesRecorded(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for name, f := range map[string]func(*Var) *Var{
		"exp": Exp, "tanh": Tanh, "sigmoid": Sigmoid, "square": Square,
		// Second derivatives go through tanh' and sigmoid'.
		"tanh'": func(x *Var) *Var { return Tanh(x) }, "sigmoid'": Sigmoid,
	} {
		x := Param(randInput(rng, anyReal, 3, 5))
		y := Sum(Sin(f(x)))
		g1 := Backward(y, []*Var{x}, nil)[0]
		g2 := Backward(y, []*Var{x}, &GradSettings{CreateGraph: true})[0]
		for i, v := range g1.Value().Data {
			if math.Float64bits(v) != math.Float64bits(g2.Value().Data[i]) {
				t.Fatalf("%s: element %d: %v fused, %v recorded", name, i, v, g2.Value().Data[i])
			}
		}
		// Differentiate the recorded gradient again without a graph: the
		// derivatives' own derivatives take the fused path too.
		v := Const(randInput(rng, anyReal, 3, 5))
		h1 := Backward(Dot(g2, v), []*Var{x}, nil)[0]
		h2 := Backward(Dot(g2, v), []*Var{x}, &GradSettings{CreateGraph: true})[0]
		for i, a := range h1.Value().Data {
			if math.Float64bits(a) != math.Float64bits(h2.Value().Data[i]) {
				t.Fatalf("%s, second order: element %d: %v fused, %v recorded", name, i, a, h2.Value().Data[i])
			}
		}
	}
}
