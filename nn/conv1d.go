package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/internal/kernel"
)

// Conv1D is a one-dimensional convolution (cross-correlation) over batches
// of sequences [N, C, L], as torch.nn.Conv1d:
//
//	y[n, o, i] = b[o] + Σ_{c,u} K[o, c, u] · xp[n, g·C/G + c, i·s + u·d]
//
// with the same options as Conv2D along the one axis (stride s, padding p
// of any PaddingMode, dilation d, G groups, optional bias); an input
// [N, C, L] gives [N, O, ⌊(L + 2p − d·(k−1) − 1)/s⌋ + 1]. It runs as a
// Conv2D over images one row high, so it shares that layer's kernels and
// exact derivatives of every order.
//
// Parameters: "weight" [O C/G k] and, unless Conv1DSettings.NoBias,
// "bias" [O]: torch.nn.Conv1d's names and layouts.
type Conv1D struct {
	inC, outC, k int
	convAxes     // the height axis is trivial: stride, dilation 1, no padding
	convParams
}

var _ Layer = (*Conv1D)(nil)

// Conv1DSettings configures a Conv1D layer. A nil *Conv1DSettings means the
// defaults described on each field.
type Conv1DSettings struct {
	// Stride is the step between windows; zero means 1.
	Stride int
	// Padding is the number of positions added at each end; zero means
	// none.
	Padding int
	// Dilation is the spacing between kernel taps; zero means 1.
	Dilation int
	// Groups splits the channels into groups convolved separately; zero
	// means 1.
	Groups int
	// PaddingMode is what the padding holds; the zero value is PadZeros.
	PaddingMode PaddingMode
	// NoBias leaves the bias out.
	NoBias bool
	// Init draws the kernel, with fanIn = C/G·k and fanOut = O·k; an Init
	// that is also a BiasInit (TorchDefault) draws the bias too. nil means
	// GlorotUniform(1) and a zero bias.
	Init Init
}

// NewConv1D returns a convolution from in to out channels with a kernel
// of k taps, drawing the kernel (and, for a BiasInit, the bias) from rng.
func NewConv1D(rng *rand.Rand, in, out, k int, s *Conv1DSettings) *Conv1D {
	var set Conv1DSettings
	if s != nil {
		set = *s
	}
	if in <= 0 || out <= 0 || k <= 0 {
		panic(fmt.Sprintf("nn: NewConv1D: channels %d→%d, kernel %d: need positive sizes", in, out, k))
	}
	stride, dil := set.Stride, set.Dilation
	if stride == 0 {
		stride = 1
	}
	if dil == 0 {
		dil = 1
	}
	a := newConvAxes("NewConv1D", [2]int{1, stride}, [2]int{0, set.Padding}, [2]int{1, dil},
		set.Groups, in, out, set.PaddingMode)
	return &Conv1D{inC: in, outC: out, k: k, convAxes: a,
		convParams: newConvParams("NewConv1D", rng, set.Init, set.NoBias, in/a.groups*k, out*k, out, out, in/a.groups, k)}
}

// String describes the layer, as in "Conv1D(4→8, 3, stride 1, pad 1)",
// followed by the options that are not the defaults.
func (c *Conv1D) String() string {
	return fmt.Sprintf("Conv1D(%d→%d, %d, stride %d, pad %d%s%s)", c.inC, c.outC, c.k, c.stride[1], c.pad[1],
		c.describe(), c.noBias())
}

// OutShape maps [C, L] to [O, OL].
func (c *Conv1D) OutShape(in []int) ([]int, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("samples have shape %v, want [channels length]", in)
	}
	if in[0] != c.inC {
		return nil, fmt.Errorf("%d channels, want %d", in[0], c.inC)
	}
	ol, ok := convOut(in[1], c.k, c.stride[1], c.pad[1], c.dil[1])
	if !ok {
		return nil, fmt.Errorf("length %d with padding %d is shorter than the kernel of %d with dilation %d", in[1], c.pad[1], c.k, c.dil[1])
	}
	if err := c.checkPadding(in[1], c.pad[1]); err != nil {
		return nil, err
	}
	return []int{c.outC, ol}, nil
}

// Apply convolves x with the given kernel and bias values.
func (c *Conv1D) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(c, ps, c.Params()...)
	out := checkInput(c, x)
	n := x.Shape()[0]
	x = c.padInput(adjoint.Reshape(x, n, c.inC, 1, x.Shape()[2]))
	pad := c.kernelPad()
	g := &kernel.Conv2D{N: n, C: c.inC, H: 1, W: x.Shape()[3], O: c.outC, KH: 1, KW: c.k,
		SH: 1, SW: c.stride[1], PW: pad[1], DH: 1, DW: c.dil[1], Groups: c.groups}
	w := adjoint.Reshape(ps[0], c.outC, c.inC/c.groups, 1, c.k)
	return adjoint.Reshape(applyBiased(convMap{g}, x, w, c.bias(ps), n, c.outC, 1, out[1]), n, c.outC, out[1])
}

// Forward convolves x with the layer's own kernel and bias.
func (c *Conv1D) Forward(x *adjoint.Var) *adjoint.Var { return c.Apply(Vars(c), x) }
