package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/nn"
	"github.com/adjointkit/adjointkit/plots"
)

// This file registers the conv_symmetry experiment: the two gradients of a
// convolution layer are themselves convolutions. dL/dK is the
// cross-correlation of the (padded) input with the upstream gradient, and
// dL/dX is the full convolution of the upstream gradient with the kernel,
// which is a cross-correlation with the flipped kernel. Both formulas are
// computed here with plain loops and compared with the adjoint core's
// reverse pass through nn.Conv2D.

// convSymConfig is the [params] table of the conv_symmetry experiment.
type convSymConfig struct {
	Batch    int        `toml:"batch"`    // samples N in the batch, 1 to 64
	InC      int        `toml:"in_c"`     // input channels C, 1 to 64
	OutC     int        `toml:"out_c"`    // output channels O, 1 to 64
	Size     int        `toml:"size"`     // height and width of the input, 2 to 128
	Kernel   int        `toml:"kernel"`   // kernel height and width, 1 to 15
	Strides  []int      `toml:"strides"`  // strides compared (each 1 to 8)
	Paddings []int      `toml:"paddings"` // paddings compared (each 0 to 7)
	Tol      runner.Tol `toml:"tol"`      // formula vs adjoint core, normwise relative
	FDSize   int        `toml:"fd_size"`  // input size of the finite-difference check, 3 to 16
	FDTol    runner.Tol `toml:"fd_tol"`   // reverse mode vs central differences, relative
}

// Validate checks every key's range.
func (c convSymConfig) Validate() error {
	errs := []error{
		runner.InRange("batch", c.Batch, 1, 64),
		runner.InRange("in_c", c.InC, 1, 64),
		runner.InRange("out_c", c.OutC, 1, 64),
		runner.InRange("size", c.Size, 2, 128),
		runner.InRange("kernel", c.Kernel, 1, 15),
		runner.InRange("tol", c.Tol, 0, 1),
		runner.InRange("fd_size", c.FDSize, 3, 16),
		runner.InRange("fd_tol", c.FDTol, 0, 1),
	}
	if len(c.Strides) == 0 {
		errs = append(errs, runner.ParamErrorf("strides", "must list at least one stride"))
	}
	if len(c.Paddings) == 0 {
		errs = append(errs, runner.ParamErrorf("paddings", "must list at least one padding"))
	}
	for i, s := range c.Strides {
		errs = append(errs, runner.InRange(fmt.Sprintf("strides[%d]", i), s, 1, 8))
	}
	for i, p := range c.Paddings {
		errs = append(errs, runner.InRange(fmt.Sprintf("paddings[%d]", i), p, 0, 7))
		if p >= 0 && c.Size+2*p < c.Kernel {
			errs = append(errs, runner.ParamErrorf(fmt.Sprintf("paddings[%d]", i),
				"the padded input (size %d + 2·%d) is smaller than the %d×%d kernel", c.Size, p, c.Kernel, c.Kernel))
		}
	}
	if c.FDSize < c.Kernel {
		errs = append(errs, runner.ParamErrorf("fd_size", "must be at least kernel = %d, got %d", c.Kernel, c.FDSize))
	}
	return errors.Join(errs...)
}

func init() {
	runner.Register(runner.Spec[convSymConfig, convSymResult]{
		Name:    "conv_symmetry",
		Theme:   "nn",
		Summary: "A convolution's gradients are convolutions: dL/dK = input ⋆ upstream gradient, dL/dX = upstream gradient ∗ flipped kernel, by loops vs the adjoint core.",
		Defaults: func() convSymConfig {
			return convSymConfig{
				Batch: 2, InC: 3, OutC: 4, Size: 12, Kernel: 3,
				Strides: []int{1, 2}, Paddings: []int{0, 1},
				Tol: 1e-12, FDSize: 5, FDTol: 1e-6,
			}
		},
		Headline: "reverse vs finite differences (rel)",
		Quick: func(c *convSymConfig) {
			c.Size = min(c.Size, 8)
			c.Batch = min(c.Batch, 2)
		},
		Compute: computeConvSym,
		Figures: convSymFigures,
		Report:  convSymReport,
	})
}

