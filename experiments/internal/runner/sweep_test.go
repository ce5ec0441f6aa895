package runner

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/adjointkit/adjointkit/experiments/internal/runnertest"
)

// sweepConfig is a selftest sweep: 2 values of n × 3 values of
// solver.rtol (nested) × 2 seeds = 12 runs.
const sweepConfig = `experiment = "selftest"
title = "Self-test sweep"

[params]
label = "swept"

[sweep]
n = [30, 50]
solver.rtol = [1e-3, 1e-4, 1e-5]
seeds = 2
`

// TestSweepExpansion checks the runs a [sweep] table expands into: their
// order (keys in file order, the last fastest, seeds innermost), their
// folder names, their seeds and their configurations.
func TestSweepExpansion(t *testing.T) {
	j, errs := loadConfig("dir/s.toml", []byte(sweepConfig), loadOptions{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var names []string
	for _, r := range j.sw.runs {
		names = append(names, r.name)
	}
	want := []string{
		"s,n=30,solver.rtol=0.001,seed=1", "s,n=30,solver.rtol=0.001,seed=2",
		"s,n=30,solver.rtol=0.0001,seed=1", "s,n=30,solver.rtol=0.0001,seed=2",
		"s,n=30,solver.rtol=1e-05,seed=1", "s,n=30,solver.rtol=1e-05,seed=2",
		"s,n=50,solver.rtol=0.001,seed=1", "s,n=50,solver.rtol=0.001,seed=2",
		"s,n=50,solver.rtol=0.0001,seed=1", "s,n=50,solver.rtol=0.0001,seed=2",
		"s,n=50,solver.rtol=1e-05,seed=1", "s,n=50,solver.rtol=1e-05,seed=2",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("runs:\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	if got := j.sw.ref(0, []int{0, 0}).runNames(); !slices.Equal(got, want) {
		t.Errorf("runNames from the sweep's record:\n%s", strings.Join(got, "\n"))
	}
	r := j.sw.runs[9] // n = 50, rtol = 1e-4, seed 2
	c := r.cfg.(*selftestConfig)
	if c.N != 50 || c.Solver.Rtol != 1e-4 || c.Label != "swept" || c.Solver.Method != "rk4" || r.seed != 2 || r.ref.Run != 9 || r.title != "Self-test sweep" {
		t.Errorf("run 9: %+v, seed %d, run %d, title %q", *c, r.seed, r.ref.Run, r.title)
	}
	if r.cfg == j.sw.runs[8].cfg {
		t.Error("two runs share one configuration")
	}

	// -quick shrinks every point; -seed starts counted seeds; a list is
	// used as written; the other spellings of a nested key are the same.
	for _, tc := range []struct {
		name, sweep string
		opts        loadOptions
		seeds       []int64
		n           int
	}{
		{"quick", "[sweep]\nn = [30, 500]\n", loadOptions{quick: true}, nil, 40},
		{"-seed with a count", "[sweep]\nseeds = 3\n", loadOptions{seed: 10, seedSet: true}, []int64{10, 11, 12}, 200},
		{"file seed with a count", "seed = 4\n[sweep]\nseeds = 2\n", loadOptions{}, []int64{4, 5}, 200},
		{"a list", "[sweep]\nseeds = [7, 3]\n", loadOptions{}, []int64{7, 3}, 200},
		{"quoted dotted key", "[sweep]\n\"solver.rtol\" = [1e-3, 1e-4]\n", loadOptions{}, nil, 200},
		{"sub-table", "[sweep.solver]\nrtol = [1e-3, 1e-4]\n", loadOptions{}, nil, 200},
	} {
		j, errs := loadConfig("q.toml", []byte("experiment = \"selftest\"\n"+tc.sweep), tc.opts)
		if len(errs) > 0 {
			t.Errorf("%s: %v", tc.name, errs)
			continue
		}
		if !slices.Equal(j.sw.seeds, tc.seeds) {
			t.Errorf("%s: seeds %v, want %v", tc.name, j.sw.seeds, tc.seeds)
		}
		last := j.sw.runs[len(j.sw.runs)-1]
		if got := last.cfg.(*selftestConfig).N; got != tc.n || last.quick != tc.opts.quick {
			t.Errorf("%s: the last run has n = %d (quick %v), want %d", tc.name, got, last.quick, tc.n)
		}
		if strings.Contains(tc.sweep, "rtol") && (len(j.sw.runs) != 2 || j.sw.runs[1].name != "q,solver.rtol=0.0001" ||
			last.cfg.(*selftestConfig).Solver.Rtol != 1e-4) {
			t.Errorf("%s: runs %v", tc.name, j.sw.runs)
		}
	}

	// Without a title in the file, each run gets the title the experiment
	// gives its configuration.
	defer func(f func(any) string) { registry["selftest"].title = f }(registry["selftest"].title)
	registry["selftest"].title = func(cfg any) string { return fmt.Sprintf("%d samples", cfg.(*selftestConfig).N) }
	j, errs = loadConfig("t.toml", []byte("experiment = \"selftest\"\n[sweep]\nn = [30, 50]\n"), loadOptions{})
	if len(errs) > 0 || j.sw.runs[0].title != "30 samples" || j.sw.runs[1].title != "50 samples" {
		t.Errorf("titles of the runs: %q, %q (%v)", j.sw.runs[0].title, j.sw.runs[1].title, errs)
	}

	// The cap: more than MaxSweepRuns runs only with -force.
	big := "experiment = \"selftest\"\n[sweep]\nseeds = " + strconv.Itoa(MaxSweepRuns+1) + "\n"
	if _, errs := loadConfig("big.toml", []byte(big), loadOptions{}); len(errs) != 1 ||
		!strings.Contains(errs[0].Error(), "big.toml:2: the sweep has 1001 runs (1001 seeds), more than 1000: give -force") {
		t.Errorf("a sweep over the cap: %v", errs)
	}
	if j, errs := loadConfig("big.toml", []byte(big), loadOptions{force: true}); len(errs) > 0 || len(j.sw.runs) != MaxSweepRuns+1 {
		t.Errorf("a sweep over the cap with -force: %v", errs)
	}
	// -force reaches the loader: the command line selects 1001 jobs.
	file := writeFile(t, t.TempDir(), "big.toml", big)
	for _, force := range []bool{false, true} {
		args := []string{"-config", file}
		if force {
			args = append(args, "-force")
		}
		opts, err := parseFlags(args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		jobs, errs := selectJobs(nil, opts)
		if force && (len(errs) > 0 || len(jobs) != MaxSweepRuns+1) || !force && len(errs) != 1 {
			t.Errorf("-force %v: %d jobs, problems %v", force, len(jobs), errs)
		}
	}
}

// TestRunName checks the folder-name rule: values written as TOML writes
// them, arrays of numbers joined by '_', every other byte escaped, so that
// names hold only safe characters and different runs never share one.
func TestRunName(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{0.003, "0.003"},
		{1e-6, "1e-06"},
		{1e6, "1e+06"},
		{-2.5, "-2.5"},
		{32, "32"},
		{true, "true"},
		{"rk4", "rk4"},
		{"a b,c=d%e/f", "a%20b%2Cc%3Dd%25e%2Ff"},
		{"v1.", "v1%2E"},
		{"", ""},
		{1500 * time.Millisecond, "1.5s"},
		{[]int{32, 32}, "32_32"},
		{[]float64{0.5, -1}, "0.5_-1"},
		{[]int{}, ""},
		{[]string{"a", "b"}, "%5B%22a%22%2C%20%22b%22%5D"},
	}
	for _, c := range cases {
		if got := valueText(reflect.ValueOf(c.v)); got != c.want {
			t.Errorf("valueText(%#v) = %q, want %q", c.v, got, c.want)
		}
	}
	// Tricky string values of one key give distinct names that split back
	// into the sweep's name and one key=value pair, with safe characters only.
	values := []string{"a", "a,b", "a=b", "a%2Cb", "a b", "a.", "a_b", "..", "ü", "a,seed=1", ""}
	seen := map[string]string{}
	for _, v := range values {
		axes := []sweepAxis{{Key: "label", Values: []string{valueText(reflect.ValueOf(v))}}}
		seed := int64(-3)
		name := runName("sw", axes, axes[0].Values, &seed)
		if prev, dup := seen[name]; dup {
			t.Errorf("%q and %q both give %q", prev, v, name)
		}
		seen[name] = v
		parts := strings.Split(name, ",")
		if len(parts) != 3 || parts[0] != "sw" || !strings.HasPrefix(parts[1], "label=") || parts[2] != "seed=-3" {
			t.Errorf("%q: name %q does not split into its parts", v, name)
		}
		for _, r := range name {
			if !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-,=%", r) || strings.HasSuffix(name, ".") {
				t.Errorf("%q: name %q holds %q", v, name, r)
			}
		}
		if got := displayValue(strings.TrimPrefix(parts[1], "label=")); got != v {
			t.Errorf("%q: shown as %q", v, got)
		}
	}
}

// TestSweepBadInput checks that each kind of bad sweep exits with status
// 2 before anything runs, naming the file, the line and the key.
func TestSweepBadInput(t *testing.T) {
	head := "experiment = \"selftest\"\n"
	cases := []struct {
		name, config string
		args         []string
		want         []string
	}{
		{"unknown key", head + "[sweep]\nsteps = [1, 2]\n",
			nil, []string{"bad.toml:3:", `unknown key "sweep.steps"`, "valid keys: fail, label, n, rows, scale, seeds, sleep, solver.method, solver.rtol, tol"}},
		{"unknown key, wrong case", head + "[sweep]\nN = [1, 2]\n", nil, []string{"bad.toml:3:", `did you mean "n"?`}},
		{"seed for seeds", head + "[sweep]\nseed = [1, 2]\n", nil, []string{"bad.toml:3:", `did you mean "seeds"?`}},
		{"unknown nested key", head + "[sweep.solver]\natol = [1, 2]\n", nil, []string{"bad.toml:3:", `unknown key "sweep.solver.atol"`}},
		{"a table swept whole", head + "[sweep]\nsolver = [1, 2]\n", nil, []string{"bad.toml:3:", "[params.solver] is a table: sweep its keys"}},
		{"empty list", head + "[sweep]\nn = []\n", nil, []string{"bad.toml:3:", `key "sweep.n": an empty list`}},
		{"not a list", head + "[sweep]\nn = 3\n", nil, []string{"bad.toml:3:", `key "sweep.n"`, "want array of integers: the values to sweep"}},
		{"wrong element type", head + "[sweep]\nscale = [1.5, \"big\"]\n", nil, []string{"bad.toml:3:", `key "sweep.scale"`, "want array of numbers"}},
		{"Validate rejects a value", head + "[sweep]\nscale = [1.0, 2.0]\nn = [0, 10]\n",
			nil, []string{"bad.toml:4:", `key "sweep.n": must be between 1 and 100000, got 0 (at 2 points, such as scale=1, n=0)`, "1 problem"}},
		{"Validate rejects a [params] value at every point", head + "[params]\nn = -1\n[sweep]\nscale = [1.0, 2.0]\n",
			nil, []string{"bad.toml:3:", `key "params.n": must be between 1 and 100000, got -1 (at every point of the sweep)`}},
		{"not finite", head + "[sweep]\nscale = [1.0, nan]\n", nil, []string{"bad.toml:3:", `must be a finite number, got NaN`}},
		{"negative tolerance", head + "[sweep]\ntol = [1e-9, -1.0]\n", nil, []string{"bad.toml:3:", `a tolerance must be at least 0`}},
		{"value listed twice", head + "[sweep]\nscale = [1.0, 2.0, 1.0]\n", nil, []string{"bad.toml:3:", `key "sweep.scale": the value 1 is listed twice`}},
		{"values differing in case", head + "[sweep]\nlabel = [\"a\", \"A\"]\n", nil, []string{"bad.toml:3:", `differ only in case`}},
		{"swept twice", head + "[sweep]\n\"solver.rtol\" = [1e-3]\n[sweep.solver]\nrtol = [1e-4]\n", nil, []string{"bad.toml:", "is swept twice"}},
		{"zero seeds", head + "[sweep]\nseeds = 0\n", nil, []string{"bad.toml:3:", "a count of seeds must be at least 1"}},
		{"empty seeds", head + "[sweep]\nseeds = []\n", nil, []string{"bad.toml:3:", "give at least one seed"}},
		{"repeated seed", head + "[sweep]\nseeds = [1, 2, 1]\n", nil, []string{"bad.toml:3:", "seed 1 is listed twice"}},
		{"seeds of the wrong type", head + "[sweep]\nseeds = \"three\"\n", nil, []string{"bad.toml:3:", `key "sweep.seeds": wrong type: got string "three", want integer (a count of seeds) or array of integers`}},
		{"-seed with a list", head + "[sweep]\nseeds = [1, 2]\n", []string{"-seed", "5"}, []string{"bad.toml:3:", "-seed 5: sweep.seeds lists the seeds"}},
		{"a seed with a list", "seed = 3\n" + head + "[sweep]\nseeds = [1, 2]\n", nil, []string{"bad.toml:1:", `key "seed" is unused: sweep.seeds (line 4) lists the seeds`}},
		{"too many runs", head + "[sweep]\nn = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nscale = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]\nseeds = 11\n",
			nil, []string{"bad.toml:2:", "the sweep has 1100 runs (10 values of n × 10 values of scale × 11 seeds), more than 1000: give -force"}},
		{"empty sweep", head + "[sweep]\n", nil, []string{"bad.toml:2:", "the [sweep] table is empty"}},
		{"no headline", "experiment = \"noop\"\n[sweep]\nseeds = 2\n", nil, []string{"bad.toml:2:", `experiment "noop" declares no headline metric`}},
		{"folder name too long", head + "[sweep]\nlabel = [\"" + strings.Repeat("x", 240) + "\"]\n", nil, []string{"bad.toml:2:", "bytes long, more than the 237"}},
		{"sweep not a table", head + "sweep = 3\n", nil, []string{"bad.toml:2:", `key "sweep": wrong type`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := writeFile(t, dir, "bad.toml", tc.config)
			out := filepath.Join(dir, "out")
			code, stdout, stderr := runT(t, nil, append([]string{"-out", out, "-config", file}, tc.args...)...)
			if code != ExitBadInput {
				t.Errorf("exit status %d, want %d; stdout:\n%s\nstderr:\n%s", code, ExitBadInput, stdout, stderr)
			}
			wantContains(t, "stderr", stderr, tc.want...)
			if _, err := os.Stat(out); err == nil {
				t.Errorf("bad input created the output directory")
			}
		})
	}
}

// runResults reads every results.json under out, by folder name.
func runResults(t *testing.T, out string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(out, "*", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, f := range files {
		m[filepath.Base(filepath.Dir(f))] = readFile(t, f)
	}
	return m
}

// TestSweepRun runs a sweep and checks its folders, the sweep record in
// each run's results.json, and the summary's numbers against the runs'.
func TestSweepRun(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "s.toml", sweepConfig)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runT(t, nil, "-out", out, "-config", file, "-j", "2")
	if code != ExitOK {
		t.Fatalf("exit status %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	wantContains(t, "stdout", stdout, "PASS   s,n=30,solver.rtol=0.001,seed=1 ", "PASS   s                                sweep  ",
		"(summary of 12 of 12 runs)", "ran 12 jobs", "1 sweep summary; index of 13 reports")
	res := runResults(t, out)
	if len(res) != 13 {
		t.Fatalf("%d report folders, want 12 runs and the summary", len(res))
	}
	var run struct {
		Seed   int64          `json:"seed"`
		Params map[string]any `json:"params"`
		Sweep  *sweepRef      `json:"sweep"`
	}
	if err := json.Unmarshal([]byte(res["s,n=50,solver.rtol=0.0001,seed=2"]), &run); err != nil {
		t.Fatal(err)
	}
	if run.Seed != 2 || run.Params["n"] != 50.0 || run.Params["solver.rtol"] != 1e-4 || run.Sweep == nil || run.Sweep.Name != "s" || run.Sweep.Run != 9 ||
		!slices.Equal(run.Sweep.Point, []string{"50", "0.0001"}) || !slices.Equal(run.Sweep.Seeds, []int64{1, 2}) {
		t.Errorf("the run's results.json: %+v", run)
	}
	md := readFile(t, filepath.Join(out, "s,n=50,solver.rtol=0.0001,seed=2", "report.md"))
	wantContains(t, "a run's report.md", md, "- sweep: `s`, run 10 of 12 (n = 50, solver.rtol = 0.0001, seed 2)\n")

	// The summary: mean and sample standard deviation of each point's
	// headline (selftest's "mean") over its two seeds, recomputed here.
	var sum struct {
		Status       string `json:"status"`
		SweepSummary struct {
			Headline string `json:"headline"`
			Points   []struct {
				Point      []string  `json:"point"`
				Runs       []string  `json:"runs"`
				Mean, Std  float64   `json:"-"`
				MeanJ      *float64  `json:"mean"`
				StdJ       *float64  `json:"std"`
				ValuesJSON []float64 `json:"values"`
			} `json:"points"`
		} `json:"sweep_summary"`
	}
	if err := json.Unmarshal([]byte(res["s"]), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Status != statusPass || sum.SweepSummary.Headline != "mean" || len(sum.SweepSummary.Points) != 6 {
		t.Fatalf("summary: %+v", sum)
	}
	for _, p := range sum.SweepSummary.Points {
		var vals []float64
		for _, name := range p.Runs {
			var r struct {
				Metrics []struct {
					Name  string  `json:"name"`
					Value float64 `json:"value"`
				} `json:"metrics"`
			}
			json.Unmarshal([]byte(res[name]), &r)
			vals = append(vals, r.Metrics[0].Value) // selftest's first metric is "mean"
		}
		if len(vals) != 2 {
			t.Fatalf("point %v: runs %v", p.Point, p.Runs)
		}
		mean := (vals[0] + vals[1]) / 2
		sd := math.Abs(vals[0]-vals[1]) / math.Sqrt2 // sample standard deviation of two values
		if p.MeanJ == nil || p.StdJ == nil || math.Abs(*p.MeanJ-mean) > 1e-15*math.Abs(mean) || math.Abs(*p.StdJ-sd) > 1e-12*sd {
			t.Errorf("point %v: mean %v, std %v; want %v, %v", p.Point, p.MeanJ, p.StdJ, mean, sd)
		}
	}
	smd := readFile(t, filepath.Join(out, "s", "report.md"))
	wantContains(t, "the summary's report.md", smd,
		"# Self-test sweep: sweep of n (2 values) × solver.rtol (3 values) × 2 seeds\n",
		"- seeds: 1, 2\n",
		"| # | `n` | `solver.rtol` | runs | mean ± sd | min | max |",
		"| 5 | 50 | 0.0001 | 2 | ",
		"![", "(headline.png)",
		"| [s,n=30,solver.rtol=0.001,seed=1](../s%2Cn=30%2Csolver.rtol=0.001%2Cseed=1/report.html) | 30 | 0.001 | 1 | PASS |",
		"| every run of the sweep is present | 12 of 12 runs | — | PASS |",
		"| no run failed a check | 12 PASS | — | PASS |")
	if strings.Contains(smd, "## Timings") || strings.Contains(smd, "- seed: ") {
		t.Error("the summary has a Timings section or a seed line")
	}
	index := readFile(t, filepath.Join(out, "index.md"))
	wantContains(t, "index.md", index, "13 reports: 13 PASS.", "| [s](s/report.md) | PASS | `selftest` |",
		"### Sweep s\n\nSummary: [s](s/report.md); all 12 runs are here.\n\n| run | status |",
		"| [s,n=30,solver.rtol=0.001,seed=1](s%2Cn=30%2Csolver.rtol=0.001%2Cseed=1/report.md) | PASS |")
	if n, errs := runnertest.CheckPages(out); len(errs) > 0 {
		t.Errorf("%d images checked; problems: %v", n, errs)
	}
	noTempFiles(t, out)
}

// TestSummaryFigures checks the summaries of a sweep of seeds alone and of
// a sweep over a key whose values are not numbers (the points are then
// numbered): both pass, and their figures and links are sound.
func TestSummaryFigures(t *testing.T) {
	for _, tc := range []struct {
		name, sweep string
		want        []string
	}{
		{"seeds", "[sweep]\nseeds = [3, 1, 2]\n", []string{
			"# Sweep of selftest over 3 seeds\n", "| 1 | 3 | ", "of each run against its seed (markers); the dashed line is their mean.",
			"| [seeds,seed=3](../seeds%2Cseed=3/report.html) | 3 | PASS |"}},
		{"strings", "[sweep]\nsolver.method = [\"euler\", \"rk4\"]\nlabel = [\"a b\", \"c\"]\nseeds = 2\n", []string{
			"| # | `solver.method` | `label` | runs |", "| 2 | euler | c | 2 | ",
			"The mean mean of each point, numbered as in the table, with error bars of ± one standard deviation over 2 seeds",
			"[strings,solver.method=euler,label=a%20b,seed=1](../strings%2Csolver.method=euler%2Clabel=a%2520b%2Cseed=1/report.html) | euler | a b | 1 | PASS |"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := writeFile(t, dir, tc.name+".toml", "experiment = \"selftest\"\n"+tc.sweep)
			out := filepath.Join(dir, "out")
			if code, stdout, stderr := runT(t, nil, "-out", out, "-config", file); code != ExitOK {
				t.Fatalf("exit status %d\n%s\n%s", code, stdout, stderr)
			}
			wantContains(t, "the summary", readFile(t, filepath.Join(out, tc.name, "report.md")), tc.want...)
			if n, errs := runnertest.CheckPages(out); len(errs) > 0 {
				t.Errorf("%d images checked; problems: %v", n, errs)
			}
		})
	}
}
