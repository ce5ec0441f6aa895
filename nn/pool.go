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
// Both kinds are operations of the core, so they are differentiable to
// every order, and both are written-out loops over the windows. Elements
// shared by overlapping windows (stride smaller than the window) receive
// the sum of their gradients.

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
// gradient of a window equally, 1/k² to each element. It is the window sum
// scaled by the constant 1/k², one bilinear operation of the core (see
// adjoint.ApplyBilinear) whose forward and adjoint are single loops.
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
	idx := make([]int, n*c*oh*ow)
	k, st := p.k, p.stride
	if !hasNaN(xd) && k == 2 && st == 2 {
		maxPool2x2(idx, xd, n*c, h, w, oh, ow)
		return adjoint.Reshape(adjoint.Take(adjoint.Reshape(x, -1), 0, idx), n, c, oh, ow)
	}
	if !hasNaN(xd) {
		// Without NaN the first maximum is the first element strictly
		// greater than every earlier one.
		at := 0
		for plane := range n * c {
			base := plane * h * w
			for i := range oh {
				for j := range ow {
					top := base + i*st*w + j*st
					best, bk := top, orderKey(xd[top])
					for u := range k {
						r := top + u*w
						for v, e := range xd[r : r+k] {
							// Integer keys ordered like the values, so that
							// the selection is a conditional move and not a
							// branch, which random data would mispredict.
							if ek := orderKey(e); ek > bk {
								best, bk = r+v, ek
							}
						}
					}
					idx[at] = best
					at++
				}
			}
		}
		return adjoint.Reshape(adjoint.Take(adjoint.Reshape(x, -1), 0, idx), n, c, oh, ow)
	}
	at := 0
	for plane := range n * c {
		base := plane * h * w
		for i := range oh {
			for j := range ow {
				top := base + i*st*w + j*st
				best, bv := uint64(top), math.Float64bits(xd[top])
				for u := range k {
					r := top + u*w
					for v, e := range xd[r : r+k] {
						// Take e when it is strictly greater (which keeps the
						// first maximum) or NaN where the best so far is not
						// (NaN counts as the largest value, so it propagates).
						// Masks rather than branches: on real data the
						// comparisons are as good as random.
						m := takeMask(e, math.Float64frombits(bv))
						best = best&^m | uint64(r+v)&m
						bv = bv&^m | math.Float64bits(e)&m
					}
				}
				idx[at] = int(best)
				at++
			}
		}
	}
	return adjoint.Reshape(adjoint.Take(adjoint.Reshape(x, -1), 0, idx), n, c, oh, ow)
}

// maxPool2x2 finds the first maximum of each 2×2 window (stride 2) of
// NaN-free planes as a small tournament, top pair and bottom pair first,
// so that the comparisons do not wait on one another. Ties go to the
// earlier element in row-major order, as everywhere.
func maxPool2x2(idx []int, xd []float64, planes, h, w, oh, ow int) {
	at := 0
	for plane := range planes {
		base := plane * h * w
		for i := range oh {
			p0 := base + 2*i*w
			r0, r1 := xd[p0:p0+2*ow], xd[p0+w:p0+w+2*ow]
			out := idx[at : at+ow]
			at += ow
			for j := range out {
				ka, kb := orderKey(r0[2*j]), orderKey(r0[2*j+1])
				kc, kd := orderKey(r1[2*j]), orderKey(r1[2*j+1])
				top, kt := p0+2*j, ka
				if kb > ka {
					top, kt = p0+2*j+1, kb
				}
				bot, kbot := p0+w+2*j, kc
				if kd > kc {
					bot, kbot = p0+w+2*j+1, kd
				}
				if kbot > kt {
					top = bot
				}
				out[j] = top
			}
		}
	}
}

// orderKey maps a number (not NaN) to an integer with the same order:
// the bits of a non-negative number, the bits with the magnitude reversed
// for a negative one, and −0 to the key of +0 (they compare equal).
func orderKey(v float64) int64 {
	k := int64(math.Float64bits(v))
	if k == math.MinInt64 {
		k = 0
	}
	return k ^ (k>>63)&math.MaxInt64
}

// hasNaN reports whether xs holds a NaN.
func hasNaN(xs []float64) bool {
	for _, v := range xs {
		if v != v {
			return true
		}
	}
	return false
}

// takeMask is all ones when e > best, or when e is NaN and best is not,
// and zero otherwise; the compiler makes each test a conditional move.
func takeMask(e, best float64) uint64 {
	var gt, nan, num uint64
	if e > best {
		gt = ^uint64(0)
	}
	if e != e {
		nan = ^uint64(0)
	}
	if best == best {
		num = ^uint64(0)
	}
	return gt | nan&num
}

// Forward returns the maximum of each window of x.
func (p *MaxPool2D) Forward(x *adjoint.Var) *adjoint.Var { return p.Apply(nil, x) }

// Apply returns the mean of each window of x; ps must be empty.
func (p *AvgPool2D) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(p, ps)
	out := checkInput(p, x)
	s := x.Shape()
	m := windowSum{pool: p.pool, n: s[0], c: s[1], h: s[2], w: s[3], oh: out[1], ow: out[2]}
	scale := adjoint.ConstScalar(1 / float64(p.k*p.k))
	return adjoint.ApplyBilinear(m, x, scale, s[0], s[1], out[1], out[2])
}

// Forward returns the mean of each window of x.
func (p *AvgPool2D) Forward(x *adjoint.Var) *adjoint.Var { return p.Apply(nil, x) }

// windowSum is the bilinear map (x, s) ↦ s · (sum of each window of x),
// for images x [n, c, h, w] and a scalar s.
type windowSum struct {
	pool
	n, c, h, w, oh, ow int
}

var _ adjoint.Bilinear = windowSum{}

// Apply sets y = s · the window sums of x.
func (m windowSum) Apply(y, x, s []float64) {
	k, st, sc := m.k, m.stride, s[0]
	at := 0
	for plane := range m.n * m.c {
		base := plane * m.h * m.w
		for i := range m.oh {
			for j := range m.ow {
				top := base + i*st*m.w + j*st
				var sum float64
				for u := range k {
					for _, e := range x[top+u*m.w : top+u*m.w+k] {
						sum += e
					}
				}
				y[at] = sc * sum
				at++
			}
		}
	}
}

// AdjointA sets x to s · y spread over each window (overlaps add up).
func (m windowSum) AdjointA(x, y, s []float64) {
	clear(x)
	k, st, sc := m.k, m.stride, s[0]
	at := 0
	for plane := range m.n * m.c {
		base := plane * m.h * m.w
		for i := range m.oh {
			for j := range m.ow {
				top := base + i*st*m.w + j*st
				g := sc * y[at]
				at++
				for u := range k {
					row := x[top+u*m.w : top+u*m.w+k]
					for v := range row {
						row[v] += g
					}
				}
			}
		}
	}
}

// AdjointB sets s to Σ y · (window sum of x).
func (m windowSum) AdjointB(s, x, y []float64) {
	one := []float64{1}
	sums := make([]float64, len(y))
	m.Apply(sums, x, one)
	var t float64
	for i, v := range sums {
		t += v * y[i]
	}
	s[0] = t
}
