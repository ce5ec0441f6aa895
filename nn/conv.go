package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/internal/kernel"
)

// Conv2D is a two-dimensional convolution (strictly, a cross-correlation,
// as in every deep-learning library) over batches in NCHW layout:
//
//	y[n, o, i, j] = b[o] + Σ_{c,u,v} K[o, c, u, v] · xp[n, c, i·s+u, j·s+v]
//
// where xp is x zero-padded by p on each side of both spatial axes and s is
// the stride. An input [N, C, H, W] gives [N, O, (H+2p−kh)/s+1,
// (W+2p−kw)/s+1] (rounded down).
//
// The convolution is one operation of the adjoint core (a Bilinear of the
// images and the kernel, see adjoint.ApplyBilinear) computed by the
// module's matrix-product kernels: the image patches are unfolded (im2col)
// straight into the packed panels of one product with the kernel over the
// whole batch. Its adjoints, the gradients with respect to the kernel (the
// cross-correlation of the input with the upstream gradient, again one
// product over the batch) and to the input (the full convolution of the
// upstream gradient with the flipped kernel, as products folded back onto
// the image, col2im, a few images at a time), are operations of the same
// kind, so gradients are exact to every order. The tests check them against
// a direct loop implementation and finite differences.
//
// Parameters: "weight" [O C kh kw], "bias" [O].
type Conv2D struct {
	inC, outC, kh, kw int
	stride, pad       int
	w, b              Param
}

var _ Layer = (*Conv2D)(nil)

// Conv2DSettings configures a Conv2D layer. A nil *Conv2DSettings means the
// defaults described on each field.
type Conv2DSettings struct {
	// Stride is the step between windows; zero means 1.
	Stride int
	// Padding is the number of zeros added on each side of both spatial
	// axes; zero means none.
	Padding int
	// Init draws the kernel, with fanIn = C·kh·kw and fanOut = O·kh·kw;
	// nil means GlorotUniform(1). The bias starts at zero.
	Init Init
}

// NewConv2D returns a convolution from in to out channels with a kh×kw
// kernel, drawing the kernel from rng.
func NewConv2D(rng *rand.Rand, in, out, kh, kw int, s *Conv2DSettings) *Conv2D {
	var set Conv2DSettings
	if s != nil {
		set = *s
	}
	if set.Stride == 0 {
		set.Stride = 1
	}
	if in <= 0 || out <= 0 || kh <= 0 || kw <= 0 || set.Stride < 0 || set.Padding < 0 {
		panic(fmt.Sprintf("nn: NewConv2D: channels %d→%d, kernel %d×%d, stride %d, padding %d: need positive sizes and non-negative padding",
			in, out, kh, kw, set.Stride, set.Padding))
	}
	w := initWeight("NewConv2D", rng, set.Init, in*kh*kw, out*kh*kw, out, in, kh, kw)
	return &Conv2D{inC: in, outC: out, kh: kh, kw: kw, stride: set.Stride, pad: set.Padding,
		w: newParam("weight", w), b: newParam("bias", adjoint.New(out))}
}

// String describes the layer, as in "Conv2D(1→8, 3×3, stride 1, pad 0)".
func (c *Conv2D) String() string {
	return fmt.Sprintf("Conv2D(%d→%d, %d×%d, stride %d, pad %d)", c.inC, c.outC, c.kh, c.kw, c.stride, c.pad)
}

// Params returns the kernel and the bias.
func (c *Conv2D) Params() []Param { return []Param{c.w, c.b} }

// OutShape maps [C, H, W] to [O, OH, OW].
func (c *Conv2D) OutShape(in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("samples have shape %v, want [channels height width]", in)
	}
	if in[0] != c.inC {
		return nil, fmt.Errorf("%d channels, want %d", in[0], c.inC)
	}
	oh, ow := outDim(in[1], c.kh, c.stride, c.pad), outDim(in[2], c.kw, c.stride, c.pad)
	if (in[1] >= 0 && oh <= 0) || (in[2] >= 0 && ow <= 0) {
		return nil, fmt.Errorf("image %d×%d with padding %d is smaller than the %d×%d kernel", in[1], in[2], c.pad, c.kh, c.kw)
	}
	return []int{c.outC, oh, ow}, nil
}

// Apply convolves x with the given kernel and bias values.
func (c *Conv2D) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(c, ps, c.w, c.b)
	out := checkInput(c, x)
	s := x.Shape()
	g := &kernel.Conv2D{N: s[0], C: c.inC, H: s[2], W: s[3], O: c.outC, KH: c.kh, KW: c.kw,
		SH: c.stride, SW: c.stride, PH: c.pad, PW: c.pad, DH: 1, DW: 1}
	y := adjoint.ApplyBilinear(convMap{g}, x, ps[0], s[0], c.outC, out[1], out[2])
	return adjoint.Add(y, adjoint.Reshape(ps[1], c.outC, 1, 1))
}

// convMap is a convolution as a bilinear map of the images and the kernel.
type convMap struct{ g *kernel.Conv2D }

var _ adjoint.Bilinear = convMap{}

func (m convMap) Apply(y, x, w []float64)    { m.g.Forward(y, x, w) }
func (m convMap) AdjointA(x, y, w []float64) { m.g.InputGrad(x, y, w) }
func (m convMap) AdjointB(w, x, y []float64) { m.g.WeightGrad(w, x, y) }

// Forward convolves x with the layer's own kernel and bias.
func (c *Conv2D) Forward(x *adjoint.Var) *adjoint.Var { return c.Apply(Vars(c), x) }
