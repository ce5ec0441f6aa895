package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/adjointkit/adjointkit/experiments/internal/runnertest"
)

// runT runs the command in-process with the given default suite (nil for
// an empty one) and returns its exit status, stdout and stderr.
func runT(t *testing.T, suite fs.FS, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCtx(t, context.Background(), suite, args...)
}

func runCtx(t *testing.T, ctx context.Context, suite fs.FS, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if suite == nil {
		suite = fstest.MapFS{}
	}
	var out, errb bytes.Buffer
	code = Run(ctx, args, &out, &errb, suite)
	return code, out.String(), errb.String()
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantContains fails the test for each want missing from s.
func wantContains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s does not contain %q; it is:\n%s", what, w, s)
		}
	}
}

// noTempFiles fails the test if out holds any of the runner's temporary
// files or folders.
func noTempFiles(t *testing.T, out string) {
	t.Helper()
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("leftover temporary entry %s in %s", e.Name(), out)
		}
	}
}

const goodConfig = `experiment = "selftest"
title = "Self-test"
seed = 7

[params]
n = 30
label = "hello"
`

// TestBadInput checks that every kind of bad input exits with status 2,
// says what is wrong and where, and writes nothing.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name   string
		config string   // content of bad.toml
		args   []string // extra flags
		want   []string // substrings of stderr
	}{
		{
			name:   "unknown key",
			config: "experiment = \"selftest\"\n\n[params]\nn = 3\nstepz = 10\n",
			want:   []string{"bad.toml:5:", `unknown key "params.stepz"`, "valid keys in [params]: fail, label, n, rows, scale, sleep, solver, tol"},
		},
		{
			name:   "unknown key, wrong case",
			config: "experiment = \"selftest\"\n[params]\nN = 3\n",
			want:   []string{"bad.toml:3:", `unknown key "params.N"`, `did you mean "n"?`},
		},
		{
			name:   "unknown nested key",
			config: "experiment = \"selftest\"\n[params.solver]\nmethod = \"rk4\"\natol = 1e-3\n",
			want:   []string{"bad.toml:4:", `unknown key "params.solver.atol"`, "valid keys in [params.solver]: method, rtol"},
		},
		{
			name:   "unknown table",
			config: "experiment = \"selftest\"\n[params.extra]\na = 1\nb = 2\n",
			want:   []string{"bad.toml:2:", `unknown key "params.extra"`, "1 problem;"},
		},
		{
			name:   "unknown top-level key that is a parameter",
			config: "experiment = \"selftest\"\nn = 3\n",
			want:   []string{"bad.toml:2:", `unknown key "n"`, "valid top-level keys: experiment, params, seed, sweep, title", "put it under [params]"},
		},
		{
			name:   "wrong type",
			config: "experiment = \"selftest\"\nseed = 3\n\n[params]\nn = \"ten\"\n",
			want:   []string{"bad.toml:5:", `key "params.n": wrong type: got string "ten", want integer`},
		},
		{
			name:   "params not a table",
			config: "experiment = \"selftest\"\nparams = 3\n",
			want:   []string{"bad.toml:2:", `key "params": wrong type: got integer 3, want table (a [params] section)`},
		},
		{
			name:   "nested table not a table",
			config: "experiment = \"selftest\"\n[params]\nsolver = \"rk4\"\n",
			want:   []string{"bad.toml:3:", `key "params.solver": wrong type: got string "rk4", want table (a [params.solver] section)`},
		},
		{
			name:   "wrong type in inline table",
			config: "experiment = \"selftest\"\nparams = { scale = true }\n",
			want:   []string{"bad.toml:2:", `key "params.scale": wrong type: got boolean true, want number`},
		},
		{
			name:   "float for an integer",
			config: "experiment = \"selftest\"\n[params]\nn = 3.5\n",
			want:   []string{"bad.toml:3:", `key "params.n": wrong type: got float 3.5, want integer`},
		},
		{
			name:   "bad duration",
			config: "experiment = \"selftest\"\n[params]\nsleep = \"soon\"\n",
			want:   []string{"bad.toml:3:", `key "params.sleep"`},
		},
		{
			name:   "wrong seed type",
			config: "experiment = \"selftest\"\nseed = \"abc\"\n",
			want:   []string{"bad.toml:2:", `key "seed": wrong type: got string "abc", want integer`},
		},
		{
			name:   "out of range",
			config: "experiment = \"selftest\"\n[params]\nlabel = \"x\"\nn = 0\n",
			want:   []string{"bad.toml:4:", `key "params.n": must be between 1 and 100000, got 0`},
		},
		{
			name:   "not finite",
			config: "experiment = \"selftest\"\n[params]\nscale = nan\n[params.solver]\nrtol = -inf\n",
			want:   []string{"bad.toml:3: key \"params.scale\": must be a finite number, got NaN", "bad.toml:5: key \"params.solver.rtol\": must be a finite number, got -Inf"},
		},
		{
			name:   "negative tolerance",
			config: "experiment = \"selftest\"\n[params]\ntol = -1e-9\n",
			want:   []string{"bad.toml:3:", `key "params.tol": a tolerance must be at least 0, got -1e-09`},
		},
		{
			name:   "several problems, in line order",
			config: "experiment = \"selftest\"\n[params]\nscale = -1.0\nfail = \"sometimes\"\n[params.solver]\nrtol = 2.0\n",
			want: []string{
				"bad.toml:3: key \"params.scale\": must be between 1e-06 and 1e+06, got -1\n",
				"bad.toml:4: key \"params.fail\": must be one of \"none\", \"error\", \"panic\", \"check\", \"wait\", \"nofigure\", \"figerror\", got \"sometimes\"\n",
				"bad.toml:6: key \"params.solver.rtol\": must be in (0, 0.1], got 2\n",
				"3 problems; nothing was run",
			},
		},
		{
			name:   "unknown experiment",
			config: "# a comment\nexperiment = \"nope\"\n",
			want:   []string{"bad.toml:2:", `unknown experiment "nope"`, "registered experiments: ", "selftest"},
		},
		{
			name:   "missing experiment",
			config: "seed = 1\n",
			want:   []string{"bad.toml:", `missing key "experiment"`, "registered experiments: ", "selftest"},
		},
		{
			name:   "syntax error",
			config: "experiment = \"selftest\"\n[params]\nn = = 3\n",
			want:   []string{"bad.toml:3:", "column"},
		},
		{
			name:   "quick loosens a tolerance",
			config: "experiment = \"badquick\"\n[params]\nn = 1000\n",
			args:   []string{"-quick"},
			want:   []string{`changed the tolerance "fit_tol" from 1e-06 to 0.001`, "never tolerances"},
		},
		{
			name:   "unknown -only experiment",
			config: goodConfig,
			args:   []string{"-only", "nope"},
			want:   []string{`-only: unknown experiment "nope"`, "registered experiments: ", "selftest"},
		},
		{
			name:   "-only experiment without configs",
			config: goodConfig,
			args:   []string{"-only", "noop"},
			want:   []string{`no config in the -config files runs experiment "noop"`},
		},
		{
			name:   "bad flag",
			config: goodConfig,
			args:   []string{"-bogus"},
			want:   []string{"flag provided but not defined: -bogus", "usage:"},
		},
		{
			name:   "bad seed flag",
			config: goodConfig,
			args:   []string{"-seed", "abc"},
			want:   []string{`invalid value "abc" for flag -seed`},
		},
		{
			name:   "stray argument",
			config: goodConfig,
			args:   []string{"extra"},
			want:   []string{`unexpected argument "extra"`},
		},
		{
			name:   "missing config file",
			config: goodConfig,
			args:   []string{"-config", "does-not-exist.toml"},
			want:   []string{"does-not-exist.toml", "no such file"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := writeFile(t, dir, "bad.toml", tc.config)
			out := filepath.Join(dir, "out")
			args := append([]string{"-out", out, "-config", file}, tc.args...)
			code, stdout, stderr := runT(t, nil, args...)
			if code != ExitBadInput {
				t.Errorf("exit status %d, want %d; stdout:\n%s\nstderr:\n%s", code, ExitBadInput, stdout, stderr)
			}
			wantContains(t, "stderr", stderr, tc.want...)
			last := -1
			for _, w := range tc.want { // problems are listed in line order
				if i := strings.Index(stderr, w); i >= 0 {
					if i < last {
						t.Errorf("%q is listed out of order", w)
					}
					last = i
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("bad input created the output directory %s", out)
			}
		})
	}
}

