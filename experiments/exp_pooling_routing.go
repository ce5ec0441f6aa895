package main

import (
	"errors"
	"fmt"
	"math"
	"strings"
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
	runner.Register(runner.Spec[poolRouteConfig, poolRouteResult]{
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
		Quick:   func(c *poolRouteConfig) { c.Size = min(c.Size, 8) },
		Compute: computePoolRoute,
		Figures: poolRouteFigures,
		Report:  poolRouteReport,

		Headline: "max rel error avg-pool gradient vs g/k^2",
	})
}

// poolRouteCase is one window/stride pair and what was measured on it.
type poolRouteCase struct {
	k, s, oh, ow int
	g            []float64 // upstream gradient [N, C, OH, OW]
	avgY, maxY   []float64 // outputs
	avgG, maxG   []float64 // input gradients from the adjoint core
	avgErr       float64   // normwise relative error of avgG vs the reference Σ g/k²
	avgExact     bool      // avgG equals the reference bit for bit
	maxExact     bool      // maxG equals the reference (g at each window's first arg-max) bit for bit
	maxLeak      int       // elements that are no arg-max but got a non-zero gradient
	multiArg     int       // elements that are the first arg-max of more than one window
	sumG         float64   // Σ g
	sumAvg       float64   // Σ avgG
	sumMax       float64   // Σ maxG
	cover        int       // elements covered by no window
	coverLeak    int       // of those, elements that got a non-zero gradient from either layer
}

// overlap reports whether the case's windows overlap (stride below the
// window).
func (cs poolRouteCase) overlap() bool { return cs.s < cs.k }

// poolRouteTie is the outcome of the ties test: a plateau image whose
// windows hold their maximum several times.
type poolRouteTie struct {
	size, k, s    int
	tied, windows int  // windows holding their maximum more than once, of all
	ok            bool // every gradient went to the first maximum in row-major order
}

// poolRouteResult is what computePoolRoute finds.
type poolRouteResult struct {
	x            []float64 // the input [N, C, size, size]
	cases        []poolRouteCase
	tie          poolRouteTie
	fdSize       int // the finite-difference input is fdSize × fdSize
	fdk, fds     int // its window and stride
	crMax, crAvg adjoint.CheckResult
	seconds      float64 // pooling forward + reverse, both layers, all cases
}

// poolRouteRefs computes the two reference gradients of the windows
// k×k with stride s over x [planes, h, w] for the upstream gradient g:
// avg sends g/k² to every element of the window, max sends g to the first
// maximum in row-major order. argmax counts the windows whose first
// maximum an element is.
func poolRouteRefs(x, g []float64, planes, h, w, k, s int) (refAvg, refMax []float64, argmax []int, covered []bool) {
	oh, ow := (h-k)/s+1, (w-k)/s+1
	refAvg = make([]float64, len(x))
	refMax = make([]float64, len(x))
	argmax = make([]int, len(x))
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
				argmax[best]++
			}
		}
	}
	return refAvg, refMax, argmax, covered
}

// poolRouteRun pools x both ways and differentiates ⟨g, y⟩.
func poolRouteRun(x *adjoint.Tensor, g []float64, k, s int) (avgY, maxY, avgG, maxG []float64) {
	xv := adjoint.Param(x)
	ya := nn.NewAvgPool2D(k, s).Forward(xv)
	ym := nn.NewMaxPool2D(k, s).Forward(xv)
	gt := adjoint.FromData(g, ya.Shape()...)
	avgG = adjoint.VJP(ya, gt, xv)[0].Data
	maxG = adjoint.VJP(ym, gt, xv)[0].Data
	return ya.Value().Data, ym.Value().Data, avgG, maxG
}

func poolRoutePowerOfTwo(n int) bool { return n > 0 && n&(n-1) == 0 }

// stride returns the stride of case i (0 in the config means the window).
func (c poolRouteConfig) stride(i int) int {
	if c.Strides[i] == 0 {
		return c.Windows[i]
	}
	return c.Strides[i]
}

