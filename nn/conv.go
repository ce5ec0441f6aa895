package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/adjointkit/adjointkit/adjoint"
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
// It is built from the adjoint core's operations: the padded input is
// unfolded into a patch matrix with Take (im2col), multiplied by the kernel
// with one MatMul and reordered to NCHW with another Take. Its gradients are therefore
// exact to every order, like any other traced program; the first-order ones
// are the textbook formulas (dL/dK is the cross-correlation of the input
// with the upstream gradient, dL/dx the full convolution of the upstream
// gradient with the flipped kernel), and the tests check them against a
// direct loop implementation.
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
//
// The patch matrix is assembled from whole rows rather than single
// elements: for each kernel column v, the padded image is cut to the
// columns v, v+s, v+2s, … (a Slice for stride 1), so that the patch entries
// for a kernel position, a sample and an output row form one contiguous
// run; one Take then gathers these runs (plus a row of ones that carries
// the bias) into a [C·kh·kw+1, N·OH·OW] matrix, which the kernel (with the
// bias as an extra column) multiplies from the left. A last Take of whole
// output rows reorders [O, N, OH·OW] to NCHW.
func (c *Conv2D) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(c, ps, c.w, c.b)
	out := checkInput(c, x)
	n := x.Shape()[0]
	hp := x.Shape()[2] + 2*c.pad
	oh, ow := out[1], out[2]
	xp := adjoint.Pad(adjoint.Pad(x, 2, c.pad, c.pad), 3, c.pad, c.pad)

	plane := n * c.inC * hp // rows of one shifted view
	views := make([]*adjoint.Var, 0, c.kw+1)
	for v := range c.kw {
		var sv *adjoint.Var
		if c.stride == 1 {
			sv = adjoint.Slice(xp, 3, v, v+ow)
		} else {
			cols := make([]int, ow)
			for j := range cols {
				cols[j] = j*c.stride + v
			}
			sv = adjoint.Take(xp, 3, cols)
		}
		views = append(views, adjoint.Reshape(sv, plane, ow))
	}
	views = append(views, adjoint.Const(adjoint.Full(1, 1, ow)))
	rows := adjoint.Concat(0, views...) // [kw·plane + 1, ow]

	k := c.inC * c.kh * c.kw
	idx := make([]int, 0, (k+1)*n*oh)
	for ch := range c.inC {
		for u := range c.kh {
			for v := range c.kw {
				for s := range n {
					base := v*plane + (s*c.inC+ch)*hp + u
					for i := range oh {
						idx = append(idx, base+i*c.stride)
					}
				}
			}
		}
	}
	for range n * oh {
		idx = append(idx, c.kw*plane) // the row of ones
	}
	patches := adjoint.Reshape(adjoint.Take(rows, 0, idx), k+1, n*oh*ow)
	kernel := adjoint.Concat(1, adjoint.Reshape(ps[0], c.outC, k), adjoint.Reshape(ps[1], c.outC, 1))
	y := adjoint.MatMul(kernel, patches) // [O, N·OH·OW]

	order := make([]int, 0, n*c.outC)
	for s := range n {
		for o := range c.outC {
			order = append(order, o*n+s)
		}
	}
	y = adjoint.Take(adjoint.Reshape(y, c.outC*n, oh*ow), 0, order)
	return adjoint.Reshape(y, n, c.outC, oh, ow)
}

// Forward convolves x with the layer's own kernel and bias.
func (c *Conv2D) Forward(x *adjoint.Var) *adjoint.Var { return c.Apply(Vars(c), x) }
