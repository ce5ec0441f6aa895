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
//	y[n, o, i, j] = b[o] + Σ_{c,u,v} K[o, c, u, v] · xp[n, g·C/G + c, i·sh + u·dh, j·sw + v·dw]
//
// where xp is x padded by ph rows and pw columns on each side (zeros, or
// the image reflected, replicated or wrapped around: PaddingMode), sh and
// sw are the strides, dh and dw the dilations, and g = o/(O/G) is the group
// of output channel o: with G groups each output channel sees only the
// C/G input channels of its group (G = C is a depthwise convolution). An
// input [N, C, H, W] gives [N, O, OH, OW] with
//
//	OH = ⌊(H + 2·ph − dh·(kh−1) − 1)/sh⌋ + 1
//
// and likewise OW, as torch.nn.Conv2d.
//
// The convolution is one operation of the adjoint core computed by the
// module's matrix-product kernels: the image patches are unfolded (im2col)
// straight into the packed panels of one product per group with the
// kernels over the whole batch, and the bias is written into each tile of
// the output just before the product adds into it. Its adjoints, the
// gradients with respect to the kernel (the cross-correlation of the input
// with the upstream gradient, again one product over the batch) and to the
// input (the full convolution of the upstream gradient with the flipped
// kernel, as products folded back onto the image, col2im, a few images at
// a time), are bilinear operations of the core (adjoint.ApplyBilinear), so
// gradients are exact to every order. Padding other than zeros is a gather
// of the input (adjoint.Take) before a convolution without padding. The
// tests check everything against direct loops, finite differences and
// PyTorch.
//
// Parameters: "weight" [O C/G kh kw] and, unless Conv2DSettings.NoBias,
// "bias" [O]: torch.nn.Conv2d's names and layouts.
type Conv2D struct {
	inC, outC, kh, kw int
	convAxes
	convParams
}

// convParams are a convolution layer's kernel and optional bias.
type convParams struct {
	w, b Param // b.Var is nil without a bias
}

// newConvParams draws a kernel of the given shape with init (and a bias
// of out values with it, for a BiasInit), or no bias at all.
func newConvParams(who string, rng *rand.Rand, init Init, noBias bool, fanIn, fanOut, out int, shape ...int) convParams {
	c := convParams{w: newParam("weight", initWeight(who, rng, init, fanIn, fanOut, shape...))}
	if !noBias {
		c.b = newParam("bias", initBias(rng, init, fanIn, fanOut, out))
	}
	return c
}

// Params returns the kernel and the bias (the kernel alone without one).
func (c *convParams) Params() []Param {
	if c.b.Var == nil {
		return []Param{c.w}
	}
	return []Param{c.w, c.b}
}

// bias returns the bias among the parameter values ps, nil without one.
func (c *convParams) bias(ps []*adjoint.Var) *adjoint.Var {
	if c.b.Var == nil {
		return nil
	}
	return ps[1]
}

// noBias returns ", no bias" for a layer without one, for String.
func (c *convParams) noBias() string {
	if c.b.Var == nil {
		return ", no bias"
	}
	return ""
}

var _ Layer = (*Conv2D)(nil)

// PaddingMode says what a convolution reads outside the image: PyTorch's
// padding_mode.
type PaddingMode int

// The padding modes. For a row of width W read at column −1 and W:
// PadZeros reads 0 and 0, PadReflect x[1] and x[W−2] (a mirror at the
// edge, which is not repeated; the padding must be smaller than the
// image), PadReplicate x[0] and x[W−1], and PadCircular x[W−1] and x[0]
// (the padding must not exceed the image).
const (
	PadZeros PaddingMode = iota
	PadReflect
	PadReplicate
	PadCircular
)

// String returns PyTorch's name of the mode: "zeros", "reflect",
// "replicate" or "circular".
func (m PaddingMode) String() string {
	switch m {
	case PadZeros:
		return "zeros"
	case PadReflect:
		return "reflect"
	case PadReplicate:
		return "replicate"
	case PadCircular:
		return "circular"
	}
	return fmt.Sprintf("PaddingMode(%d)", int(m))
}

