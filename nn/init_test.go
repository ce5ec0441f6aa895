package nn

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/adjointkit/adjointkit/adjoint"
)

func TestInitialiserStatistics(t *testing.T) {
	const fi, fo = 200, 300
	cases := []struct {
		name    string
		init    Init
		std     float64 // expected standard deviation
		uniform bool
	}{
		{"glorot_uniform", GlorotUniform(1), math.Sqrt(2.0 / (fi + fo)), true},
		{"glorot_uniform_x3", GlorotUniform(3), 3 * math.Sqrt(2.0/(fi+fo)), true},
		{"glorot_normal", GlorotNormal(0.5), 0.5 * math.Sqrt(2.0/(fi+fo)), false},
		{"he_uniform", HeUniform(1), math.Sqrt(2.0 / fi), true},
		{"he_normal", HeNormal(2), 2 * math.Sqrt(2.0/fi), false},
		{"normal", Normal(0.1), 0.1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := adjoint.New(fi, fo)
			c.init.Weights(newRNG(41), w, fi, fo)
			mean, std := stat.MeanStdDev(w.Data, nil)
			// 60000 draws: the sample standard deviation is within 1% with
			// overwhelming probability.
			if math.Abs(std/c.std-1) > 0.02 || math.Abs(mean) > 0.02*c.std {
				t.Errorf("mean %g std %g, want 0 and %g", mean, std, c.std)
			}
			if c.uniform {
				bound := c.std * math.Sqrt(3)
				if m := max(slices.Max(w.Data), -slices.Min(w.Data)); m > bound {
					t.Errorf("value %g beyond the bound %g", m, bound)
				}
			}
			again := adjoint.New(fi, fo)
			c.init.Weights(newRNG(41), again, fi, fo)
			if !slices.Equal(w.Data, again.Data) {
				t.Error("the same seed gave different values")
			}
		})
	}
}

func TestOrthogonal(t *testing.T) {
	for _, shape := range [][]int{{6, 6}, {8, 3}, {3, 8}, {4, 2, 3, 3}} {
		w := adjoint.New(shape...)
		Orthogonal(1.5).Weights(newRNG(42), w, 0, 0)
		rows := shape[0]
		cols := w.Size() / rows
		m := mat.NewDense(rows, cols, w.Data)
		var g mat.Dense
		if rows >= cols {
			g.Mul(m.T(), m)
		} else {
			g.Mul(m, m.T())
		}
		n, _ := g.Dims()
		for i := range n {
			for j := range n {
				want := 0.0
				if i == j {
					want = 1.5 * 1.5
				}
				if math.Abs(g.At(i, j)-want) > 1e-12 {
					t.Fatalf("shape %v: Gram matrix (%d,%d) = %g, want %g", shape, i, j, g.At(i, j), want)
				}
			}
		}
	}
	mustPanic(t, func() { Orthogonal(1).Weights(newRNG(1), adjoint.New(4), 4, 4) }, "nn: Orthogonal")
	mustPanic(t, func() { GlorotUniform(1).Weights(nil, adjoint.New(4), 4, 4) }, "nn:", "rand.Rand")
}

// Layers draw their weights with the requested initialiser and fans.
func TestLayerInitFans(t *testing.T) {
	c := NewConv2D(newRNG(43), 8, 16, 3, 3, &Conv2DSettings{Init: HeNormal(1)})
	_, std := stat.MeanStdDev(c.w.Value().Data, nil)
	if want := math.Sqrt(2.0 / (8 * 9)); math.Abs(std/want-1) > 0.1 {
		t.Errorf("conv weight std %g, want about %g", std, want)
	}
	r := NewRNN(newRNG(44), 4, 5, nil)
	m := mat.NewDense(5, 5, r.Params()[1].Value().Data)
	var g mat.Dense
	g.Mul(m.T(), m)
	if !mat.EqualApprox(&g, identity(5), 1e-12) {
		t.Error("RNN recurrent weights are not orthogonal by default")
	}
	lstm := NewLSTM(newRNG(45), 2, 3, nil)
	if b := lstm.Params()[2].Value().Data; !slices.Equal(b, []float64{0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("LSTM bias %v", b)
	}
}

func identity(n int) *mat.Dense {
	d := mat.NewDense(n, n, nil)
	for i := range n {
		d.Set(i, i, 1)
	}
	return d
}
