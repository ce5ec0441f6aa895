package main

import (
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestPoolRouteRefs checks the reference routing on a hand-worked 4×4
// example with 2×2 windows.
func TestPoolRouteRefs(t *testing.T) {
	x := []float64{
		1, 5, 0, 0,
		2, 3, 0, 7,
		9, 9, 4, 4,
		9, 1, 4, 4,
	}
	g := []float64{10, 20, 30, 40}
	avg, mx, arg, cov := poolRouteRefs(x, g, 1, 4, 4, 2, 2)
	wantMax := []float64{
		0, 10, 0, 0,
		0, 0, 0, 20,
		30, 0, 40, 0, // ties: the first maximum in row-major order
		0, 0, 0, 0,
	}
	for i := range x {
		if mx[i] != wantMax[i] {
			t.Errorf("max routing [%d] = %g, want %g", i, mx[i], wantMax[i])
		}
		if (arg[i] == 1) != (wantMax[i] != 0) || arg[i] > 1 || !cov[i] {
			t.Errorf("argmax/covered [%d] = %v/%v", i, arg[i], cov[i])
		}
		w := (i/4/2)*2 + (i%4)/2
		if avg[i] != g[w]/4 {
			t.Errorf("avg routing [%d] = %g, want %g", i, avg[i], g[w]/4)
		}
	}
}

func TestPoolRouteValidate(t *testing.T) {
	c := *runner.Defaults[poolRouteConfig]("pooling_routing", false)
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c.Strides = c.Strides[:1]
	if err := c.Validate(); err == nil {
		t.Error("strides shorter than windows accepted")
	}
}

// TestPoolRouteCaptions checks that the captions say the windows overlap
// exactly when the stride is below the window, and mention elements in no
// window exactly when there are some.
func TestPoolRouteCaptions(t *testing.T) {
	c := *runner.Defaults[poolRouteConfig]("pooling_routing", true)
	for _, tc := range []struct {
		k, s           int
		overlap, uncov bool
	}{
		{2, 2, false, false}, {3, 2, true, true}, {2, 1, true, false}, {2, 3, false, true},
	} {
		c.Windows, c.Strides = []int{tc.k}, []int{tc.s}
		res, err := computePoolRoute(&runner.Env{Seed: 1}, c)
		if err != nil {
			t.Fatal(err)
		}
		var rep runner.Report
		poolRouteReport(&rep, c, res)
		var captions []string
		for _, line := range strings.Split(rep.Text(), "\n") {
			if strings.Contains(line, "input gradient") && strings.HasPrefix(line, "**Figure") {
				captions = append(captions, line)
			}
		}
		if len(captions) != 2 {
			t.Fatalf("k=%d s=%d: %d gradient captions:\n%s", tc.k, tc.s, len(captions), rep.Text())
		}
		for _, cap := range captions {
			if got := strings.Contains(cap, "windows overlap"); got != tc.overlap {
				t.Errorf("k=%d s=%d: says overlap %v, want %v: %s", tc.k, tc.s, got, tc.overlap, cap)
			}
			if got := strings.Contains(cap, "no window"); got != tc.uncov {
				t.Errorf("k=%d s=%d: mentions uncovered elements %v, want %v: %s", tc.k, tc.s, got, tc.uncov, cap)
			}
		}
	}
}
