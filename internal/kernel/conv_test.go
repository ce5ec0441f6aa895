package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// naiveConv is the definition of Conv2D as nested loops: the forward pass
// and, for the upstream gradient ybar, the gradients with respect to x and
// w, each accumulated element by element. Output channel o of group
// o/(O/G) reads input channels [grp·C/G, (grp+1)·C/G).
func naiveConv(g *Conv2D, x, w, ybar []float64) (y, xbar, wbar []float64) {
	oh, ow := g.OutH(), g.OutW()
	y = make([]float64, g.N*g.O*oh*ow)
	xbar = make([]float64, len(x))
	wbar = make([]float64, len(w))
	groups := max(g.Groups, 1)
	cg, og := g.C/groups, g.O/groups
	for n := range g.N {
		for o := range g.O {
			for i := range oh {
				for j := range ow {
					yi := ((n*g.O+o)*oh+i)*ow + j
					for c := range cg {
						for u := range g.KH {
							for v := range g.KW {
								ih, iw := i*g.SH-g.PH+u*g.DH, j*g.SW-g.PW+v*g.DW
								if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
									continue
								}
								xi := ((n*g.C+o/og*cg+c)*g.H+ih)*g.W + iw
								wi := ((o*cg+c)*g.KH+u)*g.KW + v
								y[yi] += w[wi] * x[xi]
								xbar[xi] += w[wi] * ybar[yi]
								wbar[wi] += x[xi] * ybar[yi]
							}
						}
					}
				}
			}
		}
	}
	return y, xbar, wbar
}

func randVec(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

// convCases covers strides, padding, dilation, non-square kernels,
// kernels as large as the padded image, single pixels and batches that
// need several column blocks.
func convCases(rng *rand.Rand) []*Conv2D {
	cs := []*Conv2D{
		{N: 2, C: 3, H: 7, W: 6, O: 4, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1, DH: 1, DW: 1},
		{N: 3, C: 1, H: 28, W: 28, O: 8, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1},
		{N: 5, C: 8, H: 13, W: 13, O: 16, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1},
		{N: 1, C: 2, H: 9, W: 8, O: 3, KH: 3, KW: 2, SH: 2, SW: 3, PH: 2, PW: 1, DH: 2, DW: 3},
		{N: 2, C: 2, H: 3, W: 4, O: 2, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1},
		{N: 2, C: 1, H: 2, W: 3, O: 1, KH: 4, KW: 5, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1},
		{N: 1, C: 1, H: 1, W: 1, O: 1, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1},
		{N: 40, C: 4, H: 11, W: 10, O: 5, KH: 3, KW: 3, SH: 1, SW: 2, PH: 1, PW: 0, DH: 1, DW: 1},
	}
	// Groups: two groups, depthwise (one input channel per group) with a
	// channel multiplier, and a batch large enough for several column
	// blocks of the input gradient.
	cs = append(cs,
		&Conv2D{N: 2, C: 4, H: 7, W: 6, O: 6, KH: 3, KW: 2, SH: 1, SW: 2, PH: 1, PW: 0, DH: 1, DW: 1, Groups: 2},
		&Conv2D{N: 3, C: 3, H: 8, W: 9, O: 6, KH: 3, KW: 3, SH: 3, SW: 3, PH: 1, PW: 2, DH: 2, DW: 2, Groups: 3},
		&Conv2D{N: 40, C: 6, H: 9, W: 10, O: 6, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 6},
		// An inner dimension of 288 spans several k blocks of every
		// kernel, so the bias must be added once, in the first.
		&Conv2D{N: 3, C: 64, H: 5, W: 6, O: 10, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 2},
	)
	for range 30 {
		grp := 1 + rng.IntN(3)
		g := &Conv2D{N: 1 + rng.IntN(4), C: grp * (1 + rng.IntN(3)), O: grp * (1 + rng.IntN(6)),
			KH: 1 + rng.IntN(4), KW: 1 + rng.IntN(4), SH: 1 + rng.IntN(3), SW: 1 + rng.IntN(3),
			PH: rng.IntN(3), PW: rng.IntN(3), DH: 1 + rng.IntN(2), DW: 1 + rng.IntN(2), Groups: grp}
		g.H = max(1, g.DH*(g.KH-1)+1-2*g.PH) + rng.IntN(12)
		g.W = max(1, g.DW*(g.KW-1)+1-2*g.PW) + rng.IntN(12)
		cs = append(cs, g)
	}
	return cs
}

// closeTo reports the worst error of got against want relative to the
// largest magnitude in want (every entry is a short sum of O(1) terms).
func closeTo(got, want []float64) float64 {
	var d, m float64
	for i := range want {
		d = max(d, math.Abs(got[i]-want[i]))
		m = max(m, math.Abs(want[i]))
	}
	return d / max(m, 1)
}

func TestConv2DAgainstLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, mk := range available() {
		defer func(old *microKernel) { active = old }(active)
		active = mk
		for _, g := range convCases(rng) {
			name := fmt.Sprintf("%s/%+v", mk.name, *g)
			x := randVec(rng, g.N*g.C*g.H*g.W)
			w := randVec(rng, g.O*g.C/max(g.Groups, 1)*g.KH*g.KW)
			ybar := randVec(rng, g.N*g.O*g.OutH()*g.OutW())
			wantY, wantX, wantW := naiveConv(g, x, w, ybar)
			// Outputs start full of NaN: every method must overwrite them.
			y, xbar, wbar := nanVec(len(wantY)), nanVec(len(x)), nanVec(len(w))
			g.Forward(y, x, w)
			g.InputGrad(xbar, ybar, w)
			g.WeightGrad(wbar, x, ybar)
			// The biased forms add b to every pixel of a channel.
			bo, bc := randVec(rng, g.O), randVec(rng, g.C)
			yb, xbarb := nanVec(len(wantY)), nanVec(len(x))
			g.ForwardBias(yb, x, w, bo)
			g.InputGradBias(xbarb, ybar, w, bc)
			wantYB, wantXB := addChannelBias(wantY, bo, g.OutH()*g.OutW()), addChannelBias(wantX, bc, g.H*g.W)
			for _, r := range []struct {
				what      string
				got, want []float64
			}{{"forward", y, wantY}, {"input gradient", xbar, wantX}, {"weight gradient", wbar, wantW},
				{"forward with bias", yb, wantYB}, {"input gradient with bias", xbarb, wantXB}} {
				if e := closeTo(r.got, r.want); !(e <= 1e-13) {
					t.Fatalf("%s: %s: relative error %.3g", name, r.what, e)
				}
			}
		}
	}
}

