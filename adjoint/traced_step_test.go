package adjoint

import (
	"math"
	"testing"
)

// tracedEngProblem writes engTanhStep and engQuadLoss with traced ops.
func tracedEngProblem(d int) (TracedStep, Loss) {
	layout := NewLayout([]int{d, d}, []int{d}, []int{})
	parts := func(theta *Var) (w, b, c *Var) {
		ow, ob, oc := layout.Offset(0), layout.Offset(1), layout.Offset(2)
		return Reshape(Slice(theta, 0, ow, ob), d, d), Slice(theta, 0, ob, oc), Slice(theta, 0, oc, oc+1)
	}
	step := TracedStep{F: func(k int, x, theta *Var) *Var {
		w, b, c := parts(theta)
		pre := Add(Reshape(MatMul(w, Reshape(x, d, 1)), d), b)
		return Add(Add(Tanh(pre), Scale(Mul(c, Sin(x)), 0.1)), Scale(c, 0.01*float64(k)))
	}}
	targets := func(k int) *Var {
		t := New(d)
		for i := range t.Data {
			t.Data[i] = math.Sin(0.3*float64(k) + float64(i))
		}
		return Const(t)
	}
	loss := TracedLoss{
		Terminal: func(x, theta *Var) *Var {
			_, _, c := parts(theta)
			return Add(Dot(x, x), Sum(Mul(c, Slice(x, 0, 0, 1))))
		},
		Running: func(k int, x, theta *Var) *Var {
			_, _, c := parts(theta)
			return Add(Scale(Sum(Square(Sub(x, targets(k)))), 0.5), Scale(Sum(Square(c)), 0.01))
		},
	}.AsLoss()
	return step, loss
}

func TestTracedStepMatchesHandWritten(t *testing.T) {
	const d, n = 3, 17
	flatStep, flatLoss, x0, theta := engProblem(d)
	step, loss := tracedEngProblem(d)
	if _, ok := loss.(RunningLoss); !ok {
		t.Fatal("a TracedLoss with Running set is not a RunningLoss")
	}
	wantX := make([]float64, d)
	wantT := make([]float64, len(theta))
	want, err := Recurrence(wantX, wantT, flatStep, flatLoss, x0, theta, n, StoreAll(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var refX, refT []float64
	for _, p := range []Policy{StoreAll(), Every(4), Binomial(3)} {
		gx := make([]float64, d)
		gt := make([]float64, len(theta))
		got, err := Recurrence(gx, gt, step, loss, x0, theta, n, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got.Loss-want.Loss) > 1e-13*math.Abs(want.Loss) {
			t.Errorf("%v: loss %v, hand-written %v", p, got.Loss, want.Loss)
		}
		if e := compare(append(gx, gt...), append(wantX, wantT...)); e.MaxRel > 1e-13 {
			t.Errorf("%v: traced gradient differs from the hand-written one by %v", p, e.MaxRel)
		}
		if refX == nil {
			refX, refT = gx, gt
			continue
		}
		for i := range gx {
			if gx[i] != refX[i] {
				t.Fatalf("%v: dL/dx0 not bit-identical to StoreAll", p)
			}
		}
		for i := range gt {
			if gt[i] != refT[i] {
				t.Fatalf("%v: dL/dθ not bit-identical to StoreAll", p)
			}
		}
	}
}