// TestLineNumbers checks that problems point at the line of their key
// wherever it is written: dotted keys, nested and inline tables, arrays.
func TestLineNumbers(t *testing.T) {
	src := `# comment
experiment = "selftest"
title = """
n = 1
"""
[params]
label = [
  "x",
]
"scale" = 0.0
[params . "solver"]
method = "ode45"
rtol = 5.0
`
	_, errs := loadConfig("f.toml", []byte(src), loadOptions{})
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		`f.toml:7: key "params.label": wrong type: got array, want string`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("type errors come first, alone:\ngot\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	src = strings.Replace(src, "label = [\n  \"x\",\n]", "label = \"\"\"\nx\n\"\"\"", 1)
	_, errs = loadConfig("f.toml", []byte(src), loadOptions{})
	got = got[:0]
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want = []string{
		`f.toml:10: key "params.scale": must be between 1e-06 and 1e+06, got 0`,
		`f.toml:12: key "params.solver.method": must be one of "euler", "rk4", got "ode45"`,
		`f.toml:13: key "params.solver.rtol": must be in (0, 0.1], got 5`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("range errors:\ngot\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestBadInputReportsAllFiles checks that problems in several files are all
// reported, and that a duplicated output name is one of them.
func TestBadInputReportsAllFiles(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a/run.toml", goodConfig)
	b := writeFile(t, dir, "b/run.toml", goodConfig)
	c := writeFile(t, dir, "c.toml", "experiment = \"selftest\"\n[params]\nn = -1\n")
	out := filepath.Join(dir, "out")
	code, _, stderr := runT(t, nil, "-out", out, "-config", a+","+b, "-config", c)
	if code != ExitBadInput {
		t.Fatalf("exit status %d, want %d; stderr:\n%s", code, ExitBadInput, stderr)
	}
	wantContains(t, "stderr", stderr,
		b+`: output name "run" is also used by `+a,
		c+`:3: key "params.n": must be between 1 and 100000, got -1`,
		"2 problems")
	if _, err := os.Stat(out); err == nil {
		t.Errorf("bad input created the output directory")
	}
}

// TestOutFlag checks that an -out that cannot be an output directory is bad
// input, named as such.
func TestOutFlag(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "good.toml", goodConfig)
	notDir := writeFile(t, dir, "plain.txt", "a file")
	outs := map[string]string{
		"a file":              notDir,
		"a path under a file": filepath.Join(notDir, "out"),
	}
	if runtime.GOOS != "windows" && os.Geteuid() != 0 { // root writes anywhere
		ro := filepath.Join(dir, "readonly")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		outs["a read-only folder"] = ro
	}
	for name, out := range outs {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runT(t, nil, "-out", out, "-config", file)
			if code != ExitBadInput {
				t.Errorf("exit status %d, want %d", code, ExitBadInput)
			}
			wantContains(t, "stderr", stderr, "-out "+out+": ")
		})
	}
}

// TestList checks -list: experiments by theme, summaries, parameter
// defaults and the default configs (top-level *.toml only).
func TestList(t *testing.T) {
	suite := fstest.MapFS{
		"alpha.toml":      {Data: []byte(goodConfig)},
		"beta.toml":       {Data: []byte(goodConfig)},
		"README.md":       {Data: []byte("not a config")},
		"paper/long.toml": {Data: []byte(goodConfig)},
	}
	code, stdout, stderr := runT(t, suite, "-list")
	if code != ExitOK {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
	}
	wantContains(t, "-list output", stdout,
		"noop (nn)\n    Does nothing and verifies nothing (test-only).\n    default configs: none\n",
		"selftest (adjoint)\n    Draws seeded samples",
		`[params] defaults: n = 200, scale = 1.5, label = "selftest samples", tol = 1e-09, fail = "none", sleep = "0s", rows = 5, solver.method = "rk4", solver.rtol = 1e-06`,
		"default configs: configs/alpha.toml, configs/beta.toml\n",
		"Default suite: 2 configs in experiments/configs/",
	)
	if strings.Index(stdout, "selftest (adjoint)") > strings.Index(stdout, "noop (nn)") {
		t.Errorf("-list is not in theme order:\n%s", stdout)
	}
	if strings.Contains(stdout, "long.toml") {
		t.Errorf("-list shows a config from a subfolder:\n%s", stdout)
	}
}

// TestSuccessfulRun checks everything a good run writes.
func TestSuccessfulRun(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "good.toml", goodConfig)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runT(t, nil, "-out", out, "-config", file)
	if code != ExitOK {
		t.Fatalf("exit status %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	wantContains(t, "stdout", stdout, "start  good (experiment selftest", "[1/1]", "PASS   good", "index of 1 report")

	report := readFile(t, filepath.Join(out, "good", "report.md"))
	wantContains(t, "report.md", report,
		"# Self-test\n",
		"- experiment: `selftest` (theme adjoint)\n- config: `good.toml`\n- seed: 7\n- quick: no\n",
		"<details><summary>Parameters (9)</summary>",
		"| `n` | `30` |",
		"| `solver.method` | `\"rk4\"` |",
		"## Samples\n",
		"with method **rk4**, *seeded*.",
		"| i | sample | sample² |",
		"**Figure 1.** [samples.txt](samples.txt): The samples, one per line.",
		"![The first 64 samples as grey levels.](dots.png)\n\n**Figure 2.** The first 64 samples as grey levels. (also as [SVG](dots.svg))",
		"The variance is positive.",
		"## Metrics\n",
		"| mean |",
		timingsHeading+"\n",
		"| total (wall) |",
		"| sampling |",
	)
	i := strings.LastIndex(report, "\n## ")
	if i < 0 || !strings.HasPrefix(report[i:], "\n## Verification\n") {
		t.Fatalf("report.md does not end with the Verification section:\n%s", report)
	}
	verification := report[i:]
	wantContains(t, "Verification section", verification,
		"| check | value | tolerance | result |",
		"| mean: naive vs compensated sum |",
		"| variance is positive | variance ",
		"| — | PASS |",
		"All 2 checks passed.\n")
	if strings.Contains(verification, "FAIL") {
		t.Errorf("Verification section has a FAIL:\n%s", verification)
	}
	for _, f := range []string{"samples.txt", "dots.png", "dots.svg", "report.html", "timings.json"} {
		if _, err := os.Stat(filepath.Join(out, "good", f)); err != nil {
			t.Error(err)
		}
	}

	var res results
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(out, "good", "results.json"))), &res); err != nil {
		t.Fatal(err)
	}
	if res.Name != "good" || res.Experiment != "selftest" || res.Theme != "adjoint" || res.Seed == nil || *res.Seed != 7 || res.Status != statusPass ||
		len(res.Metrics) != 2 || len(res.Checks) != 2 || res.Params["n"] != 30.0 || res.Params["solver.rtol"] != 1e-6 || res.Params["tol"] != 1e-9 {
		t.Errorf("results.json has unexpected content: %+v", res)
	}
	if strings.Contains(readFile(t, filepath.Join(out, "good", "results.json")), "wall") {
		t.Errorf("results.json contains timings")
	}

	index := readFile(t, filepath.Join(out, "index.md"))
	wantContains(t, "index.md", index, "## Theme adjoint\n", "[good](good/report.md) | PASS | `selftest` | Self-test — Draws seeded samples")
	page := readFile(t, filepath.Join(out, "index.html"))
	wantContains(t, "index.html", page,
		"<!DOCTYPE html>",
		`<a href="#exp-good">good</a>`,
		`<section class="report" id="exp-good">`,
		`<img src="good/dots.png" alt="The first 64 samples as grey levels." width="64" height="64">`,
		`<a href="good/dots.svg">SVG</a>`,
		`<a href="good/samples.txt">samples.txt</a>`,
		"<code>scale × N(0, 1)</code>",
		"<strong>rk4</strong>", "<em>seeded</em>",
		`<td class="pass">PASS</td>`,
		"<h3>Self-test</h3>", "<h4>Samples</h4>",
		"</html>\n")
	own := readFile(t, filepath.Join(out, "good", "report.html"))
	wantContains(t, "report.html", own, `<img src="dots.png"`, "<h1>Self-test</h1>", `<a href="../index.html">`)
	noTempFiles(t, out)
}

