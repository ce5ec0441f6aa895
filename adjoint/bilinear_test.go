package adjoint

import (
	"math/rand/v2"
	"testing"
)

// naiveMatMul is the matrix product of an m×k and a k×n matrix as a
// Bilinear, written with loops, so that it can be checked against MatMul.
type naiveMatMul struct{ m, k, n int }

func (p naiveMatMul) Apply(y, a, b []float64) {
	for i := range p.m {
		for j := range p.n {
			var s float64
			for q := range p.k {
				s += a[i*p.k+q] * b[q*p.n+j]
			}
			y[i*p.n+j] = s
		}
	}
}

// AdjointA: ā = ȳ·bᵀ.
func (p naiveMatMul) AdjointA(a, y, b []float64) {
	for i := range p.m {
		for q := range p.k {
			var s float64
			for j := range p.n {
				s += y[i*p.n+j] * b[q*p.n+j]
			}
			a[i*p.k+q] = s
		}
	}
}

// AdjointB: b̄ = aᵀ·ȳ.
func (p naiveMatMul) AdjointB(b, a, y []float64) {
	for q := range p.k {
		for j := range p.n {
			var s float64
			for i := range p.m {
				s += a[i*p.k+q] * y[i*p.n+j]
			}
			b[q*p.n+j] = s
		}
	}
}

var _ Bilinear = naiveMatMul{}

func TestBilinearAgainstFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	f := naiveMatMul{3, 4, 2}
	for name, g := range map[string]func(x ...*Var) *Var{
		"plain": func(x ...*Var) *Var { return ApplyBilinear(f, x[0], x[1], 3, 2) },
		// A nonlinear loss makes the second derivatives go through every
		// member of the family, and the same value in both slots through
		// both adjoints at once.
		"sin_loss": func(x ...*Var) *Var { return Sum(Sin(ApplyBilinear(f, x[0], x[1], 3, 2))) },
		"square_self": func(x ...*Var) *Var {
			sq := naiveMatMul{4, 4, 4}
			return Mean(Tanh(ApplyBilinear(sq, x[2], x[2], 4, 4)))
		},
	} {
		t.Run(name, func(t *testing.T) {
			xs := []*Tensor{randInput(rng, anyReal, 3, 4), randInput(rng, anyReal, 4, 2), randInput(rng, anyReal, 4, 4)}
			r := Check(g, xs, nil)
			t.Log(r)
			if err := r.Err(fdTol, adTol); err != nil {
				t.Error(err)
			}
			if !r.SecondOrder {
				t.Error("second order did not run")
			}
		})
	}
}

// The bilinear operation and MatMul agree in value, gradient and Hessian-
// vector product.
func TestBilinearMatchesMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	at, bt := randInput(rng, anyReal, 3, 4), randInput(rng, anyReal, 4, 2)
	f := naiveMatMul{3, 4, 2}
	loss := func(mul func(a, b *Var) *Var) func(x ...*Var) *Var {
		return func(x ...*Var) *Var { return Sum(Square(Sin(mul(x[0], x[1])))) }
	}
	viaB := loss(func(a, b *Var) *Var { return ApplyBilinear(f, a, b, 3, 2) })
	viaM := loss(MatMul)
	a, b := Param(at), Param(bt)
	g1 := GradGraph(viaB(a, b), a, b)
	g2 := GradGraph(viaM(a, b), a, b)
	for i := range g1 {
		if e := Compare(g1[i].Value().Data, g2[i].Value().Data).MaxRel; e > 1e-13 {
			t.Errorf("gradient %d: relative difference %.3g", i, e)
		}
	}
	v := randInput(rng, anyReal, 3, 4)
	h1 := Grad(Dot(g1[0], Const(v)), a, b)
	h2 := Grad(Dot(g2[0], Const(v)), a, b)
	for i := range h1 {
		if e := Compare(h1[i].Data, h2[i].Data).MaxRel; e > 1e-12 {
			t.Errorf("Hessian-vector product %d: relative difference %.3g", i, e)
		}
	}
}
