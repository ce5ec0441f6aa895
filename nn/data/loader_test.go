package data

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn"
)

// synthetic returns a set of n 2×2 images whose first pixel encodes the
// index (i mod 256) and whose label is i mod 10.
func synthetic(n int) *Set {
	s := &Set{N: n, Rows: 2, Cols: 2, Classes: 10, Pixels: make([]uint8, 4*n), Labels: make([]uint8, n)}
	for i := range n {
		s.Pixels[4*i] = uint8(i)
		s.Labels[i] = uint8(i % 10)
	}
	return s
}

func TestLoaderEpochs(t *testing.T) {
	s := synthetic(23)
	l := NewLoader(s, 5, 7, nil)
	if l.BatchesPerEpoch() != 5 {
		t.Fatalf("BatchesPerEpoch = %d, want 5", l.BatchesPerEpoch())
	}
	var orders [][]int
	for e := range 3 {
		var seen []int
		for k := range 5 {
			idx := l.Indices(e*5 + k)
			if want := min(5, 23-5*k); len(idx) != want {
				t.Fatalf("epoch %d batch %d has %d images, want %d", e, k, len(idx), want)
			}
			seen = append(seen, idx...)
		}
		sorted := slices.Sorted(slices.Values(seen))
		if !slices.Equal(sorted, Range(0, 23)) {
			t.Fatalf("epoch %d does not visit every image once: %v", e, seen)
		}
		orders = append(orders, seen)
	}
	if slices.Equal(orders[0], orders[1]) || slices.Equal(orders[0], Range(0, 23)) {
		t.Error("epochs are not shuffled, or all in the same order")
	}
	// The same seed gives the same batches, in any order of requests.
	l2 := NewLoader(s, 5, 7, nil)
	for _, step := range []int{12, 0, 3, 14, 7} {
		if !slices.Equal(l2.Indices(step), l.Indices(step)) {
			t.Errorf("step %d differs between two loaders with the same seed", step)
		}
	}
	if slices.Equal(NewLoader(s, 5, 8, nil).Indices(0), l.Indices(0)) {
		t.Error("seeds 7 and 8 give the same first batch")
	}
	// Batch matches Indices.
	x, labels := l.Batch(6)
	for b, i := range l.Indices(6) {
		if labels[b] != i%10 || x.Data[4*b] != float64(i)/255 {
			t.Errorf("batch 6 entry %d is not image %d", b, i)
		}
	}
}

func TestLoaderSettings(t *testing.T) {
	s := synthetic(23)
	l := NewLoader(s, 5, 1, &LoaderSettings{InOrder: true, DropLast: true})
	if l.BatchesPerEpoch() != 4 || l.Epoch(4) != 1 {
		t.Fatalf("BatchesPerEpoch = %d, Epoch(4) = %d; want 4 and 1", l.BatchesPerEpoch(), l.Epoch(4))
	}
	if got := l.Indices(5); !slices.Equal(got, []int{5, 6, 7, 8, 9}) {
		t.Errorf("in order, step 5 gives %v", got)
	}
}

// TestLoaderObjective trains a softmax regression on a separable
// synthetic set through the Trainer and the loader's Objective.
func TestLoaderObjective(t *testing.T) {
	s := synthetic(40)
	for i := range s.N { // class 0 bright top-left, class 1 bright bottom-right
		s.Labels[i] = uint8(i % 2)
		s.Pixels[4*i] = uint8(200 * (1 - i%2))
		s.Pixels[4*i+3] = uint8(200 * (i % 2))
	}
	s.Classes = 2
	model := nn.NewLinear(rand.New(rand.NewPCG(1, 2)), 4, 2, nil)
	l := NewLoader(s, 8, 3, nil)
	tr := &nn.Trainer{Model: model, Optimizer: nn.NewAdam(0.1)}
	first, err := tr.Step(l.Objective(model, true, func(logits *adjoint.Var, labels []int) *adjoint.Var {
		return nn.SoftmaxCrossEntropy(logits, labels)
	}))
	if err != nil {
		t.Fatal(err)
	}
	last, err := tr.Run(50, l.Objective(model, true, func(logits *adjoint.Var, labels []int) *adjoint.Var {
		return nn.SoftmaxCrossEntropy(logits, labels)
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !(last < first/10) || math.IsNaN(last) {
		t.Errorf("loss went from %v to %v; want it ten times smaller", first, last)
	}
}