// convSymT4 is a dense 4-index array [a, b, h, w] in row-major order.
type convSymT4 struct {
	a, b, h, w int
	d          []float64
}

func newConvSymT4(a, b, h, w int) convSymT4 {
	return convSymT4{a, b, h, w, make([]float64, a*b*h*w)}
}

func (t convSymT4) at(i, j, y, x int) float64 { return t.d[((i*t.b+j)*t.h+y)*t.w+x] }
func (t convSymT4) add(i, j, y, x int, v float64) {
	t.d[((i*t.b+j)*t.h+y)*t.w+x] += v
}

// convSymPlane returns plane (i, j) as a row-major h×w slice (shared).
func (t convSymT4) plane(i, j int) []float64 {
	off := (i*t.b + j) * t.h * t.w
	return t.d[off : off+t.h*t.w]
}

// convSymCorrelate returns the valid cross-correlation of the image a
// (ah×aw) with the filter f (fh×fw): out[u, v] = Σ_{i,j} a[u+i, v+j]·f[i, j],
// of size (ah−fh+1)×(aw−fw+1).
func convSymCorrelate(a []float64, ah, aw int, f []float64, fh, fw int) []float64 {
	oh, ow := ah-fh+1, aw-fw+1
	out := make([]float64, oh*ow)
	for u := range oh {
		for v := range ow {
			var s float64
			for i := range fh {
				for j := range fw {
					s += a[(u+i)*aw+v+j] * f[i*fw+j]
				}
			}
			out[u*ow+v] = s
		}
	}
	return out
}

// convSymFullConv returns the full convolution of g (gh×gw) with the
// kernel k (kh×kw): out[p, q] = Σ_{i,j} g[i, j]·k[p−i, q−j], of size
// (gh+kh−1)×(gw+kw−1). It is computed as the valid cross-correlation of g,
// zero-padded by kh−1 and kw−1 on every side, with the flipped kernel.
func convSymFullConv(g []float64, gh, gw int, k []float64, kh, kw int) []float64 {
	ph, pw := gh+2*(kh-1), gw+2*(kw-1)
	padded := make([]float64, ph*pw)
	for i := range gh {
		copy(padded[(i+kh-1)*pw+kw-1:], g[i*gw:(i+1)*gw])
	}
	flipped := make([]float64, kh*kw)
	for i := range kh {
		for j := range kw {
			flipped[i*kw+j] = k[(kh-1-i)*kw+kw-1-j]
		}
	}
	return convSymCorrelate(padded, ph, pw, flipped, kh, kw)
}

// convSymDilate inserts s−1 zeros between the rows and the columns of g
// (gh×gw): the upstream gradient of a strided convolution seen on the grid
// of the stride-1 one.
func convSymDilate(g []float64, gh, gw, s int) (out []float64, dh, dw int) {
	dh, dw = (gh-1)*s+1, (gw-1)*s+1
	out = make([]float64, dh*dw)
	for i := range gh {
		for j := range gw {
			out[i*s*dw+j*s] = g[i*gw+j]
		}
	}
	return out, dh, dw
}