func computePoolRoute(env *runner.Env, c poolRouteConfig) (*poolRouteResult, error) {
	rng := env.Rand()
	n, ch, h := c.Batch, c.Channels, c.Size
	planes := n * ch
	x := adjoint.New(n, ch, h, h)
	for i := range x.Data {
		x.Data[i] = rng.NormFloat64()
	}
	res := &poolRouteResult{x: x.Data}
	var poolT time.Duration
	for ci, k := range c.Windows {
		if err := env.Context().Err(); err != nil {
			return nil, err
		}
		s := c.stride(ci)
		env.Progress(ci, len(c.Windows), fmt.Sprintf("window %d, stride %d", k, s))
		oh, ow := (h-k)/s+1, (h-k)/s+1
		// A positive upstream gradient, so that where it goes (and where
		// it does not) is plain to see in the figures.
		g := make([]float64, planes*oh*ow)
		for i := range g {
			g[i] = 0.5 + rng.Float64()
		}
		start := time.Now()
		avgY, maxY, avgG, maxG := poolRouteRun(x, g, k, s)
		poolT += time.Since(start)
		refAvg, refMax, argmax, covered := poolRouteRefs(x.Data, g, planes, h, h, k, s)
		cs := poolRouteCase{k: k, s: s, oh: oh, ow: ow, g: g, avgY: avgY, maxY: maxY,
			avgG: avgG, maxG: maxG, avgErr: relErr(avgG, refAvg), avgExact: true, maxExact: true}
		for i := range avgG {
			cs.avgExact = cs.avgExact && avgG[i] == refAvg[i]
			cs.maxExact = cs.maxExact && maxG[i] == refMax[i]
			if argmax[i] == 0 && maxG[i] != 0 {
				cs.maxLeak++
			}
			if argmax[i] > 1 {
				cs.multiArg++
			}
			if !covered[i] {
				cs.cover++
				if avgG[i] != 0 || maxG[i] != 0 {
					cs.coverLeak++
				}
			}
			cs.sumAvg += avgG[i]
			cs.sumMax += maxG[i]
		}
		for _, v := range g {
			cs.sumG += v
		}
		res.cases = append(res.cases, cs)
	}
	res.seconds = poolT.Seconds()

	// Ties: a plateau image where every window holds its maximum several
	// times. The gradient must go to the first maximum in row-major order.
	res.tie = poolRouteTies(h, c.Windows[0], c.stride(0))

	// Reverse mode against central differences (random input, so no ties
	// and max pooling is differentiable there).
	res.fdSize = min(h, 8)
	res.fdk, res.fds = min(c.Windows[len(c.Windows)-1], res.fdSize), c.stride(len(c.Windows)-1)
	fdx := adjoint.New(1, 1, res.fdSize, res.fdSize)
	for i := range fdx.Data {
		fdx.Data[i] = rng.NormFloat64()
	}
	set := &adjoint.CheckSettings{Seed: uint64(env.Seed), FirstOrderOnly: true}
	res.crMax = adjoint.Check(func(v ...*adjoint.Var) *adjoint.Var {
		return adjoint.Sum(adjoint.Square(nn.NewMaxPool2D(res.fdk, res.fds).Forward(v[0])))
	}, []*adjoint.Tensor{fdx}, set)
	res.crAvg = adjoint.Check(func(v ...*adjoint.Var) *adjoint.Var {
		return adjoint.Sum(adjoint.Square(nn.NewAvgPool2D(res.fdk, res.fds).Forward(v[0])))
	}, []*adjoint.Tensor{fdx}, set)
	return res, nil
}

// poolRouteTag names the figure files of a case.
func poolRouteTag(cs poolRouteCase) string { return fmt.Sprintf("k%d_s%d", cs.k, cs.s) }

// poolRouteShown returns the indices of the cases drawn: the first and the
// last.
func poolRouteShown(n int) []int {
	if n == 1 {
		return []int{0}
	}
	return []int{0, n - 1}
}

