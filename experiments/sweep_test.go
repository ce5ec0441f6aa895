package main

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/experiments/internal/runnertest"
)

// sweepExample is the example sweep of the README and of deploy/.
const sweepExample = "configs/sweeps/train_mlp_lr.toml"

// TestSweepExample runs the example sweep (train_mlp over three learning
// rates and three seeds) with -quick, once whole with two jobs at a time
// and once as three shards merged, and checks that every results.json
// and the index are byte for byte the same, that the summary covers the
// nine runs, and that every page's images and links resolve.
func TestSweepExample(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run := func(args ...string) string {
		var stdout, stderr bytes.Buffer
		code := runner.Run(t.Context(), append([]string{"-quick", "-config", sweepExample}, args...), &stdout, &stderr, nil)
		if code != runner.ExitOK {
			t.Errorf("%v: exit status %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	var wg sync.WaitGroup
	wg.Go(func() { run("-out", filepath.Join(dir, "whole"), "-j", "2") })
	shards := make([]string, 3)
	for i := range shards {
		shards[i] = filepath.Join(dir, fmt.Sprintf("shard-%d", i))
		wg.Go(func() { run("-out", shards[i], "-shard", fmt.Sprintf("%d/3", i)) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var stdout, stderr bytes.Buffer
	merged := filepath.Join(dir, "merged")
	if code := runner.Run(t.Context(), append([]string{"-out", merged, "-merge"}, shards...), &stdout, &stderr, nil); code != runner.ExitOK {
		t.Fatalf("-merge: exit status %d\n%s\n%s", code, stdout.String(), stderr.String())
	}

	results := func(out string) map[string]string {
		files, _ := filepath.Glob(filepath.Join(out, "*", "results.json"))
		m := map[string]string{}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m[filepath.Base(filepath.Dir(f))] = string(b)
		}
		return m
	}
	whole, fromShards := results(filepath.Join(dir, "whole")), results(merged)
	names := slices.Sorted(maps.Keys(whole))
	if len(names) != 10 || !slices.Equal(names, slices.Sorted(maps.Keys(fromShards))) {
		t.Fatalf("report folders: whole %v, merged %v; want the 9 runs and the summary", names, slices.Sorted(maps.Keys(fromShards)))
	}
	for _, n := range names {
		if whole[n] != fromShards[n] {
			t.Errorf("%s/results.json differs between the whole run and the merged shards", n)
		}
	}
	idx := func(out string) string {
		b, err := os.ReadFile(filepath.Join(out, "index.md"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if a, b := idx(filepath.Join(dir, "whole")), idx(merged); a != b {
		t.Errorf("index.md differs:\n%s\n---\n%s", a, b)
	}
	for _, want := range []string{`"headline": "test accuracy"`, `"runs": 9`, `"present": 9`, `"train_mlp_lr,lr=0.02,seed=3"`, `"status": "PASS"`} {
		if !strings.Contains(whole["train_mlp_lr"], want) {
			t.Errorf("the summary's results.json lacks %s:\n%s", want, whole["train_mlp_lr"])
		}
	}
	if n, errs := runnertest.CheckPages(merged); len(errs) > 0 || n < 10 {
		t.Errorf("%d images checked; problems: %v", n, errs)
	}
}
