package kernel

import (
	"fmt"
	"sync"
)

// Conv2D is the geometry of a two-dimensional convolution (strictly, a
// cross-correlation) of a batch of images x [N, C, H, W] with kernels
// w [O, C/G, KH, KW], both row-major (NCHW), in G groups:
//
//	y[n, o, i, j] = Σ_{c,u,v} w[o, c, u, v] · x[n, g·C/G + c, i·SH − PH + u·DH, j·SW − PW + v·DW]
//
// where g = o/(O/G) is the group of output channel o, c runs over the
// C/G input channels of that group, positions outside the image read zero
// (padding PH, PW), SH and SW are the strides and DH and DW the
// dilations; y is [N, O, OH, OW] with OH = (H + 2·PH − DH·(KH−1) − 1)/SH + 1
// and likewise OW. With G = C every input channel has kernels of its own
// (a depthwise convolution).
//
// The three methods are the convolution and its adjoints with respect to
// each argument, all computed as matrix products with Gemm's micro-kernels,
// one per group: with the patch matrix P [C/G·KH·KW, N·OH·OW] of a group
// (im2col), y = w·P, the weight gradient is ȳ·Pᵀ and the input gradient
// is the fold (col2im) of wᵀ·ȳ. P is never formed: the image patches are
// unfolded straight into the packed panels of the product.
type Conv2D struct {
	N, C, H, W int // input batch, channels, height, width
	O, KH, KW  int // output channels, kernel height and width
	SH, SW     int // strides (≥ 1)
	PH, PW     int // zero padding on each side (≥ 0)
	DH, DW     int // dilations (≥ 1)
	// Groups splits the channels into groups convolved separately; C and O
	// must be multiples of it. Zero means 1.
	Groups int
}

// OutH returns the output height.
func (g *Conv2D) OutH() int { return (g.H+2*g.PH-g.DH*(g.KH-1)-1)/g.SH + 1 }

// OutW returns the output width.
func (g *Conv2D) OutW() int { return (g.W+2*g.PW-g.DW*(g.KW-1)-1)/g.SW + 1 }

// groups returns the number of groups, at least 1.
func (g *Conv2D) groups() int { return max(g.Groups, 1) }

// inPer and outPer return the input and output channels of one group.
func (g *Conv2D) inPer() int  { return g.C / g.groups() }
func (g *Conv2D) outPer() int { return g.O / g.groups() }

func (g *Conv2D) check(x, w, y []float64) {
	if g.N < 0 || g.C < 1 || g.H < 0 || g.W < 0 || g.O < 1 || g.KH < 1 || g.KW < 1 ||
		g.SH < 1 || g.SW < 1 || g.PH < 0 || g.PW < 0 || g.DH < 1 || g.DW < 1 || g.OutH() < 1 || g.OutW() < 1 ||
		g.Groups < 0 || g.C%g.groups() != 0 || g.O%g.groups() != 0 {
		panic(fmt.Sprintf("kernel: invalid convolution %+v", *g))
	}
	nx, nw, ny := g.N*g.C*g.H*g.W, g.O*g.inPer()*g.KH*g.KW, g.N*g.O*g.OutH()*g.OutW()
	if len(x) != nx || len(w) != nw || len(y) != ny {
		panic(fmt.Sprintf("kernel: convolution %+v with %d, %d and %d elements for x, w and y (want %d, %d, %d)",
			*g, len(x), len(w), len(y), nx, nw, ny))
	}
}

// Forward sets y = conv(x, w).
func (g *Conv2D) Forward(y, x, w []float64) { g.ForwardBias(y, x, w, nil) }

// ForwardBias sets y = conv(x, w) + b, b [O] added to every pixel of each
// output channel (nil: no bias). The bias is written into each tile of
// the output just before the product adds into it, so it costs no pass
// over y of its own.
func (g *Conv2D) ForwardBias(y, x, w, b []float64) {
	g.check(x, w, y)
	if b != nil && len(b) != g.O {
		panic(fmt.Sprintf("kernel: convolution with %d output channels and a bias of %d", g.O, len(b)))
	}
	if g.N == 0 {
		return
	}
	ohw := g.OutH() * g.OutW()
	cg, og := g.inPer(), g.outPer()
	k := cg * g.KH * g.KW
	for grp := range g.groups() {
		var bg []float64
		if b != nil {
			bg = b[grp*og : (grp+1)*og]
		}
		gemm(active, og, g.N*ohw, k, 1, matrix{w[grp*og*k:], k, false}, patches{g, x[grp*cg*g.H*g.W:]}, 0,
			imagesC{y[grp*og*ohw:], g.O, ohw, bg}, 0)
	}
}