// convSymFormulas returns dL/dK, dL/db and dL/dX of y = conv(x, K) + b
// with stride s and padding p for the upstream gradient g = dL/dy, by the
// two textbook formulas on each pair of planes:
//
//	dL/dK[o, c] = Σ_n  xp[n, c] ⋆ dil(g[n, o])      (valid cross-correlation)
//	dL/dX[n, c] = crop(Σ_o dil(g[n, o]) ∗ K[o, c])  (full convolution)
//
// where xp is x zero-padded by p, dil inserts s−1 zeros between rows and
// columns, and crop removes the padding (rows and columns of xp that no
// window reached get zero).
func convSymFormulas(x, k, g convSymT4, s, p int) (dK convSymT4, db []float64, dX convSymT4) {
	n, c, h, w := x.a, x.b, x.h, x.w
	o, kh, kw := k.a, k.h, k.w
	hp, wp := h+2*p, w+2*p
	dK = newConvSymT4(o, c, kh, kw)
	dX = newConvSymT4(n, c, h, w)
	db = make([]float64, o)
	xp := newConvSymT4(n, c, hp, wp)
	for i := range n {
		for j := range c {
			src, dst := x.plane(i, j), xp.plane(i, j)
			for r := range h {
				copy(dst[(r+p)*wp+p:], src[r*w:(r+1)*w])
			}
		}
	}
	for i := range n {
		for oc := range o {
			gp := g.plane(i, oc)
			for _, v := range gp {
				db[oc] += v
			}
			gd, dh, dw := convSymDilate(gp, g.h, g.w, s)
			for j := range c {
				// dL/dK: the valid correlation has size (hp−dh+1)×(wp−dw+1)
				// ≥ kh×kw; its leading kh×kw block is the kernel gradient
				// (the rest would belong to a larger kernel).
				corr := convSymCorrelate(xp.plane(i, j), hp, wp, gd, dh, dw)
				cw := wp - dw + 1
				for u := range kh {
					for v := range kw {
						dK.add(oc, j, u, v, corr[u*cw+v])
					}
				}
				// dL/dX: the full convolution has size (dh+kh−1)×(dw+kw−1)
				// ≤ hp×wp; it covers xp from the top left.
				full := convSymFullConv(gd, dh, dw, k.plane(oc, j), kh, kw)
				fh, fw := dh+kh-1, dw+kw-1
				for r := range h {
					for q := range w {
						if r+p < fh && q+p < fw {
							dX.add(i, j, r, q, full[(r+p)*fw+q+p])
						}
					}
				}
			}
		}
	}
	return dK, db, dX
}

// convSymMaxAbs returns max|a − b|.
func convSymMaxAbs(a, b []float64) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

// convSymCase is the outcome of one (stride, padding) pair.
type convSymCase struct {
	stride, pad    int
	outH, outW     int
	errK, errX     float64 // normwise relative
	absK, absX     float64
	errB           float64
	core, formula  time.Duration
	x, g           convSymT4
	dXcore, dXform convSymT4
	dKcore         convSymT4
}

// convSymResult is what computeConvSym finds: every case, and adjoint.Check
// on a small layer with the last stride and padding.
type convSymResult struct {
	cases                  []convSymCase
	worstK, worstX, worstB float64
	fdStride, fdPad        int
	check                  adjoint.CheckResult
}

// convSymRunCase draws a layer, an input and an upstream gradient, and
// computes the gradients both ways.
func convSymRunCase(rng *rand.Rand, c convSymConfig, s, p int) convSymCase {
	layer := nn.NewConv2D(rng, c.InC, c.OutC, c.Kernel, c.Kernel, &nn.Conv2DSettings{Stride: s, Padding: p})
	ps := layer.Params()
	// A non-zero bias, so that dL/db is not trivially tested on zeros.
	for i := range ps[1].Value().Data {
		ps[1].Value().Data[i] = rng.NormFloat64()
	}
	x := newConvSymT4(c.Batch, c.InC, c.Size, c.Size)
	for i := range x.d {
		x.d[i] = rng.NormFloat64()
	}
	xv := adjoint.Param(adjoint.FromData(x.d, x.a, x.b, x.h, x.w))
	start := time.Now()
	y := layer.Apply(nn.Vars(layer), xv)
	ys := y.Shape()
	g := newConvSymT4(ys[0], ys[1], ys[2], ys[3])
	for i := range g.d {
		g.d[i] = rng.NormFloat64()
	}
	grads := adjoint.VJP(y, adjoint.FromData(g.d, ys...), ps[0].Var, ps[1].Var, xv)
	coreT := time.Since(start)

	kt := ps[0].Value()
	k := convSymT4{kt.Shape[0], kt.Shape[1], kt.Shape[2], kt.Shape[3], kt.Data}
	start = time.Now()
	dK, db, dX := convSymFormulas(x, k, g, s, p)
	formT := time.Since(start)

	dKc := convSymT4{k.a, k.b, k.h, k.w, grads[0].Data}
	dXc := convSymT4{x.a, x.b, x.h, x.w, grads[2].Data}
	return convSymCase{
		stride: s, pad: p, outH: ys[2], outW: ys[3],
		errK: relErr(dKc.d, dK.d), errX: relErr(dXc.d, dX.d),
		absK: convSymMaxAbs(dKc.d, dK.d), absX: convSymMaxAbs(dXc.d, dX.d),
		errB: relErr(grads[1].Data, db),
		core: coreT, formula: formT,
		x: x, g: g, dXcore: dXc, dXform: dX, dKcore: dKc,
	}
}

