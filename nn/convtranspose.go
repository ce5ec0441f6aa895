package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/internal/kernel"
)

// ConvTranspose2D is the transposed convolution of torch.nn.ConvTranspose2d
// (sometimes called a deconvolution), the layer that decoders of
// generative models use to enlarge images: the adjoint, with respect to
// its input, of the Conv2D with the same kernel, stride, padding,
// dilation and groups, from out to in channels, plus a bias. Each input
// pixel scatters a copy of the kernel, scaled by its value, into the
// output at stride s:
//
//	y[n, o, i·s − p + u·d, j·s − p + v·d] += K[c, o', u, v] · x[n, c, i, j]
//
// for every input channel c of group g and output channel o = g·O/G + o'.
// An input [N, C, H, W] gives [N, O, OH, OW] with
//
//	OH = (H − 1)·sh − 2·ph + dh·(kh − 1) + oph + 1
//
// and likewise OW, where the output padding oph (smaller than the stride
// or the dilation) adds rows at the bottom that no padding crops, so that
// a stride-s Conv2D and this layer can map sizes back and forth exactly.
// The padding crops the output (it is the padding of the corresponding
// Conv2D); only zeros padding exists, as in PyTorch.
//
// It is computed by the convolution kernels' input-gradient product (a
// product per group over a few images at a time, folded back, starting
// from the bias), and its derivatives are the convolution and its kernel
// gradient: all bilinear operations of the core, exact to every order.
//
// Parameters: "weight" [C O/G kh kw] and, unless NoBias, "bias" [O]:
// torch.nn.ConvTranspose2d's names and layouts.
type ConvTranspose2D struct {
	inC, outC, kh, kw int
	convAxes
	outPad [2]int
	convParams
}

var _ Layer = (*ConvTranspose2D)(nil)

// ConvTranspose2DSettings configures a ConvTranspose2D layer. A nil
// *ConvTranspose2DSettings means the defaults described on each field;
// per-axis pairs (…HW: height, width) override the values for both axes
// entry by entry, a zero entry taking the value for both.
type ConvTranspose2DSettings struct {
	// Stride is the step, in the output, between the copies of the kernel
	// that neighbouring input pixels scatter; zero means 1.
	Stride int
	// Padding is the number of rows and columns cropped from each side of
	// the output; zero means none.
	Padding int
	// OutputPadding is the number of rows and columns added at the bottom
	// and right of the output; it must be smaller than the stride or the
	// dilation. Zero means none.
	OutputPadding int
	// Dilation is the spacing between kernel taps; zero means 1.
	Dilation int
	// StrideHW, PaddingHW, OutputPaddingHW and DilationHW are per-axis
	// values.
	StrideHW, PaddingHW, OutputPaddingHW, DilationHW [2]int
	// Groups splits the channels into groups; zero means 1.
	Groups int
	// NoBias leaves the bias out.
	NoBias bool
	// Init draws the kernel, with PyTorch's fans for this layout,
	// fanIn = O/G·kh·kw and fanOut = C·kh·kw; an Init that is also a
	// BiasInit (TorchDefault) draws the bias too. nil means
	// GlorotUniform(1) and a zero bias.
	Init Init
}

// NewConvTranspose2D returns a transposed convolution from in to out
// channels with a kh×kw kernel, drawing the kernel (and, for a BiasInit,
// the bias) from rng.
func NewConvTranspose2D(rng *rand.Rand, in, out, kh, kw int, s *ConvTranspose2DSettings) *ConvTranspose2D {
	var set ConvTranspose2DSettings
	if s != nil {
		set = *s
	}
	if in <= 0 || out <= 0 || kh <= 0 || kw <= 0 {
		panic(fmt.Sprintf("nn: NewConvTranspose2D: channels %d→%d, kernel %d×%d: need positive sizes", in, out, kh, kw))
	}
	a := newConvAxes("NewConvTranspose2D", axes(set.Stride, set.StrideHW, 1), axes(set.Padding, set.PaddingHW, 0),
		axes(set.Dilation, set.DilationHW, 1), set.Groups, in, out, PadZeros)
	op := axes(set.OutputPadding, set.OutputPaddingHW, 0)
	for i := range 2 {
		if op[i] < 0 || op[i] >= max(a.stride[i], a.dil[i]) {
			panic(fmt.Sprintf("nn: NewConvTranspose2D: output padding %v must be non-negative and smaller than the stride %v or the dilation %v",
				op, a.stride, a.dil))
		}
	}
	return &ConvTranspose2D{inC: in, outC: out, kh: kh, kw: kw, convAxes: a, outPad: op,
		convParams: newConvParams("NewConvTranspose2D", rng, set.Init, set.NoBias, out/a.groups*kh*kw, in*kh*kw, out, in, out/a.groups, kh, kw)}
}