// Conv2DSettings configures a Conv2D layer. A nil *Conv2DSettings means the
// defaults described on each field. Geometry comes as a value for both
// axes (Stride, Padding, Dilation) that a per-axis pair (…HW: height,
// width) can override entry by entry.
type Conv2DSettings struct {
	// Stride is the step between windows along both axes; zero means 1.
	Stride int
	// Padding is the number of rows and columns added on each side of the
	// image; zero means none.
	Padding int
	// Init draws the kernel, with PyTorch's fans fanIn = C/G·kh·kw and
	// fanOut = O·kh·kw; an Init that is also a BiasInit (TorchDefault)
	// draws the bias too. nil means GlorotUniform(1) and a zero bias.
	Init Init
	// StrideHW, PaddingHW and DilationHW give the stride, padding and
	// dilation along the height and the width; a zero entry takes Stride,
	// Padding or Dilation.
	StrideHW, PaddingHW, DilationHW [2]int
	// Dilation is the spacing between kernel taps along both axes; zero
	// means 1 (a plain convolution).
	Dilation int
	// Groups splits the channels into groups convolved separately (both
	// channel counts must be multiples of it; Groups = in is depthwise);
	// zero means 1.
	Groups int
	// PaddingMode is what the padding holds; the zero value is PadZeros.
	PaddingMode PaddingMode
	// NoBias leaves the bias out, as bias=False in PyTorch.
	NoBias bool
}

// convAxes is the geometry a convolution has beyond its sizes: per axis
// (height, width) stride, padding and dilation, the groups and the
// padding mode.
type convAxes struct {
	stride, pad, dil [2]int
	groups           int
	mode             PaddingMode
}

// axes resolves the per-axis values: a zero entry of pair takes one, a
// zero one takes def.
func axes(one int, pair [2]int, def int) [2]int {
	if one == 0 {
		one = def
	}
	for i := range pair {
		if pair[i] == 0 {
			pair[i] = one
		}
	}
	return pair
}

// newConvAxes checks and resolves the geometry of a convolution layer.
func newConvAxes(who string, stride, pad, dil [2]int, groups, in, out int, mode PaddingMode) convAxes {
	if groups == 0 {
		groups = 1
	}
	a := convAxes{stride: stride, pad: pad, dil: dil, groups: groups, mode: mode}
	for i := range 2 {
		if stride[i] < 1 || dil[i] < 1 || pad[i] < 0 {
			panic(fmt.Sprintf("nn: %s: stride %v, padding %v, dilation %v: need positive strides and dilations and non-negative padding",
				who, stride, pad, dil))
		}
	}
	if groups < 1 || in%groups != 0 || out%groups != 0 {
		panic(fmt.Sprintf("nn: %s: %d groups do not divide %d input and %d output channels", who, groups, in, out))
	}
	if mode < PadZeros || mode > PadCircular {
		panic(fmt.Sprintf("nn: %s: unknown padding mode %d", who, int(mode)))
	}
	return a
}

// describe lists the geometry that differs from the plain default, after
// "stride s, pad p", as in ", dilation 2, groups 4, reflect".
func (a convAxes) describe() string {
	s := ""
	if a.dil != [2]int{1, 1} {
		s += ", dilation " + pairString(a.dil)
	}
	if a.groups != 1 {
		s += fmt.Sprintf(", groups %d", a.groups)
	}
	if a.mode != PadZeros {
		s += ", " + a.mode.String()
	}
	return s
}

// pairString writes a per-axis value as "2" when both agree and "1×2"
// otherwise.
func pairString(p [2]int) string {
	if p[0] == p[1] {
		return fmt.Sprint(p[0])
	}
	return fmt.Sprintf("%d×%d", p[0], p[1])
}

// convOut returns the output length of a convolution along one axis: -1
// for an unknown input length (-1), and ok false when the padded input is
// shorter than the dilated kernel.
func convOut(n, k, stride, pad, dil int) (int, bool) {
	if n < 0 {
		return -1, true
	}
	span := dil*(k-1) + 1
	if n+2*pad < span {
		return 0, false
	}
	return (n+2*pad-span)/stride + 1, true
}

// checkPadding reports whether an axis of length n (−1: unknown) can be
// padded by p in the layer's mode.
func (a convAxes) checkPadding(n, p int) error {
	if n < 0 || p == 0 {
		return nil
	}
	switch {
	case a.mode == PadReflect && p >= n:
		return fmt.Errorf("reflect padding %d needs more than %d rows or columns", p, n)
	case a.mode == PadCircular && p > n:
		return fmt.Errorf("circular padding %d exceeds the %d rows or columns", p, n)
	}
	return nil
}

// padIndex returns, for each position of an axis of length n padded by p
// on each side, the position of the input it reads in mode m (not zeros).
func padIndex(n, p int, m PaddingMode) []int {
	idx := make([]int, n+2*p)
	for i := range idx {
		j := i - p
		switch m {
		case PadReflect:
			if j < 0 {
				j = -j
			}
			if j >= n {
				j = 2*(n-1) - j
			}
		case PadReplicate:
			j = min(max(j, 0), n-1)
		case PadCircular:
			j = ((j % n) + n) % n
		}
		idx[i] = j
	}
	return idx
}