func computeConvSym(env *runner.Env, c convSymConfig) (*convSymResult, error) {
	res := &convSymResult{}
	n := len(c.Strides) * len(c.Paddings)
	for _, s := range c.Strides {
		for _, p := range c.Paddings {
			if err := env.Context().Err(); err != nil {
				return nil, err
			}
			env.Progress(len(res.cases), n, fmt.Sprintf("stride %d, padding %d", s, p))
			cs := convSymRunCase(env.Rand(), c, s, p)
			res.cases = append(res.cases, cs)
			res.worstK, res.worstX, res.worstB = max(res.worstK, cs.errK), max(res.worstX, cs.errX), max(res.worstB, cs.errB)
		}
	}

	// Reverse mode against central differences on a small layer, with
	// respect to the kernel, the bias and the input at once.
	res.fdStride, res.fdPad = c.Strides[len(c.Strides)-1], c.Paddings[len(c.Paddings)-1]
	if c.FDSize+2*res.fdPad < c.Kernel {
		res.fdPad = c.Paddings[0]
	}
	rng := env.Rand()
	small := nn.NewConv2D(rng, 2, 2, c.Kernel, c.Kernel, &nn.Conv2DSettings{Stride: res.fdStride, Padding: res.fdPad})
	xs := adjoint.New(1, 2, c.FDSize, c.FDSize)
	for i := range xs.Data {
		xs.Data[i] = rng.NormFloat64()
	}
	res.check = adjoint.Check(func(v ...*adjoint.Var) *adjoint.Var {
		y := small.Apply(v[:2], v[2])
		return adjoint.Sum(adjoint.Mul(y, adjoint.Tanh(y))) // a nonlinear scalar of y
	}, []*adjoint.Tensor{small.Params()[0].Value().Clone(), small.Params()[1].Value().Clone(), xs},
		&adjoint.CheckSettings{Seed: uint64(env.Seed), FirstOrderOnly: true})
	return res, nil
}

// convSymMosaic lays the kernel gradient out as an (O·kh)×(C·kw) grid of
// its planes, block (o, c) holding dL/dK[o, c].
func convSymMosaic(dK convSymT4) []float64 {
	o, ch, kh, kw := dK.a, dK.b, dK.h, dK.w
	mos := make([]float64, o*kh*ch*kw)
	for i := range o {
		for j := range ch {
			for u := range kh {
				for v := range kw {
					mos[(i*kh+u)*(ch*kw)+j*kw+v] = dK.at(i, j, u, v)
				}
			}
		}
	}
	return mos
}

