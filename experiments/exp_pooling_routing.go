package main

import (
	"errors"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/plot/palette/moreland"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/nn"
	"github.com/adjointkit/adjointkit/plots"
)

// This file registers the pooling_routing experiment: how the two pooling
// layers route an upstream gradient back to their input. Average pooling
// spreads each window's gradient equally over the window; max pooling sends
// all of it to the window's arg-max and nothing anywhere else.

// poolRouteConfig is the [params] table of the pooling_routing experiment.
type poolRouteConfig struct {
	Batch    int        `toml:"batch"`    // samples in the batch, 1 to 16
	Channels int        `toml:"channels"` // channels per sample, 1 to 16
	Size     int        `toml:"size"`     // height and width of the input, 2 to 256
	Windows  []int      `toml:"windows"`  // window sizes k of the cases, each 1 to 16
	Strides  []int      `toml:"strides"`  // the stride of each case (0 means the window), same length as windows
	AvgTol   runner.Tol `toml:"avg_tol"`  // avg-pool gradient vs g/k², relative, for cases where k² is not a power of two or windows overlap
	FDTol    runner.Tol `toml:"fd_tol"`   // reverse mode vs central differences, relative
}

// Validate checks every key's range.
func (c poolRouteConfig) Validate() error {
	errs := []error{
		runner.InRange("batch", c.Batch, 1, 16),
		runner.InRange("channels", c.Channels, 1, 16),
		runner.InRange("size", c.Size, 2, 256),
		runner.InRange("avg_tol", c.AvgTol, 0, 1),
		runner.InRange("fd_tol", c.FDTol, 0, 1),
	}
	if len(c.Windows) == 0 {
		errs = append(errs, runner.ParamErrorf("windows", "must list at least one window size"))
	}
	if len(c.Strides) != len(c.Windows) {
		errs = append(errs, runner.ParamErrorf("strides", "must have one stride per window (%d), got %d", len(c.Windows), len(c.Strides)))
	}
	for i, k := range c.Windows {
		errs = append(errs, runner.InRange(fmt.Sprintf("windows[%d]", i), k, 1, min(16, max(1, c.Size))))
	}
	for i, s := range c.Strides {
		errs = append(errs, runner.InRange(fmt.Sprintf("strides[%d]", i), s, 0, 16))
	}
	return errors.Join(errs...)
}

func init() {
	runner.RegisterLegacy(runner.LegacySpec[poolRouteConfig]{
		Name:    "pooling_routing",
		Theme:   "nn",
		Summary: "Average pooling spreads the upstream gradient equally over its window; max pooling routes all of it to the arg-max.",
		Defaults: func() poolRouteConfig {
			return poolRouteConfig{
				Batch: 2, Channels: 2, Size: 12,
				Windows: []int{2, 3}, Strides: []int{2, 2},
				AvgTol: 1e-15, FDTol: 1e-6,
			}
		},
		Quick: func(c *poolRouteConfig) { c.Size = min(c.Size, 8) },
		Run:   runPoolRoute,
	})
}

// poolRouteCase is one window/stride pair and what was measured on it.
type poolRouteCase struct {
	k, s, oh, ow int
	x, g         []float64 // input [N, C, H, W] and upstream gradient [N, C, OH, OW]
	avgY, maxY   []float64 // outputs
	avgG, maxG   []float64 // input gradients from the adjoint core
	refAvg       []float64 // Σ over the windows holding an element of g/k²
	refMax       []float64 // Σ over the windows whose first arg-max it is of g
	argmax       []bool    // whether an element is the arg-max of some window
	avgErr       float64   // normwise relative error of avgG vs refAvg
	avgExact     bool      // avgG == refAvg bit for bit
	maxExact     bool      // maxG == refMax bit for bit
	maxLeak      int       // elements that are no arg-max but got a non-zero gradient
	sumG         float64   // Σ g
	sumAvg       float64   // Σ avgG
	sumMax       float64   // Σ maxG
	cover        int       // elements covered by no window (get nothing from either)
}

