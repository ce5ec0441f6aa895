package main

import (
	"math/rand/v2"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// convSymDirect is the forward pass by the definition, with plain loops:
// y[n,o,i,j] = Σ_{c,u,v} K[o,c,u,v]·xp[n,c,i·s+u,j·s+v] (no bias).
func convSymDirect(x, k convSymT4, s, p int) convSymT4 {
	oh, ow := (x.h+2*p-k.h)/s+1, (x.w+2*p-k.w)/s+1
	y := newConvSymT4(x.a, k.a, oh, ow)
	for n := range x.a {
		for o := range k.a {
			for i := range oh {
				for j := range ow {
					for c := range x.b {
						for u := range k.h {
							for v := range k.w {
								r, q := i*s+u-p, j*s+v-p
								if r >= 0 && r < x.h && q >= 0 && q < x.w {
									y.add(n, o, i, j, k.at(o, c, u, v)*x.at(n, c, r, q))
								}
							}
						}
					}
				}
			}
		}
	}
	return y
}

// TestConvSymFormulas checks the loop formulas, the experiment's reference,
// against the definition: L = ⟨g, y⟩ is bilinear, so dL/dK[e] and dL/dX[e]
// equal L evaluated at the unit tensor e, exactly up to rounding.
func TestConvSymFormulas(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sp := range [][2]int{{1, 0}, {1, 1}, {2, 0}, {2, 1}, {3, 2}} {
		s, p := sp[0], sp[1]
		x, k := newConvSymT4(2, 2, 7, 6), newConvSymT4(3, 2, 3, 2)
		for i := range x.d {
			x.d[i] = rng.NormFloat64()
		}
		for i := range k.d {
			k.d[i] = rng.NormFloat64()
		}
		y := convSymDirect(x, k, s, p)
		g := newConvSymT4(y.a, y.b, y.h, y.w)
		for i := range g.d {
			g.d[i] = rng.NormFloat64()
		}
		L := func(x, k convSymT4) float64 {
			y := convSymDirect(x, k, s, p)
			var sum float64
			for i := range y.d {
				sum += y.d[i] * g.d[i]
			}
			return sum
		}
		dK, _, dX := convSymFormulas(x, k, g, s, p)
		refK := make([]float64, len(k.d))
		for i := range k.d {
			e := newConvSymT4(k.a, k.b, k.h, k.w)
			e.d[i] = 1
			refK[i] = L(x, e)
		}
		refX := make([]float64, len(x.d))
		for i := range x.d {
			e := newConvSymT4(x.a, x.b, x.h, x.w)
			e.d[i] = 1
			refX[i] = L(e, k)
		}
		if e := relErr(dK.d, refK); e > 1e-13 {
			t.Errorf("stride %d pad %d: dL/dK formula differs from the definition by %g", s, p, e)
		}
		if e := relErr(dX.d, refX); e > 1e-13 {
			t.Errorf("stride %d pad %d: dL/dX formula differs from the definition by %g", s, p, e)
		}
	}
}

func TestConvSymValidate(t *testing.T) {
	c := *runner.Defaults[convSymConfig]("conv_symmetry", false)
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c.Strides, c.Kernel = nil, 40
	if err := c.Validate(); err == nil {
		t.Error("empty strides and kernel 40 accepted")
	}
}
