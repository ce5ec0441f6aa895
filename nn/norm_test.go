package nn

import (
	"math"
	"slices"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
)

// BatchNorm's modes: training normalises each channel of the batch to mean
// 0 and variance 1 (before gain and bias) and folds the batch statistics
// into the running averages; evaluation uses those averages and changes
// nothing; without running statistics the batch is used in both.
func TestBatchNormModes(t *testing.T) {
	rng := newRNG(51)
	bn := NewBatchNorm2D(2, &BatchNormSettings{Momentum: 0.5})
	x := randTensor(rng, 3, 2, 2, 2)
	for i := range x.Data {
		x.Data[i] = 3 + 2*x.Data[i]
	}
	y := bn.Forward(adjoint.Const(x)).Value()
	for c := range 2 {
		var vals, xs []float64
		for n := range 3 {
			for p := range 4 {
				vals = append(vals, y.Data[n*8+c*4+p])
				xs = append(xs, x.Data[n*8+c*4+p])
			}
		}
		m, v := meanVar(vals)
		if math.Abs(m) > 1e-15 || math.Abs(v-1) > 1e-4 { // v = σ²/(σ²+ε)
			t.Errorf("channel %d: normalised mean %v, variance %v", c, m, v)
		}
		bm, bv := meanVar(xs)
		bv *= 12.0 / 11 // unbiased
		rm, rv := bn.Buffers()[0].Value().Data[c], bn.Buffers()[1].Value().Data[c]
		if math.Abs(rm-0.5*bm) > 1e-15 || math.Abs(rv-(0.5+0.5*bv)) > 1e-14 {
			t.Errorf("channel %d: running mean %v var %v, want %v %v", c, rm, rv, 0.5*bm, 0.5+0.5*bv)
		}
	}
	if n := bn.Buffers()[2].Value().Item(); n != 1 {
		t.Errorf("num_batches_tracked %v", n)
	}
	names := []string{}
	for _, b := range Buffers(NewSequential([]int{2, 2, 2}, NewBatchNorm2D(2, nil), Tanh(), NewResidual(NewBatchNorm2D(2, nil)))) {
		names = append(names, b.Name)
	}
	if want := []string{"layer0.running_mean", "layer0.running_var", "layer0.num_batches_tracked",
		"layer2.running_mean", "layer2.running_var", "layer2.num_batches_tracked"}; !slices.Equal(names, want) {
		t.Errorf("buffer names %q", names)
	}

	// Evaluation: (x − running mean)/√(running var + ε), buffers unchanged.
	SetTraining(bn, false)
	before := slices.Clone(bn.Buffers()[0].Value().Data)
	ye := bn.Forward(adjoint.Const(x)).Value()
	rm, rv := bn.Buffers()[0].Value().Data, bn.Buffers()[1].Value().Data
	for i, v := range x.Data {
		c := (i / 4) % 2
		if want := (v - rm[c]) / math.Sqrt(rv[c]+1e-5); math.Abs(ye.Data[i]-want) > 1e-14 {
			t.Fatalf("eval element %d: %v, want %v", i, ye.Data[i], want)
		}
	}
	if !slices.Equal(before, rm) || bn.Buffers()[2].Value().Item() != 1 {
		t.Error("evaluation changed the running statistics")
	}
	// A single value per channel cannot be trained on, but can be
	// evaluated.
	bn1 := NewBatchNorm1D(3, nil)
	mustPanic(t, func() { bn1.Forward(adjoint.Const(adjoint.New(1, 3))) }, "nn: BatchNorm1D(3)", "one value per channel")
	SetTraining(bn1, false)
	bn1.Forward(adjoint.Const(adjoint.New(1, 3)))

	free := NewBatchNorm1D(2, &BatchNormSettings{NoRunningStats: true, NoAffine: true})
	if len(free.Params())+len(free.Buffers()) != 0 {
		t.Error("NoRunningStats/NoAffine layer has parameters or buffers")
	}
	SetTraining(free, false)
	xb := randTensor(rng, 5, 2)
	a := free.Forward(adjoint.Const(xb)).Value()
	SetTraining(free, true)
	if b := free.Forward(adjoint.Const(xb)).Value(); !slices.Equal(a.Data, b.Data) {
		t.Error("without running statistics, evaluation differs from training")
	}
	mustPanic(t, func() { NewBatchNorm1D(2, &BatchNormSettings{Momentum: 1.5}) }, "nn: NewBatchNorm1D", "Momentum 1.5")
	mustPanic(t, func() { NewSequential([]int{2, 3}, NewBatchNorm2D(2, nil)) }, "BatchNorm2D(2)", "[channels height width]")
}