// poolRouteRefs computes the two reference gradients of the windows
// k×k with stride s over x [planes, h, w] for the upstream gradient g:
// avg sends g/k² to every element of the window, max sends g to the first
// maximum in row-major order.
func poolRouteRefs(x, g []float64, planes, h, w, k, s int) (refAvg, refMax []float64, argmax []bool, covered []bool) {
	oh, ow := (h-k)/s+1, (w-k)/s+1
	refAvg = make([]float64, len(x))
	refMax = make([]float64, len(x))
	argmax = make([]bool, len(x))
	covered = make([]bool, len(x))
	kk := float64(k * k)
	for pl := range planes {
		base := pl * h * w
		for i := range oh {
			for j := range ow {
				gv := g[(pl*oh+i)*ow+j]
				best, bv := -1, math.Inf(-1)
				for u := range k {
					for v := range k {
						p := base + (i*s+u)*w + j*s + v
						refAvg[p] += gv / kk
						covered[p] = true
						if best < 0 || x[p] > bv {
							best, bv = p, x[p]
						}
					}
				}
				refMax[best] += gv
				argmax[best] = true
			}
		}
	}
	return refAvg, refMax, argmax, covered
}

// poolRouteRun pools x both ways and differentiates ⟨g, y⟩.
func poolRouteRun(x *adjoint.Tensor, g []float64, k, s int) (avgY, maxY, avgG, maxG []float64, oshape []int) {
	xv := adjoint.Param(x)
	ya := nn.NewAvgPool2D(k, s).Forward(xv)
	ym := nn.NewMaxPool2D(k, s).Forward(xv)
	oshape = ya.Shape()
	gt := adjoint.FromData(g, oshape...)
	avgG = adjoint.VJP(ya, gt, xv)[0].Data
	maxG = adjoint.VJP(ym, gt, xv)[0].Data
	return ya.Value().Data, ym.Value().Data, avgG, maxG, oshape
}

func poolRoutePowerOfTwo(n int) bool { return n > 0 && n&(n-1) == 0 }

