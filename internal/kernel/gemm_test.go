package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// gemmCase is one product with its storage; the stride of every matrix
// may exceed its width, and the gaps hold sentinels that must survive.
type gemmCase struct {
	tA, tB        bool
	m, n, k       int
	alpha, beta   float64
	lda, ldb, ldc int
	a, b, c       []float64
}

const sentinel = -7.25e300

func newCase(rng *rand.Rand, tA, tB bool, m, n, k int, alpha, beta float64, pad bool, nanC bool) *gemmCase {
	g := &gemmCase{tA: tA, tB: tB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	ar, ac := m, k
	if tA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB {
		br, bc = n, k
	}
	extra := func() int {
		if pad {
			return rng.IntN(5)
		}
		return 0
	}
	g.lda, g.ldb, g.ldc = max(1, ac)+extra(), max(1, bc)+extra(), max(1, n)+extra()
	fill := func(r, c, ld int, nan bool) []float64 {
		d := make([]float64, max(0, (r-1)*ld+c))
		if r == 0 || c == 0 {
			d = make([]float64, rng.IntN(3))
		}
		for i := range d {
			d[i] = sentinel
		}
		for i := range r {
			for j := range c {
				v := rng.NormFloat64()
				if nan {
					v = math.NaN()
				}
				d[i*ld+j] = v
			}
		}
		return d
	}
	g.a = fill(ar, ac, g.lda, false)
	g.b = fill(br, bc, g.ldb, false)
	g.c = fill(m, n, g.ldc, nanC)
	return g
}

func (g *gemmCase) opA(i, p int) float64 {
	if g.tA {
		return g.a[p*g.lda+i]
	}
	return g.a[i*g.lda+p]
}

func (g *gemmCase) opB(p, j int) float64 {
	if g.tB {
		return g.b[j*g.ldb+p]
	}
	return g.b[p*g.ldb+j]
}

// check compares got (C after the product) with the naive triple loop:
// the error of each element, relative to alpha·Σ|a||b| + |beta·c| (the
// size of what was summed, so that cancellation cannot hide an error),
// must be at most tol; every gap between rows must be untouched.
func (g *gemmCase) check(t *testing.T, what string, got []float64, tol float64) {
	t.Helper()
	for i := range g.m {
		for j := range g.n {
			var s, scale float64
			for p := range g.k {
				s += g.opA(i, p) * g.opB(p, j)
				scale += math.Abs(g.opA(i, p) * g.opB(p, j))
			}
			want := g.alpha * s
			scale *= math.Abs(g.alpha)
			if g.alpha == 0 || g.k == 0 {
				want, scale = 0, 0
			}
			if g.beta != 0 {
				want += g.beta * g.c[i*g.ldc+j]
				scale += math.Abs(g.beta * g.c[i*g.ldc+j])
			}
			v := got[i*g.ldc+j]
			err := math.Abs(v - want)
			if !(err <= tol*scale) && !(err == 0) {
				t.Fatalf("%s: C[%d,%d] = %v, want %v (relative error %.3g)", what, i, j, v, want, err/scale)
			}
		}
	}
	for i, v := range got {
		r, j := i/g.ldc, i%g.ldc
		if (r >= g.m || j >= g.n) && v != g.c[i] && !(math.IsNaN(v) && math.IsNaN(g.c[i])) {
			t.Fatalf("%s: element %d outside C changed from %v to %v", what, i, g.c[i], v)
		}
	}
}

func (g *gemmCase) run(mk *microKernel, workers int) []float64 {
	c := append([]float64(nil), g.c...)
	gemmUsing(mk, workers, g.tA, g.tB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
	return c
}

func (g *gemmCase) String() string {
	return fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d alpha=%v beta=%v lda=%d ldb=%d ldc=%d",
		g.tA, g.tB, g.m, g.n, g.k, g.alpha, g.beta, g.lda, g.ldb, g.ldc)
}

// kernelsUnderTest are the kernels this machine runs, each also with tiny
// cache blocks, so that every blocking loop runs many times on small
// shapes.
func kernelsUnderTest() []*microKernel {
	var ks []*microKernel
	for _, mk := range available() {
		ks = append(ks, mk)
		small := *mk
		small.name += "/small-blocks"
		small.kc, small.mc, small.nc = 7, 2*mk.mr+1, 3*mk.nr
		ks = append(ks, &small)
	}
	return ks
}

// randDim draws a size in [1, 300], mostly small and odd, sometimes just
// around a multiple of a tile size.
func randDim(rng *rand.Rand) int {
	switch rng.IntN(4) {
	case 0:
		return 1 + rng.IntN(9)
	case 1:
		return 1 + rng.IntN(300)
	case 2:
		base := []int{4, 8, 12, 16, 24, 48, 128, 256}[rng.IntN(8)]
		return max(1, base+rng.IntN(3)-1)
	default:
		return 1 + 2*rng.IntN(40)
	}
}

const gemmTol = 1e-13

func TestGemmRandomShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := 400
	if testing.Short() {
		cases = 80
	}
	alphas := []float64{1, -0.5, 2.25, 0}
	betas := []float64{0, 1, -1.5, 0.5}
	for _, mk := range kernelsUnderTest() {
		for range cases {
			beta := betas[rng.IntN(len(betas))]
			g := newCase(rng, rng.IntN(2) == 0, rng.IntN(2) == 0, randDim(rng), randDim(rng), randDim(rng),
				alphas[rng.IntN(len(alphas))], beta, rng.IntN(2) == 0, beta == 0 && rng.IntN(2) == 0)
			g.check(t, mk.name+" "+g.String(), g.run(mk, 1), gemmTol)
		}
	}
}

