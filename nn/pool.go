package nn

import (
	"fmt"
	"math"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Pooling over k×k windows of NCHW batches, moved by a stride, without
// padding; rows and columns that do not fill a last window are dropped
// (floor mode), so an input [N, C, H, W] gives [N, C, (H−k)/s+1, (W−k)/s+1].
//
// Both kinds are built from the core's operations, so they are
// differentiable to every order. Elements shared by overlapping windows
// (stride smaller than the window) receive the sum of their gradients.

// MaxPool2D takes the maximum of each window.
//
// The upstream gradient of a window goes entirely to its maximum. Ties are
// resolved deterministically: the gradient goes to the first maximum in
// row-major order within the window (the topmost row holding a maximum, and
// the leftmost maximum in that row), the same rule as the adjoint core's
// MaxAxis (first maximum along the axis). Elements equal to the maximum but
// later in the window get nothing. A NaN in a window counts as its maximum,
// so it propagates.
type MaxPool2D struct{ pool }

// AvgPool2D averages each window; its gradient spreads the upstream
// gradient of a window equally, 1/k² to each element. When the stride
// equals the window (the usual case) the image is cropped and reshaped so
// that each window is two axes of its own, averaged one after the other;
// with another stride the windows are gathered with Take and averaged in
// one step.
type AvgPool2D struct{ pool }

var (
	_ Layer = (*MaxPool2D)(nil)
	_ Layer = (*AvgPool2D)(nil)
)

type pool struct {
	k, stride int
}

func newPool(who string, k, stride int) pool {
	if stride == 0 {
		stride = k
	}
	if k <= 0 || stride < 0 {
		panic(fmt.Sprintf("nn: %s: window %d and stride %d must be positive", who, k, stride))
	}
	return pool{k, stride}
}

// NewMaxPool2D returns max pooling over k×k windows with the given stride
// (zero means k: non-overlapping windows).
func NewMaxPool2D(k, stride int) *MaxPool2D { return &MaxPool2D{newPool("NewMaxPool2D", k, stride)} }

// NewAvgPool2D returns average pooling over k×k windows with the given
// stride (zero means k).
func NewAvgPool2D(k, stride int) *AvgPool2D { return &AvgPool2D{newPool("NewAvgPool2D", k, stride)} }

// String describes the layer, as in "MaxPool2D(2, stride 2)".
func (p *MaxPool2D) String() string { return fmt.Sprintf("MaxPool2D(%d, stride %d)", p.k, p.stride) }

// String describes the layer, as in "AvgPool2D(2, stride 2)".
func (p *AvgPool2D) String() string { return fmt.Sprintf("AvgPool2D(%d, stride %d)", p.k, p.stride) }

// Params returns nil.
func (p *pool) Params() []Param { return nil }

// OutShape maps [C, H, W] to [C, OH, OW].
func (p *pool) OutShape(in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("samples have shape %v, want [channels height width]", in)
	}
	oh, ow := outDim(in[1], p.k, p.stride, 0), outDim(in[2], p.k, p.stride, 0)
	if (in[1] >= 0 && oh <= 0) || (in[2] >= 0 && ow <= 0) {
		return nil, fmt.Errorf("image %d×%d is smaller than the %d×%d window", in[1], in[2], p.k, p.k)
	}
	return []int{in[0], oh, ow}, nil
}

// Apply returns the maximum of each window of x; ps must be empty.
//
// The position of each window's maximum is found by a direct scan of x's
// values, and the output gathers those positions with one Take. Take is
// linear in x for the chosen positions, so the derivative of every order is
// that of a max (the upstream gradient routed to the chosen element,
// nothing of second order), and its adjoint is a single scatter-add: much
// cheaper than reducing the windows and masking, which is what MaxAxis
// does.
func (p *MaxPool2D) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(p, ps)
	out := checkInput(p, x)
	s := x.Shape()
	n, c, h, w := s[0], s[1], s[2], s[3]
	oh, ow := out[1], out[2]
	xd := x.Value().Data
	idx := make([]int, 0, n*c*oh*ow)
	for plane := range n * c {
		base := plane * h * w
		for i := range oh {
			for j := range ow {
				top := base + i*p.stride*w + j*p.stride
				best, bv := top, xd[top]
				for u := range p.k {
					row := xd[top+u*w : top+u*w+p.k]
					for v, e := range row {
						// Strictly greater keeps the first maximum; NaN counts
						// as the largest value, so it propagates.
						if e > bv || (math.IsNaN(e) && !math.IsNaN(bv)) {
							best, bv = top+u*w+v, e
						}
					}
				}
				idx = append(idx, best)
			}
		}
	}
	return adjoint.Reshape(adjoint.Take(adjoint.Reshape(x, -1), 0, idx), n, c, oh, ow)
}

// Forward returns the maximum of each window of x.
func (p *MaxPool2D) Forward(x *adjoint.Var) *adjoint.Var { return p.Apply(nil, x) }

// Apply returns the mean of each window of x; ps must be empty.
func (p *AvgPool2D) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(p, ps)
	checkInput(p, x)
	return p.mean(x)
}

// Forward returns the mean of each window of x.
func (p *AvgPool2D) Forward(x *adjoint.Var) *adjoint.Var { return p.Apply(nil, x) }

// mean averages every window of x.
func (p *pool) mean(x *adjoint.Var) *adjoint.Var {
	s := x.Shape()
	n, c, h, w := s[0], s[1], s[2], s[3]
	oh, ow := outDim(h, p.k, p.stride, 0), outDim(w, p.k, p.stride, 0)
	if p.stride == p.k {
		x = adjoint.Slice(adjoint.Slice(x, 2, 0, oh*p.k), 3, 0, ow*p.k)
		x = adjoint.Reshape(x, n, c, oh, p.k, ow, p.k)
		return adjoint.MeanAxis(adjoint.MeanAxis(x, 5, false), 3, false)
	}
	idx := make([]int, 0, oh*ow*p.k*p.k)
	for i := range oh {
		for j := range ow {
			for u := range p.k {
				for v := range p.k {
					idx = append(idx, (i*p.stride+u)*w+j*p.stride+v)
				}
			}
		}
	}
	win := adjoint.Take(adjoint.Reshape(x, n*c, h*w), 1, idx)
	return adjoint.MeanAxis(adjoint.Reshape(win, n, c, oh, ow, p.k*p.k), 4, false)
}
