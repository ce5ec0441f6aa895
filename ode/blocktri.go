package ode

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
)

// blockTridiag is a symmetric positive definite block-tridiagonal matrix of
// nb diagonal blocks of size b×b: the Schur complement of the KKT systems
// of the shadowing methods, whose constraints couple each time step (LSS)
// or segment (NILSS) to the next one only.
//
// It is held as a symmetric band matrix of half-bandwidth 2b−1 (entry
// (r, c) of block row i and block column i+1 lies at most 2b−1 places right
// of the diagonal), upper band storage, and factorised by gonum's banded
// Cholesky (LAPACK's dpbtrf, lapack64.Pbtrf): O(nb·b³) flops and O(nb·b²)
// memory for the factorisation, O(nb·b²) per right-hand side for the
// solves (dpbtrs), instead of O((nb·b)³) and O((nb·b)²) for the dense
// matrix. (mat.BandCholesky is not used: its Factorize also estimates the
// condition number, in gonum v0.17 at a cost quadratic in nb·b.)
type blockTridiag struct {
	nb, b int
	band  blas64.SymmetricBand
	fact  blas64.TriangularBand
}

func newBlockTridiag(nb, b int) *blockTridiag {
	if nb < 1 || b < 1 {
		panic(fmt.Sprintf("ode: internal error: block-tridiagonal matrix of %d blocks of size %d", nb, b))
	}
	n := nb * b
	k := min(2*b-1, n-1)
	return &blockTridiag{nb: nb, b: b, band: blas64.SymmetricBand{Uplo: blas.Upper, N: n, K: k, Stride: k + 1, Data: make([]float64, n*(k+1))}}
}

// addDiag adds the upper triangle of the b×b block blk (row-major) to
// diagonal block i.
func (s *blockTridiag) addDiag(i int, blk []float64) {
	b, o := s.b, i*s.b
	for r := range b {
		for c := r; c < b; c++ {
			s.band.Data[(o+r)*s.band.Stride+c-r] += blk[r*b+c]
		}
	}
}

// addUpper adds the b×b block blk (row-major) to the block (i, i+1).
func (s *blockTridiag) addUpper(i int, blk []float64) {
	b, o := s.b, i*s.b
	for r := range b {
		for c := range b {
			s.band.Data[(o+r)*s.band.Stride+b+c-r] += blk[r*b+c]
		}
	}
}

// factorize computes the banded Cholesky factorisation S = UᵀU in place.
// It returns an error if S is not positive definite or so ill-conditioned
// that the solution carries no digits: cond(S) ≥ (max Uᵢᵢ / min Uᵢᵢ)², and
// that bound is checked against 1/(16ε).
func (s *blockTridiag) factorize() error {
	t, ok := lapack64.Pbtrf(s.band)
	if !ok {
		return fmt.Errorf("the %d×%d Schur complement is not positive definite", s.band.N, s.band.N)
	}
	s.fact = t
	lo, hi := math.Inf(1), 0.0
	for r := range t.N {
		d := t.Data[r*t.Stride]
		lo, hi = math.Min(lo, d), math.Max(hi, d)
	}
	if c := (hi / lo) * (hi / lo); !(c < 1/(16*eps)) {
		return fmt.Errorf("the %d×%d Schur complement has condition number at least %.3g", t.N, t.N, c)
	}
	return nil
}

// solve overwrites b ((nb·b)×q) with the solution X of S X = b.
func (s *blockTridiag) solve(b *mat.Dense) {
	lapack64.Pbtrs(s.fact, b.RawMatrix())
}

// gemm computes C = alpha·op(A)·op(B) + beta·C on row-major blocks, where
// op transposes when the flag is set: a thin wrapper over BLAS for the
// small dense blocks of the shadowing methods.
func gemm(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	ar, ac := m, k
	br, bc := k, n
	if tA {
		ta, ar, ac = blas.Trans, k, m
	}
	if tB {
		tb, br, bc = blas.Trans, n, k
	}
	blas64.Gemm(ta, tb, alpha,
		blas64.General{Rows: ar, Cols: ac, Stride: lda, Data: a},
		blas64.General{Rows: br, Cols: bc, Stride: ldb, Data: b},
		beta, blas64.General{Rows: m, Cols: n, Stride: ldc, Data: c})
}
