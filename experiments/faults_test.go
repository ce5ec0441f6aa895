package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// runConfig runs the command on one config file with content config and the
// extra flags, and returns the exit status, the output folder and the
// streams.
func runConfig(t *testing.T, config string, flags ...string) (code int, out, stdout, stderr string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(file, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(dir, "out")
	var so, se bytes.Buffer
	code = runner.Run(t.Context(), append([]string{"-out", out, "-config", file}, flags...), &so, &se, nil)
	return code, out, so.String(), se.String()
}

// TestConfigFaults checks experiment-specific bad input found by trying the
// experiments: each bad value is rejected when its file is loaded, once,
// naming the file, the line, the key and what is allowed (exit status 2,
// nothing run).
func TestConfigFaults(t *testing.T) {
	type fault struct {
		name, config string
		want         []string // substrings of stderr
	}
	var cases []fault
	for _, key := range []string{"amplitude", "frequency"} {
		config := func(v string) string { return "experiment = \"pendulum_fit\"\n[params]\n" + key + " = " + v + "\n" }
		at := "bad.toml:3: key \"params." + key + "\": "
		for _, v := range []string{"nan", "inf", "+inf", "-inf"} {
			cases = append(cases, fault{"pendulum_fit " + key + " = " + v, config(v), []string{at + "must be a finite number"}})
		}
		cases = append(cases,
			fault{"pendulum_fit " + key + " = -1", config("-1"), []string{at + "must be between 0 and 100, got -1"}},
			fault{"pendulum_fit " + key + " = 1e300", config("1e300"), []string{at + "must be between 0 and 100, got 1e+300"}})
	}
	cases = append(cases, fault{"lorenz96_4dvar spinup = 0", "experiment = \"lorenz96_4dvar\"\n[params]\nspinup = 0\n",
		[]string{"bad.toml:3: key \"params.spinup\": must be between 5 and 1000, got 0"}})
	cases = append(cases, fault{"checkpointing steps = 0", "experiment = \"checkpointing\"\n[params]\nsteps = 0\n",
		[]string{"bad.toml:3: key \"params.steps\": must be between 4 and 1000000, got 0\n", "1 problem; nothing was run"}})

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, _, stderr := runConfig(t, tc.config)
			if code != runner.ExitBadInput {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, runner.ExitBadInput, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not contain %q:\n%s", w, stderr)
				}
			}
			if n := strings.Count(stderr, "bad.toml:"); n != 1 {
				t.Errorf("%d problems reported, want 1:\n%s", n, stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("bad input created the output folder")
			}
		})
	}
}

// TestCheckpointingTitle checks that the report's title states the number
// of steps the run made, not the default's.
func TestCheckpointingTitle(t *testing.T) {
	code, out, _, stderr := runConfig(t, "experiment = \"checkpointing\"\n[params]\nsteps = 300\nevery = [10]\nbinomial = [5]\n", "-quick")
	if code != runner.ExitOK {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
	}
	md, err := os.ReadFile(filepath.Join(out, "bad", "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "# Checkpointing policies on a 300-step tanh recurrence (d = 32)\n"; !strings.HasPrefix(string(md), want) {
		t.Errorf("report.md starts %q, want %q", strings.SplitN(string(md), "\n", 2)[0], want)
	}
}
