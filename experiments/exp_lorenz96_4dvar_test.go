package main

import (
	"os"
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestL96WindowMarked checks that the figures with a time axis beyond the
// window mark the assimilation window (its legend entry is text in the
// SVG), and that the report flags a fit stopped at its iteration limit.
func TestL96WindowMarked(t *testing.T) {
	c := *runner.Defaults[l96Config]("lorenz96_4dvar", true)
	res, err := computeL96(&runner.Env{Seed: 1}, c)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := l96Figures(runner.DirAt(dir), c, res); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"forecast_error.svg", "site_0.svg", "site_1.svg"} {
		b, err := os.ReadFile(dir + "/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "assimilation window") {
			t.Errorf("%s does not mark the assimilation window", f)
		}
	}

	c.MaxIterations = 3
	res, err = computeL96(&runner.Env{Seed: 1}, c)
	if err != nil {
		t.Fatal(err)
	}
	var rep runner.Report
	l96Report(&rep, c, res)
	if text := rep.Text(); !strings.Contains(text, "2 runs stopped at the iteration limit without converging: noisy data (limit 3); noise-free data (limit 3).") {
		t.Errorf("runs stopped after 3 iterations are not flagged:\n%s", text)
	}
}
