package nn

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
)

// naiveConv computes a Conv2D forward pass and, for the upstream gradient
// g, the gradients with respect to the input, the kernel and the bias by
// direct nested loops over the definition
//
//	y[n,o,i,j] = b[o] + Σ_{c,u,v} K[o,c,u,v] · xp[n,c,i·s+u, j·s+v].
func naiveConv(x, k, b, g *adjoint.Tensor, stride, pad int) (y, dx, dk, db *adjoint.Tensor) {
	N, C, H, W := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	O, KH, KW := k.Shape[0], k.Shape[2], k.Shape[3]
	OH, OW := (H+2*pad-KH)/stride+1, (W+2*pad-KW)/stride+1
	y = adjoint.New(N, O, OH, OW)
	dx, dk, db = adjoint.New(x.Shape...), adjoint.New(k.Shape...), adjoint.New(O)
	// at returns the padded input element and whether it is inside x.
	inside := func(r, c int) bool { return r >= 0 && r < H && c >= 0 && c < W }
	for n := range N {
		for o := range O {
			for i := range OH {
				for j := range OW {
					s := b.Data[o]
					gv := 0.0
					if g != nil {
						gv = g.At(n, o, i, j)
						db.Data[o] += gv
					}
					for c := range C {
						for u := range KH {
							for v := range KW {
								r, q := i*stride+u-pad, j*stride+v-pad
								if !inside(r, q) {
									continue
								}
								s += k.At(o, c, u, v) * x.At(n, c, r, q)
								if g != nil {
									dk.Set(dk.At(o, c, u, v)+gv*x.At(n, c, r, q), o, c, u, v)
									dx.Set(dx.At(n, c, r, q)+gv*k.At(o, c, u, v), n, c, r, q)
								}
							}
						}
					}
					y.Set(s, n, o, i, j)
				}
			}
		}
	}
	return y, dx, dk, db
}

// Conv2D against the direct loops: forward, and the gradients with respect
// to the input and the kernel (and bias), for several strides, paddings and
// non-square kernels, with several channels and a batch of 2.
func TestConv2DAgainstDirectLoops(t *testing.T) {
	rng := newRNG(11)
	cases := []struct {
		c, o, kh, kw, stride, pad, h, w int
	}{
		{3, 4, 3, 3, 2, 1, 7, 6}, // the case the issue asks for
		{3, 2, 3, 2, 2, 1, 8, 9},
		{2, 3, 3, 3, 1, 0, 5, 5},
		{1, 2, 2, 2, 3, 2, 6, 7},
		{2, 2, 1, 1, 1, 0, 3, 4},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("c%d_o%d_k%dx%d_s%d_p%d", c.c, c.o, c.kh, c.kw, c.stride, c.pad), func(t *testing.T) {
			conv := NewConv2D(rng, c.c, c.o, c.kh, c.kw, &Conv2DSettings{Stride: c.stride, Padding: c.pad})
			copy(conv.b.Value().Data, randTensor(rng, c.o).Data)
			xt := randTensor(rng, 2, c.c, c.h, c.w)
			x := adjoint.Param(xt)
			y := conv.Forward(x)
			g := randTensor(rng, y.Shape()...)
			wantY, wantDX, wantDK, wantDB := naiveConv(xt, conv.w.Value(), conv.b.Value(), g, c.stride, c.pad)
			if d := maxAbsDiff(y.Value().Data, wantY.Data); d > 1e-13 || !adjoint.SameShape(y.Value(), wantY) {
				t.Fatalf("forward: shape %v want %v, max difference %g", y.Shape(), wantY.Shape, d)
			}
			grads := adjoint.VJP(y, g, x, conv.w.Var, conv.b.Var)
			for i, want := range []*adjoint.Tensor{wantDX, wantDK, wantDB} {
				if d := maxAbsDiff(grads[i].Data, want.Data); d > 1e-12 {
					t.Errorf("gradient %d (input, kernel, bias): max difference %g", i, d)
				}
			}
		})
	}
}