// TestLongTablesCollapse checks that a table of more than CollapseRows rows
// is in a <details> element, and a short one is not.
func TestLongTablesCollapse(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	for _, rows := range []int{CollapseRows, CollapseRows + 1} {
		file := writeFile(t, dir, "t.toml", goodConfig+"rows = "+strconv.Itoa(rows)+"\n")
		if code, _, stderr := runT(t, nil, "-out", out, "-config", file); code != ExitOK {
			t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
		}
		md := readFile(t, filepath.Join(out, "t", "report.md"))
		collapsed := strings.Contains(md, "<details><summary>Table of ")
		if collapsed != (rows > CollapseRows) {
			t.Errorf("%d rows: collapsed = %v", rows, collapsed)
		}
	}
}

// TestQuick checks that -quick applies the experiment's shrink and leaves
// tolerances alone.
func TestQuick(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "q.toml", "experiment = \"selftest\"\n[params]\nn = 5000\ntol = 1e-8\n")
	out := filepath.Join(dir, "out")
	if code, _, stderr := runT(t, nil, "-quick", "-out", out, "-config", file); code != ExitOK {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
	}
	res := readFile(t, filepath.Join(out, "q", "results.json"))
	wantContains(t, "results.json", res, `"quick": true`, `"n": 40`, `"tol": 1e-8`, `"seed": 1`)
}

