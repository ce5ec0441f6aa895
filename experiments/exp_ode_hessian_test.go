package main

import (
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestODEHessReferenceCopy keeps the experiment's copy of CVODES's values
// identical to the ode package's test fixture, the one its tests check.
func TestODEHessReferenceCopy(t *testing.T) {
	orig, err := os.ReadFile("../ode/testdata/cvodes_hessian.txt")
	if err != nil {
		t.Fatal(err)
	}
	if string(orig) != odeHessReference {
		t.Error("experiments/testdata/cvodes_hessian.txt differs from ode/testdata/cvodes_hessian.txt")
	}
}

// TestODEHessParse reads the printed values and rejects a malformed file.
func TestODEHessParse(t *testing.T) {
	ref, err := odeHessParse(odeHessReference)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float64{
		"G": {5.3088e-01}, "dGdp_fwd": {-1.2838e-01, 1.8037e-02}, "dGdp_adj": {-1.2838e-01, 1.8036e-02},
		"H": {1.5628e-01, -7.8678e-02, -7.8678e-02, 8.9814e-02},
	}
	for k, v := range want {
		if !slices.Equal(ref[k], v) {
			t.Errorf("%s = %v, want %v", k, ref[k], v)
		}
	}
	for _, bad := range []string{"G 5.3e-01 x", "G 1\ndGdp_fwd 1\n"} {
		if _, err := odeHessParse(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// TestODEHessUnits checks the unit of the last printed digit and the
// distance in those units, by hand.
func TestODEHessUnits(t *testing.T) {
	for _, c := range []struct{ v, unit float64 }{{5.3088e-01, 1e-5}, {-1.2838e-01, 1e-5}, {1.8036e-02, 1e-6}, {8.9814e-02, 1e-6}} {
		if u := odeHessUnit(c.v); math.Abs(u-c.unit) > 1e-12*c.unit {
			t.Errorf("unit of %v = %v, want %v", c.v, u, c.unit)
		}
	}
	// 0.53087859 is 0.141 units below 0.53088 in the 5th digit; 0.0180367609
	// is 0.761 units above 0.018036.
	if d := odeHessUnits([]float64{0.53087859, 0.0180367609}, []float64{5.3088e-01, 1.8036e-02}); math.Abs(d-0.761) > 1e-3 {
		t.Errorf("distance %v units, want 0.761", d)
	}
}

// TestODEHessConfig checks that bad values are rejected.
func TestODEHessConfig(t *testing.T) {
	for _, bad := range []func(*odeHessConfig){
		func(c *odeHessConfig) { c.Method = "backsolve" },
		func(c *odeHessConfig) { c.FitStart = []float64{1, 2} },
		func(c *odeHessConfig) { c.FitStart[0] = 100 },
		func(c *odeHessConfig) { c.FitTimes = 1 },
		func(c *odeHessConfig) { c.RTol = 0 },
		func(c *odeHessConfig) { c.MaxIter = 0 },
	} {
		c := *runner.Defaults[odeHessConfig]("ode_hessian", false)
		bad(&c)
		if c.Validate() == nil {
			t.Errorf("accepted %+v", c)
		}
	}
}

// odeHessFakeResult is a result with CVODES's printed values as the
// computed ones (so every check passes) and Newton ahead of L-BFGS.
func odeHessFakeResult(t *testing.T) *odeHessResult {
	ref, err := odeHessParse(odeHessReference)
	if err != nil {
		t.Fatal(err)
	}
	res := &odeHessResult{ref: ref, g: ref["G"][0], gradRev: ref["dGdp_fwd"], gradFwd: ref["dGdp_fwd"], gradFD: ref["dGdp_fwd"]}
	for i, name := range []string{"forward over adjoint", "reverse over adjoint", "forward over forward", "central differences of the adjoint gradient", "second differences of G"} {
		res.hess = append(res.hess, odeHessEstimate{name: name, how: "by hand", exact: i < 3, h: slices.Clone(ref["H"])})
	}
	x := []float64{1, 2, 1, 1, 1}
	res.fit = odeHessFit{truth: x, eig: []float64{0.1, 8},
		runs: []odeHessRun{
			{name: "Newton", x: x, fs: []float64{1, 0.1, 0.01}, gnorms: []float64{1, 1e-5, 1e-12}, iters: 2, solves: 30, adjoints: 50, status: "GradientThreshold"},
			{name: "L-BFGS", x: x, fs: []float64{1, 0.5, 0.1, 0.01}, gnorms: []float64{1, 0.1, 1e-5, 1e-12}, iters: 3, solves: 4, adjoints: 4, status: "GradientThreshold"},
		}}
	return res
}

// TestODEHessReportFollowsTheNumbers checks that the outcome sentences and
// checks follow the result.
func TestODEHessReportFollowsTheNumbers(t *testing.T) {
	c := *runner.Defaults[odeHessConfig]("ode_hessian", false)
	res := odeHessFakeResult(t)
	var rep runner.Report
	odeHessReport(&rep, c, res)
	text := rep.Text()
	for _, want := range []string{"Newton converges in 2 iterations, fewer than L-BFGS's 3", "Newton is the more expensive"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	if !rep.Passed() {
		t.Fatalf("the fake result should pass: %v", rep.Failed())
	}

	// Spoil: L-BFGS ahead, one Hessian off by two printed digits, Newton
	// not converged.
	res.fit.runs[1].iters = 1
	res.fit.runs[0].gnorms[2] = 1e-3
	res.hess[1].h[0] += 2e-5
	rep = runner.Report{}
	odeHessReport(&rep, c, res)
	text = rep.Text()
	if !strings.Contains(text, "Newton converges in 2 iterations, not fewer than L-BFGS's 1") {
		t.Errorf("the sentence does not follow the iteration counts:\n%s", text)
	}
	failed := strings.Join(rep.Failed(), "\n")
	for _, want := range []string{"H by reverse over adjoint vs CVODES", "Newton converged", "reverse over adjoint and forward over forward vs forward over adjoint"} {
		if !strings.Contains(failed, want) {
			t.Errorf("check %q does not fail; failed:\n%s", want, failed)
		}
	}
}