// Every convolution option passes the first- and second-order gradient
// checks with respect to the input and every parameter.
func TestConvGradients(t *testing.T) {
	rng := newRNG(16)
	cases := []struct {
		name  string
		layer Layer
		x     []int
	}{
		{"conv2d_dil2_stride3", NewConv2D(rng, 2, 2, 2, 3, &Conv2DSettings{Stride: 3, Dilation: 2, PaddingHW: [2]int{1, 2}}), []int{2, 2, 7, 8}},
		{"conv2d_groups2", NewConv2D(rng, 4, 2, 3, 3, &Conv2DSettings{Groups: 2, Padding: 1, StrideHW: [2]int{2, 1}}), []int{1, 4, 4, 3}},
		{"conv2d_depthwise", NewConv2D(rng, 3, 3, 3, 2, &Conv2DSettings{Groups: 3, NoBias: true}), []int{2, 3, 4, 4}},
		{"conv2d_reflect", NewConv2D(rng, 2, 2, 3, 3, &Conv2DSettings{Padding: 2, PaddingMode: PadReflect}), []int{1, 2, 3, 4}},
		{"conv2d_replicate", NewConv2D(rng, 1, 2, 2, 2, &Conv2DSettings{PaddingHW: [2]int{1, 2}, PaddingMode: PadReplicate}), []int{2, 1, 3, 3}},
		{"conv2d_circular", NewConv2D(rng, 2, 2, 3, 3, &Conv2DSettings{Padding: 1, Stride: 2, PaddingMode: PadCircular, Init: TorchDefault()}), []int{1, 2, 4, 5}},
		{"conv1d", NewConv1D(rng, 2, 3, 3, &Conv1DSettings{Stride: 2, Padding: 1, Dilation: 2}), []int{2, 2, 9}},
		{"conv1d_depthwise_reflect", NewConv1D(rng, 2, 4, 3, &Conv1DSettings{Groups: 2, Padding: 2, PaddingMode: PadReflect}), []int{1, 2, 5}},
		{"convt2d", NewConvTranspose2D(rng, 2, 3, 3, 3, &ConvTranspose2DSettings{Stride: 2, Padding: 1, OutputPadding: 1}), []int{2, 2, 3, 2}},
		{"convt2d_groups_dil", NewConvTranspose2D(rng, 4, 2, 2, 3, &ConvTranspose2DSettings{StrideHW: [2]int{3, 2}, Groups: 2,
			DilationHW: [2]int{1, 2}, OutputPaddingHW: [2]int{2, 1}}), []int{1, 4, 2, 3}},
		{"convt2d_outpad_dilation", NewConvTranspose2D(rng, 2, 2, 2, 2, &ConvTranspose2DSettings{Dilation: 3, OutputPadding: 2, NoBias: true}), []int{1, 2, 2, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkLayer(t, c.layer, rng, false, c.x...) })
	}
}

// A transposed convolution is the adjoint of the convolution with the same
// kernel and geometry: ⟨y, T(x)⟩ = ⟨C(y), x⟩ for the layers without bias,
// where C maps T's output size back to its input size.
func TestConvTransposeIsAdjoint(t *testing.T) {
	rng := newRNG(17)
	for _, g := range []struct {
		stride, pad, outPad, dil [2]int
		groups                   int
	}{
		{[2]int{2, 2}, [2]int{1, 1}, [2]int{1, 1}, [2]int{1, 1}, 1},
		{[2]int{3, 1}, [2]int{0, 2}, [2]int{2, 0}, [2]int{1, 2}, 2},
	} {
		tr := NewConvTranspose2D(rng, 4, 2, 3, 2, &ConvTranspose2DSettings{StrideHW: g.stride, PaddingHW: g.pad,
			OutputPaddingHW: g.outPad, DilationHW: g.dil, Groups: g.groups, NoBias: true})
		conv := NewConv2D(rng, 2, 4, 3, 2, &Conv2DSettings{StrideHW: g.stride, PaddingHW: g.pad, DilationHW: g.dil,
			Groups: g.groups, NoBias: true})
		copy(conv.w.Value().Data, tr.w.Value().Data) // both [4, 2/G, 3, 2]
		x := randTensor(rng, 2, 4, 3, 4)
		tx := tr.Forward(adjoint.Const(x))
		y := randTensor(rng, tx.Shape()...)
		cy := conv.Forward(adjoint.Const(y))
		if !slices.Equal(cy.Shape(), x.Shape) {
			t.Fatalf("%+v: the convolution maps %v to %v, want %v", g, tx.Shape(), cy.Shape(), x.Shape)
		}
		lhs := adjoint.Dot(adjoint.Const(y), tx).Item()
		rhs := adjoint.Dot(cy, adjoint.Const(x)).Item()
		if math.Abs(lhs-rhs) > 1e-12*math.Abs(lhs) {
			t.Errorf("%+v: ⟨y, T x⟩ = %v, ⟨C y, x⟩ = %v", g, lhs, rhs)
		}
	}
}