// TestQuickMayNotChangeTolerances checks that a Quick function loosening a
// tolerance of the defaults is caught when it is registered.
func TestQuickMayNotChangeTolerances(t *testing.T) {
	defer func() {
		p := recover()
		if p == nil || !strings.Contains(p.(string), `changed the tolerance "tol"`) {
			t.Errorf("panic %v, want one about the tolerance", p)
		}
		if _, ok := Lookup("loosens"); ok {
			t.Error("the experiment was registered")
		}
	}()
	Register(Spec[selftestConfig, selftestResult]{
		Name: "loosens", Theme: "nn", Summary: "x",
		Defaults: func() selftestConfig { return selftestConfig{Tol: 1e-9} },
		Quick:    func(c *selftestConfig) { c.Tol *= 10 },
		Compute:  selftestCompute, Report: selftestReport,
	})
}

// TestFailedRunKeepsPreviousReport checks that a run that fails, panics,
// misses a figure, fails in its Figures step or is interrupted leaves the
// earlier good report byte for byte, and no temporary files.
func TestFailedRunKeepsPreviousReport(t *testing.T) {
	for _, mode := range []string{"error", "panic", "nofigure", "figerror", "wait"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			file := writeFile(t, dir, "exp.toml", goodConfig)
			if code, _, stderr := runT(t, nil, "-out", out, "-config", file); code != ExitOK {
				t.Fatalf("first run: exit status %d; stderr:\n%s", code, stderr)
			}
			before := map[string]string{}
			for _, f := range []string{"exp/report.md", "exp/report.html", "exp/results.json", "exp/samples.txt", "index.md", "index.html"} {
				before[f] = readFile(t, filepath.Join(out, f))
			}

			writeFile(t, dir, "exp.toml", goodConfig+"fail = \""+mode+"\"\n")
			ctx := context.Background()
			if mode == "wait" {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
				defer cancel()
			}
			code, stdout, stderr := runCtx(t, ctx, nil, "-out", out, "-config", file)
			if code != ExitFailed {
				t.Fatalf("failing run: exit status %d, want %d; stderr:\n%s", code, ExitFailed, stderr)
			}
			wantContains(t, "stdout", stdout, "ERROR  exp")
			wantContains(t, "stderr", stderr, "exp: run failed: ")
			if mode == "wait" {
				wantContains(t, "stderr", stderr, "exp: run failed: interrupted: ")
			}
			for f, want := range before {
				if got := readFile(t, filepath.Join(out, f)); got != want {
					t.Errorf("%s changed after a failed run", f)
				}
			}
			noTempFiles(t, out)
		})
	}
}

