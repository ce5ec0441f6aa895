package nn

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
)

// naivePool returns pooling outputs and the input gradient for upstream g
// by direct loops: max pooling routes each window's gradient to its first
// maximum in row-major order, average pooling spreads it as 1/k².
func naivePool(x, g *adjoint.Tensor, k, s int, isMax bool) (y, dx *adjoint.Tensor) {
	N, C, H, W := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	OH, OW := (H-k)/s+1, (W-k)/s+1
	y, dx = adjoint.New(N, C, OH, OW), adjoint.New(x.Shape...)
	for n := range N {
		for c := range C {
			for i := range OH {
				for j := range OW {
					gv := g.At(n, c, i, j)
					if isMax {
						br, bc := i*s, j*s
						for u := range k {
							for v := range k {
								if x.At(n, c, i*s+u, j*s+v) > x.At(n, c, br, bc) {
									br, bc = i*s+u, j*s+v
								}
							}
						}
						y.Set(x.At(n, c, br, bc), n, c, i, j)
						dx.Set(dx.At(n, c, br, bc)+gv, n, c, br, bc)
						continue
					}
					var sum float64
					for u := range k {
						for v := range k {
							sum += x.At(n, c, i*s+u, j*s+v)
							dx.Set(dx.At(n, c, i*s+u, j*s+v)+gv/float64(k*k), n, c, i*s+u, j*s+v)
						}
					}
					y.Set(sum/float64(k*k), n, c, i, j)
				}
			}
		}
	}
	return y, dx
}

// Pooling against direct loops, on inputs full of ties (integers from a
// small range), for both code paths (stride = window, reshaped; other
// strides, gathered), including sizes that leave rows and columns over.
func TestPoolingRoutingAndTies(t *testing.T) {
	rng := newRNG(12)
	for _, c := range []struct{ k, s, h, w int }{
		{2, 2, 4, 4}, {2, 2, 5, 7}, {3, 3, 7, 6}, {2, 1, 4, 5}, {3, 2, 7, 7}, {3, 1, 3, 3},
	} {
		for _, isMax := range []bool{true, false} {
			name := fmt.Sprintf("avg_k%d_s%d_%dx%d", c.k, c.s, c.h, c.w)
			if isMax {
				name = "max" + name[3:]
			}
			t.Run(name, func(t *testing.T) {
				xt := adjoint.New(2, 3, c.h, c.w)
				for i := range xt.Data {
					xt.Data[i] = float64(rng.IntN(3)) // many ties
				}
				var l Layer = NewAvgPool2D(c.k, c.s)
				if isMax {
					l = NewMaxPool2D(c.k, c.s)
				}
				x := adjoint.Param(xt)
				y := l.Apply(nil, x)
				g := adjoint.New(y.Shape()...)
				for i := range g.Data {
					g.Data[i] = float64(i + 1) // distinct, so misrouting shows
				}
				wantY, wantDX := naivePool(xt, g, c.k, c.s, isMax)
				if !adjoint.SameShape(y.Value(), wantY) || maxAbsDiff(y.Value().Data, wantY.Data) > 1e-15 {
					t.Fatalf("forward: shape %v, want %v", y.Shape(), wantY.Shape)
				}
				dx := adjoint.VJP(y, g, x)[0]
				if d := maxAbsDiff(dx.Data, wantDX.Data); d > 1e-13 {
					t.Errorf("input gradient: max difference %g", d)
				}
			})
		}
	}
}

// The documented tie rule on hand-made windows: the whole gradient goes to
// the first maximum in row-major order.
func TestMaxPoolTieRule(t *testing.T) {
	// Four 2×2 windows of a 4×4 image.
	x := adjoint.FromData([]float64{
		5, 5, 1, 3,
		5, 5, 3, 2,
		0, 4, 2, 1,
		1, 4, 7, 7,
	}, 1, 1, 4, 4)
	want := []float64{
		1, 0, 0, 2, // all equal → top-left; [1 3; 3 2] → (0,1), not (1,0)
		0, 0, 0, 0,
		0, 3, 0, 0, // [0 4; 1 4] → (0,1), not (1,1)
		0, 0, 4, 0, // [2 1; 7 7] → (1,0), not (1,1)
	}
	xv := adjoint.Param(x)
	y := NewMaxPool2D(2, 0).Forward(xv)
	g := adjoint.FromData([]float64{1, 2, 3, 4}, 1, 1, 2, 2)
	if dx := adjoint.VJP(y, g, xv)[0]; !slices.Equal(dx.Data, want) {
		t.Errorf("gradient %v\nwant %v", dx.Data, want)
	}
	// The gathered path (stride 1: nine overlapping windows) follows the
	// same rule; the top-left window of x is all 5s, the one right of it
	// [5 1; 5 3] has its first maximum at its top-left too.
	xv = adjoint.Param(x)
	y = NewMaxPool2D(2, 1).Forward(xv)
	g = adjoint.New(1, 1, 3, 3)
	g.Data[0], g.Data[1] = 1, 10
	if dx := adjoint.VJP(y, g, xv)[0]; dx.Data[0] != 1 || dx.Data[1] != 10 || adjoint.Sum(adjoint.Const(dx)).Item() != 11 {
		t.Errorf("stride 1: gradient %v", dx.Data)
	}
}

