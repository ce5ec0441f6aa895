package adjoint

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
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
// matching flag is set. It multiplies through gonum's BLAS without forming
// the transposes.
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
	ga := blas64.General{Rows: as[0], Cols: as[1], Stride: as[1], Data: a.val.Data}
	gb := blas64.General{Rows: bs[0], Cols: bs[1], Stride: bs[1], Data: b.val.Data}
	switch {
	case m == 0 || n == 0 || k == 0:
	case n == 1:
		// A matrix-vector product: Gemm would run one length-1 update per
		// element, Gemv streams the matrix once.
		blas64.Gemv(trans(transA), 1, ga, blas64.Vector{N: k, Inc: 1, Data: b.val.Data}, 0,
			blas64.Vector{N: m, Inc: 1, Data: out.Data})
	case m == 1:
		// A row vector times a matrix is op(B)ᵀ·aᵀ.
		blas64.Gemv(trans(!transB), 1, gb, blas64.Vector{N: k, Inc: 1, Data: a.val.Data}, 0,
			blas64.Vector{N: n, Inc: 1, Data: out.Data})
	default:
		blas64.Gemm(trans(transA), trans(transB), 1, ga, gb, 0,
			blas64.General{Rows: m, Cols: n, Stride: n, Data: out.Data})
	}
	return newVar2(out, matMulOp{transA, transB}, a, b)
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

func tmark(t bool) string {
	if t {
		return "ᵀ"
	}
	return ""
}