func convSymFigures(dir runner.Dir, c convSymConfig, res *convSymResult) error {
	// The first case (stride 1 if listed), sample 0, channel 0.
	cs := res.cases[0]
	opt := &plots.Options{WidthPx: 460, HeightPx: 400}
	maps := []struct {
		file, title, label string
		z                  []float64
		rows, cols         int
	}{
		{"input.png", "Input x[0, 0]", "x", cs.x.plane(0, 0), cs.x.h, cs.x.w},
		{"upstream.png", "Upstream gradient g[0, 0] = dL/dy", "g", cs.g.plane(0, 0), cs.g.h, cs.g.w},
		{"grad_input.png", "dL/dX[0, 0], adjoint core", "dL/dX", cs.dXcore.plane(0, 0), cs.x.h, cs.x.w},
		{"grad_input_diff.png", "dL/dX[0, 0]: core − formula", "difference", convSymDiff(cs.dXcore.plane(0, 0), cs.dXform.plane(0, 0)), cs.x.h, cs.x.w},
	}
	var jobs []func() error
	for _, m := range maps {
		jobs = append(jobs, func() error {
			_, err := plots.Save(dir.Path(m.file), plots.HeatMap{
				Title: m.title, XLabel: "column", YLabel: "row", ColorLabel: m.label,
				Z: m.z, Rows: m.rows, Cols: m.cols,
			}, opt)
			return err
		})
	}
	jobs = append(jobs, func() error {
		_, err := plots.Save(dir.Path("grad_kernel.png"), plots.HeatMap{
			Title:  "dL/dK, adjoint core: one block per (o, c)",
			XLabel: "input channel c (blocks of kernel columns)", YLabel: "output channel o (blocks of kernel rows)", ColorLabel: "dL/dK",
			Z: convSymMosaic(cs.dKcore), Rows: c.OutC * c.Kernel, Cols: c.InC * c.Kernel,
			// One unit per block, centred on the channel index.
			XExtent:    plots.Extent{Min: -0.5, Max: float64(c.InC) - 0.5},
			YExtent:    plots.Extent{Min: -0.5, Max: float64(c.OutC) - 0.5},
			IndexTicks: true,
		}, &plots.Options{WidthPx: 560, HeightPx: min(900, max(300, 420*c.OutC/max(c.InC, 1)))})
		return err
	})
	return parallel(jobs)
}