func TestMaxPoolPropagatesNaN(t *testing.T) {
	x := adjoint.FromData([]float64{1, math.NaN(), 3, 2}, 1, 1, 2, 2)
	if y := NewMaxPool2D(2, 0).Forward(adjoint.Const(x)).Item(); !math.IsNaN(y) {
		t.Errorf("max of a window holding NaN = %v", y)
	}
}

func TestAvgPoolSpreadsEqually(t *testing.T) {
	x := adjoint.Param(randTensor(newRNG(13), 1, 1, 4, 6))
	y := NewAvgPool2D(2, 0).Forward(x)
	dx := adjoint.VJP(y, adjoint.Full(1, y.Shape()...), x)[0]
	for i, v := range dx.Data {
		if v != 0.25 {
			t.Fatalf("element %d gets %v, want 1/4", i, v)
		}
	}
}

// The window sum is bilinear in the images and the scale: with both
// differentiable, every member of its family (forward, both adjoints) is
// checked against finite differences to second order, on plain, padded,
// dilated and adaptive windows.
func TestWindowSumBilinear(t *testing.T) {
	rng := newRNG(14)
	for _, pk := range []pool{
		{k: [2]int{2, 2}, stride: [2]int{2, 2}, dil: [2]int{1, 1}},
		{k: [2]int{3, 3}, stride: [2]int{1, 1}, dil: [2]int{1, 1}},
		{k: [2]int{2, 3}, stride: [2]int{3, 2}, pad: [2]int{1, 1}, dil: [2]int{1, 1}, ceil: true},
		{k: [2]int{3, 2}, stride: [2]int{2, 1}, pad: [2]int{1, 0}, dil: [2]int{2, 3}},
	} {
		rows, cols := pk.windows(7, 0), pk.windows(6, 1)
		m := windowSum{n: 2, c: 2, h: 7, w: 6, rows: rows, cols: cols, rowDiv: rows.size, colDiv: cols.count}
		f := func(v ...*adjoint.Var) *adjoint.Var {
			return adjoint.Sin(adjoint.ApplyBilinear(m, v[0], v[1], m.n, m.c, len(rows.start), len(cols.start)))
		}
		r := adjoint.Check(f, []*adjoint.Tensor{randTensor(rng, 2, 2, 7, 6), adjoint.Scalar(0.3)}, nil)
		if err := r.Err(fdTol, adTol); err != nil || !r.SecondOrder {
			t.Errorf("%+v: %v\n%v", pk, err, r)
		}
	}
}

// The 2×2 tournament picks the same element as the plain first-maximum
// scan on data full of ties, negative numbers and zeros of both signs.
func TestMaxPool2x2MatchesScan(t *testing.T) {
	rng := newRNG(15)
	vals := []float64{-2, -1, math.Copysign(0, -1), 0, 1, 2, -1e-300, 1e-300}
	xd := make([]float64, 3*6*8)
	for i := range xd {
		xd[i] = vals[rng.IntN(len(vals))]
	}
	got := make([]int, 3*3*4)
	maxPool2x2(got, xd, 3, 6, 8, 3, 4)
	at := 0
	for p := range 3 {
		for i := range 3 {
			for j := range 4 {
				top := p*48 + 2*i*8 + 2*j
				best := top
				for _, q := range []int{top, top + 1, top + 8, top + 9} {
					if xd[q] > xd[best] {
						best = q
					}
				}
				if got[at] != best {
					t.Fatalf("window %d: picked %d (%v), want %d (%v)", at, got[at], xd[got[at]], best, xd[best])
				}
				at++
			}
		}
	}
}

// Every pooling option passes the gradient checks, to second order (zero
// for max pooling, whose routing is constant away from ties: random
// inputs have none).
func TestPoolGradients(t *testing.T) {
	rng := newRNG(20)
	cases := []struct {
		name  string
		layer Layer
		x     []int
	}{
		{"maxpool_ceil_pad", NewMaxPool2DWindow(3, 2, &Pool2DSettings{StrideHW: [2]int{2, 1}, Padding: 1, CeilMode: true}), []int{1, 2, 6, 5}},
		{"maxpool_dilation", NewMaxPool2DWindow(2, 3, &Pool2DSettings{Stride: 2, DilationHW: [2]int{2, 1}, PaddingHW: [2]int{0, 1}}), []int{2, 1, 7, 6}},
		{"avgpool_ceil_pad", NewAvgPool2DWindow(3, 3, &Pool2DSettings{Stride: 2, Padding: 1, CeilMode: true}), []int{1, 2, 6, 5}},
		{"avgpool_exclude", NewAvgPool2DWindow(2, 3, &Pool2DSettings{StrideHW: [2]int{1, 2}, Padding: 1, ExcludePadding: true}), []int{2, 1, 4, 5}},
		{"avgpool_divisor", NewAvgPool2DWindow(2, 2, &Pool2DSettings{Divisor: 3, CeilMode: true}), []int{1, 2, 5, 5}},
		{"adaptive_avg", NewAdaptiveAvgPool2D(3, 2), []int{2, 2, 7, 5}},
		{"adaptive_avg_up", NewAdaptiveAvgPool2D(4, 0), []int{1, 2, 3, 3}},
		{"adaptive_max", NewAdaptiveMaxPool2D(2, 3), []int{2, 1, 5, 7}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkLayer(t, c.layer, rng, false, c.x...) })
	}
}