// WeightGrad sets wbar to the adjoint of conv(x, ·) applied to ybar, the
// gradient with respect to the kernels: wbar = ȳ·Pᵀ, one product per
// group summed over the whole batch.
func (g *Conv2D) WeightGrad(wbar, x, ybar []float64) {
	g.check(x, wbar, ybar)
	if g.N == 0 {
		clear(wbar)
		return
	}
	ohw := g.OutH() * g.OutW()
	cg, og := g.inPer(), g.outPer()
	k := cg * g.KH * g.KW
	for grp := range g.groups() {
		gemm(active, og, k, g.N*ohw, 1, imagesA{ybar[grp*og*ohw:], g.O, ohw, g.N}, patchesT{g, x[grp*cg*g.H*g.W:]}, 0,
			plainC{wbar[grp*og*k:], k}, 0)
	}
}

// InputGrad sets xbar to the adjoint of conv(·, w) applied to ybar, the
// gradient with respect to the images: the columns wᵀ·ȳ folded back onto
// the positions they were unfolded from (col2im), a few images at a time.
// It is also the transposed convolution of ybar with w.
func (g *Conv2D) InputGrad(xbar, ybar, w []float64) { g.InputGradBias(xbar, ybar, w, nil) }

// InputGradBias sets xbar = InputGrad(ybar, w) + b, b [C] added to every
// pixel of each channel of xbar (nil: no bias): a transposed convolution
// with a bias, which the fold starts from instead of zeros.
func (g *Conv2D) InputGradBias(xbar, ybar, w, b []float64) {
	g.check(xbar, w, ybar)
	if b != nil && len(b) != g.C {
		panic(fmt.Sprintf("kernel: transposed convolution with %d output channels and a bias of %d", g.C, len(b)))
	}
	if g.N == 0 {
		return
	}
	ohw := g.OutH() * g.OutW()
	cg, og := g.inPer(), g.outPer()
	k := cg * g.KH * g.KW
	hw := g.H * g.W
	// Images per block: enough columns to keep the micro-kernels busy, few
	// enough that the block's columns (k·nb·ohw values) stay in L2.
	nb := max(1, min(g.N, colBlockValues/(k*ohw)))
	blocks := (g.N + nb - 1) / nb
	run := func(b0, b1 int) {
		cols := GetBuffer(k * nb * ohw)
		defer PutBuffer(cols)
		for blk := b0; blk < b1; blk++ {
			n0 := blk * nb
			n1 := min(g.N, n0+nb)
			cn := (n1 - n0) * ohw
			xb := xbar[n0*g.C*hw : n1*g.C*hw]
			if b == nil {
				clear(xb)
			} else {
				for p := range (n1 - n0) * g.C {
					v, plane := b[p%g.C], xb[p*hw:(p+1)*hw]
					for i := range plane {
						plane[i] = v
					}
				}
			}
			for grp := range g.groups() {
				gemm(active, k, cn, og, 1, matrix{w[grp*og*k:], k, true},
					imagesB{ybar[n0*g.O*ohw+grp*og*ohw:], g.O, ohw, n1 - n0}, 0, plainC{cols.s, cn}, 1)
				g.fold(xb[grp*cg*hw:], cols.s[:k*cn], n1-n0)
			}
		}
	}
	workers := goroutines(k*g.O*g.N*ohw, blocks, 0)
	if workers <= 1 {
		run(0, blocks)
		return
	}
	// Blocks hold disjoint images, so they can be folded concurrently;
	// each block's arithmetic is the same whoever does it.
	var wg sync.WaitGroup
	for t := range workers {
		lo, hi := t*blocks/workers, (t+1)*blocks/workers
		if t == workers-1 {
			run(lo, hi)
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(lo, hi)
		}()
	}
	wg.Wait()
}

// colBlockValues is the size of the column block of InputGrad: 32 Ki
// values, 256 KiB, half of a small L2.
const colBlockValues = 1 << 15

// fold adds to xbar (nimg images, starting at the first channel of a
// group) the columns cols [C/G·KH·KW, nimg·OH·OW] over the positions they
// were unfolded from. Each element's contributions are added in ascending
// (c, u, v) order.
func (g *Conv2D) fold(xbar, cols []float64, nimg int) {
	oh, ow := g.OutH(), g.OutW()
	ohw := oh * ow
	cn := nimg * ohw
	for n := range nimg {
		for c := range g.inPer() {
			plane := xbar[(n*g.C+c)*g.H*g.W : (n*g.C+c+1)*g.H*g.W]
			for u := range g.KH {
				for v := range g.KW {
					row := cols[((c*g.KH+u)*g.KW+v)*cn+n*ohw:]
					lo, hi := g.validCols(v, ow)
					for i := range oh {
						ih := i*g.SH - g.PH + u*g.DH
						if ih < 0 || ih >= g.H || lo >= hi {
							continue
						}
						src := row[i*ow : i*ow+ow]
						dst := plane[ih*g.W:]
						iw := lo*g.SW - g.PW + v*g.DW
						if g.SW == 1 {
							d := dst[iw : iw+hi-lo]
							for j, s := range src[lo:hi] {
								d[j] += s
							}
							continue
						}
						for _, s := range src[lo:hi] {
							dst[iw] += s
							iw += g.SW
						}
					}
				}
			}
		}
	}
}

