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

// vjpAdd adds the VJP contribution for input j to dst: the product vjp
// forms, accumulated by the matrix kernel (beta = 1) instead of formed
// and then added.
func (m matMulOp) vjpAdd(dst *Tensor, j int, g *Var, in []*Var, _ *Var) {
	a, b := in[0], in[1]
	// Each case is vjp's product for input j: (x, y, tx, ty) with
	// contribution op(x)·op(y).
	var x, y *Var
	var tx, ty bool
	switch {
	case !m.ta && !m.tb && j == 0:
		x, y, tx, ty = g, b, false, true
	case !m.ta && !m.tb:
		x, y, tx, ty = a, g, true, false
	case m.ta && !m.tb && j == 0:
		x, y, tx, ty = b, g, false, true
	case m.ta && !m.tb:
		x, y, tx, ty = a, g, false, false
	case !m.ta && m.tb && j == 0:
		x, y, tx, ty = g, b, false, false
	case !m.ta && m.tb:
		x, y, tx, ty = g, a, true, false
	case j == 0:
		x, y, tx, ty = b, g, true, true
	default:
		x, y, tx, ty = g, a, true, true
	}
	matMulInto(dst, x.val, y.val, tx, ty, 1)
}

func (matMulOp) accumulates(int) bool { return true }
func (matMulOp) fromZero(int) bool    { return false }

var _ accumulatingVJP = matMulOp{}

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
	m, n, _ := matMulShape(a.val, b.val, transA, transB)
	out := newResult2([]int{m, n}, matMulOp{transA, transB}, a, b)
	matMulInto(out.val, a.val, b.val, transA, transB, 0)
	return out
}

// matMulShape checks that op(a)·op(b) is defined and returns its m, n and
// inner dimension k.
func matMulShape(a, b *Tensor, transA, transB bool) (m, n, k int) {
	as, bs := a.Shape, b.Shape
	if len(as) != 2 || len(bs) != 2 {
		panic(fmt.Sprintf("adjoint: MatMul needs 2-D operands, got %v and %v", as, bs))
	}
	m, k = as[0], as[1]
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
	return m, n, k
}

// matMulInto sets dst = op(a)·op(b) + beta·dst.
func matMulInto(dst, a, b *Tensor, transA, transB bool, beta float64) {
	m, n, k := matMulShape(a, b, transA, transB)
	if len(dst.Shape) != 2 || dst.Shape[0] != m || dst.Shape[1] != n {
		panic(fmt.Sprintf("adjoint: matrix product of shape [%d %d] into %v", m, n, dst.Shape))
	}
	kernel.Gemm(transA, transB, m, n, k, 1, a.Data, max(1, a.Shape[1]), b.Data, max(1, b.Shape[1]), beta, dst.Data, max(1, n))
}

func tmark(t bool) string {
	if t {
		return "ᵀ"
	}
	return ""
}

type matMulAddOp struct{}

func (matMulAddOp) name() string { return "matmul_add" }

// vjp: for y = a·b + c the cotangents are those of the product and, for
// c, the upstream gradient summed over the rows c was broadcast along.
func (matMulAddOp) vjp(g *Var, in []*Var, out *Var, need []bool) []*Var {
	gs := matMulOp{}.vjp(g, in[:2], out, need[:2])
	return []*Var{gs[0], gs[1], sumToIf(need[2], g, in[2])}
}

func (matMulAddOp) jvp(t []*Var, in []*Var, out *Var) *Var {
	var s *Var
	if t[0] != nil || t[1] != nil {
		s = matMulOp{}.jvp(t[:2], in[:2], out)
	}
	return addTangents(out.Shape(), s, t[2])
}

// vjpAdd adds the product's contribution for a or b straight into dst;
// c's contribution is not a product and goes through vjp.
func (matMulAddOp) vjpAdd(dst *Tensor, j int, g *Var, in []*Var, out *Var) {
	matMulOp{}.vjpAdd(dst, j, g, in[:2], out)
}

func (matMulAddOp) accumulates(j int) bool { return j < 2 }
func (matMulAddOp) fromZero(int) bool      { return false }

var _ accumulatingVJP = matMulAddOp{}

// MatMulAdd returns a·b + c for 2-D a and b, with c broadcast to the
// product's shape (a bias row [n] or [1 n], a column [m 1], or a full
// [m n]). The product is accumulated onto c by the matrix kernel, so the
// sum costs no separate pass and no separate tensor: the affine layers and
// recurrent cells use it.
func MatMulAdd(a, b, c *Var) *Var {
	m, n, _ := matMulShape(a.val, b.val, false, false)
	shape := []int{m, n}
	if !broadcastsTo(c.Shape(), shape) {
		panic(fmt.Sprintf("adjoint: MatMulAdd: addend of shape %v does not broadcast to the product's [%d %d]", c.Shape(), m, n))
	}
	out := broadcastTensor(c.val, shape)
	matMulInto(out, a.val, b.val, false, false, 1)
	return newVar3(out, matMulAddOp{}, a, b, c)
}