// Padding modes against hand-written padded rows: reflect mirrors without
// repeating the edge, replicate repeats it, circular wraps around.
func TestPadIndex(t *testing.T) {
	for _, c := range []struct {
		mode PaddingMode
		n, p int
		want []int
	}{
		{PadReflect, 4, 2, []int{2, 1, 0, 1, 2, 3, 2, 1}},
		{PadReplicate, 3, 2, []int{0, 0, 0, 1, 2, 2, 2}},
		{PadCircular, 3, 3, []int{0, 1, 2, 0, 1, 2, 0, 1, 2}},
		{PadCircular, 4, 1, []int{3, 0, 1, 2, 3, 0}},
	} {
		if got := padIndex(c.n, c.p, c.mode); !slices.Equal(got, c.want) {
			t.Errorf("%v, %d padded by %d: %v, want %v", c.mode, c.n, c.p, got, c.want)
		}
	}
}

// Bad geometry panics when the layer is made; an image too small for it is
// an OutShape error naming the sizes.
func TestConvMisuse(t *testing.T) {
	rng := newRNG(18)
	mustPanic(t, func() { NewConv2D(rng, 3, 4, 3, 3, &Conv2DSettings{Groups: 2}) }, "groups")
	mustPanic(t, func() { NewConv2D(rng, 2, 2, 3, 3, &Conv2DSettings{Dilation: -1}) }, "dilation")
	mustPanic(t, func() { NewConv2D(rng, 2, 2, 3, 3, &Conv2DSettings{PaddingMode: 7}) }, "padding mode")
	mustPanic(t, func() { NewConvTranspose2D(rng, 2, 2, 3, 3, &ConvTranspose2DSettings{Stride: 2, OutputPadding: 2}) }, "output padding")
	for _, c := range []struct {
		l    Layer
		in   []int
		want string
	}{
		{NewConv2D(rng, 1, 1, 3, 3, &Conv2DSettings{Dilation: 2}), []int{1, 4, 9}, "smaller than the 3×3 kernel with dilation 2"},
		{NewConv2D(rng, 1, 1, 3, 3, &Conv2DSettings{Padding: 3, PaddingMode: PadReflect}), []int{1, 3, 9}, "reflect padding 3"},
		{NewConv2D(rng, 1, 1, 1, 1, &Conv2DSettings{Padding: 3, PaddingMode: PadCircular}), []int{1, 4, 2}, "circular padding 3"},
		{NewConv1D(rng, 1, 1, 5, nil), []int{1, 4}, "shorter than the kernel"},
		{NewConvTranspose2D(rng, 1, 1, 1, 1, &ConvTranspose2DSettings{Padding: 1}), []int{1, 2, 2}, "crops everything"},
	} {
		if _, err := c.l.OutShape(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v on %v: error %v, want one mentioning %q", c.l, c.in, err, c.want)
		}
	}
	// Unknown sizes pass through.
	if s, err := NewConv2D(rng, 1, 2, 3, 3, nil).OutShape([]int{1, -1, 5}); err != nil || !slices.Equal(s, []int{2, -1, 3}) {
		t.Errorf("unknown height: %v, %v", s, err)
	}
}

// The default initialisation is unchanged (GlorotUniform, zero bias);
// TorchDefault draws PyTorch's bounds with PyTorch's fans, which count
// in/groups input channels for Conv2D and out/groups for ConvTranspose2D.
func TestConvInit(t *testing.T) {
	rng := newRNG(19)
	c := NewConv2D(rng, 8, 6, 3, 3, nil)
	if b := c.b.Value().Data; slices.Max(b) != 0 || slices.Min(b) != 0 {
		t.Errorf("default bias %v, want zeros", b)
	}
	for _, l := range []struct {
		name  string
		fanIn int
	}{
		{"conv2d", 8 / 2 * 3 * 3},
		{"conv1d", 6 * 5},
		{"convt2d", 6 / 3 * 2 * 3},
	} {
		var ps []Param
		switch l.name {
		case "conv2d":
			ps = NewConv2D(rng, 8, 40, 3, 3, &Conv2DSettings{Groups: 2, Init: TorchDefault()}).Params()
		case "conv1d":
			ps = NewConv1D(rng, 6, 40, 5, &Conv1DSettings{Init: TorchDefault()}).Params()
		case "convt2d":
			ps = NewConvTranspose2D(rng, 60, 6, 2, 3, &ConvTranspose2DSettings{Groups: 3, Init: TorchDefault()}).Params()
		}
		bound := 1 / math.Sqrt(float64(l.fanIn))
		for i, p := range ps {
			d := p.Value().Data
			lo, hi := slices.Min(d), slices.Max(d)
			// U(−b, b): every value inside; for the weights (hundreds of
			// draws) the extremes near the bounds, for the few biases
			// values that are not all zero.
			if lo < -bound || hi > bound || (i == 0 && (hi < 0.9*bound || lo > -0.9*bound)) || (i == 1 && hi == lo) {
				t.Errorf("%s %s: range [%.4g, %.4g], want U(−%.4g, %.4g)", l.name, p.Name, lo, hi, bound, bound)
			}
		}
	}
}