func poolRouteFigures(dir runner.Dir, c poolRouteConfig, res *poolRouteResult) error {
	h := c.Size
	hh := h * h
	opt := &plots.Options{WidthPx: 440, HeightPx: 380}
	var jobs []func() error
	save := func(file, title, label string, z []float64, rows, cols int, zr plots.Extent) {
		jobs = append(jobs, func() error {
			hm := plots.HeatMap{Title: title, XLabel: "column", YLabel: "row", ColorLabel: label,
				Z: z, Rows: rows, Cols: cols, ZRange: zr}
			if zr != (plots.Extent{}) {
				hm.ColorMap = moreland.ExtendedBlackBody()
			}
			_, err := plots.Save(dir.Path(file), hm, opt)
			return err
		})
	}
	save("input.png", "Input x[0, 0]", "x", res.x[:hh], h, h, plots.Extent{})
	for _, i := range poolRouteShown(len(res.cases)) {
		cs := res.cases[i]
		o := cs.oh * cs.ow
		if i == 0 {
			save("upstream.png", "Upstream gradient g", "g", cs.g[:o], cs.oh, cs.ow, plots.Extent{Min: 0, Max: 1.5})
			save("avg_output.png", "Average pooling: output", "y", cs.avgY[:o], cs.oh, cs.ow, plots.Extent{})
			save("max_output.png", "Max pooling: output", "y", cs.maxY[:o], cs.oh, cs.ow, plots.Extent{})
		}
		tag := poolRouteTag(cs)
		save("avg_grad_"+tag+".png", fmt.Sprintf("Average pooling (k=%d, s=%d): dL/dx", cs.k, cs.s), "dL/dx", cs.avgG[:hh], h, h, plots.Extent{Min: 0, Max: poolRouteMax(cs.avgG[:hh])})
		save("max_grad_"+tag+".png", fmt.Sprintf("Max pooling (k=%d, s=%d): dL/dx", cs.k, cs.s), "dL/dx", cs.maxG[:hh], h, h, plots.Extent{Min: 0, Max: poolRouteMax(cs.maxG[:hh])})
	}
	return parallel(jobs)
}

// poolRouteLayout describes how a case's windows lie on the input, from its
// window, stride and size: whether they overlap, and which elements lie in
// no window ("" if none).
func poolRouteLayout(cs poolRouteCase, size int) (windows, uncovered string) {
	switch {
	case cs.s < cs.k:
		windows = fmt.Sprintf("With stride %d < k = %d the windows overlap", cs.s, cs.k)
	case cs.s == cs.k:
		windows = fmt.Sprintf("With stride %d = k the windows tile the input without overlapping", cs.s)
	default:
		windows = fmt.Sprintf("With stride %d > k = %d the windows leave gaps between them", cs.s, cs.k)
	}
	if cs.cover > 0 {
		last := size - ((cs.oh-1)*cs.s + cs.k) // rows (and columns) beyond the last window
		what := "row and column"
		if last > 1 {
			what = fmt.Sprintf("%d rows and columns", last)
		}
		uncovered = fmt.Sprintf("The last %s of the %d×%d input lie in no window and get zero.", what, size, size)
		if cs.s > cs.k {
			uncovered = "Those elements, and the last ones, lie in no window and get zero."
		}
	} else if cs.s > cs.k {
		uncovered = "Elements in the gaps lie in no window and get zero."
	}
	return windows, uncovered
}

