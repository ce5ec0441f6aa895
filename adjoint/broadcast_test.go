package adjoint

import (
	"math/rand/v2"
	"testing"
)

// TestBroadcastFastPathsMatchGeneral compares the specialised broadcast
// loops with the general strided walk on shape pairs that hit every path.
func TestBroadcastFastPathsMatchGeneral(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	pairs := [][2][]int{
		{{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{3, 4}, {1, 4}}, {{3, 4}, {}}, {{}, {3, 4}},
		{{3, 4}, {3, 1}}, {{3, 1}, {3, 4}}, {{2, 3, 4}, {2, 3, 1}}, {{2, 3, 4}, {2, 1, 1}},
		{{2, 3, 4}, {3, 1}}, {{3, 1}, {1, 4}}, {{2, 1, 4}, {3, 1}}, {{1, 3, 1}, {2, 3, 4}},
		{{2, 3, 4}, {1, 3, 1}}, {{5, 1, 1}, {5, 2, 3}},
		// A block in the middle: per-channel biases of NCHW images.
		{{2, 3, 4, 5}, {3, 1, 1}}, {{3, 1, 1}, {2, 3, 4, 5}}, {{4, 3, 2, 5}, {1, 3, 2, 1}},
		{{2, 3, 4, 5}, {1, 3, 1, 5}},
	}
	for _, p := range pairs {
		a, b := randInput(rng, anyReal, p[0]...), randInput(rng, anyReal, p[1]...)
		shape := BroadcastShape(a.Shape, b.Shape)
		want := New(shape...)
		sa, sb := bcastStrides(a.Shape, shape), bcastStrides(b.Shape, shape)
		broadcastOffsets(shape, sa, sb, func(i, ia, ib int) { want.Data[i] = a.Data[ia] - b.Data[ib] })
		got := binaryKernel(a, b, binSub, func(x, y float64) float64 { return x - y })
		for i := range want.Data {
			if got.Data[i] != want.Data[i] {
				t.Fatalf("%v − %v: element %d = %v, want %v", p[0], p[1], i, got.Data[i], want.Data[i])
			}
		}
		for _, x := range []*Tensor{a, b} {
			bt := broadcastTensor(x, shape)
			st := bcastStrides(x.Shape, shape)
			sum := New(x.Shape...)
			broadcastOffsets(shape, st, st, func(i, ix, _ int) {
				if bt.Data[i] != x.Data[ix] {
					t.Fatalf("broadcast %v to %v: element %d wrong", x.Shape, shape, i)
				}
				sum.Data[ix] += bt.Data[i]
			})
			back := sumToTensor(bt, x.Shape)
			for i := range sum.Data {
				if d := back.Data[i] - sum.Data[i]; d > 1e-12 || d < -1e-12 {
					t.Fatalf("sum %v to %v: element %d = %v, want %v", shape, x.Shape, i, back.Data[i], sum.Data[i])
				}
			}
		}
	}
}
