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
	// rowBias returns the values added to the rows of the product (row i
	// gets rowBias()[i] in every column), or nil for none. The driver
	// writes them into each tile just before the tile's first multiply
	// (see task), so a bias costs no pass of its own over C.
	rowBias() []float64
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
		if x.trans {
			// Column p of the operand is row p of M.
			packAlong(dst[s*kb:], mr, x.d, x.ld, p0, i0+s, mv, kb)
		} else {
			packAcross(dst[s*kb:], mr, x.d, x.ld, i0+s, p0, mv, kb)
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
		if x.trans {
			// Column j of the operand is row j of M.
			packAcross(dst[s*kb:], nr, x.d, x.ld, j0+s, p0, nv, kb)
		} else {
			packAlong(dst[s*kb:], nr, x.d, x.ld, p0, j0+s, nv, kb)
		}
	}
}

// packAlong fills a sliver of width w from kb rows of M (row stride ld):
// out[p·w + r] = M[row0 + p][col0 + r] for r < count.
func packAlong(out []float64, w int, d []float64, ld, row0, col0, count, kb int) {
	if kb == 0 || count == 0 {
		return
	}
	if pr := active.packRows; pr != nil && count <= 3*active.lanes {
		// Vector moves, masked to count (checked against the slices here).
		src := d[row0*ld+col0:]
		_ = src[(kb-1)*ld+count-1]
		_ = out[(kb-1)*w+count-1]
		pr(&out[0], w, &src[0], ld, kb, count)
		return
	}
	for p := range kb {
		copyShort(out[p*w:p*w+count], d[(row0+p)*ld+col0:])
	}
}

// packAcross fills a sliver of width w from count rows of M, each going
// down a column of the sliver: out[p·w + r] = M[row0 + r][col0 + p] for
// p < kb. Four rows move at a time, so that each step writes a run of four
// values.
func packAcross(out []float64, w int, d []float64, ld, row0, col0, count, kb int) {
	r := 0
	for ; r+4 <= count; r += 4 {
		r0 := d[(row0+r)*ld+col0:][:kb]
		r1 := d[(row0+r+1)*ld+col0:][:kb]
		r2 := d[(row0+r+2)*ld+col0:][:kb]
		r3 := d[(row0+r+3)*ld+col0:][:kb]
		for p := range kb {
			o := out[p*w+r : p*w+r+4 : p*w+r+4]
			o[0], o[1], o[2], o[3] = r0[p], r1[p], r2[p], r3[p]
		}
	}
	for ; r < count; r++ {
		for p, v := range d[(row0+r)*ld+col0:][:kb] {
			out[p*w+r] = v
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
func (plainC) rowBias() []float64 { return nil }