// addChannelBias returns NCHW planes y (hw pixels each) with b[c] added to
// every pixel of channel c.
func addChannelBias(y, b []float64, hw int) []float64 {
	out := make([]float64, len(y))
	for i, v := range y {
		out[i] = v + b[i/hw%len(b)]
	}
	return out
}

func nanVec(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

// Convolutions large enough to run on several goroutines give the same
// bits under GOMAXPROCS 1 and 2, with and without groups and bias.
func TestConv2DGOMAXPROCSBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	// Large enough (2·10^7 multiply-adds per product) to be split.
	for _, g := range []*Conv2D{
		{N: 128, C: 8, H: 13, W: 13, O: 16, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1},
		{N: 128, C: 16, H: 13, W: 13, O: 32, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, Groups: 2},
	} {
		x := randVec(rng, g.N*g.C*g.H*g.W)
		w := randVec(rng, g.O*g.C/max(g.Groups, 1)*g.KH*g.KW)
		ybar := randVec(rng, g.N*g.O*g.OutH()*g.OutW())
		bo, bc := randVec(rng, g.O), randVec(rng, g.C)
		run := func(procs int) [][]float64 {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			y, xbar, wbar := make([]float64, len(ybar)), make([]float64, len(x)), make([]float64, len(w))
			yb, xbarb := make([]float64, len(ybar)), make([]float64, len(x))
			g.Forward(y, x, w)
			g.InputGrad(xbar, ybar, w)
			g.WeightGrad(wbar, x, ybar)
			g.ForwardBias(yb, x, w, bo)
			g.InputGradBias(xbarb, ybar, w, bc)
			return [][]float64{y, xbar, wbar, yb, xbarb}
		}
		one, two := run(1), run(2)
		for k := range one {
			for i := range one[k] {
				if math.Float64bits(one[k][i]) != math.Float64bits(two[k][i]) {
					t.Fatalf("%+v: result %d (y, x̄, w̄, y+b, x̄+b), element %d: %v with one thread, %v with two", *g, k, i, one[k][i], two[k][i])
				}
			}
		}
	}
}