// TestFailingCheck checks that a failed check writes the report, marks it
// FAIL and makes the run exit with status 1.
func TestFailingCheck(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	file := writeFile(t, dir, "chk.toml", goodConfig+"fail = \"check\"\n")
	code, stdout, stderr := runT(t, nil, "-out", out, "-config", file)
	if code != ExitFailed {
		t.Fatalf("exit status %d, want %d", code, ExitFailed)
	}
	wantContains(t, "stdout", stdout, "FAIL   chk")
	wantContains(t, "stderr", stderr, `chk: check "forced failure": FAIL (asked to fail by the config (fail = "check"))`)
	report := readFile(t, filepath.Join(out, "chk", "report.md"))
	wantContains(t, "report.md", report, "| forced failure | asked to fail by the config (fail = \"check\") | — | **FAIL** |\n", "1 of 3 checks FAILED.\n")
	wantContains(t, "index.md", readFile(t, filepath.Join(out, "index.md")), "| FAIL |")
	wantContains(t, "index.html", readFile(t, filepath.Join(out, "index.html")), `<td class="fail">FAIL</td>`)
	noTempFiles(t, out)
}

// TestNoChecks checks the Verification section of a report without checks.
func TestNoChecks(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	file := writeFile(t, dir, "nothing.toml", "experiment = \"noop\"\n")
	code, stdout, stderr := runT(t, nil, "-out", out, "-config", file)
	if code != ExitOK {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
	}
	wantContains(t, "stdout", stdout, "NOCHK  nothing")
	report := readFile(t, filepath.Join(out, "nothing", "report.md"))
	if !strings.HasSuffix(report, "## Verification\n\nNo verification checks were recorded: nothing in this report has been verified.\n") {
		t.Errorf("report.md does not end with an explicit empty Verification section:\n%s", report)
	}
	wantContains(t, "index.md", readFile(t, filepath.Join(out, "index.md")), "| NO CHECKS |")
}

// TestDeterminism checks that the same config and seed give the same
// results.json and, timings aside, the same report.md; and that -seed
// changes the numbers.
func TestDeterminism(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "det.toml", goodConfig)
	runInto := func(out string, extra ...string) (report, res string) {
		t.Helper()
		args := append([]string{"-out", filepath.Join(dir, out), "-config", file}, extra...)
		if code, _, stderr := runT(t, nil, args...); code != ExitOK {
			t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
		}
		return readFile(t, filepath.Join(dir, out, "det", "report.md")), readFile(t, filepath.Join(dir, out, "det", "results.json"))
	}
	rep1, res1 := runInto("out1")
	rep2, res2 := runInto("out2")
	if res1 != res2 {
		t.Errorf("results.json differs between two runs with the same seed:\n%s\n---\n%s", res1, res2)
	}
	if runnertest.StripTimings(rep1) != runnertest.StripTimings(rep2) {
		t.Errorf("report.md differs (timings aside) between two runs with the same seed:\n%s\n---\n%s", rep1, rep2)
	}
	if strings.Contains(runnertest.StripTimings(rep1), "total (wall)") || !strings.Contains(runnertest.StripTimings(rep1), "## Verification") {
		t.Errorf("StripTimings removed too little or too much:\n%s", runnertest.StripTimings(rep1))
	}

	_, res3 := runInto("out3", "-seed", "8")
	if res3 == res1 {
		t.Fatal("-seed 8 gave the same results.json as the config's seed 7")
	}
	var a, b results
	json.Unmarshal([]byte(res1), &a)
	json.Unmarshal([]byte(res3), &b)
	if *b.Seed != 8 || a.Metrics[0].Value == b.Metrics[0].Value {
		t.Errorf("-seed 8: seed %d, mean %v (seed 7 gave %v)", b.Seed, b.Metrics[0].Value, a.Metrics[0].Value)
	}
	_, res4 := runInto("out4", "-seed", "7")
	if res4 != res1 {
		t.Errorf("-seed 7 differs from the config's seed 7")
	}
}

