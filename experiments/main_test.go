package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// runT runs the runner in-process with the given default suite (nil for an
// empty one) and returns its exit status, stdout and stderr.
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
	code = runSuite(ctx, suite, args, &out, &errb)
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

// noTempDirs fails the test if out holds any of the runner's temporary
// files or folders.
func noTempDirs(t *testing.T, out string) {
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
			want:   []string{"bad.toml:5:", `unknown key "params.stepz"`, "valid keys in [params]: fail, label, n, scale, solver, tol"},
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
			name:   "unknown top-level key that is a parameter",
			config: "experiment = \"selftest\"\nn = 3\n",
			want:   []string{"bad.toml:2:", `unknown key "n"`, "valid top-level keys: experiment, params, seed, title", "put it under [params]"},
		},
		{
			name:   "wrong type",
			config: "experiment = \"selftest\"\nseed = 3\n\n[params]\nn = \"ten\"\n",
			want:   []string{"bad.toml:5:", `key "params.n": wrong type: got string "ten", want integer`},
		},
		{
			name:   "wrong type in inline table",
			config: "experiment = \"selftest\"\nparams = { scale = true }\n",
			want:   []string{"bad.toml:2:", `key "params.scale": wrong type: got boolean true, want number`},
		},
		{
			name:   "float for an integer",
			config: "experiment = \"selftest\"\n[params]\nn = 3.5\n",
			want:   []string{"bad.toml:3:", `want integer`},
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
			name:   "several problems, in line order",
			config: "experiment = \"selftest\"\n[params]\nscale = -1.0\nfail = \"sometimes\"\n[params.solver]\nrtol = 2.0\n",
			want: []string{
				"bad.toml:3: key \"params.scale\": must be between 1e-06 and 1e+06, got -1\n",
				"bad.toml:4: key \"params.fail\": must be one of \"none\", \"error\", \"panic\", \"check\", \"wait\", \"nofigure\", got \"sometimes\"\n",
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
			if code != exitBadInput {
				t.Errorf("exit status %d, want %d; stdout:\n%s\nstderr:\n%s", code, exitBadInput, stdout, stderr)
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

// TestBadInputReportsAllFiles checks that problems in several files are all
// reported, and that a duplicated output name is one of them.
func TestBadInputReportsAllFiles(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a/run.toml", goodConfig)
	b := writeFile(t, dir, "b/run.toml", goodConfig)
	c := writeFile(t, dir, "c.toml", "experiment = \"selftest\"\n[params]\nn = -1\n")
	out := filepath.Join(dir, "out")
	code, _, stderr := runT(t, nil, "-out", out, "-config", a+","+b, "-config", c)
	if code != exitBadInput {
		t.Fatalf("exit status %d, want %d; stderr:\n%s", code, exitBadInput, stderr)
	}
	wantContains(t, "stderr", stderr,
		b+`: output name "run" is also used by `+a,
		c+`:3: key "params.n": must be between 1 and 100000, got -1`,
		"2 problems")
	if _, err := os.Stat(out); err == nil {
		t.Errorf("bad input created the output directory")
	}
}

// TestList checks -list: experiments, summaries, parameter defaults and the
// default configs (top-level *.toml only).
func TestList(t *testing.T) {
	suite := fstest.MapFS{
		"alpha.toml":      {Data: []byte(goodConfig)},
		"beta.toml":       {Data: []byte(goodConfig)},
		"README.md":       {Data: []byte("not a config")},
		"paper/long.toml": {Data: []byte(goodConfig)},
	}
	code, stdout, stderr := runT(t, suite, "-list")
	if code != exitOK {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
	}
	wantContains(t, "-list output", stdout,
		"noop\n    Does nothing and verifies nothing (test-only).\n    default configs: none\n",
		"selftest\n    Draws seeded samples",
		`[params] defaults: n = 200, scale = 1.5, label = "selftest samples", tol = 1e-09, fail = "none", solver.method = "rk4", solver.rtol = 1e-06`,
		"default configs: configs/alpha.toml, configs/beta.toml\n",
		"Default suite: 2 configs in experiments/configs/",
	)
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
	if code != exitOK {
		t.Fatalf("exit status %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	wantContains(t, "stdout", stdout, "start  good (experiment selftest", "PASS   good", "index of 1 report")

	report := readFile(t, filepath.Join(out, "good", "report.md"))
	wantContains(t, "report.md", report,
		"# Self-test\n",
		"- experiment: `selftest`\n- config: `good.toml`\n- seed: 7\n- quick: no\n",
		"| `n` | `30` |",
		"| `solver.method` | `\"rk4\"` |",
		"## Samples\n",
		"| i | sample | sample² |",
		"![The first 64 samples as grey levels.](dots.png)",
		"[samples.txt](samples.txt): The samples, one per line.",
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
	for _, f := range []string{"samples.txt", "dots.png", "fragment.html"} {
		if _, err := os.Stat(filepath.Join(out, "good", f)); err != nil {
			t.Error(err)
		}
	}

	var res results
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(out, "good", "results.json"))), &res); err != nil {
		t.Fatal(err)
	}
	if res.Name != "good" || res.Experiment != "selftest" || res.Seed != 7 || res.Status != statusPass ||
		len(res.Metrics) != 2 || len(res.Checks) != 2 || res.Params["n"] != 30.0 || res.Params["solver.rtol"] != 1e-6 {
		t.Errorf("results.json has unexpected content: %+v", res)
	}
	if strings.Contains(readFile(t, filepath.Join(out, "good", "results.json")), "wall") {
		t.Errorf("results.json contains timings")
	}

	index := readFile(t, filepath.Join(out, "index.md"))
	wantContains(t, "index.md", index, "[good](good/report.md) | PASS | `selftest` | Self-test — Draws seeded samples")
	page := readFile(t, filepath.Join(out, "index.html"))
	wantContains(t, "index.html", page,
		"<!DOCTYPE html>",
		`<a href="#exp-good">good</a>`,
		`<section class="report" id="exp-good">`,
		`<img src="good/dots.png" alt="The first 64 samples as grey levels.">`,
		`<a href="good/samples.txt">samples.txt</a>`,
		"<code>scale × N(0, 1)</code>",
		`<td class="pass">PASS</td>`,
		"</html>\n")
	noTempDirs(t, out)
}

// TestQuick checks that -quick applies the experiment's shrink.
func TestQuick(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "q.toml", "experiment = \"selftest\"\n[params]\nn = 5000\n")
	out := filepath.Join(dir, "out")
	if code, _, stderr := runT(t, nil, "-quick", "-out", out, "-config", file); code != exitOK {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
	}
	res := readFile(t, filepath.Join(out, "q", "results.json"))
	wantContains(t, "results.json", res, `"quick": true`, `"n": 40`, `"seed": 1`)
}

// TestFailedRunKeepsPreviousReport checks that a run that fails, panics,
// misses a figure or is interrupted leaves the earlier good report byte for
// byte, and no temporary folder.
func TestFailedRunKeepsPreviousReport(t *testing.T) {
	for _, mode := range []string{"error", "panic", "nofigure", "wait"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			file := writeFile(t, dir, "exp.toml", goodConfig)
			if code, _, stderr := runT(t, nil, "-out", out, "-config", file); code != exitOK {
				t.Fatalf("first run: exit status %d; stderr:\n%s", code, stderr)
			}
			before := map[string]string{}
			for _, f := range []string{"exp/report.md", "exp/results.json", "exp/fragment.html", "exp/samples.txt", "index.md", "index.html"} {
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
			if code != exitFailed {
				t.Fatalf("failing run: exit status %d, want %d; stderr:\n%s", code, exitFailed, stderr)
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
			if _, err := os.Stat(filepath.Join(out, "exp", "partial.txt")); err == nil {
				t.Errorf("a file from the failed run reached the report folder")
			}
			noTempDirs(t, out)
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
	if code != exitFailed {
		t.Fatalf("exit status %d, want %d", code, exitFailed)
	}
	wantContains(t, "stdout", stdout, "FAIL   chk")
	wantContains(t, "stderr", stderr, `chk: check "forced failure": FAIL (asked to fail by the config (fail = "check"))`)
	report := readFile(t, filepath.Join(out, "chk", "report.md"))
	wantContains(t, "report.md", report, "| forced failure | asked to fail by the config (fail = \"check\") | — | FAIL |\n", "1 of 3 checks FAILED.\n")
	wantContains(t, "results.json", readFile(t, filepath.Join(out, "chk", "results.json")), `"status": "FAIL"`)
	wantContains(t, "index.md", readFile(t, filepath.Join(out, "index.md")), "| [chk](chk/report.md) | FAIL |")
	wantContains(t, "index.html", readFile(t, filepath.Join(out, "index.html")), `<td class="fail">FAIL</td>`)
	noTempDirs(t, out)
}

// TestNoChecks checks the Verification section of a report without checks.
func TestNoChecks(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	file := writeFile(t, dir, "nothing.toml", "experiment = \"noop\"\n")
	code, stdout, stderr := runT(t, nil, "-out", out, "-config", file)
	if code != exitOK {
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
		if code, _, stderr := runT(t, nil, args...); code != exitOK {
			t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
		}
		return readFile(t, filepath.Join(dir, out, "det", "report.md")), readFile(t, filepath.Join(dir, out, "det", "results.json"))
	}
	rep1, res1 := runInto("out1")
	rep2, res2 := runInto("out2")
	if res1 != res2 {
		t.Errorf("results.json differs between two runs with the same seed:\n%s\n---\n%s", res1, res2)
	}
	if stripTimings(rep1) != stripTimings(rep2) {
		t.Errorf("report.md differs (timings aside) between two runs with the same seed:\n%s\n---\n%s", rep1, rep2)
	}
	if strings.Contains(stripTimings(rep1), "total (wall)") || !strings.Contains(stripTimings(rep1), "## Verification") {
		t.Errorf("stripTimings removed too little or too much:\n%s", stripTimings(rep1))
	}

	_, res3 := runInto("out3", "-seed", "8")
	if res3 == res1 {
		t.Fatal("-seed 8 gave the same results.json as the config's seed 7")
	}
	var a, b results
	json.Unmarshal([]byte(res1), &a)
	json.Unmarshal([]byte(res3), &b)
	if b.Seed != 8 || a.Metrics[0].Value == b.Metrics[0].Value {
		t.Errorf("-seed 8: seed %d, mean %v (seed 7 gave %v)", b.Seed, b.Metrics[0].Value, a.Metrics[0].Value)
	}
	_, res4 := runInto("out4", "-seed", "7")
	if res4 != res1 {
		t.Errorf("-seed 7 differs from the config's seed 7")
	}
}

// TestIndexKeepsEarlierReports checks that the index lists report folders
// from earlier runs, in name order, and ignores other folders.
func TestIndexKeepsEarlierReports(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	b := writeFile(t, dir, "b.toml", goodConfig)
	a := writeFile(t, dir, "a.toml", "experiment = \"noop\"\n")
	os.MkdirAll(filepath.Join(out, "unrelated"), 0o755)
	for _, f := range []string{b, a} {
		if code, _, stderr := runT(t, nil, "-out", out, "-config", f); code != exitOK {
			t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
		}
	}
	index := readFile(t, filepath.Join(out, "index.md"))
	wantContains(t, "index.md", index, "2 reports: 1 PASS, 1 NO CHECKS.", "| [a](a/report.md) | NO CHECKS | `noop` |", "| [b](b/report.md) | PASS | `selftest` |")
	if strings.Index(index, "[a](a/") > strings.Index(index, "[b](b/") {
		t.Errorf("index.md is not in name order:\n%s", index)
	}
	if strings.Contains(index, "unrelated") {
		t.Errorf("index lists a folder without results.json")
	}
	page := readFile(t, filepath.Join(out, "index.html"))
	if ia, ib := strings.Index(page, `id="exp-a"`), strings.Index(page, `id="exp-b"`); ia < 0 || ib < ia {
		t.Errorf("index.html does not show both reports in name order")
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
	if code != exitOK {
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
	if code != exitOK {
		t.Fatalf("default suite: exit status %d", code)
	}
	if _, err := os.Stat(filepath.Join(out, "long")); err == nil {
		t.Errorf("the default suite ran a config from a subfolder")
	}
	if _, err := os.Stat(filepath.Join(out, "one", "report.md")); err != nil {
		t.Errorf("the default suite did not run one.toml: %v", err)
	}
}

// TestDefaultSuiteQuick runs every config of the embedded default suite
// (experiments/configs/*.toml) with -quick, and requires that all of them
// succeed with no failing check.
func TestDefaultSuiteQuick(t *testing.T) {
	suite, err := fs.Sub(configFiles, suiteDir)
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := suiteSources(suite)
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) == 0 {
		t.Skip("experiments/configs/ has no *.toml configs yet: nothing to run")
	}
	out := t.TempDir()
	code, stdout, stderr := runCtx(t, t.Context(), suite, "-quick", "-out", out)
	t.Log(stdout)
	if code != exitOK {
		t.Fatalf("default suite with -quick: exit status %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, s := range srcs {
		name := strings.TrimSuffix(filepath.Base(s.file), ".toml")
		report := readFile(t, filepath.Join(out, name, "report.md"))
		i := strings.LastIndex(report, "\n## Verification\n")
		if i < 0 {
			t.Errorf("%s: report.md has no Verification section", s.file)
			continue
		}
		if strings.Contains(report[i:], "FAIL") {
			t.Errorf("%s: a verification check failed:\n%s", s.file, report[i:])
		}
	}
}

// TestCheck covers the pass rule of Report.Check.
func TestCheck(t *testing.T) {
	cases := []struct {
		err, tol float64
		want     bool
	}{
		{1e-9, 1e-6, true},
		{1e-6, 1e-6, true},
		{2e-6, 1e-6, false},
		{math.NaN(), 1e-6, false},
		{math.Inf(1), math.Inf(1), false},
		{0, math.NaN(), false},
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

// TestKeyLines checks the locator that gives line numbers to keys.
func TestKeyLines(t *testing.T) {
	src := `# comment
experiment = "x"
text = """
fake = 1
"""
arr = [
  [1],
  "b = 2",
]
"quoted key" = 1
a.b . c = 2
[params]
n = 3 # trailing
[ params . "solver" ]
rtol = 1e-3
[[params.items]]
w = 1
[[params.items]]
w = 2
`
	ix := keyLines(src)
	want := map[string]int{
		"experiment": 2, "text": 3, "arr": 6, "quoted key": 10, "a": 11, "a.b.c": 11,
		"params": 12, "params.n": 13, "params.solver": 14, "params.solver.rtol": 15,
		"params.items": 16, "params.items.w": 17,
	}
	for k, line := range want {
		if ix[k] != line {
			t.Errorf("line of %q = %d, want %d", k, ix[k], line)
		}
	}
	for _, k := range []string{"fake", "b", "1", "params.fake"} {
		if _, ok := ix[k]; ok {
			t.Errorf("%q found inside a string or array", k)
		}
	}
	if got := ix.find([]string{"params", "items[1]", "w"}); got != 17 {
		t.Errorf("find(params.items[1].w) = %d, want 17", got)
	}
	if got := ix.find([]string{"params", "inline"}); got != 12 {
		t.Errorf("find of an unindexed key = %d, want its parent's line 12", got)
	}
}

// TestStripTimings checks that only the Timings section is removed.
func TestStripTimings(t *testing.T) {
	in := "# T\n\n## Metrics\n\nm\n\n## Timings\n\n| total | 1.2 |\n\n## Verification\n\nok\n"
	want := "# T\n\n## Metrics\n\nm\n\n## Verification\n\nok\n"
	if got := stripTimings(in); got != want {
		t.Errorf("stripTimings = %q, want %q", got, want)
	}
}

// TestHandMadeRun checks that an experiment can be called with a Run built
// by hand, as experiment writers' unit tests may do.
func TestHandMadeRun(t *testing.T) {
	t.Chdir(t.TempDir())
	r := &Run{Seed: 1, Report: &Report{}}
	cfg := *registry["selftest"].defaults().(*selftestConfig)
	if err := runSelftest(r, cfg); err != nil {
		t.Fatal(err)
	}
	if r.Report.status() != statusPass {
		t.Errorf("status %s, want PASS", r.Report.status())
	}
	a, b := (&Run{Seed: 5}).Rand().Float64(), (&Run{Seed: 5}).Rand().Float64()
	r5 := &Run{Seed: 5}
	r5.Rand()
	if c := r5.Rand().Float64(); a != b || a == c {
		t.Errorf("Rand: same seed gave %v and %v; second stream gave %v", a, b, c)
	}
}