func runPoolRoute(r *runner.LegacyRun, c poolRouteConfig) error {
	rng := r.Rand()
	n, ch, h := c.Batch, c.Channels, c.Size
	planes := n * ch
	x := adjoint.New(n, ch, h, h)
	for i := range x.Data {
		x.Data[i] = rng.NormFloat64()
	}
	var cases []poolRouteCase
	var poolT time.Duration
	for ci, k := range c.Windows {
		if err := r.Context().Err(); err != nil {
			return err
		}
		s := c.Strides[ci]
		if s == 0 {
			s = k
		}
		r.Progress(ci, len(c.Windows), fmt.Sprintf("window %d, stride %d", k, s))
		oh, ow := (h-k)/s+1, (h-k)/s+1
		// A positive upstream gradient, so that where it goes (and where
		// it does not) is plain to see in the figures.
		g := make([]float64, planes*oh*ow)
		for i := range g {
			g[i] = 0.5 + rng.Float64()
		}
		start := time.Now()
		avgY, maxY, avgG, maxG, _ := poolRouteRun(x, g, k, s)
		poolT += time.Since(start)
		refAvg, refMax, argmax, covered := poolRouteRefs(x.Data, g, planes, h, h, k, s)
		cs := poolRouteCase{k: k, s: s, oh: oh, ow: ow, x: x.Data, g: g, avgY: avgY, maxY: maxY,
			avgG: avgG, maxG: maxG, refAvg: refAvg, refMax: refMax, argmax: argmax,
			avgErr: relErr(avgG, refAvg), avgExact: true, maxExact: true}
		for i := range avgG {
			cs.avgExact = cs.avgExact && avgG[i] == refAvg[i]
			cs.maxExact = cs.maxExact && maxG[i] == refMax[i]
			if !argmax[i] && maxG[i] != 0 {
				cs.maxLeak++
			}
			if !covered[i] {
				cs.cover++
			}
			cs.sumAvg += avgG[i]
			cs.sumMax += maxG[i]
		}
		for _, v := range g {
			cs.sumG += v
		}
		cases = append(cases, cs)
	}

	// Ties: a plateau image where every window holds its maximum several
	// times. The gradient must go to the first maximum in row-major order.
	tieK := c.Windows[0]
	tieS := c.Strides[0]
	if tieS == 0 {
		tieS = tieK
	}
	tieOK, tieShort, tieDetail := poolRouteTies(h, tieK, tieS)

	// Reverse mode against central differences (random input, so no ties
	// and max pooling is differentiable there).
	fdk, fds := c.Windows[len(c.Windows)-1], c.Strides[len(c.Strides)-1]
	fdx := adjoint.New(1, 1, min(h, 8), min(h, 8))
	for i := range fdx.Data {
		fdx.Data[i] = rng.NormFloat64()
	}
	fdk = min(fdk, fdx.Shape[2])
	set := &adjoint.CheckSettings{Seed: uint64(r.Seed), FirstOrderOnly: true}
	crMax := adjoint.Check(func(v ...*adjoint.Var) *adjoint.Var {
		return adjoint.Sum(adjoint.Square(nn.NewMaxPool2D(fdk, fds).Forward(v[0])))
	}, []*adjoint.Tensor{fdx}, set)
	crAvg := adjoint.Check(func(v ...*adjoint.Var) *adjoint.Var {
		return adjoint.Sum(adjoint.Square(nn.NewAvgPool2D(fdk, fds).Forward(v[0])))
	}, []*adjoint.Tensor{fdx}, set)

	rep := r.Report
	rep.Heading("Setup")
	rep.Paraf("A batch of %d samples with %d channels of %d×%d standard normal values is pooled by nn.AvgPool2D and nn.MaxPool2D "+
		"for each (window k, stride s) in %s. The upstream gradient g = dL/dy is drawn uniformly from [0.5, 1.5] "+
		"(positive, so that the figures show plainly where it goes), and the adjoint core's reverse pass gives dL/dx. "+
		"The references, computed with plain loops over the windows:",
		n, ch, h, h, poolRouteCaseList(c))
	rep.Code("average:  dL/dx[p] = Σ_{windows w ∋ p} g[w] / k²\n" +
		"max:      dL/dx[p] = Σ_{windows w whose first arg-max is p} g[w]     (0 for every other element)")

	rep.Heading("Results")
	t := rep.Table("window", "stride", "output", "avg: rel. error vs g/k²", "avg: bit-identical", "max: bit-identical", "max: non-arg-max elements with gradient", "Σg", "Σ dL/dx avg", "Σ dL/dx max", "uncovered elements")
	for _, cs := range cases {
		t.Row(cs.k, cs.s, fmt.Sprintf("%d×%d", cs.oh, cs.ow), cs.avgErr, yesNo(cs.avgExact), yesNo(cs.maxExact), cs.maxLeak,
			fmt.Sprintf("%.12g", cs.sumG), fmt.Sprintf("%.12g", cs.sumAvg), fmt.Sprintf("%.12g", cs.sumMax), cs.cover)
	}
	rep.Para("Both layers conserve the upstream gradient: Σ dL/dx = Σ g, since each window hands out exactly what it receives, " +
		"split in k² equal parts or given whole to one element. " +
		"For a window of 2×2 (or any k² a power of two) g/k² is exact in binary, so average pooling's gradient equals the formula bit for bit; " +
		"for k = 3 the core divides by 3 twice (it averages the window's rows, then its columns) while the formula divides by 9 once, " +
		"and the two roundings may differ in the last bit, hence the relative tolerance of a few ε (avg_tol). " +
		"Elements that no window reaches (when (size − k) is not a multiple of s) get nothing from either layer.")

	// Figures of the first and of the last case, sample 0, channel 0.
	opt := &plots.Options{WidthPx: 440, HeightPx: 380}
	heat := func(file, title, label string, z []float64, rows, cols int, zr plots.Extent, cm bool) error {
		hm := plots.HeatMap{Title: title, XLabel: "column", YLabel: "row", ColorLabel: label,
			Z: z, Rows: rows, Cols: cols, ZRange: zr}
		if cm {
			hm.ColorMap = moreland.ExtendedBlackBody()
		}
		_, err := plots.Save(r.Path(file), hm, opt)
		return err
	}
	first := cases[0]
	hh := h * h
	var jobs []func() error
	save := func(file, title, label string, z []float64, rows, cols int, zr plots.Extent) {
		jobs = append(jobs, func() error { return heat(file, title, label, z, rows, cols, zr, zr != (plots.Extent{})) })
	}
	save("input.png", "Input x[0, 0]", "x", x.Data[:hh], h, h, plots.Extent{})
	rep.Subheading("Input")
	rep.Figure("input.png", "Input, sample 0, channel 0 (standard normal).")
	for i, cs := range cases {
		if i != 0 && i != len(cases)-1 {
			continue
		}
		tag := fmt.Sprintf("k%d_s%d", cs.k, cs.s)
		o := cs.oh * cs.ow
		rep.Subheading(fmt.Sprintf("Window %d×%d, stride %d", cs.k, cs.k, cs.s))
		if i == 0 {
			save("upstream.png", "Upstream gradient g", "g", cs.g[:o], cs.oh, cs.ow, plots.Extent{Min: 0, Max: 1.5})
			save("avg_output.png", "Average pooling: output", "y", cs.avgY[:o], cs.oh, cs.ow, plots.Extent{})
			save("max_output.png", "Max pooling: output", "y", cs.maxY[:o], cs.oh, cs.ow, plots.Extent{})
			rep.Figure("upstream.png", "The upstream gradient g, one value per window (sample 0, channel 0), drawn from [0.5, 1.5].")
			rep.Figure("avg_output.png", "Average pooling's output: the mean of each window of the input.")
			rep.Figure("max_output.png", "Max pooling's output: the maximum of each window.")
		}
		avgFile, maxFile := "avg_grad_"+tag+".png", "max_grad_"+tag+".png"
		save(avgFile, fmt.Sprintf("Average pooling (k=%d, s=%d): dL/dx", cs.k, cs.s), "dL/dx", cs.avgG[:hh], h, h, plots.Extent{Min: 0, Max: poolRouteMax(cs.avgG[:hh])})
		save(maxFile, fmt.Sprintf("Max pooling (k=%d, s=%d): dL/dx", cs.k, cs.s), "dL/dx", cs.maxG[:hh], h, h, plots.Extent{Min: 0, Max: poolRouteMax(cs.maxG[:hh])})
		if cs.k == first.k && cs.s >= cs.k {
			rep.Figure(avgFile, "Average pooling's input gradient: each window's g spread as g/k² over its k×k elements, so the map is the upstream gradient blown up into blocks.")
		} else {
			rep.Figure(avgFile, "Average pooling's input gradient: g/k² from every window holding the element, so elements shared by overlapping windows collect several shares; elements no window reaches get zero.")
		}
		rep.Figure(maxFile, "Max pooling's input gradient: all of each window's g at its arg-max (an element that is the maximum of several overlapping windows collects all their g), zero everywhere else.")
	}
	if err := nnExpParallel(jobs); err != nil {
		return err
	}

	rep.Subheading("Ties")
	rep.Para(tieDetail)
	rep.Subheading("adjoint.Check (first order)")
	rep.Paraf("Σ y² for one %d×%d random input with window %d and stride %d: reverse mode, forward mode and central differences.",
		fdx.Shape[2], fdx.Shape[3], fdk, fds)
	ct := rep.Table("layer", "reverse vs FD (rel.)", "forward vs FD (rel.)", "reverse vs forward (rel.)")
	ct.Row("average pooling", crAvg.RevFD.MaxRel, crAvg.FwdFD.MaxRel, crAvg.RevFwd.MaxRel)
	ct.Row("max pooling", crMax.RevFD.MaxRel, crMax.FwdFD.MaxRel, crMax.RevFwd.MaxRel)

	var worstAvg, worstSum float64
	leaks := 0
	for _, cs := range cases {
		worstAvg = max(worstAvg, cs.avgErr)
		worstSum = max(worstSum, math.Abs(cs.sumAvg-cs.sumG)/cs.sumG, math.Abs(cs.sumMax-cs.sumG)/cs.sumG)
		leaks += cs.maxLeak
	}
	rep.Timing("pooling forward + reverse, both layers, all cases", poolT.Seconds())
	rep.Metric("max rel error avg-pool gradient vs g/k^2", worstAvg)
	rep.Metric("non-arg-max elements with max-pool gradient", float64(leaks))
	rep.Metric("max rel deviation of sum of input gradient from sum of g", worstSum)

	for _, cs := range cases {
		name := fmt.Sprintf("k=%d, s=%d", cs.k, cs.s)
		if poolRoutePowerOfTwo(cs.k*cs.k) && cs.s >= cs.k {
			rep.CheckTrue("avg pool "+name+": dL/dx = g/k² bit for bit", cs.avgExact,
				fmt.Sprintf("max rel. error %s", runner.Num(cs.avgErr)))
		} else {
			rep.Check("avg pool "+name+": dL/dx vs Σ g/k² (rounding of /k²)", cs.avgErr, c.AvgTol)
		}
		rep.CheckTrue("max pool "+name+": all of g at the first arg-max, bit for bit", cs.maxExact,
			fmt.Sprintf("identical: %s", yesNo(cs.maxExact)))
		rep.CheckTrue("max pool "+name+": nothing to non-arg-max elements", cs.maxLeak == 0,
			fmt.Sprintf("%d elements with a gradient though no window's arg-max", cs.maxLeak))
	}
	// Two sums of the same N = batch·channels·size² terms in different
	// orders differ by at most about N·ε relative (the terms are positive).
	sumTol := runner.Tol(float64(planes*h*h) * 0x1p-52) // rounding of an N-term sum
	rep.Check(fmt.Sprintf("Σ dL/dx = Σ g for both layers, all cases (relative; tol N·ε, N = %d)", planes*h*h), worstSum, sumTol)
	rep.CheckTrue("ties go to the first maximum in row-major order", tieOK, tieShort)
	rep.Check("adjoint.Check: max pooling, reverse vs central differences", crMax.RevFD.MaxRel, c.FDTol)
	rep.Check("adjoint.Check: average pooling, reverse vs central differences", crAvg.RevFD.MaxRel, c.FDTol)
	return nil
}