func TestGemmEdges(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, mk := range kernelsUnderTest() {
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, dims := range [][3]int{
					{0, 0, 0}, {0, 5, 3}, {5, 0, 3}, {5, 3, 0}, {1, 1, 1}, {1, 1, 300}, {300, 1, 1},
					{1, 300, 1}, {1, 37, 41}, {37, 1, 41}, {7, 9, 1}, {mk.mr, mk.nr, 5},
					{mk.mr + 1, mk.nr + 1, 3}, {mk.mr - 1, mk.nr - 1, 2}, {2*mk.mr + 3, 3*mk.nr + 5, 17},
				} {
					for _, beta := range []float64{0, 1, -2} {
						g := newCase(rng, tA, tB, dims[0], dims[1], dims[2], 1.5, beta, true, beta == 0)
						g.check(t, mk.name+" "+g.String(), g.run(mk, 1), gemmTol)
					}
				}
			}
		}
	}
}

// With alpha = 0, A and B are not read: NaN in them must not reach C.
func TestGemmAlphaZeroIgnoresAB(t *testing.T) {
	a := []float64{math.NaN(), math.Inf(1), 1, 2}
	c := []float64{1, 2, 3, 4}
	Gemm(false, false, 2, 2, 2, 0, a, 2, a, 2, 3, c, 2)
	for i, want := range []float64{3, 6, 9, 12} {
		if c[i] != want {
			t.Fatalf("C = %v, want [3 6 9 12]", c)
		}
	}
}

// The split of the output over goroutines must never change a bit.
func TestGemmSplitBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	shapes := [][3]int{{64, 256, 784}, {300, 7, 129}, {5, 300, 200}, {97, 131, 257}, {256, 256, 256}}
	for _, mk := range kernelsUnderTest() {
		for _, s := range shapes {
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				g := newCase(rng, tr[0], tr[1], s[0], s[1], s[2], 1, 0.5, rng.IntN(2) == 0, false)
				want := g.run(mk, 1)
				for w := 2; w <= 7; w++ {
					got := g.run(mk, w)
					for i := range got {
						if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
							t.Fatalf("%s %v: %d workers: element %d is %v, one worker gives %v", mk.name, g, w, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// Gemm itself, under GOMAXPROCS 1 and 2.
func TestGemmGOMAXPROCSBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	g := newCase(rng, false, true, 131, 257, 300, 1, 0, false, false)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	one := append([]float64(nil), g.c...)
	Gemm(g.tA, g.tB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, one, g.ldc)
	runtime.GOMAXPROCS(2)
	two := append([]float64(nil), g.c...)
	Gemm(g.tA, g.tB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, two, g.ldc)
	for i := range one {
		if math.Float64bits(one[i]) != math.Float64bits(two[i]) {
			t.Fatalf("element %d: GOMAXPROCS=1 gives %v, GOMAXPROCS=2 gives %v", i, one[i], two[i])
		}
	}
	g.check(t, "GOMAXPROCS=2", two, gemmTol)
}

func TestGemmPanicsOnBadStride(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for lda < k")
		}
	}()
	Gemm(false, false, 2, 2, 3, 1, make([]float64, 6), 2, make([]float64, 6), 2, 0, make([]float64, 4), 2)
}

func TestKernelName(t *testing.T) {
	t.Logf("micro-kernel in use: %s (available: %d)", Kernel(), len(available()))
	if Kernel() != available()[0].name {
		t.Fatalf("Kernel() = %q, want the best available %q", Kernel(), available()[0].name)
	}
}

// Every vector row copier moves exactly count values per row, for every
// count it accepts, and writes nothing else.
func TestPackRows(t *testing.T) {
	for _, mk := range available() {
		if mk.packRows == nil {
			continue
		}
		for count := 1; count <= 3*mk.lanes; count++ {
			const rows, ls, ld = 5, 29, 31
			src := make([]float64, (rows-1)*ls+count)
			for i := range src {
				src[i] = float64(i) + 0.5
			}
			dst := make([]float64, (rows-1)*ld+count+8)
			for i := range dst {
				dst[i] = sentinel
			}
			mk.packRows(&dst[0], ld, &src[0], ls, rows, count)
			for i, v := range dst {
				r, c := i/ld, i%ld
				want := sentinel
				if r < rows && c < count {
					want = src[r*ls+c]
				}
				if v != want {
					t.Fatalf("%s, count %d: dst[%d] = %v, want %v", mk.name, count, i, v, want)
				}
			}
		}
	}
}