// TestIndexKeepsEarlierReports checks that the index lists report folders
// from earlier runs, grouped by theme in the order of Themes, and ignores
// other folders.
func TestIndexKeepsEarlierReports(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	b := writeFile(t, dir, "b.toml", goodConfig)
	a := writeFile(t, dir, "a.toml", "experiment = \"noop\"\n")
	os.MkdirAll(filepath.Join(out, "unrelated"), 0o755)
	for _, f := range []string{b, a} {
		if code, _, stderr := runT(t, nil, "-out", out, "-config", f); code != ExitOK {
			t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
		}
	}
	index := readFile(t, filepath.Join(out, "index.md"))
	wantContains(t, "index.md", index, "2 reports: 1 PASS, 1 NO CHECKS.", "| [a](a/report.md) | NO CHECKS | `noop` |", "| [b](b/report.md) | PASS | `selftest` |")
	// b is selftest (theme adjoint), a is noop (theme nn): adjoint comes first.
	if strings.Index(index, "[a](a/") < strings.Index(index, "[b](b/") || strings.Index(index, "Theme nn") < strings.Index(index, "Theme adjoint") {
		t.Errorf("index.md is not grouped in theme order:\n%s", index)
	}
	if strings.Contains(index, "unrelated") {
		t.Errorf("index lists a folder without results.json")
	}
	page := readFile(t, filepath.Join(out, "index.html"))
	if ia, ib := strings.Index(page, `id="exp-a"`), strings.Index(page, `id="exp-b"`); ia < 0 || ib < 0 || ia < ib {
		t.Errorf("index.html does not show both reports in theme order")
	}
}

// TestOnly checks that -only runs the default-suite configs of one
// experiment, and that subfolders are not in the default suite.
func TestOnly(t *testing.T) {
	suite := fstest.MapFS{
		"one.toml":        {Data: []byte(goodConfig)},
		"two.toml":        {Data: []byte("experiment = \"noop\"\n")},
		"paper/long.toml": {Data: []byte(goodConfig)},
	}
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runT(t, suite, "-quick", "-only", "noop", "-out", out)
	if code != ExitOK {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
	}
	wantContains(t, "stdout", stdout, "start  two (experiment noop, configs/two.toml, seed 1)")
	entries, _ := os.ReadDir(out)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "index.html index.md two" {
		t.Errorf("-only noop wrote %q, want only two/ and the index", got)
	}

	code, _, _ = runT(t, suite, "-quick", "-out", out)
	if code != ExitOK {
		t.Fatalf("default suite: exit status %d", code)
	}
	if _, err := os.Stat(filepath.Join(out, "long")); err == nil {
		t.Errorf("the default suite ran a config from a subfolder")
	}
	if _, err := os.Stat(filepath.Join(out, "one", "report.md")); err != nil {
		t.Errorf("the default suite did not run one.toml: %v", err)
	}
}

// TestProgressInLogs checks that, when the output is not a terminal, a long
// config prints a progress line at least every -log-every, with its
// progress and the suite's.
func TestProgressInLogs(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "slow.toml", goodConfig+"sleep = \"400ms\"\n")
	code, stdout, stderr := runT(t, nil, "-out", filepath.Join(dir, "out"), "-config", file, "-log-every", "50ms")
	if code != ExitOK {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
	}
	n := strings.Count(stdout, "       slow: ")
	if n < 2 { // about 8 are due; a loaded machine may delay some
		t.Errorf("%d progress lines in 400ms at one per 50ms, want several:\n%s", n, stdout)
	}
	wantContains(t, "stdout", stdout, "/10 (", "sleeping, ", "(job 1 of 1")
}

// TestETA checks the estimate of the time left from earlier wall times and
// the running jobs' progress, with one worker and with two.
func TestETA(t *testing.T) {
	c := newConsole(&bytes.Buffer{}, &bytes.Buffer{}, []time.Duration{10 * time.Second, 0, 20 * time.Second}, 1)
	a := &slot{c: c, index: 0, name: "a", start: time.Now().Add(-4 * time.Second)}
	c.running, c.started = []*slot{a}, 1
	if _, ok := c.eta(); ok {
		t.Error("an estimate with a job of unknown length and no finished job")
	}
	c.estimates[1] = 30 * time.Second
	left, ok := c.eta()
	if want := 56 * time.Second; !ok || (left-want).Abs() > time.Second {
		t.Errorf("eta = %v, %v; want about %v (6s + 30s + 20s)", left, ok, want)
	}
	a.done, a.tot = 1, 2 // half done after 4s: 4s more
	left, _ = c.eta()
	if want := 54 * time.Second; (left - want).Abs() > time.Second {
		t.Errorf("eta at half way = %v, want about %v", left, want)
	}
	// A job of unknown length takes the mean of the finished ones.
	c.estimates[1] = 0
	c.finished = []time.Duration{8 * time.Second}
	left, ok = c.eta()
	if want := 32 * time.Second; !ok || (left-want).Abs() > time.Second {
		t.Errorf("eta with a mean = %v, %v; want about %v", left, ok, want)
	}
	// Two workers, both busy: the work left is shared between them.
	c.workers = 2
	b := &slot{c: c, index: 1, name: "b", start: time.Now().Add(-2 * time.Second)}
	c.running, c.started = []*slot{a, b}, 2
	left, ok = c.eta()
	// a: 4s; b: 8s (the mean) − 2s = 6s; the third job: 20s. 30s over 2.
	if want := 15 * time.Second; !ok || (left-want).Abs() > time.Second {
		t.Errorf("eta with two workers = %v, %v; want about %v", left, ok, want)
	}
}

