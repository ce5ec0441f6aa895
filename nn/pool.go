package nn

import (
	"fmt"
	"math"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Pooling over windows of NCHW batches, as torch.nn's MaxPool2d,
// AvgPool2d, AdaptiveMaxPool2d and AdaptiveAvgPool2d. A window of kh×kw
// moves by strides sh and sw over the image padded by ph rows and pw
// columns on each side; an input [N, C, H, W] gives [N, C, OH, OW] with
//
//	OH = ⌊(H + 2·ph − dh·(kh−1) − 1)/sh⌋ + 1
//
// and likewise OW (dh is the dilation of max pooling, 1 for averages).
// In ceil mode the division rounds up instead, so that a last, partial
// window covers rows and columns that floor mode drops, except that a
// window must start inside the image or its top or left padding (PyTorch's
// rule). The padding is never read: max pooling takes the maximum of the
// window's elements inside the image, and average pooling divides their
// sum by the size of the window clipped to the padded image (PyTorch's
// count_include_pad), by the number of elements inside the image
// (ExcludePadding), or by a fixed divisor.
//
// Every kind is an operation of the core, so it is differentiable to every
// order, and each is a written-out loop over the windows. Elements shared
// by overlapping windows receive the sum of their gradients.

// MaxPool2D takes the maximum of each window.
//
// The upstream gradient of a window goes entirely to its maximum. Ties are
// resolved deterministically: the gradient goes to the first maximum in
// row-major order within the window (the topmost row holding a maximum, and
// the leftmost maximum in that row), the same rule as the adjoint core's
// MaxAxis (first maximum along the axis) and as PyTorch's CPU kernels.
// Elements equal to the maximum but later in the window get nothing. A NaN
// in a window counts as its maximum, so it propagates.
type MaxPool2D struct{ pool }

// AvgPool2D averages each window; its gradient spreads the upstream
// gradient of a window equally over the window's elements, divided by the
// same divisor. It is a window sum with constant weights, one bilinear
// operation of the core (see adjoint.ApplyBilinear) whose forward and
// adjoint are single loops.
type AvgPool2D struct {
	pool
	exclude bool // divide by the elements inside the image
	divisor int  // a fixed divisor, or 0
}

var (
	_ Layer = (*MaxPool2D)(nil)
	_ Layer = (*AvgPool2D)(nil)
	_ Layer = (*AdaptiveAvgPool2D)(nil)
	_ Layer = (*AdaptiveMaxPool2D)(nil)
)

// Pool2DSettings configures MaxPool2D and AvgPool2D beyond a window and a
// stride. A nil *Pool2DSettings means the defaults described on each
// field; per-axis pairs (…HW: height, width) override the values for both
// axes entry by entry, a zero entry taking the value for both.
type Pool2DSettings struct {
	// Stride is the step between windows; zero means the window's extent
	// along each axis (windows that touch but do not overlap).
	Stride int
	// Padding is the number of rows and columns of padding on each side,
	// at most half the (dilated) window; zero means none.
	Padding int
	// Dilation is the spacing between the window's elements, for
	// MaxPool2D only; zero means 1.
	Dilation int
	// StrideHW, PaddingHW and DilationHW are per-axis values.
	StrideHW, PaddingHW, DilationHW [2]int
	// CeilMode rounds the output size up (ceil_mode=True).
	CeilMode bool
	// ExcludePadding divides each sum by the number of elements inside
	// the image rather than by the size of the padded window, for
	// AvgPool2D only (count_include_pad=False).
	ExcludePadding bool
	// Divisor, when positive, divides every window's sum instead, for
	// AvgPool2D only (divisor_override); zero means the rules above.
	Divisor int
}

// pool is the geometry of MaxPool2D and AvgPool2D: per axis (height,
// width) window, stride, padding and dilation, and the rounding of the
// output size.
type pool struct {
	k, stride, pad, dil [2]int
	ceil                bool
}

// newPool checks and resolves the settings of a kh×kw pooling layer.
func newPool(who string, kh, kw int, s *Pool2DSettings, isMax bool) pool {
	var set Pool2DSettings
	if s != nil {
		set = *s
	}
	if !isMax && (set.Dilation != 0 || set.DilationHW != [2]int{}) {
		panic(fmt.Sprintf("nn: %s: dilation applies to max pooling only", who))
	}
	if isMax && (set.ExcludePadding || set.Divisor != 0) {
		panic(fmt.Sprintf("nn: %s: ExcludePadding and Divisor apply to average pooling only", who))
	}
	p := pool{k: [2]int{kh, kw}, stride: axes(set.Stride, set.StrideHW, 0), pad: axes(set.Padding, set.PaddingHW, 0),
		dil: axes(set.Dilation, set.DilationHW, 1), ceil: set.CeilMode}
	for i := range 2 {
		if p.stride[i] == 0 {
			p.stride[i] = p.k[i]
		}
	}
	for i := range 2 {
		span := p.dil[i]*(p.k[i]-1) + 1
		if p.k[i] <= 0 || p.stride[i] <= 0 || p.dil[i] <= 0 || p.pad[i] < 0 || set.Divisor < 0 {
			panic(fmt.Sprintf("nn: %s: window %v, stride %v, dilation %v and divisor %d must be positive, padding %v non-negative",
				who, p.k, p.stride, p.dil, set.Divisor, p.pad))
		}
		if p.pad[i] > span/2 {
			panic(fmt.Sprintf("nn: %s: padding %v exceeds half of the window %v (dilation %v)", who, p.pad, p.k, p.dil))
		}
	}
	return p
}

// NewMaxPool2D returns max pooling over k×k windows with the given stride
// (zero means k: non-overlapping windows).
func NewMaxPool2D(k, stride int) *MaxPool2D {
	return NewMaxPool2DWindow(k, k, &Pool2DSettings{Stride: stride})
}

// NewAvgPool2D returns average pooling over k×k windows with the given
// stride (zero means k).
func NewAvgPool2D(k, stride int) *AvgPool2D {
	return NewAvgPool2DWindow(k, k, &Pool2DSettings{Stride: stride})
}

// NewMaxPool2DWindow returns max pooling over kh×kw windows configured by
// s (nil: stride the window, no padding, floor mode).
func NewMaxPool2DWindow(kh, kw int, s *Pool2DSettings) *MaxPool2D {
	return &MaxPool2D{newPool("NewMaxPool2D", kh, kw, s, true)}
}

// NewAvgPool2DWindow returns average pooling over kh×kw windows
// configured by s (nil: stride the window, no padding, floor mode).
func NewAvgPool2DWindow(kh, kw int, s *Pool2DSettings) *AvgPool2D {
	p := &AvgPool2D{pool: newPool("NewAvgPool2D", kh, kw, s, false)}
	if s != nil {
		p.exclude, p.divisor = s.ExcludePadding, s.Divisor
	}
	return p
}

// describe writes the geometry, as in "2, stride 2" or "3×2, stride 2×1,
// pad 1, dilation 2, ceil".
func (p *pool) describe() string {
	s := fmt.Sprintf("%s, stride %s", pairString(p.k), pairString(p.stride))
	if p.pad != [2]int{} {
		s += ", pad " + pairString(p.pad)
	}
	if p.dil != [2]int{1, 1} {
		s += ", dilation " + pairString(p.dil)
	}
	if p.ceil {
		s += ", ceil"
	}
	return s
}

// String describes the layer, as in "MaxPool2D(2, stride 2)".
func (p *MaxPool2D) String() string { return "MaxPool2D(" + p.describe() + ")" }

// String describes the layer, as in "AvgPool2D(2, stride 2)".
func (p *AvgPool2D) String() string {
	s := "AvgPool2D(" + p.describe()
	if p.exclude {
		s += ", exclude padding"
	}
	if p.divisor != 0 {
		s += fmt.Sprintf(", divisor %d", p.divisor)
	}
	return s + ")"
}

// Params returns nil.
func (p *pool) Params() []Param { return nil }

// outLen returns the number of windows along axis ax of length n (−1 for
// unknown), PyTorch's pooling_output_shape, and 0 when there is none.
func (p *pool) outLen(n, ax int) int {
	if n < 0 {
		return -1
	}
	k, s, pad, d := p.k[ax], p.stride[ax], p.pad[ax], p.dil[ax]
	num := n + 2*pad - d*(k-1) - 1
	if p.ceil {
		num += s - 1
	}
	if num < 0 {
		return 0
	}
	out := num/s + 1
	if p.ceil && (out-1)*s >= n+pad {
		out-- // the last window would start in the bottom or right padding
	}
	return out
}

// windows lists, for each output position along one axis, the input
// positions its window reads: count of them from start, step apart, all
// inside the image. size is the divisor of average pooling along the
// axis (count_include_pad: the window clipped to the padded image).
type windows struct {
	start, count, size []int
	step               int
}

// newWindows returns windows for out positions with the given step, its
// three lists carved from one allocation.
func newWindows(out, step int) windows {
	all := make([]int, 3*out)
	return windows{start: all[:out:out], count: all[out : 2*out : 2*out], size: all[2*out:], step: step}
}

// windows returns the windows of axis ax for an input of length n.
func (p *pool) windows(n, ax int) windows {
	out := p.outLen(n, ax)
	k, s, pad, d := p.k[ax], p.stride[ax], p.pad[ax], p.dil[ax]
	ws := newWindows(out, d)
	for i := range out {
		first := i*s - pad
		u0, u1 := 0, k
		if first < 0 {
			u0 = (-first + d - 1) / d
		}
		if last := first + (k-1)*d; last > n-1 {
			u1 = 0
			if n-1-first >= 0 {
				u1 = (n-1-first)/d + 1
			}
		}
		ws.start[i], ws.count[i] = first+u0*d, max(u1-u0, 0)
		ws.size[i] = min(first+k, n+pad) - first // average pooling only (d = 1)
	}
	return ws
}

// empty reports whether some window holds no element of the image.
func (w windows) empty() bool {
	for _, c := range w.count {
		if c == 0 {
			return true
		}
	}
	return false
}

// OutShape maps [C, H, W] to [C, OH, OW].
func (p *pool) OutShape(in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("samples have shape %v, want [channels height width]", in)
	}
	oh, ow := p.outLen(in[1], 0), p.outLen(in[2], 1)
	if oh == 0 || ow == 0 {
		return nil, fmt.Errorf("image %d×%d with padding %s is smaller than the %s window", in[1], in[2], pairString(p.pad), pairString(p.k))
	}
	for ax := range 2 {
		if in[1+ax] >= 0 && p.windows(in[1+ax], ax).empty() {
			return nil, fmt.Errorf("image %d×%d: a window of %s with dilation %s and padding %s holds no pixel of the image",
				in[1], in[2], pairString(p.k), pairString(p.dil), pairString(p.pad))
		}
	}
	return []int{in[0], oh, ow}, nil
}