// padInput pads x along axes 2 and 3 (height, width) when the mode is not
// zeros, as a gather whose adjoint adds the gradient of every copy back to
// its source; it returns x unchanged for zero padding, which the kernels
// do themselves.
func (a convAxes) padInput(x *adjoint.Var) *adjoint.Var {
	if a.mode == PadZeros {
		return x
	}
	s := x.Shape()
	for ax := range 2 {
		if p := a.pad[ax]; p > 0 {
			x = adjoint.Take(x, 2+ax, padIndex(s[2+ax], p, a.mode))
		}
	}
	return x
}

// kernelPad returns the padding the kernels apply: none when padInput has
// done it.
func (a convAxes) kernelPad() [2]int {
	if a.mode != PadZeros {
		return [2]int{}
	}
	return a.pad
}

// NewConv2D returns a convolution from in to out channels with a kh×kw
// kernel, drawing the kernel (and, for a BiasInit, the bias) from rng.
func NewConv2D(rng *rand.Rand, in, out, kh, kw int, s *Conv2DSettings) *Conv2D {
	var set Conv2DSettings
	if s != nil {
		set = *s
	}
	if in <= 0 || out <= 0 || kh <= 0 || kw <= 0 {
		panic(fmt.Sprintf("nn: NewConv2D: channels %d→%d, kernel %d×%d: need positive sizes", in, out, kh, kw))
	}
	a := newConvAxes("NewConv2D", axes(set.Stride, set.StrideHW, 1), axes(set.Padding, set.PaddingHW, 0),
		axes(set.Dilation, set.DilationHW, 1), set.Groups, in, out, set.PaddingMode)
	return &Conv2D{inC: in, outC: out, kh: kh, kw: kw, convAxes: a,
		convParams: newConvParams("NewConv2D", rng, set.Init, set.NoBias, in/a.groups*kh*kw, out*kh*kw, out, out, in/a.groups, kh, kw)}
}

// String describes the layer, as in "Conv2D(1→8, 3×3, stride 1, pad 0)",
// followed by the options that are not the defaults (", dilation 2",
// ", groups 4", ", reflect", ", no bias").
func (c *Conv2D) String() string {
	return fmt.Sprintf("Conv2D(%d→%d, %d×%d, stride %s, pad %s%s%s)", c.inC, c.outC, c.kh, c.kw,
		pairString(c.stride), pairString(c.pad), c.describe(), c.noBias())
}

// OutShape maps [C, H, W] to [O, OH, OW].
func (c *Conv2D) OutShape(in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("samples have shape %v, want [channels height width]", in)
	}
	if in[0] != c.inC {
		return nil, fmt.Errorf("%d channels, want %d", in[0], c.inC)
	}
	oh, okh := convOut(in[1], c.kh, c.stride[0], c.pad[0], c.dil[0])
	ow, okw := convOut(in[2], c.kw, c.stride[1], c.pad[1], c.dil[1])
	if !okh || !okw {
		return nil, fmt.Errorf("image %d×%d with padding %s is smaller than the %d×%d kernel with dilation %s",
			in[1], in[2], pairString(c.pad), c.kh, c.kw, pairString(c.dil))
	}
	for ax := range 2 {
		if err := c.checkPadding(in[1+ax], c.pad[ax]); err != nil {
			return nil, err
		}
	}
	return []int{c.outC, oh, ow}, nil
}

// Apply convolves x with the given kernel and bias values.
func (c *Conv2D) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(c, ps, c.Params()...)
	out := checkInput(c, x)
	x = c.padInput(x)
	s := x.Shape()
	pad := c.kernelPad()
	g := &kernel.Conv2D{N: s[0], C: c.inC, H: s[2], W: s[3], O: c.outC, KH: c.kh, KW: c.kw,
		SH: c.stride[0], SW: c.stride[1], PH: pad[0], PW: pad[1], DH: c.dil[0], DW: c.dil[1], Groups: c.groups}
	return applyBiased(convMap{g}, x, ps[0], c.bias(ps), s[0], c.outC, out[1], out[2])
}

// Forward convolves x with the layer's own kernel and bias.
func (c *Conv2D) Forward(x *adjoint.Var) *adjoint.Var { return c.Apply(Vars(c), x) }

// convMap is a convolution as a bilinear map of the images and the kernel.
type convMap struct{ g *kernel.Conv2D }

var _ biasedMap = convMap{}

func (m convMap) Apply(y, x, w []float64)        { m.g.Forward(y, x, w) }
func (m convMap) AdjointA(x, y, w []float64)     { m.g.InputGrad(x, y, w) }
func (m convMap) AdjointB(w, x, y []float64)     { m.g.WeightGrad(w, x, y) }
func (m convMap) applyBias(y, x, w, b []float64) { m.g.ForwardBias(y, x, w, b) }

