package nn

import (
	"fmt"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
)

// naiveConv computes a Conv2D forward pass and, for the upstream gradient
// g, the gradients with respect to the input, the kernel and the bias by
// direct nested loops over the definition
//
//	y[n,o,i,j] = b[o] + Σ_{c,u,v} K[o,c,u,v] · xp[n,c,i·s+u, j·s+v].
func naiveConv(x, k, b, g *adjoint.Tensor, stride, pad int) (y, dx, dk, db *adjoint.Tensor) {
	N, C, H, W := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	O, KH, KW := k.Shape[0], k.Shape[2], k.Shape[3]
	OH, OW := (H+2*pad-KH)/stride+1, (W+2*pad-KW)/stride+1
	y = adjoint.New(N, O, OH, OW)
	dx, dk, db = adjoint.New(x.Shape...), adjoint.New(k.Shape...), adjoint.New(O)
	// at returns the padded input element and whether it is inside x.
	inside := func(r, c int) bool { return r >= 0 && r < H && c >= 0 && c < W }
	for n := range N {
		for o := range O {
			for i := range OH {
				for j := range OW {
					s := b.Data[o]
					gv := 0.0
					if g != nil {
						gv = g.At(n, o, i, j)
						db.Data[o] += gv
					}
					for c := range C {
						for u := range KH {
							for v := range KW {
								r, q := i*stride+u-pad, j*stride+v-pad
								if !inside(r, q) {
									continue
								}
								s += k.At(o, c, u, v) * x.At(n, c, r, q)
								if g != nil {
									dk.Set(dk.At(o, c, u, v)+gv*x.At(n, c, r, q), o, c, u, v)
									dx.Set(dx.At(n, c, r, q)+gv*k.At(o, c, u, v), n, c, r, q)
								}
							}
						}
					}
					y.Set(s, n, o, i, j)
				}
			}
		}
	}
	return y, dx, dk, db
}

// Conv2D against the direct loops: forward, and the gradients with respect
// to the input and the kernel (and bias), for several strides, paddings and
// non-square kernels, with several channels and a batch of 2.
func TestConv2DAgainstDirectLoops(t *testing.T) {
	rng := newRNG(11)
	cases := []struct {
		c, o, kh, kw, stride, pad, h, w int
	}{
		{3, 4, 3, 3, 2, 1, 7, 6}, // the case the issue asks for
		{3, 2, 3, 2, 2, 1, 8, 9},
		{2, 3, 3, 3, 1, 0, 5, 5},
		{1, 2, 2, 2, 3, 2, 6, 7},
		{2, 2, 1, 1, 1, 0, 3, 4},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("c%d_o%d_k%dx%d_s%d_p%d", c.c, c.o, c.kh, c.kw, c.stride, c.pad), func(t *testing.T) {
			conv := NewConv2D(rng, c.c, c.o, c.kh, c.kw, &Conv2DSettings{Stride: c.stride, Padding: c.pad})
			copy(conv.b.Value().Data, randTensor(rng, c.o).Data)
			xt := randTensor(rng, 2, c.c, c.h, c.w)
			x := adjoint.Param(xt)
			y := conv.Forward(x)
			g := randTensor(rng, y.Shape()...)
			wantY, wantDX, wantDK, wantDB := naiveConv(xt, conv.w.Value(), conv.b.Value(), g, c.stride, c.pad)
			if d := maxAbsDiff(y.Value().Data, wantY.Data); d > 1e-13 || !adjoint.SameShape(y.Value(), wantY) {
				t.Fatalf("forward: shape %v want %v, max difference %g", y.Shape(), wantY.Shape, d)
			}
			grads := adjoint.VJP(y, g, x, conv.w.Var, conv.b.Var)
			for i, want := range []*adjoint.Tensor{wantDX, wantDK, wantDB} {
				if d := maxAbsDiff(grads[i].Data, want.Data); d > 1e-12 {
					t.Errorf("gradient %d (input, kernel, bias): max difference %g", i, d)
				}
			}
		})
	}
}