// Apply returns the maximum of each window of x; ps must be empty.
func (p *MaxPool2D) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(p, ps)
	out := checkInput(p, x)
	s := x.Shape()
	if p.k == [2]int{2, 2} && p.stride == [2]int{2, 2} && p.pad == [2]int{} && p.dil == [2]int{1, 1} &&
		2*out[1] <= s[2] && 2*out[2] <= s[3] && !hasNaN(x.Value().Data) {
		idx := make([]int, s[0]*s[1]*out[1]*out[2])
		maxPool2x2(idx, x.Value().Data, s[0]*s[1], s[2], s[3], out[1], out[2])
		return adjoint.Reshape(adjoint.Take(adjoint.Reshape(x, -1), 0, idx), s[0], s[1], out[1], out[2])
	}
	return maxOverWindows(x, p.windows(s[2], 0), p.windows(s[3], 1))
}

// Forward returns the maximum of each window of x.
func (p *MaxPool2D) Forward(x *adjoint.Var) *adjoint.Var { return p.Apply(nil, x) }

// maxOverWindows returns the maximum of each window of the images x
// [N, C, H, W], the windows along the height being rows and along the
// width cols.
//
// The position of each window's maximum is found by a direct scan of x's
// values, and the output gathers those positions with one Take. Take is
// linear in x for the chosen positions, so the derivative of every order is
// that of a max (the upstream gradient routed to the chosen element,
// nothing of second order), and its adjoint is a single scatter-add: much
// cheaper than reducing the windows and masking, which is what MaxAxis
// does.
func maxOverWindows(x *adjoint.Var, rows, cols windows) *adjoint.Var {
	s := x.Shape()
	n, c, h, w := s[0], s[1], s[2], s[3]
	oh, ow := len(rows.start), len(cols.start)
	xd := x.Value().Data
	idx := make([]int, n*c*oh*ow)
	rstep, cstep := rows.step*w, cols.step
	at := 0
	if !hasNaN(xd) {
		// Without NaN the first maximum is the first element strictly
		// greater than every earlier one.
		for plane := range n * c {
			base := plane * h * w
			for i := range oh {
				for j := range ow {
					top := base + rows.start[i]*w + cols.start[j]
					best, bk := top, orderKey(xd[top])
					for u := range rows.count[i] {
						r := top + u*rstep
						for v := range cols.count[j] {
							// Integer keys ordered like the values, so that
							// the selection is a conditional move and not a
							// branch, which random data would mispredict.
							if ek := orderKey(xd[r+v*cstep]); ek > bk {
								best, bk = r+v*cstep, ek
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
	for plane := range n * c {
		base := plane * h * w
		for i := range oh {
			for j := range ow {
				top := base + rows.start[i]*w + cols.start[j]
				best, bv := uint64(top), math.Float64bits(xd[top])
				for u := range rows.count[i] {
					r := top + u*rstep
					for v := range cols.count[j] {
						// Take e when it is strictly greater (which keeps the
						// first maximum) or NaN where the best so far is not
						// (NaN counts as the largest value, so it propagates).
						// Masks rather than branches: on real data the
						// comparisons are as good as random.
						e := xd[r+v*cstep]
						m := takeMask(e, math.Float64frombits(bv))
						best = best&^m | uint64(r+v*cstep)&m
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

// Apply returns the mean of each window of x; ps must be empty.
func (p *AvgPool2D) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(p, ps)
	checkInput(p, x)
	s := x.Shape()
	m := windowSum{n: s[0], c: s[1], h: s[2], w: s[3], rows: p.windows(s[2], 0), cols: p.windows(s[3], 1), fixed: p.divisor}
	// The divisor of window (i, j) is the product of per-axis factors:
	// the padded window's extents, or the counts inside the image.
	m.rowDiv, m.colDiv = m.rows.size, m.cols.size
	if p.exclude {
		m.rowDiv, m.colDiv = m.rows.count, m.cols.count
	}
	return m.average(x)
}

// Forward returns the mean of each window of x.
func (p *AvgPool2D) Forward(x *adjoint.Var) *adjoint.Var { return p.Apply(nil, x) }

// average returns the window averages of x [N, C, H, W] as one bilinear
// operation of x and a constant scale of 1.
func (m windowSum) average(x *adjoint.Var) *adjoint.Var {
	return adjoint.ApplyBilinear(m, x, adjoint.ConstScalar(1), m.n, m.c, len(m.rows.start), len(m.cols.start))
}

// windowSum is the bilinear map (x, s) ↦ s · (sum of each window of x) /
// divisor, for images x [n, c, h, w] and a scalar s; the windows are
// rows × cols, window (i, j) divided by fixed if it is positive and by
// rowDiv[i]·colDiv[j] otherwise (the integer divisor, as PyTorch's).
type windowSum struct {
	n, c, h, w     int
	rows, cols     windows
	rowDiv, colDiv []int
	fixed          int
}

var _ adjoint.Bilinear = windowSum{}

// divisor returns the divisor of window (i, j).
func (m *windowSum) divisor(i, j int) float64 {
	if m.fixed > 0 {
		return float64(m.fixed)
	}
	return float64(m.rowDiv[i] * m.colDiv[j])
}

// Apply sets y = s · the window sums of x / their divisors.
func (m windowSum) Apply(y, x, s []float64) {
	sc := s[0]
	oh, ow := len(m.rows.start), len(m.cols.start)
	rstep, cstep := m.rows.step*m.w, m.cols.step
	at := 0
	for plane := range m.n * m.c {
		base := plane * m.h * m.w
		for i := range oh {
			for j := range ow {
				top := base + m.rows.start[i]*m.w + m.cols.start[j]
				var sum float64
				for u := range m.rows.count[i] {
					r := top + u*rstep
					for v := range m.cols.count[j] {
						sum += x[r+v*cstep]
					}
				}
				y[at] = sc * (sum / m.divisor(i, j))
				at++
			}
		}
	}
}

// AdjointA sets x to s · y / divisor spread over each window (overlaps
// add up).
func (m windowSum) AdjointA(x, y, s []float64) {
	clear(x)
	sc := s[0]
	oh, ow := len(m.rows.start), len(m.cols.start)
	rstep, cstep := m.rows.step*m.w, m.cols.step
	at := 0
	for plane := range m.n * m.c {
		base := plane * m.h * m.w
		for i := range oh {
			for j := range ow {
				top := base + m.rows.start[i]*m.w + m.cols.start[j]
				g := sc * (y[at] / m.divisor(i, j))
				at++
				for u := range m.rows.count[i] {
					r := top + u*rstep
					for v := range m.cols.count[j] {
						x[r+v*cstep] += g
					}
				}
			}
		}
	}
}

// AdjointB sets s to Σ y · (window sum of x / divisor).
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

// AdaptiveAvgPool2D averages each image over a fixed grid of OH×OW
// windows whatever the image's size, as torch.nn.AdaptiveAvgPool2d:
// output row i averages input rows ⌊i·H/OH⌋ to ⌈(i+1)·H/OH⌉ − 1, and
// likewise for the columns, so windows overlap or differ in size by one
// when H is not a multiple of OH. Like AvgPool2D it is one bilinear
// operation of the core.
type AdaptiveAvgPool2D struct{ adaptive }

// AdaptiveMaxPool2D takes the maximum of each window of the same grid
// as AdaptiveAvgPool2D (torch.nn.AdaptiveMaxPool2d), with MaxPool2D's rule
// for ties and NaN.
type AdaptiveMaxPool2D struct{ adaptive }

// adaptive is the output grid of the adaptive pools; a zero size keeps the
// input's size along that axis (PyTorch's None).
type adaptive struct{ out [2]int }

func newAdaptive(who string, oh, ow int) adaptive {
	if oh < 0 || ow < 0 {
		panic(fmt.Sprintf("nn: %s: output size %d×%d must not be negative", who, oh, ow))
	}
	return adaptive{[2]int{oh, ow}}
}

// NewAdaptiveAvgPool2D returns average pooling onto an oh×ow grid; zero
// for either keeps the input's size along that axis.
func NewAdaptiveAvgPool2D(oh, ow int) *AdaptiveAvgPool2D {
	return &AdaptiveAvgPool2D{newAdaptive("NewAdaptiveAvgPool2D", oh, ow)}
}

// NewAdaptiveMaxPool2D returns max pooling onto an oh×ow grid; zero for
// either keeps the input's size along that axis.
func NewAdaptiveMaxPool2D(oh, ow int) *AdaptiveMaxPool2D {
	return &AdaptiveMaxPool2D{newAdaptive("NewAdaptiveMaxPool2D", oh, ow)}
}

// String describes the layer, as in "AdaptiveAvgPool2D(7×7)".
func (p *AdaptiveAvgPool2D) String() string { return "AdaptiveAvgPool2D(" + p.describe() + ")" }

// String describes the layer, as in "AdaptiveMaxPool2D(1×1)".
func (p *AdaptiveMaxPool2D) String() string { return "AdaptiveMaxPool2D(" + p.describe() + ")" }

func (a *adaptive) describe() string {
	d := func(n int) string {
		if n == 0 {
			return "input"
		}
		return fmt.Sprint(n)
	}
	return d(a.out[0]) + "×" + d(a.out[1])
}

// Params returns nil.
func (a *adaptive) Params() []Param { return nil }

// size returns the output length along axis ax for input length n.
func (a *adaptive) size(n, ax int) int {
	if a.out[ax] == 0 {
		return n
	}
	return a.out[ax]
}

// OutShape maps [C, H, W] to [C, OH, OW].
func (a *adaptive) OutShape(in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("samples have shape %v, want [channels height width]", in)
	}
	if in[1] == 0 || in[2] == 0 {
		return nil, fmt.Errorf("empty image %d×%d", in[1], in[2])
	}
	return []int{in[0], a.size(in[1], 0), a.size(in[2], 1)}, nil
}

// windows returns PyTorch's adaptive windows of axis ax for an input of
// length n: output i covers [⌊i·n/out⌋, ⌈(i+1)·n/out⌉).
func (a *adaptive) windows(n, ax int) windows {
	out := a.size(n, ax)
	ws := newWindows(out, 1)
	for i := range out {
		lo, hi := i*n/out, ((i+1)*n+out-1)/out
		ws.start[i], ws.count[i], ws.size[i] = lo, hi-lo, hi-lo
	}
	return ws
}

// Apply returns the mean of each window of x; ps must be empty.
func (p *AdaptiveAvgPool2D) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(p, ps)
	checkInput(p, x)
	s := x.Shape()
	m := windowSum{n: s[0], c: s[1], h: s[2], w: s[3], rows: p.windows(s[2], 0), cols: p.windows(s[3], 1)}
	m.rowDiv, m.colDiv = m.rows.count, m.cols.count
	return m.average(x)
}

// Forward returns the mean of each window of x.
func (p *AdaptiveAvgPool2D) Forward(x *adjoint.Var) *adjoint.Var { return p.Apply(nil, x) }

// Apply returns the maximum of each window of x; ps must be empty.
func (p *AdaptiveMaxPool2D) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(p, ps)
	checkInput(p, x)
	s := x.Shape()
	return maxOverWindows(x, p.windows(s[2], 0), p.windows(s[3], 1))
}

// Forward returns the maximum of each window of x.
func (p *AdaptiveMaxPool2D) Forward(x *adjoint.Var) *adjoint.Var { return p.Apply(nil, x) }
