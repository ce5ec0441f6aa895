package gemm

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/adjointkit/adjointkit/internal/kernel"
)

// Implementation is a complete gonum BLAS (blas.Float64, blas.Float32,
// blas.Complex64 and blas.Complex128) whose Dgemm is adjointkit's
// matrix product; every other routine is gonum's native implementation,
// which it embeds.
type Implementation struct {
	gonum.Implementation
}

var _ blas.Float64 = Implementation{}

// The messages gonum's BLAS panics with, so that a program sees the same
// failures with either implementation.
const (
	badTranspose = "blas: illegal transpose"
	mLT0         = "blas: m < 0"
	nLT0         = "blas: n < 0"
	kLT0         = "blas: k < 0"
	badLdA       = "blas: bad leading dimension of A"
	badLdB       = "blas: bad leading dimension of B"
	badLdC       = "blas: bad leading dimension of C"
	shortA       = "blas: insufficient length of a"
	shortB       = "blas: insufficient length of b"
	shortC       = "blas: insufficient length of c"
)

// Dgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices,
// where op(X) is X or Xᵀ as tA and tB say, op(A) is m×k, op(B) is k×n and
// C is m×n. It checks its arguments and panics exactly as gonum's Dgemm
// does. When beta is zero C is overwritten without being read.
func (Implementation) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	aTrans, ok := transposed(tA)
	if !ok {
		panic(badTranspose)
	}
	bTrans, ok := transposed(tB)
	if !ok {
		panic(badTranspose)
	}
	switch {
	case m < 0:
		panic(mLT0)
	case n < 0:
		panic(nLT0)
	case k < 0:
		panic(kLT0)
	}
	ac, br := k, k
	if aTrans {
		ac = m
	}
	bc := n
	if bTrans {
		bc, br = k, n
	}
	switch {
	case lda < max(1, ac):
		panic(badLdA)
	case ldb < max(1, bc):
		panic(badLdB)
	case ldc < max(1, n):
		panic(badLdC)
	}
	if m == 0 || n == 0 {
		return
	}
	ar := m
	if aTrans {
		ar = k
	}
	switch {
	case len(a) < (ar-1)*lda+ac && ac > 0 && ar > 0:
		panic(shortA)
	case len(b) < (br-1)*ldb+bc && bc > 0 && br > 0:
		panic(shortB)
	case len(c) < (m-1)*ldc+n:
		panic(shortC)
	}
	if (alpha == 0 || k == 0) && beta == 1 {
		return
	}
	kernel.Gemm(aTrans, bTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// transposed reports whether t transposes (ConjTrans is Trans for real
// matrices) and whether t is a valid transpose at all.
func transposed(t blas.Transpose) (trans, ok bool) {
	switch t {
	case blas.NoTrans:
		return false, true
	case blas.Trans, blas.ConjTrans:
		return true, true
	}
	return false, false
}