// validCols returns the range [lo, hi) of output columns j for which
// kernel column v reads inside the image: 0 ≤ j·SW − PW + v·DW < W.
func (g *Conv2D) validCols(v, ow int) (lo, hi int) {
	off := v*g.DW - g.PW
	lo = 0
	if off < 0 {
		lo = (-off + g.SW - 1) / g.SW
	}
	hi = 0
	if g.W-off > 0 {
		hi = (g.W - off + g.SW - 1) / g.SW
	}
	return min(lo, ow), min(hi, ow)
}

// patches is the patch matrix P [C/G·KH·KW, N·OH·OW] of one group as the
// right factor of the forward product; x starts at the group's first
// channel (images are still C channels apart).
type patches struct {
	g *Conv2D
	x []float64
}

func (patches) direct() ([]float64, int, bool) { return nil, 0, false }

// pixelRun is a run of consecutive output pixels in one output row of one
// image: the sliver positions [t, t+length) are pixels (i, j…j+length−1)
// of image n, which read input row i·SH − PH + u·DH (ih0 + u·DH) from
// column j·SW − PW + v·DW (iw0 + v·DW) on, in steps of SW.
type pixelRun struct {
	t, length int
	img       int // offset of image n in x
	ih0, iw0  int
}

// runsOf splits output pixels [col, col+nv) into runs within output rows.
func (g *Conv2D) runsOf(runs []pixelRun, col, nv int) []pixelRun {
	ow := g.OutW()
	ohw := g.OutH() * ow
	runs = runs[:0]
	for t := 0; t < nv; {
		n, pix := (col+t)/ohw, (col+t)%ohw
		i, j := pix/ow, pix%ow
		length := min(ow-j, nv-t)
		runs = append(runs, pixelRun{t: t, length: length, img: n * g.C * g.H * g.W,
			ih0: i*g.SH - g.PH, iw0: j*g.SW - g.PW})
		t += length
	}
	return runs
}

// fill writes the patch entries of kernel position (c, u, v) for run r to
// dst[0], dst[ds], …: the input values met there, zero in the padding.
func (g *Conv2D) fill(dst []float64, ds int, x []float64, r *pixelRun, c, u, v int) {
	ih := r.ih0 + u*g.DH
	if ih < 0 || ih >= g.H {
		for e := range r.length {
			dst[e*ds] = 0
		}
		return
	}
	src := x[r.img+(c*g.H+ih)*g.W : r.img+(c*g.H+ih+1)*g.W]
	iw := r.iw0 + v*g.DW
	if ds == 1 && g.SW == 1 && iw >= 0 && iw+r.length <= len(src) {
		// The common case: a run inside the image, copied element by
		// element (too short for copy to pay for its call).
		copyShort(dst[:r.length], src[iw:])
		return
	}
	for e := range r.length {
		val := 0.0
		if iw >= 0 && iw < len(src) {
			val = src[iw]
		}
		dst[e*ds] = val
		iw += g.SW
	}
}

// pack unfolds rows [p0, p0+kb) and columns [j0, j0+nb) of P: each sliver
// of output pixels is split into runs within output rows once, and every
// kernel position then fills each run.
func (p patches) pack(dst []float64, p0, kb, j0, nb, nr int) {
	g := p.g
	var store [32]pixelRun
	for s := 0; s < nb; s += nr {
		nv := min(nr, nb-s)
		out := dst[s*kb:]
		runs := g.runsOf(store[:0], j0+s, nv)
		c, u, v := g.kernelPos(p0)
		for q := range kb {
			row := out[q*nr : q*nr+nv]
			for i := range runs {
				g.fill(row[runs[i].t:], 1, p.x, &runs[i], c, u, v)
			}
			c, u, v = g.nextKernelPos(c, u, v)
		}
	}
}

// patchesT is Pᵀ [N·OH·OW, C·KH·KW], the right factor of the weight
// gradient.
type patchesT struct {
	g *Conv2D
	x []float64
}

func (patchesT) direct() ([]float64, int, bool) { return nil, 0, false }

