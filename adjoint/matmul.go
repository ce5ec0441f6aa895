package adjoint

import (
	"fmt"

	"github.com/adjointkit/adjointkit/internal/kernel"
)

type matMulOp struct{ ta, tb bool }

func (matMulOp) name() string { return "matmul" }

// vjp: for C = op(A)·op(B) the cotangents are dop(A) = G·op(B)ᵀ and
// dop(B) = op(A)ᵀ·G, transposed back when A or B entered transposed. Each
// case is one more product with transpose flags, so no transpose is ever
// materialised.
func (m matMulOp) vjp(g *Var, in []*Var, _ *Var, need []bool) []*Var {
	a, b := in[0], in[1]
	var ga, gb *Var
	switch {
	case !m.ta && !m.tb:
		if need[0] {
			ga = MatMulT(g, b, false, true)
		}
		if need[1] {
			gb = MatMulT(a, g, true, false)
		}
	case m.ta && !m.tb:
		if need[0] {
			ga = MatMulT(b, g, false, true)
		}
		if need[1] {
			gb = MatMulT(a, g, false, false)
		}
	case !m.ta && m.tb:
		if need[0] {
			ga = MatMulT(g, b, false, false)
		}
		if need[1] {
			gb = MatMulT(g, a, true, false)
		}
	default:
		if need[0] {
			ga = MatMulT(b, g, true, true)
		}
		if need[1] {
			gb = MatMulT(g, a, true, true)
		}
	}
	return []*Var{ga, gb}
}

func (m matMulOp) jvp(t []*Var, in []*Var, _ *Var) *Var {
	var s *Var
	if t[0] != nil {
		s = MatMulT(t[0], in[1], m.ta, m.tb)
	}
	if t[1] != nil {
		p := MatMulT(in[0], t[1], m.ta, m.tb)
		if s == nil {
			return p
		}
		s = Add(s, p)
	}
	return s
}

// MatMul returns the matrix product a·b of 2-D values.
func MatMul(a, b *Var) *Var { return MatMulT(a, b, false, false) }

// MatMulT returns op(a)·op(b) where op transposes its argument when the
// matching flag is set. It multiplies with the module's own blocked,
// vectorised matrix product without forming the transposes; each element's
// sum is formed in the same order whatever GOMAXPROCS is, so results do not
// depend on the number of threads.
func MatMulT(a, b *Var, transA, transB bool) *Var {
	as, bs := a.Shape(), b.Shape()
	if len(as) != 2 || len(bs) != 2 {
		panic(fmt.Sprintf("adjoint: MatMul needs 2-D operands, got %v and %v", as, bs))
	}
	m, k := as[0], as[1]
	if transA {
		m, k = k, m
	}
	k2, n := bs[0], bs[1]
	if transB {
		k2, n = n, k2
	}
	if k != k2 {
		panic(fmt.Sprintf("adjoint: MatMul shapes %v%s and %v%s do not conform", as, tmark(transA), bs, tmark(transB)))
	}
	out := New(m, n)
	kernel.Gemm(transA, transB, m, n, k, 1, a.val.Data, max(1, as[1]), b.val.Data, max(1, bs[1]), 0, out.Data, max(1, n))
	return newVar2(out, matMulOp{transA, transB}, a, b)
}

func tmark(t bool) string {
	if t {
		return "ᵀ"
	}
	return ""
}