// String describes the layer, as in "ConvTranspose2D(16→8, 4×4, stride 2,
// pad 1)", followed by the options that are not the defaults.
func (c *ConvTranspose2D) String() string {
	s := fmt.Sprintf("ConvTranspose2D(%d→%d, %d×%d, stride %s, pad %s", c.inC, c.outC, c.kh, c.kw,
		pairString(c.stride), pairString(c.pad))
	if c.outPad != [2]int{} {
		s += ", output pad " + pairString(c.outPad)
	}
	return s + c.describe() + c.noBias() + ")"
}

// outLen returns the output length along axis ax for input length n (−1
// for unknown).
func (c *ConvTranspose2D) outLen(n, ax int) int {
	if n < 0 {
		return -1
	}
	k := [2]int{c.kh, c.kw}[ax]
	return (n-1)*c.stride[ax] - 2*c.pad[ax] + c.dil[ax]*(k-1) + c.outPad[ax] + 1
}

// OutShape maps [C, H, W] to [O, OH, OW].
func (c *ConvTranspose2D) OutShape(in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("samples have shape %v, want [channels height width]", in)
	}
	if in[0] != c.inC {
		return nil, fmt.Errorf("%d channels, want %d", in[0], c.inC)
	}
	oh, ow := c.outLen(in[1], 0), c.outLen(in[2], 1)
	if (in[1] >= 0 && (in[1] == 0 || oh < 1)) || (in[2] >= 0 && (in[2] == 0 || ow < 1)) {
		return nil, fmt.Errorf("image %d×%d gives an output of %d×%d: the padding %s crops everything",
			in[1], in[2], oh, ow, pairString(c.pad))
	}
	return []int{c.outC, oh, ow}, nil
}

// Apply returns the transposed convolution of x with the given kernel and
// bias values.
func (c *ConvTranspose2D) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(c, ps, c.Params()...)
	out := checkInput(c, x)
	s := x.Shape()
	// The Conv2D whose input gradient this is maps [N, O, OH, OW] to
	// [N, C, H + ⌊oph/sh⌋, …]: an output padding of a stride or more
	// (allowed below the dilation) adds rows that no input pixel
	// reaches, zeros of x here.
	g := &kernel.Conv2D{N: s[0], C: c.outC, H: out[1], W: out[2], O: c.inC, KH: c.kh, KW: c.kw,
		SH: c.stride[0], SW: c.stride[1], PH: c.pad[0], PW: c.pad[1], DH: c.dil[0], DW: c.dil[1], Groups: c.groups}
	if extra := g.OutH() - s[2]; extra > 0 {
		x = adjoint.Pad(x, 2, 0, extra)
	}
	if extra := g.OutW() - s[3]; extra > 0 {
		x = adjoint.Pad(x, 3, 0, extra)
	}
	return applyBiased(convTMap{adjointA{convMap{g}}, g}, x, ps[0], c.bias(ps), s[0], c.outC, out[1], out[2])
}

// Forward applies the layer with its own kernel and bias.
func (c *ConvTranspose2D) Forward(x *adjoint.Var) *adjoint.Var { return c.Apply(Vars(c), x) }

// convTMap is a transposed convolution as a bilinear map of the images
// and the kernel: the input gradient of the convolution g.
type convTMap struct {
	adjointA
	g *kernel.Conv2D
}

var _ biasedMap = convTMap{}

func (m convTMap) applyBias(y, x, w, b []float64) { m.g.InputGradBias(y, x, w, b) }
