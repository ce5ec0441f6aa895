package kernel

// Operands. The driver (gemm.go) multiplies an m×k operand op(A) by a k×n
// operand op(B) into an m×n target C, none of which need be a plain
// matrix: convolution unfolds images straight into packed panels (conv.go).
// An operand either exposes strided storage that the micro-kernel reads in
// place, or packs any block of itself into the layout the micro-kernel
// streams.

// aOperand is the left factor, m×k.
type aOperand interface {
	// direct returns storage in which element (i, p) is d[i·rs + p·cs], or
	// ok = false if the operand has no such storage.
	direct() (d []float64, rs, cs int, ok bool)
	// pack writes rows [i0, i0+mb) × columns [p0, p0+kb) into dst as
	// slivers of mr rows: element (i0 + s·mr + r, p0 + p) goes to
	// dst[s·mr·kb + p·mr + r]. Rows past mb in the last sliver are not
	// written (kernels never read them).
	pack(dst []float64, i0, mb, p0, kb, mr int)
}

// bOperand is the right factor, k×n.
type bOperand interface {
	// direct returns storage in which element (p, j) is d[p·ld + j], or
	// ok = false.
	direct() (d []float64, ld int, ok bool)
	// pack writes rows [p0, p0+kb) × columns [j0, j0+nb) into dst as
	// slivers of nr columns: element (p0 + p, j0 + s·nr + j) goes to
	// dst[s·nr·kb + p·nr + j]. Columns past nb in the last sliver are not
	// written.
	pack(dst []float64, p0, kb, j0, nb, nr int)
}

// cTarget is the product's destination, m×n.
type cTarget interface {
	// block returns storage in which element (i0 + r, j0 + j) of the
	// destination is d[off + r·ld + j] for r < mv, j < nv, or ok = false
	// when that tile is not one strided block (then the driver goes
	// through get and put).
	block(i0, j0, mv, nv int) (d []float64, off, ld int, ok bool)
	// get copies the tile into t (row stride ldt); put copies it back.
	get(t []float64, ldt, i0, j0, mv, nv int)
	put(t []float64, ldt, i0, j0, mv, nv int)
}

// matrix is a plain strided operand op(M): element (i, j) of M is
// d[i·ld + j], and trans means the operand is Mᵀ.
type matrix struct {
	d     []float64
	ld    int
	trans bool
}

func (x matrix) direct() (d []float64, rs, cs int, ok bool) {
	if x.trans {
		return x.d, 1, x.ld, true
	}
	return x.d, x.ld, 1, true
}

func (x matrix) pack(dst []float64, i0, mb, p0, kb, mr int) {
	for s := 0; s < mb; s += mr {
		mv := min(mr, mb-s)
		out := dst[s*kb:]
		if x.trans {
			// Column p of the operand is row p of M: contiguous.
			for p := range kb {
				copyShort(out[p*mr:p*mr+mv], x.d[(p0+p)*x.ld+i0+s:])
			}
			continue
		}
		// Rows of M are columns of the sliver: move four at a time, so
		// that each step writes a run of four values.
		r := 0
		for ; r+4 <= mv; r += 4 {
			r0 := x.d[(i0+s+r)*x.ld+p0:][:kb]
			r1 := x.d[(i0+s+r+1)*x.ld+p0:][:kb]
			r2 := x.d[(i0+s+r+2)*x.ld+p0:][:kb]
			r3 := x.d[(i0+s+r+3)*x.ld+p0:][:kb]
			for p := range kb {
				o := out[p*mr+r : p*mr+r+4 : p*mr+r+4]
				o[0], o[1], o[2], o[3] = r0[p], r1[p], r2[p], r3[p]
			}
		}
		for ; r < mv; r++ {
			src := x.d[(i0+s+r)*x.ld+p0:][:kb]
			for p, v := range src {
				out[p*mr+r] = v
			}
		}
	}
}

// asB views the matrix as a right factor.
type matrixB matrix

func (x matrixB) direct() (d []float64, ld int, ok bool) {
	if x.trans {
		return nil, 0, false
	}
	return x.d, x.ld, true
}

func (x matrixB) pack(dst []float64, p0, kb, j0, nb, nr int) {
	for s := 0; s < nb; s += nr {
		nv := min(nr, nb-s)
		out := dst[s*kb:]
		if !x.trans {
			for p := range kb {
				copyShort(out[p*nr:p*nr+nv], x.d[(p0+p)*x.ld+j0+s:])
			}
			continue
		}
		// Column j of the operand is row j of M: move four rows at a time,
		// so that each step writes a run of four values.
		j := 0
		for ; j+4 <= nv; j += 4 {
			r0 := x.d[(j0+s+j)*x.ld+p0:][:kb]
			r1 := x.d[(j0+s+j+1)*x.ld+p0:][:kb]
			r2 := x.d[(j0+s+j+2)*x.ld+p0:][:kb]
			r3 := x.d[(j0+s+j+3)*x.ld+p0:][:kb]
			for p := range kb {
				o := out[p*nr+j : p*nr+j+4 : p*nr+j+4]
				o[0], o[1], o[2], o[3] = r0[p], r1[p], r2[p], r3[p]
			}
		}
		for ; j < nv; j++ {
			src := x.d[(j0+s+j)*x.ld+p0:][:kb]
			for p, v := range src {
				out[p*nr+j] = v
			}
		}
	}
}

// copyShort copies len(dst) values from src: the runs of a sliver are a
// few dozen values, too short for copy's call to memmove to pay.
func copyShort(dst, src []float64) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = src[i]
	}
}

// plainC is a strided destination.
type plainC struct {
	d  []float64
	ld int
}

func (x plainC) block(i0, j0, _, _ int) ([]float64, int, int, bool) {
	return x.d, i0*x.ld + j0, x.ld, true
}
func (x plainC) get(t []float64, ldt, i0, j0, mv, nv int) {
	for r := range mv {
		copy(t[r*ldt:r*ldt+nv], x.d[(i0+r)*x.ld+j0:])
	}
}
func (x plainC) put(t []float64, ldt, i0, j0, mv, nv int) {
	for r := range mv {
		copy(x.d[(i0+r)*x.ld+j0:], t[r*ldt:r*ldt+nv])
	}
}