// poolRouteCaseList describes the cases, as in "(2, 2), (3, 2)".
func poolRouteCaseList(c poolRouteConfig) string {
	s := ""
	for i, k := range c.Windows {
		st := c.Strides[i]
		if st == 0 {
			st = k
		}
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("(%d, %d)", k, st)
	}
	return s
}

// poolRouteMax returns the largest value of z (at least a tiny positive
// number, so that a colour range [0, max] is never empty).
func poolRouteMax(z []float64) float64 {
	m := 1e-300
	for _, v := range z {
		m = max(m, v)
	}
	return m
}

// poolRouteTies max-pools an image made of plateaus (each value repeated
// over 2×2 blocks offset by one, so every window holds its maximum
// several times) and reports whether every window's gradient went to its
// first maximum in row-major order.
func poolRouteTies(h, k, s int) (ok bool, short, detail string) {
	x := adjoint.New(1, 1, h, h)
	for i := range h {
		for j := range h {
			x.Data[i*h+j] = float64(((i+1)/2 + (j+1)/2) % 3)
		}
	}
	xv := adjoint.Param(x)
	y := nn.NewMaxPool2D(k, s).Forward(xv)
	oh, ow := y.Shape()[2], y.Shape()[3]
	g := adjoint.New(y.Shape()...)
	for i := range g.Data {
		g.Data[i] = float64(i + 1) // a distinct value per window
	}
	gx := adjoint.VJP(y, g, xv)[0].Data
	_, ref, _, _ := poolRouteRefs(x.Data, g.Data, 1, h, h, k, s)
	tiedWindows := 0
	for i := range oh {
		for j := range ow {
			cnt, best := 0, math.Inf(-1)
			for u := range k {
				for v := range k {
					e := x.Data[(i*s+u)*h+j*s+v]
					if e > best {
						best, cnt = e, 1
					} else if e == best {
						cnt++
					}
				}
			}
			if cnt > 1 {
				tiedWindows++
			}
		}
	}
	ok = true
	for i := range gx {
		ok = ok && gx[i] == ref[i]
	}
	short = fmt.Sprintf("%d of %d windows tied; gradients identical to the first-maximum rule: %s", tiedWindows, oh*ow, yesNo(ok))
	return ok, short, fmt.Sprintf("A %d×%d plateau image (values 0, 1, 2 in 2×2 blocks) max-pooled with window %d and stride %d: "+
		"%d of %d windows hold their maximum more than once. Their gradients go to the first maximum in row-major order "+
		"(the topmost row holding one, its leftmost), as nn.MaxPool2D documents: %s.",
		h, h, k, s, tiedWindows, oh*ow, map[bool]string{true: "every window as documented", false: "NOT as documented"}[ok])
}
