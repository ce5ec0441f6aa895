package main

import (
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestMAMLSinePaperConfig checks that the paper-scale config the report
// compares with decodes completely and is valid, and that it is the larger
// run the report says the default is smaller than.
func TestMAMLSinePaperConfig(t *testing.T) {
	paper, err := mamlSinePaperConfig(mamlSineDefaults())
	if err != nil {
		t.Fatal(err)
	}
	d := mamlSineDefaults()
	if paper.Iterations <= d.Iterations || paper.MetaBatch <= d.MetaBatch {
		t.Errorf("paper scale %d iterations × %d tasks is not larger than the default %d × %d", paper.Iterations, paper.MetaBatch, d.Iterations, d.MetaBatch)
	}
}

// TestMAMLSineScaleFollowsTheConfigs checks that the report's statement of
// scale is made from the two configs' numbers.
func TestMAMLSineScaleFollowsTheConfigs(t *testing.T) {
	paper := mamlSineDefaults()
	paper.Iterations, paper.MetaBatch, paper.BeatFactor = 70000, 25, 0.5
	scale := func(c mamlSinusoidConfig) string {
		var rep runner.Report
		mamlSineScale(&rep, c, paper)
		return rep.Text()
	}
	if text := scale(paper); !strings.Contains(text, "has the settings of the paper-scale config") {
		t.Errorf("a run at paper scale:\n%s", text)
	}
	text := scale(mamlSineDefaults())
	for _, want := range []string{
		"smaller than the paper-scale config",
		"1 000 iterations of 10 tasks (10 000 task adaptations)",
		"70 000 iterations of 25 tasks (1 750 000 task adaptations)",
		"1 : 70 in iterations, 1 : 175 in task adaptations",
		"3 keys: `iterations` = 1000 (paper scale: 70000), `meta_batch` = 10 (paper scale: 25), `beat_factor` = 0.8 (paper scale: 0.5)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the default run's scale does not say %q:\n%s", want, text)
		}
	}
	big := paper
	big.Iterations = 140000
	if text := scale(big); !strings.Contains(text, "larger than the paper-scale config") || !strings.Contains(text, "2 : 1 in iterations") {
		t.Errorf("a run twice the paper's length:\n%s", text)
	}
}

// TestMAMLSineCount checks the grouping of large counts.
func TestMAMLSineCount(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1 000", 70000: "70 000", 1750000: "1 750 000"} {
		if got := mamlSineCount(n); got != want {
			t.Errorf("mamlSineCount(%d) = %q, want %q", n, got, want)
		}
	}
}