func poolRouteReport(rep *runner.Report, c poolRouteConfig, res *poolRouteResult) {
	h := c.Size
	rep.Heading("Setup")
	rep.Paraf("A batch of %d samples with %d channels of %d×%d standard normal values is pooled by nn.AvgPool2D and nn.MaxPool2D "+
		"for each (window k, stride s) in %s. The upstream gradient g = dL/dy is drawn uniformly from [0.5, 1.5] "+
		"(positive, so that the figures show plainly where it goes), and the adjoint core's reverse pass gives dL/dx. "+
		"The references, computed with plain loops over the windows:",
		c.Batch, c.Channels, h, h, poolRouteCaseList(c))
	rep.Code("average:  dL/dx[p] = Σ_{windows w ∋ p} g[w] / k²\n" +
		"max:      dL/dx[p] = Σ_{windows w whose first arg-max is p} g[w]     (0 for every other element)")

	rep.Heading("Results")
	rep.Para("Per case: the output size, the elements in no window, average pooling's gradient against the formula (normwise relative error, " +
		"and whether bit-identical), max pooling's (bit-identical, and elements off every arg-max that got a gradient), " +
		"and how far Σ dL/dx is from Σ g (relative, the larger of the two layers).")
	t := rep.Table("k", "s", "output", "in no window", "avg: rel. error", "avg: identical", "max: identical", "max: off arg-max", "Σ dL/dx vs Σ g")
	var worstAvg, worstSum float64
	leaks, coverLeaks := 0, 0
	var exact, inexact []string
	for _, cs := range res.cases {
		sumErr := max(math.Abs(cs.sumAvg-cs.sumG)/cs.sumG, math.Abs(cs.sumMax-cs.sumG)/cs.sumG)
		t.Row(cs.k, cs.s, fmt.Sprintf("%d×%d", cs.oh, cs.ow), cs.cover, cs.avgErr, yesNo(cs.avgExact), yesNo(cs.maxExact), cs.maxLeak, sumErr)
		worstAvg = max(worstAvg, cs.avgErr)
		worstSum = max(worstSum, sumErr)
		leaks += cs.maxLeak
		coverLeaks += cs.coverLeak
		name := fmt.Sprintf("k = %d, s = %d", cs.k, cs.s)
		if cs.avgExact {
			exact = append(exact, name)
		} else {
			inexact = append(inexact, fmt.Sprintf("%s (relative error %s)", name, runner.Num(cs.avgErr)))
		}
	}
	sumTol := runner.Tol(float64(c.Batch*c.Channels*h*h) * 0x1p-52) // rounding of an N-term sum of positive terms
	rep.Paraf("Both layers conserve the upstream gradient, since each window hands out exactly what it receives, split in k² equal parts "+
		"or given whole to one element: Σ dL/dx and Σ g differ by at most %s relative over both layers and all cases, %s N·ε = %s "+
		"for the N = %d terms summed in different orders.",
		runner.Num(worstSum), runner.Compare(worstSum, float64(sumTol)), runner.Num(float64(sumTol)), c.Batch*c.Channels*h*h)
	rep.Paraf("Average pooling scales each window's sum by 1/k² rounded to float64, and its reverse pass hands each element g·fl(1/k²); "+
		"the formula divides by k². When k² is a power of two and the windows do not overlap, both are exact and must agree bit for bit; "+
		"otherwise they may differ in the last bit (and shares from overlapping windows may be summed in another order), "+
		"so the check allows a relative error of `avg_tol` = %s. Bit-identical: %s; not: %s.",
		runner.Num(float64(c.AvgTol)), poolRouteJoin(exact), poolRouteJoin(inexact))
	var uncovered []string
	for _, cs := range res.cases {
		if cs.cover > 0 {
			uncovered = append(uncovered, fmt.Sprintf("%d elements at k = %d, s = %d", cs.cover, cs.k, cs.s))
		}
	}
	if len(uncovered) > 0 {
		rep.Paraf("Elements that no window reaches (%s) %s.", strings.Join(uncovered, "; "),
			runner.Choose(coverLeaks == 0, "get nothing from either layer", fmt.Sprintf("should get nothing, but %d of them got a gradient", coverLeaks)))
	}

	rep.Subheading("Input")
	rep.Figure("input.png", "Input, sample 0, channel 0 (standard normal).")
	for _, i := range poolRouteShown(len(res.cases)) {
		cs := res.cases[i]
		tag := poolRouteTag(cs)
		rep.Subheading(fmt.Sprintf("Window %d×%d, stride %d", cs.k, cs.k, cs.s))
		if i == 0 {
			rep.Figure("upstream.png", "The upstream gradient g, one value per window (sample 0, channel 0), drawn from [0.5, 1.5].")
			rep.Figure("avg_output.png", "Average pooling's output: the mean of each window of the input.")
			rep.Figure("max_output.png", "Max pooling's output: the maximum of each window.")
		}
		windows, uncovered := poolRouteLayout(cs, h)
		avg := fmt.Sprintf("Average pooling's input gradient (sample 0, channel 0): each element gets g/k² = g/%d from every window holding it. %s", cs.k*cs.k, windows)
		switch {
		case cs.overlap():
			avg += ", so elements shared by several windows collect several shares."
		case cs.s == cs.k && cs.cover == 0:
			avg += ", so the map is the upstream gradient blown up into k×k blocks."
		default:
			avg += "."
		}
		rep.Figure("avg_grad_"+tag+".png", strings.TrimSpace(avg+" "+uncovered))
		mx := "Max pooling's input gradient (sample 0, channel 0): all of each window's g at its first arg-max, zero everywhere else. " + windows
		if cs.multiArg > 0 {
			mx += fmt.Sprintf(": %s the maximum of more than one window (over the whole batch) and collect all their g.",
				runner.Count(cs.multiArg, "element is", "elements are"))
		} else {
			mx += ", so no element receives the g of more than one window."
		}
		mx = strings.TrimSpace(mx + " " + uncovered)
		rep.Figure("max_grad_"+tag+".png", mx)
	}

	tie := res.tie
	rep.Subheading("Ties")
	rep.Paraf("A %d×%d plateau image (values 0, 1, 2 in 2×2 blocks) max-pooled with window %d and stride %d: "+
		"%d of %d windows hold their maximum more than once. nn.MaxPool2D documents that such a window's gradient goes to its first maximum "+
		"in row-major order (the topmost row holding one, its leftmost): %s.",
		tie.size, tie.size, tie.k, tie.s, tie.tied, tie.windows,
		runner.Choose(tie.ok, "every window's gradient went there", "some window's gradient went elsewhere, NOT as documented"))
	rep.Subheading("adjoint.Check (first order)")
	rep.Paraf("Σ y² for one %d×%d random input with window %d and stride %d: reverse mode, forward mode and central differences.",
		res.fdSize, res.fdSize, res.fdk, res.fds)
	ct := rep.Table("layer", "reverse vs FD (rel.)", "forward vs FD (rel.)", "reverse vs forward (rel.)")
	ct.Row("average pooling", res.crAvg.RevFD.MaxRel, res.crAvg.FwdFD.MaxRel, res.crAvg.RevFwd.MaxRel)
	ct.Row("max pooling", res.crMax.RevFD.MaxRel, res.crMax.FwdFD.MaxRel, res.crMax.RevFwd.MaxRel)

	rep.Timing("pooling forward + reverse, both layers, all cases", res.seconds)
	rep.Metric("max rel error avg-pool gradient vs g/k^2", worstAvg)
	rep.Metric("non-arg-max elements with max-pool gradient", float64(leaks))
	rep.Metric("max rel deviation of sum of input gradient from sum of g", worstSum)

	for _, cs := range res.cases {
		name := fmt.Sprintf("k=%d, s=%d", cs.k, cs.s)
		if poolRoutePowerOfTwo(cs.k*cs.k) && !cs.overlap() {
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
	// Two sums of the same N = batch·channels·size² positive terms in
	// different orders differ by at most about N·ε relative.
	rep.Check(fmt.Sprintf("Σ dL/dx = Σ g for both layers, all cases (relative; tol N·ε, N = %d)", c.Batch*c.Channels*h*h), worstSum, sumTol)
	rep.CheckTrue("ties go to the first maximum in row-major order", tie.ok,
		fmt.Sprintf("%d of %d windows tied; gradients identical to the first-maximum rule: %s", tie.tied, tie.windows, yesNo(tie.ok)))
	rep.Check("adjoint.Check: max pooling, reverse vs central differences", res.crMax.RevFD.MaxRel, c.FDTol)
	rep.Check("adjoint.Check: average pooling, reverse vs central differences", res.crAvg.RevFD.MaxRel, c.FDTol)
}

// poolRouteJoin lists names, or says "none".
func poolRouteJoin(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// poolRouteCaseList describes the cases, as in "(2, 2), (3, 2)".
func poolRouteCaseList(c poolRouteConfig) string {
	s := make([]string, len(c.Windows))
	for i, k := range c.Windows {
		s[i] = fmt.Sprintf("(%d, %d)", k, c.stride(i))
	}
	return strings.Join(s, ", ")
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
// over 2×2 blocks offset by one, so windows hold their maximum several
// times) and reports whether every window's gradient went to its first
// maximum in row-major order.
func poolRouteTies(h, k, s int) poolRouteTie {
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
	tie := poolRouteTie{size: h, k: k, s: s, windows: oh * ow, ok: true}
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
				tie.tied++
			}
		}
	}
	for i := range gx {
		tie.ok = tie.ok && gx[i] == ref[i]
	}
	return tie
}
