package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/experiments/internal/runnertest"
)

// TestRegistry runs every registered experiment with -quick, twice, each
// with its configs of the default suite (or its defaults if it has none),
// and checks what a reader relies on: the run passes every verification
// check; every figure the report shows exists, is a real image and is not
// blank, and every figure written is shown; every link of the HTML pages
// resolves; the same config and seed give the same results.json and,
// wall-clock timings aside, the same report.md; and the experiment's
// headline metric (Spec.Headline, what a sweep's summary tabulates) is
// among the metrics of its results.
//
// -quick shrinks sizes only, never tolerances (the runner enforces it), so
// this verifies the claims a full run verifies, on smaller problems.
func TestRegistry(t *testing.T) {
	suite, err := fs.Sub(configFiles, runner.SuiteDir)
	if err != nil {
		t.Fatal(err)
	}
	hasConfig := map[string]bool{}
	configs, _ := fs.Glob(suite, "*.toml")
	for _, f := range configs {
		data, _ := fs.ReadFile(suite, f)
		for _, name := range runner.Names() {
			if strings.Contains(string(data), `experiment = "`+name+`"`) {
				hasConfig[name] = true
			}
		}
	}
	for _, name := range runner.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			info, _ := runner.Lookup(name)
			if info.Headline == "" {
				t.Error("the experiment declares no headline metric (Spec.Headline)")
			}
			args := []string{"-quick", "-only", name}
			if !hasConfig[name] {
				file := filepath.Join(t.TempDir(), name+".toml")
				if err := os.WriteFile(file, []byte(`experiment = "`+name+`"`+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "-config", file)
			}
			outs := []string{t.TempDir(), t.TempDir()}
			for _, out := range outs {
				var stdout, stderr bytes.Buffer
				code := runner.Run(t.Context(), append(args, "-out", out), &stdout, &stderr, suite)
				if code != runner.ExitOK {
					t.Fatalf("exit status %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
				}
			}
			reports, _ := filepath.Glob(filepath.Join(outs[0], "*", "report.md"))
			if len(reports) == 0 {
				t.Fatal("no report written")
			}
			for _, report := range reports {
				folder := filepath.Dir(report)
				checkRegistryReport(t, folder, filepath.Join(outs[1], filepath.Base(folder)), info.Headline)
			}
			if n, errs := runnertest.CheckPages(outs[0]); len(errs) > 0 {
				t.Errorf("%d images checked; problems:\n%v", n, errs)
			}
		})
	}
}

// checkRegistryReport checks one report folder of the first run against
// the same folder of the second, and that it records the headline metric.
func checkRegistryReport(t *testing.T, folder, again, headline string) {
	t.Helper()
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	md := read(filepath.Join(folder, "report.md"))
	i := strings.LastIndex(md, "\n## Verification\n")
	if i < 0 {
		t.Fatalf("%s: report.md has no Verification section", folder)
	}
	var res struct {
		Status  string `json:"status"`
		Metrics []struct {
			Name string `json:"name"`
		} `json:"metrics"`
	}
	js := read(filepath.Join(folder, "results.json"))
	if err := json.Unmarshal([]byte(js), &res); err != nil || res.Status != "PASS" || strings.Contains(md[i:], "FAIL") {
		t.Errorf("%s: status %q; the Verification section:\n%s", folder, res.Status, md[i:])
	}
	var names []string
	for _, m := range res.Metrics {
		names = append(names, m.Name)
	}
	if headline != "" && !slices.Contains(names, headline) {
		t.Errorf("%s: the headline metric %q is not among the metrics of results.json: %q", folder, headline, names)
	}

	// Every figure written is shown in the report.
	images, _, err := runnertest.Refs(filepath.Join(folder, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(folder)
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".png" && !slices.Contains(images, e.Name()) {
			t.Errorf("%s: %s was written but the report does not show it", folder, e.Name())
		}
	}

	// The same config and seed give the same numbers and the same text.
	if js2 := read(filepath.Join(again, "results.json")); js2 != js {
		t.Errorf("%s: results.json differs between two runs with the same seed:\n%s\n---\n%s", folder, js, js2)
	}
	if md2 := read(filepath.Join(again, "report.md")); runnertest.StripTimings(md2) != runnertest.StripTimings(md) {
		t.Errorf("%s: report.md differs between two runs outside its Timings section:\n%s", folder, firstDiff(runnertest.StripTimings(md), runnertest.StripTimings(md2)))
	}
}

// firstDiff shows the first line where a and b differ.
func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return "line " + strconv.Itoa(i+1) + ":\n  " + la[i] + "\n  " + lb[i]
		}
	}
	return "one is a prefix of the other"
}

// TestDocCommands checks that the commands doc.go suggests name
// experiments that exist and files that exist.
func TestDocCommands(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(doc), "\n") {
		fields := strings.Fields(line)
		for i := 0; i+1 < len(fields); i++ {
			switch fields[i] {
			case "-only":
				if _, ok := runner.Lookup(fields[i+1]); !ok && fields[i+1] != "NAME" {
					t.Errorf("doc.go suggests -only %s, which is not registered", fields[i+1])
				}
			case "-config":
				if f := fields[i+1]; strings.HasSuffix(f, ".toml") {
					if _, err := os.Stat(filepath.Join("..", f)); err != nil {
						t.Errorf("doc.go suggests -config %s: %v", f, err)
					}
				}
			}
		}
	}
}
