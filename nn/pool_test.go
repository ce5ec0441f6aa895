package nn

import (
	"fmt"
	"math"
	"slices"
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
// checked against finite differences to second order.
func TestWindowSumBilinear(t *testing.T) {
	rng := newRNG(14)
	for _, pk := range []pool{{2, 2}, {3, 1}, {2, 3}} {
		m := windowSum{pool: pk, n: 2, c: 2, h: 7, w: 6, oh: outDim(7, pk.k, pk.stride, 0), ow: outDim(6, pk.k, pk.stride, 0)}
		f := func(v ...*adjoint.Var) *adjoint.Var {
			return adjoint.Sin(adjoint.ApplyBilinear(m, v[0], v[1], m.n, m.c, m.oh, m.ow))
		}
		r := adjoint.Check(f, []*adjoint.Tensor{randTensor(rng, 2, 2, 7, 6), adjoint.Scalar(0.3)}, nil)
		if err := r.Err(fdTol, adTol); err != nil || !r.SecondOrder {
			t.Errorf("window %d stride %d: %v\n%v", pk.k, pk.stride, err, r)
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
