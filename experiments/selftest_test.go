package main

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strings"
	"time"
)

// This file registers two experiments that exist only in the test binary:
// selftest, which exercises every part of the Run and Report API and can be
// told to fail in each way a run can fail, and noop, which records no checks.

// selftestConfig is the [params] table of the selftest experiment.
type selftestConfig struct {
	N      int            `toml:"n"`      // samples to draw, 1 to 100000
	Scale  float64        `toml:"scale"`  // multiplies the samples, 1e-6 to 1e6
	Label  string         `toml:"label"`  // first line of the text figure
	Tol    float64        `toml:"tol"`    // tolerance of the relative-error check, 0 to 1
	Fail   string         `toml:"fail"`   // how to fail: none, error, panic, check, wait, nofigure
	Solver selftestSolver `toml:"solver"` // a nested table, [params.solver]
}

// selftestSolver is a nested table of selftestConfig.
type selftestSolver struct {
	Method string  `toml:"method"` // "euler" or "rk4"
	Rtol   float64 `toml:"rtol"`   // 0 < rtol <= 0.1
}

// Validate checks every key's range.
func (c selftestConfig) Validate() error {
	errs := []error{
		inRange("n", c.N, 1, 100000),
		inRange("scale", c.Scale, 1e-6, 1e6),
		inRange("tol", c.Tol, 0, 1),
		oneOf("fail", c.Fail, "none", "error", "panic", "check", "wait", "nofigure"),
		oneOf("solver.method", c.Solver.Method, "euler", "rk4"),
	}
	if !(c.Solver.Rtol > 0 && c.Solver.Rtol <= 0.1) {
		errs = append(errs, paramErrorf("solver.rtol", "must be in (0, 0.1], got %v", c.Solver.Rtol))
	}
	return errors.Join(errs...)
}

func init() {
	register(Spec[selftestConfig]{
		Name:    "selftest",
		Summary: "Draws seeded samples, writes two figures and checks their mean (test-only).",
		Defaults: func() selftestConfig {
			return selftestConfig{N: 200, Scale: 1.5, Label: "selftest samples", Tol: 1e-9, Fail: "none",
				Solver: selftestSolver{Method: "rk4", Rtol: 1e-6}}
		},
		Quick: func(c *selftestConfig) { c.N = min(c.N, 40) },
		Run:   runSelftest,
	})
	register(Spec[struct{}]{
		Name:    "noop",
		Summary: "Does nothing and verifies nothing (test-only).",
		Run: func(r *Run, _ struct{}) error {
			r.Report.Para("Nothing to see here.")
			return nil
		},
	})
}

func runSelftest(r *Run, c selftestConfig) error {
	start := time.Now()
	rng := r.Rand()
	xs := make([]float64, c.N)
	for i := range xs {
		xs[i] = c.Scale * rng.NormFloat64()
		r.Progress(i+1, c.N, "sampling")
	}
	if err := r.Context().Err(); err != nil {
		return err
	}
	switch c.Fail {
	case "error":
		os.WriteFile(r.Path("partial.txt"), []byte("half-written"), 0o644)
		return errors.New("asked to fail by the config (fail = \"error\")")
	case "panic":
		panic("asked to panic by the config")
	case "wait":
		r.Logf("waiting for cancellation")
		<-r.Context().Done()
		return r.Context().Err()
	}

	// Two ways of computing the mean, compared as a verification check.
	var sum, kahan, comp float64
	for _, x := range xs {
		sum += x
		y := x - comp
		t := kahan + y
		comp = (t - kahan) - y
		kahan = t
	}
	mean, meanK := sum/float64(c.N), kahan/float64(c.N)
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	variance := ss / float64(c.N)

	var txt strings.Builder
	fmt.Fprintln(&txt, c.Label)
	for _, x := range xs {
		fmt.Fprintf(&txt, "%.17g\n", x)
	}
	if err := os.WriteFile(r.Path("samples.txt"), []byte(txt.String()), 0o644); err != nil {
		return err
	}
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range 64 {
		img.SetGray(i%8, i/8, color.Gray{Y: uint8(128 + 100*math.Tanh(xs[i%len(xs)]/c.Scale))})
	}
	f, err := os.Create(r.Path("dots.png"))
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}

	rep := r.Report
	rep.Heading("Samples")
	rep.Paraf("Drew %d samples of `scale × N(0, 1)` with method `%s` (seed %d).", c.N, c.Solver.Method, r.Seed)
	tab := rep.Table("i", "sample", "sample²")
	for i := range min(5, c.N) {
		tab.Row(i, xs[i], xs[i]*xs[i])
	}
	rep.Figure("samples.txt", "The samples, one per line.")
	rep.Figure("dots.png", "The first 64 samples as grey levels.")
	if c.Fail == "nofigure" {
		rep.Figure("missing.png", "A figure that was never written.")
	}
	rep.Subheading("Raw")
	rep.Code(fmt.Sprintf("mean = %.6g\nvariance = %.6g", mean, variance))
	rep.Metric("mean", mean)
	rep.Metric("variance", variance)
	rep.Timing("sampling", time.Since(start).Seconds())

	relErr := math.Abs(mean-meanK) / math.Max(math.Abs(meanK), 1e-300)
	rep.Check("mean: naive vs compensated sum", relErr, c.Tol)
	rep.CheckTrue("variance is positive", variance > 0, fmt.Sprintf("variance %s", Num(variance)))
	if c.Fail == "check" {
		rep.CheckTrue("forced failure", false, `asked to fail by the config (fail = "check")`)
	}
	return nil
}