func convSymReport(rep *runner.Report, c convSymConfig, res *convSymResult) {
	rep.Heading("Setup")
	rep.Paraf("A convolution layer (nn.Conv2D, strictly a cross-correlation as in every deep-learning library) with %d input and %d output channels and a %d×%d kernel "+
		"is applied to a batch of %d random %d×%d images, for every stride in %v and padding in %v. "+
		"The upstream gradient g = dL/dy is a random tensor of y's shape (L = ⟨g, y⟩), and the adjoint core's reverse pass (adjoint.VJP) "+
		"gives dL/dK, dL/db and dL/dX. The same gradients are then computed with plain loops from the textbook formulas, "+
		"plane by plane (n sample, c input channel, o output channel):",
		c.InC, c.OutC, c.Kernel, c.Kernel, c.Batch, c.Size, c.Size, c.Strides, c.Paddings)
	rep.Code("y[n,o]     = b[o] + Σ_c  xp[n,c] ⋆ K[o,c]              (forward: valid cross-correlation, stride s)\n" +
		"dL/dK[o,c] = Σ_n  xp[n,c] ⋆ dil_s(g[n,o])             (cross-correlation of the input with the upstream gradient)\n" +
		"dL/db[o]   = Σ_n Σ_ij g[n,o,i,j]\n" +
		"dL/dX[n,c] = crop_p( Σ_o dil_s(g[n,o]) ∗ K[o,c] )      (full convolution = correlation with the flipped kernel)\n\n" +
		"xp: x zero-padded by p;  dil_s: s−1 zeros inserted between rows and columns;  crop_p: drop the padding")
	rep.Para("The full convolution is itself computed as a valid cross-correlation of the zero-padded upstream gradient with the kernel " +
		"rotated by 180°, which is the symmetry the experiment is named after: the forward pass correlates the input with K, " +
		"the backward pass correlates the gradient with K flipped, and the weight gradient correlates the input with the gradient.")

	rep.Heading("Results")
	t := rep.Table("stride", "padding", "output", "dL/dK rel. error", "dL/dK max abs.", "dL/dX rel. error", "dL/dX max abs.", "dL/db rel. error")
	for _, cs := range res.cases {
		t.Row(cs.stride, cs.pad, fmt.Sprintf("%d×%d", cs.outH, cs.outW), cs.errK, cs.absK, cs.errX, cs.absX, cs.errB)
	}
	worst := max(res.worstK, res.worstX, res.worstB)
	const rounding = 100 * 0x1p-52 // a hundred units of float64 rounding
	rep.Paraf("Relative errors are normwise: max |core − formula| over all entries divided by max |formula|. "+
		"The two sides sum the same products in different orders (the core forms an im2col patch matrix and multiplies it in blocks), "+
		"so they can only agree to rounding. The largest relative error over every case is %s (dL/dK), %s (dL/dX) and %s (dL/db): "+
		"%s, %s 100 ε = %s.",
		runner.Num(res.worstK), runner.Num(res.worstX), runner.Num(res.worstB),
		runner.Choose(worst <= rounding, "rounding", "more than rounding"), runner.Compare(worst, rounding), runner.Num(rounding))

	cs := res.cases[0]
	diff := convSymDiff(cs.dXcore.plane(0, 0), cs.dXform.plane(0, 0))
	var maxDiff, maxGrad float64
	for i, d := range diff {
		maxDiff, maxGrad = max(maxDiff, math.Abs(d)), max(maxGrad, math.Abs(cs.dXform.plane(0, 0)[i]))
	}
	rep.Subheading(fmt.Sprintf("One case: stride %d, padding %d", cs.stride, cs.pad))
	rep.Figure("input.png", "Input image, sample 0, channel 0.")
	rep.Figure("upstream.png", "The upstream gradient g for sample 0, output channel 0.")
	rep.Figure("grad_input.png", "dL/dX for sample 0, input channel 0, from the reverse pass: the sum over output channels of g convolved with the flipped kernel plane.")
	rep.Figure("grad_input_diff.png", fmt.Sprintf("Core minus formula for the same plane: at most %s in magnitude, %s times the plane's largest |dL/dX| (%s).",
		runner.Num(maxDiff), runner.Num(maxDiff/maxGrad), runner.Num(maxGrad)))
	rep.Figure("grad_kernel.png", fmt.Sprintf("dL/dK from the reverse pass: block (o, c) is the %d×%d plane dL/dK[o, c], the ticks mark the channels o and c at their blocks' centres.",
		c.Kernel, c.Kernel))

	cr := res.check
	rep.Subheading("adjoint.Check on a small layer")
	rep.Paraf("A 2→2-channel layer (stride %d, padding %d) on one %d×%d input, the scalar Σ y·tanh(y) differentiated with respect to kernel, bias and input at once.",
		res.fdStride, res.fdPad, c.FDSize, c.FDSize)
	ct := rep.Table("comparison", "max abs. error", "max rel. error")
	ct.Row("reverse mode vs central differences", cr.RevFD.MaxAbs, cr.RevFD.MaxRel)
	ct.Row("forward mode vs central differences", cr.FwdFD.MaxAbs, cr.FwdFD.MaxRel)
	ct.Row("reverse vs forward mode", cr.RevFwd.MaxAbs, cr.RevFwd.MaxRel)

	var coreT, formT time.Duration
	for _, cs := range res.cases {
		coreT += cs.core
		formT += cs.formula
	}
	rep.Metric("max rel error dL/dK", res.worstK)
	rep.Metric("max rel error dL/dX", res.worstX)
	rep.Metric("max rel error dL/db", res.worstB)
	rep.Metric("reverse vs finite differences (rel)", cr.RevFD.MaxRel)
	rep.Timing("adjoint core, forward + reverse, all cases", coreT.Seconds())
	rep.Timing("formula loops, all cases", formT.Seconds())

	rep.Check("dL/dK: core vs input ⋆ upstream gradient, all cases", res.worstK, c.Tol)
	rep.Check("dL/dX: core vs upstream gradient ∗ flipped kernel, all cases", res.worstX, c.Tol)
	rep.Check("dL/db: core vs sum of upstream gradient, all cases", res.worstB, c.Tol)
	rep.Check("adjoint.Check: reverse mode vs central differences", cr.RevFD.MaxRel, c.FDTol)
	rep.Check("adjoint.Check: reverse vs forward mode", cr.RevFwd.MaxRel, c.Tol)
}

// convSymDiff returns a − b.
func convSymDiff(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] - b[i]
	}
	return out
}
