package gemm

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gonum.org/v1/gonum/blas/testblas"
)

// gonum's own Dgemm test suite.
func TestDgemmGonumSuite(t *testing.T) { testblas.TestDgemm(t, Implementation{}) }

// Random products agree with gonum's native Dgemm to rounding, relative to
// the size of what is summed.
func TestDgemmMatchesGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	trans := []blas.Transpose{blas.NoTrans, blas.Trans, blas.ConjTrans}
	for range 200 {
		m, n, k := 1+rng.IntN(70), 1+rng.IntN(70), 1+rng.IntN(70)
		tA, tB := trans[rng.IntN(3)], trans[rng.IntN(3)]
		ar, ac := m, k
		if tA != blas.NoTrans {
			ar, ac = k, m
		}
		br, bc := k, n
		if tB != blas.NoTrans {
			br, bc = n, k
		}
		lda, ldb, ldc := ac+rng.IntN(3), bc+rng.IntN(3), n+rng.IntN(3)
		a, b, c := randSlice(rng, (ar-1)*lda+ac), randSlice(rng, (br-1)*ldb+bc), randSlice(rng, (m-1)*ldc+n)
		alpha, beta := rng.NormFloat64(), rng.NormFloat64()
		got, want := append([]float64(nil), c...), append([]float64(nil), c...)
		Implementation{}.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, got, ldc)
		gonum.Implementation{}.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
		for i := range got {
			// Every element is a sum of at most k+1 terms of size ≤ 10² here;
			// both results are within k·eps of the exact one.
			if math.Abs(got[i]-want[i]) > 1e-12*(1+math.Abs(want[i]))*float64(k) {
				t.Fatalf("tA=%c tB=%c m=%d n=%d k=%d: element %d = %v, gonum gives %v", tA, tB, m, n, k, i, got[i], want[i])
			}
		}
	}
}

func TestDgemmPanicsLikeGonum(t *testing.T) {
	a := make([]float64, 6)
	for _, tc := range []struct {
		name string
		f    func(Dgemmer)
	}{
		{"transpose", func(d Dgemmer) { d.Dgemm('x', blas.NoTrans, 2, 2, 2, 1, a, 2, a, 2, 0, a, 2) }},
		{"m", func(d Dgemmer) { d.Dgemm(blas.NoTrans, blas.NoTrans, -1, 2, 2, 1, a, 2, a, 2, 0, a, 2) }},
		{"lda", func(d Dgemmer) { d.Dgemm(blas.NoTrans, blas.NoTrans, 2, 2, 3, 1, a, 2, a, 2, 0, a, 2) }},
		{"ldc", func(d Dgemmer) { d.Dgemm(blas.NoTrans, blas.NoTrans, 2, 2, 2, 1, a, 2, a, 2, 0, a, 1) }},
		{"short a", func(d Dgemmer) { d.Dgemm(blas.NoTrans, blas.NoTrans, 3, 2, 2, 1, a[:5], 2, a, 2, 0, a, 2) }},
		{"short c", func(d Dgemmer) { d.Dgemm(blas.NoTrans, blas.NoTrans, 3, 2, 2, 1, a, 2, a, 2, 0, a[:5], 2) }},
	} {
		want, got := panicMessage(func() { tc.f(gonum.Implementation{}) }), panicMessage(func() { tc.f(Implementation{}) })
		if want == nil || got != want {
			t.Errorf("%s: panic %v, gonum panics with %v", tc.name, got, want)
		}
	}
}

// Dgemmer is the method under test.
type Dgemmer interface {
	Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int)
}

func panicMessage(f func()) (msg any) {
	defer func() { msg = recover() }()
	f()
	return nil
}

func randSlice(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = 10 * rng.NormFloat64()
	}
	return s
}

func BenchmarkDgemm256(b *testing.B) {
	testblas.DgemmBenchmark(b, Implementation{}, 256, 256, 256, blas.NoTrans, blas.NoTrans)
}

func BenchmarkDgemm256Gonum(b *testing.B) {
	testblas.DgemmBenchmark(b, gonum.Implementation{}, 256, 256, 256, blas.NoTrans, blas.NoTrans)
}