// biasedMap is a bilinear map y = f(a, w) whose forward pass can add a
// bias per channel (axis 1 of y) as it writes y.
type biasedMap interface {
	adjoint.Bilinear
	// applyBias sets y = f(a, w) + b, b[c] added to every element of
	// channel c.
	applyBias(y, a, w, b []float64)
}

// applyBiased returns f(a, w) + b, of the given shape, with b
// [shape[1]] added along axis 1, as one operation (ApplyBilinear when b is
// nil). Its derivatives with respect to a and w are the bilinear maps
// (adjointA, adjointB) of the core, with respect to b the sum of the
// upstream gradient over every axis but 1, so every order is exact.
func applyBiased(f biasedMap, a, w, b *adjoint.Var, shape ...int) *adjoint.Var {
	if b == nil {
		return adjoint.ApplyBilinear(f, a, w, shape...)
	}
	out := adjoint.New(shape...)
	f.applyBias(out.Data, a.Value().Data, w.Value().Data, b.Value().Data)
	return adjoint.Custom(biasedOp{f: f, aShape: a.Shape(), wShape: w.Shape(), yShape: out.Shape}, out, a, w, b)
}

// biasedOp is the operation (a, w, b) ↦ f(a, w) + b of applyBiased.
type biasedOp struct {
	f                      adjoint.Bilinear
	aShape, wShape, yShape []int
}

var _ adjoint.Primitive = biasedOp{}

func (biasedOp) Name() string { return "bilinear_bias" }

// VJP returns f's adjoints applied to g, each a bilinear operation, and
// the channel sums of g.
func (o biasedOp) VJP(g *adjoint.Var, in []*adjoint.Var, _ *adjoint.Var, need []bool) []*adjoint.Var {
	gs := make([]*adjoint.Var, 3)
	if need[0] {
		gs[0] = adjoint.ApplyBilinear(adjointA{o.f}, g, in[1], o.aShape...)
	}
	if need[1] {
		gs[1] = adjoint.ApplyBilinear(adjointB{o.f}, in[0], g, o.wShape...)
	}
	if need[2] {
		gs[2] = adjoint.Reshape(adjoint.SumTo(g, o.channelShape()), o.yShape[1])
	}
	return gs
}

// JVP: f(ȧ, w) + f(a, ẇ) + ḃ.
func (o biasedOp) JVP(tan []*adjoint.Var, in []*adjoint.Var, _ *adjoint.Var) *adjoint.Var {
	var terms []*adjoint.Var
	if tan[0] != nil {
		terms = append(terms, adjoint.ApplyBilinear(o.f, tan[0], in[1], o.yShape...))
	}
	if tan[1] != nil {
		terms = append(terms, adjoint.ApplyBilinear(o.f, in[0], tan[1], o.yShape...))
	}
	if tan[2] != nil {
		terms = append(terms, adjoint.BroadcastTo(adjoint.Reshape(tan[2], o.channelShape()...), o.yShape))
	}
	sum := terms[0]
	for _, t := range terms[1:] {
		sum = adjoint.Add(sum, t)
	}
	return sum
}

// channelShape is [C, 1, …, 1], the bias as it broadcasts over y
// [N, C, …].
func (o biasedOp) channelShape() []int {
	s := make([]int, len(o.yShape)-1)
	s[0] = o.yShape[1]
	for i := 1; i < len(s); i++ {
		s[i] = 1
	}
	return s
}

// adjointA is the bilinear map (y, b) ↦ f.AdjointA(y, b) of a bilinear f:
// for a convolution, the transposed convolution. Its adjoints follow from
// ⟨h, f.AdjointA(y, b)⟩ = ⟨f(h, b), y⟩.
type adjointA struct{ f adjoint.Bilinear }

var _ adjoint.Bilinear = adjointA{}

func (m adjointA) Apply(a, y, b []float64)    { m.f.AdjointA(a, y, b) }
func (m adjointA) AdjointA(y, h, b []float64) { m.f.Apply(y, h, b) }
func (m adjointA) AdjointB(b, y, h []float64) { m.f.AdjointB(b, h, y) }

// adjointB is the bilinear map (a, y) ↦ f.AdjointB(a, y) of a bilinear f:
// for a convolution, the kernel gradient. Its adjoints follow from
// ⟨h, f.AdjointB(a, y)⟩ = ⟨y, f(a, h)⟩.
type adjointB struct{ f adjoint.Bilinear }

var _ adjoint.Bilinear = adjointB{}

func (m adjointB) Apply(b, a, y []float64)    { m.f.AdjointB(b, a, y) }
func (m adjointB) AdjointA(a, h, y []float64) { m.f.AdjointA(a, y, h) }
func (m adjointB) AdjointB(y, a, h []float64) { m.f.Apply(y, a, h) }
