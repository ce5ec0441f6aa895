package kernel

import "fmt"

// kernelFunc is the signature of the assembly micro-kernels (see asmgen):
// a tile of rows×nv elements of C, where the number of rows and of vectors
// is fixed by the function and nv ≤ vectors·lanes.
type kernelFunc func(k int, a *float64, rsa, csa int, b *float64, ldb int, c *float64, ldc int, nv int, alpha, beta float64)

// microKernel is one register-blocked implementation of the inner product
// of a tile, with the cache blocking that suits it.
//
// Every implementation computes, for each element of a tile of at most
// mr×nr, acc = Σ_{p<k} A(i,p)·B(p,j) in ascending p (one multiply-add per
// p), then C = alpha·acc when beta is zero (C is not read) and
// C = beta·C + alpha·acc otherwise. A call reads exactly the rows of A it
// computes; it reads the columns of B up to nv rounded up to whole vectors
// unless maskedB is set, in which case it reads exactly nv.
type microKernel struct {
	name    string
	mr, nr  int // tile height and width
	lanes   int // columns per vector register (1 for the portable kernel)
	maskedB bool
	// Cache blocking; see doc.go for the reasoning.
	kc, mc, nc int
	// fns[rows-1][vectors-1] for the assembly kernels; nil for the
	// portable one.
	fns [][]kernelFunc
	// vm holds the elementwise functions for the same instruction set;
	// nil for the portable loops.
	vm *vectorMath
	// packRows copies rows of up to 3·lanes values (dst and src row
	// strides in values), for packAlong; nil for the portable loop.
	packRows func(dst *float64, ld int, src *float64, ls int, rows, count int)
}

// vectorMath is a set of assembly elementwise functions: dst[i] = f(src[i])
// for i < n, with the constant table vmConst.
type vectorMath struct {
	exp, tanh, sigmoid func(dst, src *float64, n int, c *[vmConstN][8]float64)
}

// bWidth is the number of columns of B a call with nv columns reads.
func (mk *microKernel) bWidth(nv int) int {
	if mk.maskedB {
		return nv
	}
	return (nv + mk.lanes - 1) / mk.lanes * mk.lanes
}

// run computes one tile of mv×nv elements (1 ≤ mv ≤ mr, 1 ≤ nv ≤ nr,
// k ≥ 1): A(i, p) = a[ao + i·rsa + p·csa], B(p, j) = b[bo + p·ldb + j],
// C(i, j) = c[co + i·ldc + j]. It checks that every element it touches
// lies within the slices, so a wrong stride is a panic and never a stray
// memory access.
func (mk *microKernel) run(k int, a []float64, ao, rsa, csa int, b []float64, bo, ldb int,
	c []float64, co, ldc int, mv, nv int, alpha, beta float64) {
	if k < 1 || mv < 1 || mv > mk.mr || nv < 1 || nv > mk.nr || ao < 0 || bo < 0 || co < 0 ||
		ao+(mv-1)*rsa+(k-1)*csa >= len(a) || bo+(k-1)*ldb+mk.bWidth(nv)-1 >= len(b) ||
		co+(mv-1)*ldc+nv-1 >= len(c) {
		panic(fmt.Sprintf("kernel: %s tile %d×%d×%d out of range (a %d+%d·%d+%d·%d of %d, b %d+%d·%d of %d, c %d+%d·%d of %d)",
			mk.name, mv, nv, k, ao, mv-1, rsa, k-1, csa, len(a), bo, k-1, ldb, len(b), co, mv-1, ldc, len(c)))
	}
	if mk.fns == nil {
		gemmGo(k, a[ao:], rsa, csa, b[bo:], ldb, c[co:], ldc, mv, nv, alpha, beta)
		return
	}
	mk.fns[mv-1][(nv+mk.lanes-1)/mk.lanes-1](k, &a[ao], rsa, csa, &b[bo], ldb, &c[co], ldc, nv, alpha, beta)
}

// portable is the kernel for every CPU without (or built without) an
// assembly kernel: 4×4 tiles held in sixteen local variables. Its blocking
// keeps a 4-column sliver of B (kc·4 values, 8 KiB) in a 32 KiB L1 and a
// 128×256 block of A (256 KiB) in L2.
var portable = &microKernel{name: "go", mr: 4, nr: 4, lanes: 1, maskedB: true, kc: 256, mc: 128, nc: 2048}

// gemmGo is the portable micro-kernel; the full 4×4 tile, by far the most
// common, is written out so that its sixteen sums stay in registers.
func gemmGo(k int, a []float64, rsa, csa int, b []float64, ldb int, c []float64, ldc int, mv, nv int, alpha, beta float64) {
	var acc [4][4]float64
	if mv == 4 && nv == 4 {
		var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float64
		ap, bp := 0, 0
		for range k {
			bb := b[bp : bp+4 : bp+4]
			b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
			a0 := a[ap]
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c03 += a0 * b3
			a1 := a[ap+rsa]
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			c13 += a1 * b3
			a2 := a[ap+2*rsa]
			c20 += a2 * b0
			c21 += a2 * b1
			c22 += a2 * b2
			c23 += a2 * b3
			a3 := a[ap+3*rsa]
			c30 += a3 * b0
			c31 += a3 * b1
			c32 += a3 * b2
			c33 += a3 * b3
			ap += csa
			bp += ldb
		}
		acc = [4][4]float64{{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}}
	} else {
		for i := range mv {
			for p := range k {
				ai := a[i*rsa+p*csa]
				row := b[p*ldb : p*ldb+nv]
				for j, bv := range row {
					acc[i][j] += ai * bv
				}
			}
		}
	}
	for i := range mv {
		row := c[i*ldc : i*ldc+nv]
		for j := range row {
			t := alpha * acc[i][j]
			if beta != 0 {
				t += beta * row[j]
			}
			row[j] = t
		}
	}
}

// active is the kernel Gemm uses: the best one this CPU supports.
var active = available()[0]

// Kernel returns the name of the micro-kernel in use: "avx512", "avx2" or
// "go".
func Kernel() string { return active.name }