// pack unfolds rows (output pixels) [p0, p0+kb) and columns (kernel
// positions) [j0, j0+nb) of Pᵀ: the pixels are split into runs within
// output rows once, and each kernel position fills each run down its
// column of the sliver.
func (p patchesT) pack(dst []float64, p0, kb, j0, nb, nr int) {
	g := p.g
	var store [64]pixelRun
	runs := g.runsOf(store[:0], p0, kb)
	for s := 0; s < nb; s += nr {
		nv := min(nr, nb-s)
		out := dst[s*kb:]
		c, u, v := g.kernelPos(j0 + s)
		for jj := range nv {
			for i := range runs {
				g.fill(out[runs[i].t*nr+jj:], nr, p.x, &runs[i], c, u, v)
			}
			c, u, v = g.nextKernelPos(c, u, v)
		}
	}
}

// kernelPos returns the kernel position (channel within the group, row,
// column) of row p of a group's patch matrix.
func (g *Conv2D) kernelPos(p int) (c, u, v int) {
	return p / (g.KH * g.KW), p / g.KW % g.KH, p % g.KW
}

func (g *Conv2D) nextKernelPos(c, u, v int) (int, int, int) {
	v++
	if v == g.KW {
		v = 0
		u++
		if u == g.KH {
			u = 0
			c++
		}
	}
	return c, u, v
}

// imagesA is a batch of n NCHW planes d [n, o, HW] seen as the
// rows×(n·HW) matrix whose column m·HW + q is pixel q of image m and whose
// row i is channel i (counted from the start of d, so d may start at a
// group's first channel; images are o channels apart): the left factor of
// the weight gradient.
type imagesA struct {
	d        []float64
	o, hw, n int
}

func (x imagesA) direct() ([]float64, int, int, bool) {
	if x.n == 1 { // one image: a plain matrix
		return x.d, x.hw, 1, true
	}
	return nil, 0, 0, false
}

// pack moves, for each run of pixels within one image, the rows of the
// sliver's channels down its columns (packAcross, four rows at a time).
func (x imagesA) pack(dst []float64, i0, mb, p0, kb, mr int) {
	for s := 0; s < mb; s += mr {
		mv := min(mr, mb-s)
		out := dst[s*kb:]
		for t := 0; t < kb; {
			n, q := (p0+t)/x.hw, (p0+t)%x.hw
			run := min(x.hw-q, kb-t)
			// Channel o of image n is row n·O + o of a matrix of row
			// stride hw.
			packAcross(out[t*mr:], mr, x.d, x.hw, n*x.o+i0+s, q, mv, run)
			t += run
		}
	}
}

// imagesB is the same matrix as imagesA as a right factor: the upstream
// gradient in the input gradient's product.
type imagesB struct {
	d        []float64
	o, hw, n int
}

func (x imagesB) direct() ([]float64, int, bool) {
	if x.n == 1 {
		return x.d, x.hw, true
	}
	return nil, 0, false
}

func (x imagesB) pack(dst []float64, p0, kb, j0, nb, nr int) {
	for s := 0; s < nb; s += nr {
		nv := min(nr, nb-s)
		out := dst[s*kb:]
		for p := range kb {
			o := p0 + p
			row := out[p*nr : p*nr+nv]
			for t := 0; t < nv; {
				n, q := (j0+s+t)/x.hw, (j0+s+t)%x.hw
				run := min(x.hw-q, nv-t)
				copy(row[t:t+run], x.d[(n*x.o+o)*x.hw+q:])
				t += run
			}
		}
	}
}

// imagesC is the same matrix as a destination: the forward output, with
// bias[i] (if not nil) added to row i.
type imagesC struct {
	d     []float64
	o, hw int
	bias  []float64
}

func (x imagesC) rowBias() []float64 { return x.bias }

func (x imagesC) block(i0, j0, _, nv int) ([]float64, int, int, bool) {
	n, q := j0/x.hw, j0%x.hw
	if q+nv > x.hw {
		return nil, 0, 0, false
	}
	return x.d, (n*x.o+i0)*x.hw + q, x.hw, true
}

// get and put copy a tile that straddles images run by run: the columns of
// one image are contiguous in its planes.
func (x imagesC) get(t []float64, ldt, i0, j0, mv, nv int) {
	for e := 0; e < nv; {
		n, q := (j0+e)/x.hw, (j0+e)%x.hw
		run := min(x.hw-q, nv-e)
		for r := range mv {
			copyShort(t[r*ldt+e:r*ldt+e+run], x.d[(n*x.o+i0+r)*x.hw+q:])
		}
		e += run
	}
}

func (x imagesC) put(t []float64, ldt, i0, j0, mv, nv int) {
	for e := 0; e < nv; {
		n, q := (j0+e)/x.hw, (j0+e)%x.hw
		run := min(x.hw-q, nv-e)
		for r := range mv {
			copyShort(x.d[(n*x.o+i0+r)*x.hw+q:][:run], t[r*ldt+e:])
		}
		e += run
	}
}