// Output sizes by PyTorch's rule, worked by hand: ceil mode keeps a last
// partial window only if it starts inside the image or its left padding.
func TestPoolOutputSize(t *testing.T) {
	for _, c := range []struct {
		l    Layer
		in   []int
		want []int
	}{
		{NewMaxPool2D(2, 0), []int{3, 5, 7}, []int{3, 2, 3}},
		// ⌈(5 − 2)/2⌉ + 1 = 3; (3 − 1)·2 = 4 < 5.
		{NewMaxPool2DWindow(2, 2, &Pool2DSettings{CeilMode: true}), []int{1, 5, 4}, []int{1, 3, 2}},
		// Width 5, window 3, stride 2, padding 1: ⌈(5+2−3)/2⌉ + 1 = 3.
		// Height 4: ⌈(4+2−3)/2⌉ + 1 = 3, (3−1)·2 = 4 ≥ 4 + 1? no: 3.
		{NewAvgPool2DWindow(3, 3, &Pool2DSettings{Stride: 2, Padding: 1, CeilMode: true}), []int{1, 4, 5}, []int{1, 3, 3}},
		// Height 3, window 1, stride 2, ceil: ⌈2/2⌉ + 1 = 2; the window
		// of row 1 starts at 2 < 3: kept.
		{NewMaxPool2DWindow(1, 1, &Pool2DSettings{Stride: 2, CeilMode: true}), []int{1, 3, 2}, []int{1, 2, 1}},
		// Height 4, window 3, stride 3, padding 1, ceil: ⌈(4+2−3)/3⌉ + 1 =
		// 2, but the second window would start at 3·1 − 1 = 2 < 4 + 1:
		// kept; width 2, window 3, stride 3, padding 1: ⌈1/3⌉ + 1 = 2,
		// second window starts at 3 ≥ 2 + 1: dropped.
		{NewMaxPool2DWindow(3, 3, &Pool2DSettings{Stride: 3, Padding: 1, CeilMode: true}), []int{1, 4, 2}, []int{1, 2, 1}},
		{NewAdaptiveAvgPool2D(0, 3), []int{2, 5, -1}, []int{2, 5, 3}},
		{NewMaxPool2D(2, 0), []int{1, -1, 4}, []int{1, -1, 2}},
	} {
		got, err := c.l.OutShape(c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%v on %v: %v, %v; want %v", c.l, c.in, got, err, c.want)
		}
	}
}

// PyTorch's adaptive windows, by hand: 7 rows onto 3 are [0,3) [2,5)
// [4,7); 3 onto 4 are [0,1) [0,2) [1,3) [2,3).
func TestAdaptiveWindows(t *testing.T) {
	a := newAdaptive("test", 3, 4)
	for _, c := range []struct {
		n, ax        int
		start, count []int
	}{
		{7, 0, []int{0, 2, 4}, []int{3, 3, 3}},
		{3, 1, []int{0, 0, 1, 2}, []int{1, 2, 2, 1}},
	} {
		w := a.windows(c.n, c.ax)
		if !slices.Equal(w.start, c.start) || !slices.Equal(w.count, c.count) {
			t.Errorf("%d onto %d: starts %v counts %v, want %v %v", c.n, a.out[c.ax], w.start, w.count, c.start, c.count)
		}
	}
}

func TestPoolMisuse(t *testing.T) {
	mustPanic(t, func() { NewMaxPool2DWindow(3, 3, &Pool2DSettings{Padding: 2}) }, "half of the window")
	mustPanic(t, func() { NewAvgPool2DWindow(3, 3, &Pool2DSettings{Dilation: 2}) }, "max pooling only")
	mustPanic(t, func() { NewMaxPool2DWindow(2, 2, &Pool2DSettings{Divisor: 2}) }, "average pooling only")
	mustPanic(t, func() { NewMaxPool2DWindow(0, 2, nil) }, "positive")
	mustPanic(t, func() { NewAdaptiveMaxPool2D(-1, 2) }, "negative")
	if _, err := NewMaxPool2D(3, 0).OutShape([]int{1, 2, 5}); err == nil || !strings.Contains(err.Error(), "smaller than the 3 window") {
		t.Errorf("image smaller than the window: %v", err)
	}
	// A dilated window whose taps all miss a one-pixel image (padding 1,
	// dilation 2: taps at −1 and 1).
	if _, err := NewMaxPool2DWindow(2, 1, &Pool2DSettings{DilationHW: [2]int{2, 1}, PaddingHW: [2]int{1, 0}, CeilMode: true}).OutShape([]int{1, 1, 3}); err == nil ||
		!strings.Contains(err.Error(), "holds no pixel") {
		t.Errorf("empty window: %v", err)
	}
}
