package ode

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// lvReference reads testdata/cvodes_lotka_volterra.txt, the reference values
// of CVODES's cvsLotkaVolterra_ASA example: map[source][quantity].
func lvReference(t testing.TB) map[string]map[string][]float64 {
	t.Helper()
	ref := map[string]map[string][]float64{}
	for key, v := range readReference(t, "testdata/cvodes_lotka_volterra.txt") {
		source, quantity, _ := strings.Cut(key, " ")
		if ref[source] == nil {
			ref[source] = map[string][]float64{}
		}
		ref[source][quantity] = v
	}
	return ref
}

// readReference reads lines of "name … v1 v2 …", skipping blank lines and
// comments: the leading words that are not numbers, joined by single
// spaces, name the values that follow.
func readReference(t testing.TB, file string) map[string][]float64 {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ref := map[string][]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var name []string
		var vals []float64
		for _, w := range strings.Fields(line) {
			v, err := strconv.ParseFloat(w, 64)
			if err != nil && vals == nil {
				name = append(name, w)
				continue
			}
			if err != nil {
				t.Fatalf("%s: %q is not a number", file, w)
			}
			vals = append(vals, v)
		}
		ref[strings.Join(name, " ")] = vals
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ref
}

// elemRel returns max |gotᵢ − wantᵢ| / |wantᵢ|, the strictest measure.
func elemRel(got, want []float64) float64 {
	var m float64
	for i := range want {
		m = math.Max(m, math.Abs(got[i]-want[i])/math.Abs(want[i]))
	}
	return m
}

func lvProblem(sys System) Problem {
	return Problem{System: sys, T0: 0, T1: 10, Y0: lvY0, P: lvP}
}

var lvCost = Cost{Terminal: SquaredError([]float64{1, 1})}

// TestLotkaVolterraReference: every sensitivity method with every adaptive
// solver (and fixed-step RK4) agrees with the converged reference values,
// component by component, at CVODES's tolerances: to 1e-7 relative (the
// requirement is 1e-6; the reference file expects about 1e-7), and with
// CVODES's own output to its accuracy of about 3e-7.
func TestLotkaVolterraReference(t *testing.T) {
	ref := lvReference(t)
	conv, cv := ref["converged"], ref["cvodes"]
	type solverCase struct {
		s   Solver
		set *Settings
	}
	tight := &Settings{RTol: 1e-10, ATol: 1e-14}
	solvers := []solverCase{
		{BS3, tight}, {DP5, tight}, {Tsit5, tight}, {Rodas4, tight},
		{RK4, &Settings{Step: 0.002}},
	}
	methods := []func() Sensitivity{
		func() Sensitivity { return &Forward{} },
		func() Sensitivity { return &Backsolve{} },
		func() Sensitivity { return &Interpolating{} },
		func() Sensitivity { return &Discrete{} },
	}
	for _, sc := range solvers {
		for _, mk := range methods {
			m := mk()
			res, err := Gradient(lvProblem(lotkaVolterra{}), lvCost, sc.s, m, sc.set)
			if err != nil {
				t.Errorf("%v, %v: %v", sc.s, m, err)
				continue
			}
			eu := elemRel(res.YT, conv["u"])
			ey := elemRel(res.DY0, conv["dgdu0"])
			ep := elemRel(res.DP, conv["dgdp"])
			ec := math.Max(elemRel(res.DY0, cv["dgdu0"]), elemRel(res.DP, cv["dgdp"]))
			t.Logf("%-6v %-22v rel err vs converged: u %.1e  dg/du0 %.1e  dg/dp %.1e  (vs CVODES %.1e)", sc.s, m, eu, ey, ep, ec)
			if eu > 1e-7 || ey > 1e-7 || ep > 1e-7 {
				t.Errorf("%v, %v: relative errors u %g, dg/du0 %g, dg/dp %g exceed 1e-7", sc.s, m, eu, ey, ep)
			}
			if ec > 2e-6 {
				t.Errorf("%v, %v: relative error %g against CVODES's output", sc.s, m, ec)
			}
		}
	}
	// The same through the automatic-differentiation adapter, and through
	// finite-difference fallbacks for a System with Eval only.
	for _, sys := range []System{tracedLV, bareLV{}} {
		res, err := Gradient(lvProblem(sys), lvCost, DP5, &Interpolating{}, tight)
		if err != nil {
			t.Fatal(err)
		}
		e := math.Max(elemRel(res.DY0, conv["dgdu0"]), elemRel(res.DP, conv["dgdp"]))
		t.Logf("DP5    interpolating, %T: rel err %.1e", sys, e)
		if e > 1e-7 {
			t.Errorf("%T: relative error %g", sys, e)
		}
	}
}