func meanVar(v []float64) (m, s float64) {
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return m, s / float64(len(v))
}

// GroupNorm with one group is LayerNorm over the whole sample, and with a
// group per channel normalises every channel of every sample separately.
func TestGroupNormLimits(t *testing.T) {
	rng := newRNG(52)
	x := adjoint.Const(randTensor(rng, 2, 4, 3))
	a := NewGroupNorm(1, 4, &NormSettings{NoAffine: true}).Forward(x).Value()
	b := NewLayerNormOver([]int{4, 3}, &NormSettings{NoAffine: true}).Forward(x).Value()
	if d := maxAbsDiff(a.Data, b.Data); d > 1e-15 {
		t.Errorf("GroupNorm(1) and LayerNorm over the sample differ by %g", d)
	}
	in := NewGroupNorm(4, 4, &NormSettings{NoAffine: true}).Forward(x).Value()
	for k := range 8 {
		m, v := meanVar(in.Data[3*k : 3*k+3])
		if math.Abs(m) > 1e-15 || math.Abs(v-1) > 1e-4 {
			t.Errorf("channel %d: mean %v variance %v", k, m, v)
		}
	}
	mustPanic(t, func() { NewGroupNorm(3, 4, nil) }, "nn: NewGroupNorm", "3 groups must divide 4 channels")
	mustPanic(t, func() { NewLayerNormOver(nil, nil) }, "nn: NewLayerNormOver")
	mustPanic(t, func() { NewLayerNormOver([]int{3, 4}, nil).Forward(x) }, "LayerNorm([3 4])", "normalised shape [3 4]")
}

// Embedding rows are looked up and their gradients add up; the padding
// row starts at zero and never gets a gradient.
func TestEmbedding(t *testing.T) {
	e := NewEmbedding(newRNG(53), 5, 2, &EmbeddingSettings{Padding: true, PaddingIndex: -1})
	w := e.Params()[0].Value()
	if !slices.Equal(w.Data[8:], []float64{0, 0}) {
		t.Errorf("padding row %v, want zeros", w.Data[8:])
	}
	w.Data[8], w.Data[9] = 7, 8 // a value the padding row may hold
	x := adjoint.Const(adjoint.FromData([]float64{1, 4, 1, 0}, 2, 2))
	y := e.Forward(x)
	if !slices.Equal(y.Shape(), []int{2, 2, 2}) || y.Value().At(0, 1, 1) != 8 || y.Value().At(1, 0, 0) != w.Data[2] {
		t.Fatalf("lookup %v", y.Value())
	}
	g := adjoint.Grad(adjoint.Sum(y), Vars(e)...)[0].Data
	if want := []float64{1, 1, 2, 2, 0, 0, 0, 0, 0, 0}; !slices.Equal(g, want) {
		t.Errorf("gradient %v, want %v", g, want)
	}
	// Gradients of the table, first and second order (without padding: the
	// padding row's cut gradient is by design not its derivative).
	plain := NewEmbedding(newRNG(54), 5, 2, nil)
	r := adjoint.Check(func(v ...*adjoint.Var) *adjoint.Var {
		return adjoint.Tanh(plain.Apply(v, x))
	}, []*adjoint.Tensor{randTensor(newRNG(54), 5, 2)}, nil)
	if err := r.Err(fdTol, adTol); err != nil || !r.SecondOrder {
		t.Errorf("%v\n%v", err, r)
	}
	mustPanic(t, func() { e.Forward(adjoint.Const(adjoint.Vector(0.5))) }, "nn: Embedding(5×2)", "index 0.5")
	mustPanic(t, func() { e.Forward(adjoint.Const(adjoint.Vector(5))) }, "index 5", "[0, 5)")
	mustPanic(t, func() { NewEmbedding(newRNG(1), 3, 2, &EmbeddingSettings{Padding: true, PaddingIndex: 3}) }, "padding index 3")
}