// TestStaleTempFilesRemoved checks that a run removes the temporary files
// of dead runs and keeps those of a run that is still going.
func TestStaleTempFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	os.MkdirAll(out, 0o755)
	dead := []string{".tmp-0badc0de-good", ".old-0badc0de-good", ".tmp-1dead1-index.html", ".tmp-two_layer-1234567"}
	for _, d := range dead {
		os.Mkdir(filepath.Join(out, d), 0o755)
	}
	writeFile(t, out, ".run-0badc0de.lock", "pid 1\n") // a dead run's lock: nobody holds it
	// A live run: its lock is held (by this process, through another file).
	liveLock, err := os.OpenFile(filepath.Join(out, ".run-a11ve.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer liveLock.Close()
	if err := lockFile(liveLock); err != nil {
		t.Fatal(err)
	}
	live := filepath.Join(out, ".tmp-a11ve-other")
	os.Mkdir(live, 0o755)

	file := writeFile(t, dir, "good.toml", goodConfig)
	code, stdout, stderr := runT(t, nil, "-out", out, "-config", file)
	if code != ExitOK {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
	}
	wantContains(t, "stdout", stdout, "removed 5 temporary files")
	for _, d := range append(dead, ".run-0badc0de.lock") {
		if _, err := os.Stat(filepath.Join(out, d)); err == nil {
			t.Errorf("%s of a dead run is still there", d)
		}
	}
	if runtime.GOOS == "linux" || runtime.GOOS == "darwin" {
		for _, p := range []string{live, liveLock.Name()} {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("a live run's %s was removed", filepath.Base(p))
			}
		}
	}
}

// TestSIGTERM runs the command in a child process, sends it SIGTERM while
// an experiment runs, and checks that it stops like on Ctrl-C: exit status
// 1, the earlier report intact, no temporary files.
func TestSIGTERM(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM on Windows")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	file := writeFile(t, dir, "exp.toml", goodConfig)
	if code, _, stderr := runT(t, nil, "-out", out, "-config", file); code != ExitOK {
		t.Fatalf("first run: exit status %d; stderr:\n%s", code, stderr)
	}
	before := readFile(t, filepath.Join(out, "exp", "results.json"))
	writeFile(t, dir, "exp.toml", goodConfig+"fail = \"wait\"\n")

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperMain$")
	cmd.Env = append(os.Environ(), "RUNNER_HELPER_ARGS=-out\x1f"+out+"\x1f-config\x1f"+file)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the experiment runs: its temporary folder exists.
	deadline := time.Now().Add(10 * time.Second)
	for !hasTemp(out) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if code != ExitFailed {
		t.Fatalf("exit status %d (%v), want %d; stdout:\n%s\nstderr:\n%s", code, err, ExitFailed, stdout.String(), stderr.String())
	}
	wantContains(t, "stderr", stderr.String(), "exp: run failed: interrupted")
	if got := readFile(t, filepath.Join(out, "exp", "results.json")); got != before {
		t.Error("the earlier report changed")
	}
	noTempFiles(t, out)
}

// hasTemp reports whether out holds a temporary report folder.
func hasTemp(out string) bool {
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") && e.IsDir() {
			return true
		}
	}
	return false
}

// TestHelperMain is the child process of TestSIGTERM: it runs Main with the
// arguments in RUNNER_HELPER_ARGS and exits with its status.
func TestHelperMain(t *testing.T) {
	args, ok := os.LookupEnv("RUNNER_HELPER_ARGS")
	if !ok {
		t.Skip("the child process of TestSIGTERM")
	}
	os.Args = append([]string{"experiments"}, strings.Split(args, "\x1f")...)
	os.Exit(Main(fstest.MapFS{}))
}

// TestCheck covers the pass rule of Report.Check.
func TestCheck(t *testing.T) {
	cases := []struct {
		err  float64
		tol  Tol
		want bool
	}{
		{1e-9, 1e-6, true},
		{1e-6, 1e-6, true},
		{2e-6, 1e-6, false},
		{math.NaN(), 1e-6, false},
		{math.Inf(1), Tol(math.Inf(1)), false},
		{0, Tol(math.NaN()), false},
	}
	for i, c := range cases {
		var r Report
		if got := r.Check("c", c.err, c.tol); got != c.want {
			t.Errorf("case %d: Check(%v, %v) = %v, want %v", i, c.err, c.tol, got, c.want)
		}
	}
	var r Report
	r.Metric("m", math.NaN())
	r.Check("inf", math.Inf(1), 1)
	js, err := r.resultsJSON(header{})
	if err != nil {
		t.Fatalf("results.json with NaN and Inf: %v", err)
	}
	wantContains(t, "results.json", string(js), `"value": "NaN"`, `"value": "+Inf"`)
}

