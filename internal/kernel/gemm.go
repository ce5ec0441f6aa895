package kernel

import (
	"fmt"
	"runtime"
	"sync"
)

// Gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, as
// BLAS dgemm does: op(A) is m×k (A is m×k with row stride lda, or k×m when
// transA), op(B) is k×n (B is k×n with row stride ldb, or n×k when transB)
// and C is m×n with row stride ldc. When beta is zero C is only written, so
// it may hold anything (NaN included); when alpha is zero or k is zero A
// and B are not read.
//
// Each element of C is summed in the same order whatever GOMAXPROCS is, so
// results are bit-identical from one run, and one machine configuration, to
// the next.
func Gemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	gemmUsing(active, 0, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmUsing is Gemm with a given micro-kernel and at most workers
// goroutines (0: GOMAXPROCS), so that tests can run every kernel and every
// split.
func gemmUsing(mk *microKernel, workers int, transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("A", ar, ac, a, lda)
	checkMatrix("B", br, bc, b, ldb)
	checkMatrix("C", m, n, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if n == 1 && !transA && ldc == 1 {
		// C is a column: each element is a dot product of a row of A.
		gemvDot(m, k, alpha, a, lda, b, colStride(transB, ldb), beta, c)
		return
	}
	if m == 1 && transB {
		// C is a row and op(B)'s columns are rows of B: dot products again.
		gemvDot(n, k, alpha, b, ldb, a, rowStride(transA, lda), beta, c)
		return
	}
	if n == 1 && transA && ldc == 1 {
		// C is a column and op(A)'s rows are columns of A: compute Cᵀ =
		// op(B)ᵀ·Aᵀ, a row times a matrix read row by row.
		gemm(mk, 1, m, k, alpha, matrix{b, ldb, !transB}, matrixB{a, lda, false}, beta, plainC{c, m}, workers)
		return
	}
	gemm(mk, m, n, k, alpha, matrix{a, lda, transA}, matrixB{b, ldb, transB}, beta, plainC{c, ldc}, workers)
}

// colStride is the distance between consecutive elements of the single
// column of op(B) (k×1).
func colStride(transB bool, ldb int) int {
	if transB {
		return 1
	}
	return ldb
}

// rowStride is the distance between consecutive elements of the single
// row of op(A) (1×k).
func rowStride(transA bool, lda int) int {
	if transA {
		return lda
	}
	return 1
}

func checkMatrix(name string, r, c int, d []float64, ld int) {
	if r < 0 || c < 0 {
		panic(fmt.Sprintf("kernel: %s has negative size %d×%d", name, r, c))
	}
	if ld < max(1, c) {
		panic(fmt.Sprintf("kernel: %s is %d×%d with row stride %d", name, r, c, ld))
	}
	if r > 0 && c > 0 && len(d) < (r-1)*ld+c {
		panic(fmt.Sprintf("kernel: %s is %d×%d with row stride %d but has %d elements", name, r, c, ld, len(d)))
	}
}

// scaleC sets C = beta·C, writing zeros (not beta·NaN) when beta is zero.
func scaleC(m, n int, beta float64, c []float64, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// gemvDot computes c[i] = alpha·Σ_p A[i·lda + p]·x[p·incx] + beta·c[i] for
// i < m, with four independent sums per row (p mod 4) added at the end.
func gemvDot(m, k int, alpha float64, a []float64, lda int, x []float64, incx int, beta float64, c []float64) {
	for i := range m {
		row := a[i*lda : i*lda+k]
		var s0, s1, s2, s3 float64
		p := 0
		if incx == 1 {
			x := x[:k]
			for ; p+4 <= k; p += 4 {
				s0 += row[p] * x[p]
				s1 += row[p+1] * x[p+1]
				s2 += row[p+2] * x[p+2]
				s3 += row[p+3] * x[p+3]
			}
			for ; p < k; p++ {
				s0 += row[p] * x[p]
			}
		} else {
			for ; p < k; p++ {
				s0 += row[p] * x[p*incx]
			}
		}
		t := alpha * ((s0 + s1) + (s2 + s3))
		if beta != 0 {
			t += beta * c[i]
		}
		c[i] = t
	}
}

// workPerGoroutine is the work, in multiply-adds, that justifies one
// more goroutine: 2^22 multiply-adds take about 0.1 ms on one core. Waking
// an idle thread to run a goroutine costs from a few microseconds on bare
// metal to about 0.1 ms in virtual machines (measured on the machine this
// was tuned on), so a share must be at least that long to pay for itself.
const workPerGoroutine = 1 << 22

// goroutines returns how many goroutines to spread work multiply-adds over,
// at most max (and at most GOMAXPROCS, which is only read when the work is
// large enough to split at all).
func goroutines(work, max, workers int) int {
	if work < 2*workPerGoroutine || max <= 1 {
		return 1
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return min(workers, max, work/workPerGoroutine)
}

// gemm is the blocked product behind Gemm and the convolutions. workers
// caps the number of goroutines (0: GOMAXPROCS).
//
// The output is cut into tiles that run independently; each element is
// summed over k in blocks of kc, each block in ascending order inside one
// micro-kernel call, and the blocks are added to C in ascending order. How
// the tiles are spread over goroutines therefore never changes a result.
func gemm[A aOperand, B bOperand, C cTarget](mk *microKernel, m, n, k int, alpha float64, a A, b B, beta float64, c C, workers int) {
	if m == 0 || n == 0 || k == 0 {
		panic("kernel: gemm of an empty product")
	}
	// Split the longer side of C, in whole tiles. Splitting n repeats the
	// packing of A in every goroutine, splitting m that of B: the longer
	// side is the cheaper to split.
	splitN := n >= m
	unit, size := mk.mr, m
	if splitN {
		unit, size = mk.nr, n
	}
	tiles := (size + unit - 1) / unit
	w := goroutines(m*n*k, tiles, workers)
	if w <= 1 {
		task(mk, 0, m, 0, n, k, alpha, a, b, beta, c)
		return
	}
	var wg sync.WaitGroup
	for t := range w {
		lo, hi := t*tiles/w*unit, min((t+1)*tiles/w*unit, size)
		run := func() {
			if splitN {
				task(mk, 0, m, lo, hi, k, alpha, a, b, beta, c)
			} else {
				task(mk, lo, hi, 0, n, k, alpha, a, b, beta, c)
			}
		}
		if t == w-1 {
			run() // the calling goroutine takes the last share
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			run()
		}()
	}
	wg.Wait()
}

// Packing pays when a packed block is reused: a block of A by every
// sliver of B, a sliver of B by every sliver of A. Below these many reuses
// the micro-kernel reads the operands in place.
const (
	packAReuse = 4 // slivers of B per block of A
	packBReuse = 4 // slivers of A per panel of B
)

// task computes rows [i0, i1) and columns [j0, j1) of C. When C has a row
// bias (and beta is zero), each tile is set to the bias just before its
// first micro-kernel call, which then adds the product (beta 1): the tile
// is in L1 by then, so the bias costs no pass over C and no memory
// traffic of its own.
func task[A aOperand, B bOperand, C cTarget](mk *microKernel, i0, i1, j0, j1, k int, alpha float64, a A, b B, beta float64, c C) {
	mr, nr := mk.mr, mk.nr
	bias := c.rowBias()
	if bias != nil && beta != 0 {
		panic("kernel: a row bias with a non-zero beta")
	}
	ad, ars, acs, aDirect := a.direct()
	bd, bld, bDirect := b.direct()
	packA := !aDirect || j1-j0 > packAReuse*nr
	packB := !bDirect || i1-i0 > packBReuse*mr
	kc := min(mk.kc, k)
	var abuf, bbuf, tbuf *Buffer
	if packA {
		abuf = GetBuffer(roundUp(min(mk.mc, i1-i0), mr) * kc)
		defer PutBuffer(abuf)
	}
	if packB {
		bbuf = GetBuffer(roundUp(min(mk.nc, j1-j0), nr) * kc)
		defer PutBuffer(bbuf)
	}
	for jc := j0; jc < j1; jc += mk.nc {
		nb := min(mk.nc, j1-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			bt := beta
			if pc > 0 {
				bt = 1
			}
			// A kernel that reads whole vectors of B must not run off the
			// end of B's storage on the last, partial sliver.
			directB := !packB && (mk.maskedB ||
				(pc+kb-1)*bld+jc+roundUp(nb-(nb-1)/nr*nr, mk.lanes)+(nb-1)/nr*nr <= len(bd))
			if !directB {
				if bbuf == nil {
					bbuf = GetBuffer(roundUp(min(mk.nc, j1-j0), nr) * kc)
					defer PutBuffer(bbuf)
				}
				b.pack(bbuf.s, pc, kb, jc, nb, nr)
			}
			for ic := i0; ic < i1; ic += mk.mc {
				mb := min(mk.mc, i1-ic)
				if packA {
					a.pack(abuf.s, ic, mb, pc, kb, mr)
				}
				for jr := 0; jr < nb; jr += nr {
					nv := min(nr, nb-jr)
					bs, bo, bl := bbuf.sOrNil(), jr*kb, nr
					if directB {
						bs, bo, bl = bd, pc*bld+jc+jr, bld
					}
					for ir := 0; ir < mb; ir += mr {
						mv := min(mr, mb-ir)
						as, ao, rs, cs := abuf.sOrNil(), ir*kb, 1, mr
						if !packA {
							as, ao, rs, cs = ad, (ic+ir)*ars+pc*acs, ars, acs
						}
						tbt := bt
						if cd, co, cl, ok := c.block(ic+ir, jc+jr, mv, nv); ok {
							if bias != nil && pc == 0 {
								fillRows(cd[co:], cl, bias[ic+ir:ic+ir+mv], nv)
								tbt = 1
							}
							mk.run(kb, as, ao, rs, cs, bs, bo, bl, cd, co, cl, mv, nv, alpha, tbt)
							continue
						}
						// The tile straddles pieces of the target: work on
						// a copy, so the kernel's arithmetic is unchanged.
						if tbuf == nil {
							tbuf = GetBuffer(mr * nr)
							defer PutBuffer(tbuf)
						}
						switch {
						case bias != nil && pc == 0:
							fillRows(tbuf.s, nr, bias[ic+ir:ic+ir+mv], nv)
							tbt = 1
						case bt != 0:
							c.get(tbuf.s, nr, ic+ir, jc+jr, mv, nv)
						}
						mk.run(kb, as, ao, rs, cs, bs, bo, bl, tbuf.s, 0, nr, mv, nv, alpha, tbt)
						c.put(tbuf.s, nr, ic+ir, jc+jr, mv, nv)
					}
				}
			}
		}
	}
}

// fillRows sets row r of the tile t (row stride ld, nv columns) to v[r].
func fillRows(t []float64, ld int, v []float64, nv int) {
	for r, x := range v {
		row := t[r*ld : r*ld+nv]
		for j := range row {
			row[j] = x
		}
	}
}

func (b *Buffer) sOrNil() []float64 {
	if b == nil {
		return nil
	}
	return b.s
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }
