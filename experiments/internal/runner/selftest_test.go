package runner

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

// This file registers experiments that exist only in the test binary:
// selftest, which exercises every part of the Env, Dir and Report API and
// can be told to fail in each way a run can fail; noop, which records no
// checks; and badquick, whose Quick loosens a tolerance for large n.

// selftestConfig is the [params] table of the selftest experiment.
type selftestConfig struct {
	N      int            `toml:"n"`      // samples to draw, 1 to 100000
	Scale  float64        `toml:"scale"`  // multiplies the samples, 1e-6 to 1e6
	Label  string         `toml:"label"`  // first line of the text figure
	Tol    Tol            `toml:"tol"`    // tolerance of the mean check
	Fail   string         `toml:"fail"`   // how to fail; see Validate
	Sleep  time.Duration  `toml:"sleep"`  // time Compute takes, in 10 steps
	Rows   int            `toml:"rows"`   // rows of the sample table
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
		InRange("n", c.N, 1, 100000),
		InRange("scale", c.Scale, 1e-6, 1e6),
		InRange("rows", c.Rows, 0, 1000),
		OneOf("fail", c.Fail, "none", "error", "panic", "check", "wait", "nofigure", "figerror"),
		OneOf("solver.method", c.Solver.Method, "euler", "rk4"),
	}
	if !(c.Solver.Rtol > 0 && c.Solver.Rtol <= 0.1) {
		errs = append(errs, ParamErrorf("solver.rtol", "must be in (0, 0.1], got %v", c.Solver.Rtol))
	}
	return errors.Join(errs...)
}

// selftestResult is what selftest computes.
type selftestResult struct {
	samples              []float64
	mean, meanK, variant float64
	sleptSteps           int
}

func init() {
	Register(Spec[selftestConfig, selftestResult]{
		Name:    "selftest",
		Theme:   "adjoint",
		Summary: "Draws seeded samples, writes two figures and checks their mean (test-only).",
		Defaults: func() selftestConfig {
			return selftestConfig{N: 200, Scale: 1.5, Label: "selftest samples", Tol: 1e-9, Fail: "none", Rows: 5,
				Solver: selftestSolver{Method: "rk4", Rtol: 1e-6}}
		},
		Quick:    func(c *selftestConfig) { c.N = min(c.N, 40) },
		Headline: "mean",
		Compute:  selftestCompute,
		Figures:  selftestFigures,
		Report:   selftestReport,
	})
	Register(Spec[struct{}, struct{}]{
		Name:    "noop",
		Theme:   "nn",
		Summary: "Does nothing and verifies nothing (test-only).",
		Compute: func(*Env, struct{}) (*struct{}, error) { return &struct{}{}, nil },
		Report:  func(r *Report, _ struct{}, _ *struct{}) { r.Para("Nothing to see here.") },
	})
	Register(Spec[badQuickConfig, struct{}]{
		Name:     "badquick",
		Theme:    "physics",
		Summary:  "Its Quick loosens a tolerance when n is large (test-only).",
		Defaults: func() badQuickConfig { return badQuickConfig{N: 10, FitTol: 1e-6} },
		Quick: func(c *badQuickConfig) {
			if c.N > 100 {
				c.FitTol = 1e-3 // the bug the runner must catch
			}
			c.N = min(c.N, 100)
		},
		Compute: func(*Env, badQuickConfig) (*struct{}, error) { return &struct{}{}, nil },
		Report:  func(r *Report, c badQuickConfig, _ *struct{}) { r.Check("zero", 0, c.FitTol) },
	})
}

// badQuickConfig is the configuration of badquick.
type badQuickConfig struct {
	N      int `toml:"n"`
	FitTol Tol `toml:"fit_tol"`
}

func selftestCompute(env *Env, c selftestConfig) (*selftestResult, error) {
	rng := env.Rand()
	res := &selftestResult{samples: make([]float64, c.N)}
	for i := range res.samples {
		res.samples[i] = c.Scale * rng.NormFloat64()
	}
	for i := range 10 {
		if c.Sleep == 0 {
			break
		}
		if err := env.Context().Err(); err != nil {
			return nil, err
		}
		env.Progress(i, 10, "sleeping")
		time.Sleep(c.Sleep / 10)
		res.sleptSteps++
	}
	switch c.Fail {
	case "error":
		return nil, errors.New(`asked to fail by the config (fail = "error")`)
	case "panic":
		panic("asked to panic by the config")
	case "wait":
		env.Logf("waiting for cancellation")
		<-env.Context().Done()
		return res, nil // the runner must notice the cancellation anyway
	}
	// Two ways of computing the mean, compared as a verification check.
	var sum, kahan, comp float64
	for _, x := range res.samples {
		sum += x
		y := x - comp
		t := kahan + y
		comp = (t - kahan) - y
		kahan = t
	}
	res.mean, res.meanK = sum/float64(c.N), kahan/float64(c.N)
	var ss float64
	for _, x := range res.samples {
		ss += (x - res.mean) * (x - res.mean)
	}
	res.variant = ss / float64(c.N)
	return res, nil
}

func selftestFigures(dir Dir, c selftestConfig, res *selftestResult) error {
	var txt strings.Builder
	fmt.Fprintln(&txt, c.Label)
	for _, x := range res.samples {
		fmt.Fprintf(&txt, "%.17g\n", x)
	}
	if err := os.WriteFile(dir.Path("samples.txt"), []byte(txt.String()), 0o644); err != nil {
		return err
	}
	if c.Fail == "figerror" {
		return errors.New(`asked to fail by the config (fail = "figerror")`)
	}
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range 64 {
		img.SetGray(i%8, i/8, color.Gray{Y: uint8(128 + 100*math.Tanh(res.samples[i%len(res.samples)]/c.Scale))})
	}
	f, err := os.Create(dir.Path("dots.png"))
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
	// The same figure as SVG, 6pt a dot: the HTML shows the PNG at this size.
	svg := `<svg xmlns="http://www.w3.org/2000/svg" width="48pt" height="48pt"><rect width="48" height="48" fill="gray"/></svg>`
	return os.WriteFile(dir.Path("dots.svg"), []byte(svg), 0o644)
}

func selftestReport(rep *Report, c selftestConfig, res *selftestResult) {
	rep.Heading("Samples")
	rep.Paraf("Drew %d samples of `scale × N(0, 1)` with method **%s**, *seeded*.", c.N, c.Solver.Method)
	tab := rep.Table("i", "sample", "sample²")
	for i := range min(c.Rows, c.N) {
		tab.Row(i, res.samples[i], res.samples[i]*res.samples[i])
	}
	rep.Figure("samples.txt", "The samples, one per line.")
	rep.Figure("dots.png", "The first 64 samples as grey levels.")
	if c.Fail == "nofigure" {
		rep.Figure("missing.png", "A figure that was never written.")
	}
	rep.Subheading("Raw")
	rep.Code(fmt.Sprintf("mean = %.6g\nvariance = %.6g", res.mean, res.variant))
	rep.Claim(res.variant > 0, "The variance is positive.", "The variance is not positive.")
	rep.Metric("mean", res.mean)
	rep.Metric("variance", res.variant)
	rep.Timing("sampling", 0.001)

	relErr := math.Abs(res.mean-res.meanK) / math.Max(math.Abs(res.meanK), 1e-300)
	rep.Check("mean: naive vs compensated sum", relErr, c.Tol)
	rep.CheckTrue("variance is positive", res.variant > 0, fmt.Sprintf("variance %s", Num(res.variant)))
	if c.Fail == "check" {
		rep.CheckTrue("forced failure", false, `asked to fail by the config (fail = "check")`)
	}
}