// TestReportMisusePanics checks that duplicate names and bad file names are
// caught.
func TestReportMisusePanics(t *testing.T) {
	cases := map[string]func(r *Report){
		"duplicate metric": func(r *Report) { r.Metric("a", 1); r.Metric("a", 2) },
		"duplicate check":  func(r *Report) { r.Check("a", 0, 1); r.CheckTrue("a", true, "") },
		"figure path":      func(r *Report) { r.Figure("../x.png", "") },
		"reserved figure":  func(r *Report) { r.Figure("report.md", "") },
		"row width":        func(r *Report) { r.Table("a", "b").Row(1) },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("no panic")
				}
			}()
			f(&Report{})
		})
	}
}

// TestEnv checks that an Env built by hand works, and the streams of Rand.
func TestEnv(t *testing.T) {
	res, err := selftestCompute(&Env{Seed: 1}, *Defaults[selftestConfig]("selftest", false))
	if err != nil || len(res.samples) != 200 {
		t.Fatalf("Compute with a hand-made Env: %v", err)
	}
	a, b := (&Env{Seed: 5}).Rand().Float64(), (&Env{Seed: 5}).Rand().Float64()
	e5 := &Env{Seed: 5}
	e5.Rand()
	if c := e5.Rand().Float64(); a != b || a == c {
		t.Errorf("Rand: same seed gave %v and %v; second stream gave %v", a, b, c)
	}
	if q := Defaults[selftestConfig]("selftest", true); q.N != 40 {
		t.Errorf("Defaults with quick: n = %d, want 40", q.N)
	}
}

// TestClaims checks the words of the outcome helpers.
func TestClaims(t *testing.T) {
	cases := []struct{ got, want string }{
		{Compare(1, 2), "smaller than"},
		{Compare(2, 1), "larger than"},
		{Compare(2, 2), "equal to"},
		{Compare(math.NaN(), 2), "not comparable with"},
		{Trend([]float64{1, 2, 2, 3}), "increases"},
		{Trend([]float64{3, 1}), "decreases"},
		{Trend([]float64{1, 3, 2}), "rises and falls"},
		{Trend([]float64{1, math.NaN(), 2}), "rises and falls"},
		{Trend([]float64{4, 4}), "stays constant"},
		{Trend(nil), "stays constant"},
		{Count(1, "run", "runs"), "1 run"},
		{Count(0, "run", "runs"), "0 runs"},
		{Choose(false, "yes", "no"), "no"},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("case %d: %q, want %q", i, c.got, c.want)
		}
	}
}

// TestPagesShowExistingImages parses the HTML pages of a run and checks
// that every image and local link they reference exists, and that the
// check notices a missing or blank image.
func TestPagesShowExistingImages(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	file := writeFile(t, dir, "good.toml", goodConfig)
	if code, _, stderr := runT(t, nil, "-out", out, "-config", file); code != ExitOK {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
	}
	n, errs := runnertest.CheckPages(out)
	if len(errs) > 0 || n != 2 { // dots.png, in index.html and in report.html
		t.Fatalf("%d images checked, problems: %v", n, errs)
	}
	// A blank image and a missing one are both caught.
	blank := image.NewGray(image.Rect(0, 0, 8, 8))
	var buf bytes.Buffer
	png.Encode(&buf, blank)
	os.WriteFile(filepath.Join(out, "good", "dots.png"), buf.Bytes(), 0o644)
	if _, errs := runnertest.CheckPages(out); len(errs) != 2 || !strings.Contains(errs[0].Error(), "blank") {
		t.Errorf("a blank image: %v", errs)
	}
	os.Remove(filepath.Join(out, "good", "dots.png"))
	if _, errs := runnertest.CheckPages(out); len(errs) != 2 {
		t.Errorf("a missing image: %v", errs)
	}
}

// TestTimingNote checks that a timing note is written in the Timings
// section, after its table, and so is left out of the comparison of two
// runs as the times are.
func TestTimingNote(t *testing.T) {
	var r Report
	r.Para("The body.")
	r.Timing("solve", 0.25)
	r.TimingNote("The time grows like n^1.93.")
	r.CheckTrue("ok", true, "fine")
	md := string(r.markdown(header{title: "t"}, ""))
	ti, ni, vi := strings.Index(md, timingsHeading), strings.Index(md, "grows like n^1.93"), strings.Index(md, verificationHeading)
	if !(ti >= 0 && ti < strings.Index(md, "| solve |") && strings.Index(md, "| solve |") < ni && ni < vi) {
		t.Errorf("the note is not after the Timings table:\n%s", md)
	}
	if s := runnertest.StripTimings(md); strings.Contains(s, "grows like") || !strings.Contains(s, "The body.") {
		t.Errorf("StripTimings kept the note or lost the body:\n%s", s)
	}
	if strings.Contains(r.Text(), "grows like") || len(r.TimingNotes()) != 1 {
		t.Errorf("the note is in the body, or TimingNotes lost it: %q\n%s", r.TimingNotes(), r.Text())
	}
}
