package runner

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/adjointkit/adjointkit/experiments/internal/runnertest"
)

// TestParseShard checks -shard i/k, -shard auto in a Slurm job array and a
// Kubernetes Indexed Job, and every way they can be wrong.
func TestParseShard(t *testing.T) {
	cases := []struct {
		name   string
		flag   string
		shards int
		env    map[string]string
		index  int
		count  int
		err    string
	}{
		{name: "none"},
		{name: "first of three", flag: "0/3", index: 0, count: 3},
		{name: "last of three", flag: "2/3", index: 2, count: 3},
		{name: "one of one", flag: "0/1", index: 0, count: 1},
		{name: "index too large", flag: "3/3", err: `-shard "3/3": want i/k with 0 ≤ i < k`},
		{name: "negative", flag: "-1/3", err: "want i/k"},
		{name: "no slash", flag: "2", err: "want i/k"},
		{name: "zero shards", flag: "0/0", err: "want i/k"},
		{name: "-shards alone", shards: 3, err: "-shards is the number of shards for -shard auto"},
		{name: "-shards with i/k", flag: "1/3", shards: 3, err: "-shards goes with -shard auto"},
		{name: "Slurm", flag: "auto", env: map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "0"}, index: 2, count: 4},
		{name: "Slurm from 1", flag: "auto", env: map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"}, index: 0, count: 4},
		{name: "Slurm with a step", flag: "auto", env: map[string]string{"SLURM_ARRAY_TASK_ID": "14", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_STEP": "2"}, index: 2, count: 3},
		{name: "Slurm and a matching -shards", flag: "auto", shards: 4, env: map[string]string{"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"}, index: 3, count: 4},
		{name: "Slurm and another -shards", flag: "auto", shards: 5, env: map[string]string{"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"}, err: "-shards 5, but the Slurm job array has 4 tasks"},
		{name: "Slurm without a count", flag: "auto", env: map[string]string{"SLURM_ARRAY_TASK_ID": "3"}, err: "SLURM_ARRAY_TASK_COUNT is not: is this a job array"},
		{name: "Slurm task outside the array", flag: "auto", env: map[string]string{"SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_COUNT": "4"}, err: "is not one of the 4 tasks"},
		{name: "Slurm garbage", flag: "auto", env: map[string]string{"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "4"}, err: `SLURM_ARRAY_TASK_ID="x" is not an integer`},
		{name: "Kubernetes with -shards", flag: "auto", shards: 3, env: map[string]string{"JOB_COMPLETION_INDEX": "1"}, index: 1, count: 3},
		{name: "Kubernetes with the variable", flag: "auto", env: map[string]string{"JOB_COMPLETION_INDEX": "0", EnvShards: "5"}, index: 0, count: 5},
		{name: "Kubernetes without a count", flag: "auto", env: map[string]string{"JOB_COMPLETION_INDEX": "1"}, err: "the number of shards is not: give -shards N or set EXPERIMENTS_SHARDS"},
		{name: "Kubernetes index too large", flag: "auto", shards: 2, env: map[string]string{"JOB_COMPLETION_INDEX": "2"}, err: "JOB_COMPLETION_INDEX=2, but there are 2 shards"},
		{name: "Kubernetes bad count", flag: "auto", env: map[string]string{"JOB_COMPLETION_INDEX": "0", EnvShards: "0"}, err: `EXPERIMENTS_SHARDS="0" is not a positive integer`},
		{name: "neither", flag: "auto", err: "neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseShard(tc.flag, tc.shards, func(k string) string { return tc.env[k] })
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error %v, want one containing %q", err, tc.err)
				}
			case err != nil:
				t.Errorf("error %v", err)
			case s.index != tc.index || s.count != tc.count:
				t.Errorf("shard %d/%d, want %d/%d", s.index, s.count, tc.index, tc.count)
			}
		})
	}
}

// TestScaleOutBadFlags checks that bad -j, -shard and -merge flags exit
// with status 2 and write nothing.
func TestScaleOutBadFlags(t *testing.T) {
	t.Setenv("SLURM_ARRAY_TASK_ID", "")
	t.Setenv("JOB_COMPLETION_INDEX", "")
	dir := t.TempDir()
	file := writeFile(t, dir, "good.toml", goodConfig)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-j", "0"}, "-j 0: want at least 1"},
		{[]string{"-j", "-2"}, "-j -2: want at least 1"},
		{[]string{"-shard", "4/4"}, `-shard "4/4": want i/k`},
		{[]string{"-shard", "auto"}, "-shard auto: neither SLURM_ARRAY_TASK_ID"},
		{[]string{"-shards", "2"}, "-shards is the number of shards for -shard auto"},
		{[]string{"-merge"}, "-merge needs the output folders to merge"},
		{[]string{"-merge", dir, "-out", dir}, "flags go before the folders to merge: -out comes after"},
		{[]string{"-quick", "-merge", dir}, "it takes only -out, not -config, -quick"},
	} {
		out := filepath.Join(dir, "out")
		code, _, stderr := runT(t, nil, append([]string{"-out", out, "-config", file}, tc.args...)...)
		if code != ExitBadInput || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit status %d, stderr:\n%s\nwant status 2 and %q", tc.args, code, stderr, tc.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: created the output folder", tc.args)
		}
	}
}

// shardFixture runs one plain config and a 12-run sweep (13 jobs: good,
// then the sweep's runs) unsharded with -j 2 into dir/all, and as three
// shards, one job at a time, into dir/shard-0, -1, -2.
func shardFixture(t *testing.T) (dir string, files []string) {
	t.Helper()
	dir = t.TempDir()
	files = []string{writeFile(t, dir, "good.toml", goodConfig), writeFile(t, dir, "s.toml", sweepConfig)}
	args := []string{"-config", files[0], "-config", files[1]}
	if code, stdout, stderr := runT(t, nil, append(args, "-out", filepath.Join(dir, "all"), "-j", "2")...); code != ExitOK {
		t.Fatalf("unsharded: exit status %d\n%s\n%s", code, stdout, stderr)
	}
	for i := range 3 {
		out := filepath.Join(dir, fmt.Sprintf("shard-%d", i))
		code, stdout, stderr := runT(t, nil, append(args, "-out", out, "-shard", fmt.Sprintf("%d/3", i))...)
		if code != ExitOK {
			t.Fatalf("shard %d: exit status %d\n%s\n%s", i, code, stdout, stderr)
		}
		n := len(slices.DeleteFunc([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, func(k int) bool { return k%3 != i }))
		wantContains(t, "stdout", stdout, fmt.Sprintf("shard %d/3 (-shard %d/3): %d jobs of 13\n", i, i, n),
			"sweep s: 4 of its 12 runs are in this shard; -merge writes its summary\n")
	}
	return dir, files
}

// TestShardsMergeEqualUnsharded runs a sweep unsharded and as three
// shards, merges the shards, and compares: every results.json byte for
// byte, and the index's content.
func TestShardsMergeEqualUnsharded(t *testing.T) {
	dir, _ := shardFixture(t)
	all := runResults(t, filepath.Join(dir, "all"))

	// Shard i holds exactly the jobs whose number is i modulo 3, and no
	// summary (it does not hold the whole sweep).
	order := []string{"good"}
	j, _ := loadConfig("s.toml", []byte(sweepConfig), loadOptions{})
	for _, r := range j.sw.runs {
		order = append(order, r.name)
	}
	for i := range 3 {
		got := slices.Sorted(maps.Keys(runResults(t, filepath.Join(dir, fmt.Sprintf("shard-%d", i)))))
		var want []string
		for k, name := range order {
			if k%3 == i {
				want = append(want, name)
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("shard %d holds %v, want %v", i, got, want)
		}
	}

	merged := filepath.Join(dir, "merged")
	code, stdout, stderr := runT(t, nil, "-out", merged, "-merge",
		filepath.Join(dir, "shard-0"), filepath.Join(dir, "shard-1"), filepath.Join(dir, "shard-2"))
	if code != ExitOK {
		t.Fatalf("-merge: exit status %d\n%s\n%s", code, stdout, stderr)
	}
	wantContains(t, "stdout", stdout, "merged 13 report folders from 3 folders into "+merged+" (13 copied, 0 already there)",
		"PASS   s                                sweep  ", "(summary of 12 of 12 runs)", "index of 14 reports")
	got := runResults(t, merged)
	if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(all))) || len(all) != 14 {
		t.Fatalf("merged folders %v, unsharded %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(all)))
	}
	for name, js := range all {
		if got[name] != js {
			t.Errorf("%s/results.json differs between the merged shards and the unsharded run", name)
		}
	}
	if a, b := readFile(t, filepath.Join(dir, "all", "index.md")), readFile(t, filepath.Join(merged, "index.md")); a != b {
		t.Errorf("index.md differs:\n%s\n---\n%s", a, b)
	}
	imagesA, linksA, _ := runnertest.Refs(filepath.Join(dir, "all", "index.html"))
	imagesB, linksB, _ := runnertest.Refs(filepath.Join(merged, "index.html"))
	if !slices.Equal(imagesA, imagesB) || !slices.Equal(linksA, linksB) || len(linksA) < 14 {
		t.Errorf("index.html links differently:\n%v %v\n%v %v", imagesA, linksA, imagesB, linksB)
	}
	if n, errs := runnertest.CheckPages(merged); len(errs) > 0 {
		t.Errorf("%d images checked; problems: %v", n, errs)
	}
	noTempFiles(t, merged)

	// Shards writing into one shared folder write no summary; -merge of
	// that folder alone writes it, and the folder is then the unsharded run.
	shared := filepath.Join(dir, "shared")
	for i := range 3 {
		args := []string{"-config", filepath.Join(dir, "good.toml"), "-config", filepath.Join(dir, "s.toml"), "-out", shared, "-shard", fmt.Sprintf("%d/3", i)}
		if code, _, stderr := runT(t, nil, args...); code != ExitOK {
			t.Fatalf("shard %d into a shared folder: %s", i, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(shared, "s")); err == nil {
		t.Error("a shard wrote the summary of a sweep it ran only part of")
	}
	if code, stdout, stderr := runT(t, nil, "-out", shared, "-merge", shared); code != ExitOK {
		t.Fatalf("-merge of the shared folder: exit status %d\n%s\n%s", code, stdout, stderr)
	}
	if in := runResults(t, shared); !maps.Equal(in, all) {
		t.Error("the shared folder, merged, has other results than the unsharded run")
	}

	// Merging into one of the shards completes it in place.
	code, stdout, stderr = runT(t, nil, "-out", filepath.Join(dir, "shard-0"), "-merge",
		filepath.Join(dir, "shard-0"), filepath.Join(dir, "shard-1"), filepath.Join(dir, "shard-2"))
	if code != ExitOK {
		t.Fatalf("-merge into a shard: exit status %d\n%s\n%s", code, stdout, stderr)
	}
	wantContains(t, "stdout", stdout, "(8 copied, 5 already there)")
	if in := runResults(t, filepath.Join(dir, "shard-0")); !maps.Equal(in, all) {
		t.Error("merging into shard-0 gave other results than the unsharded run")
	}
}

// TestMergeProblems checks that folders that cannot be merged are bad
// input (status 2, nothing written), and that merging part of a sweep
// writes a summary that says which runs are missing (status 1).
func TestMergeProblems(t *testing.T) {
	dir, files := shardFixture(t)
	s0, s1 := filepath.Join(dir, "shard-0"), filepath.Join(dir, "shard-1")

	// A copy of shard 0 with one run's results changed.
	changed := filepath.Join(dir, "changed")
	if err := copyTree(s0, changed); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(changed, "s,n=30,solver.rtol=0.0001,seed=1", "results.json")
	writeFile(t, filepath.Dir(run), "results.json", strings.Replace(readFile(t, run), `"status": "PASS"`, `"status": "FAIL"`, 1))
	// A shard of another sweep of the same name: other [params].
	other := filepath.Join(dir, "other")
	writeFile(t, dir, "s.toml", strings.Replace(sweepConfig, `label = "swept"`, `label = "other"`, 1))
	if code, _, stderr := runT(t, nil, "-config", files[1], "-out", other, "-shard", "1/3"); code != ExitOK {
		t.Fatalf("other sweep: %s", stderr)
	}
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	writeFile(t, empty, "notes.txt", "not a report")

	for _, tc := range []struct {
		name string
		dirs []string
		want string
	}{
		{"missing folder", []string{s0, filepath.Join(dir, "nope")}, "no such file or directory"},
		{"a file", []string{s0, files[0]}, "good.toml is a file, not an output folder"},
		{"not an output folder", []string{s0, empty}, "empty is not an output folder of the experiments runner"},
		{"same job, other results", []string{s0, s1, changed}, "are the same job with different results (results.json differs at line "},
		{"another sweep of the same name", []string{s0, other}, "are runs of two different sweeps named s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			code, stdout, stderr := runT(t, nil, append([]string{"-out", out, "-merge"}, tc.dirs...)...)
			if code != ExitBadInput || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "nothing was merged") {
				t.Errorf("exit status %d, stdout:\n%s\nstderr:\n%s\nwant status 2 and %q", code, stdout, stderr, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("created the output folder")
			}
		})
	}

	// Two of three shards: the summary names what is missing and fails.
	out := filepath.Join(dir, "part")
	code, stdout, stderr := runT(t, nil, "-out", out, "-merge", s0, s1)
	if code != ExitFailed {
		t.Fatalf("two shards: exit status %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	wantContains(t, "stdout", stdout, "FAIL   s                                sweep  ", "(summary of 8 of 12 runs)")
	md := readFile(t, filepath.Join(out, "s", "report.md"))
	wantContains(t, "the summary", md, "| every run of the sweep is present | 8 of 12 runs; missing: s,n=30,solver.rtol=0.001,seed=2, ", "| **FAIL** |")
	wantContains(t, "index.md", readFile(t, filepath.Join(out, "index.md")), "Summary: [s](s/report.md); 8 of its 12 runs are here.")
}

// TestParallelRuns checks -j: the same results as one at a time, a
// clamp to the cores with a note, and progress lines of every running job.
func TestParallelRuns(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "s.toml", sweepConfig)
	for _, j := range []string{"1", "2"} {
		if code, _, stderr := runT(t, nil, "-config", file, "-out", filepath.Join(dir, "j"+j), "-j", j); code != ExitOK {
			t.Fatalf("-j %s: %s", j, stderr)
		}
	}
	if a, b := runResults(t, filepath.Join(dir, "j1")), runResults(t, filepath.Join(dir, "j2")); !maps.Equal(a, b) || len(a) != 13 {
		t.Errorf("-j 2 wrote other results than -j 1 (%d and %d folders)", len(a), len(b))
	}

	huge := fmt.Sprint(runtime.GOMAXPROCS(0) + 5)
	code, stdout, _ := runT(t, nil, "-config", file, "-out", filepath.Join(dir, "huge"), "-j", huge)
	if code != ExitOK {
		t.Fatal(code)
	}
	wantContains(t, "stdout", stdout, fmt.Sprintf("-j %s: running %d at once, the number of cores this process may use (GOMAXPROCS)", huge, runtime.GOMAXPROCS(0)))

	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one core: -j 2 runs one job at a time")
	}
	a := writeFile(t, dir, "slow_a.toml", goodConfig+"sleep = \"400ms\"\n")
	b := writeFile(t, dir, "slow_b.toml", goodConfig+"sleep = \"400ms\"\n")
	code, stdout, stderr := runT(t, nil, "-out", filepath.Join(dir, "slow"), "-config", a, "-config", b, "-j", "2", "-log-every", "50ms")
	if code != ExitOK {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr)
	}
	for _, name := range []string{"slow_a", "slow_b"} {
		if n := strings.Count(stdout, "       "+name+": "); n < 2 {
			t.Errorf("%d progress lines of %s, want several:\n%s", n, name, stdout)
		}
	}
	wantContains(t, "stdout", stdout, ", 2 running", "ran 2 jobs")
}

// TestSIGTERMParallel is TestSIGTERM with two jobs running at once: both
// are stopped, both earlier reports stay as they were, and no temporary
// folder is left.
func TestSIGTERMParallel(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM on Windows")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	files := []string{writeFile(t, dir, "a.toml", goodConfig), writeFile(t, dir, "b.toml", goodConfig)}
	if code, _, stderr := runT(t, nil, "-out", out, "-config", files[0], "-config", files[1]); code != ExitOK {
		t.Fatalf("first run: exit status %d; stderr:\n%s", code, stderr)
	}
	before := runResults(t, out)
	for _, f := range files {
		writeFile(t, dir, filepath.Base(f), goodConfig+"fail = \"wait\"\n")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperMain$")
	cmd.Env = append(os.Environ(), "RUNNER_HELPER_ARGS=-out\x1f"+out+"\x1f-config\x1f"+files[0]+"\x1f-config\x1f"+files[1]+"\x1f-j\x1f2")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	want := min(2, runtime.GOMAXPROCS(0)) // jobs running at once
	deadline := time.Now().Add(10 * time.Second)
	for countTemp(out) < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != ExitFailed {
		t.Fatalf("exit status %d, want %d; stdout:\n%s\nstderr:\n%s", code, ExitFailed, stdout.String(), stderr.String())
	}
	wantContains(t, "stderr", stderr.String(), "a: run failed: interrupted")
	if want == 2 {
		wantContains(t, "stderr", stderr.String(), "b: run failed: interrupted")
	}
	if after := runResults(t, out); !maps.Equal(before, after) {
		t.Error("an earlier report changed")
	}
	noTempFiles(t, out)
}

// countTemp counts the temporary report folders in out.
func countTemp(out string) int {
	entries, _ := os.ReadDir(out)
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") && e.IsDir() {
			n++
		}
	}
	return n
}

// TestConsoleTerminalLine checks the progress line a terminal shows while
// two jobs run: the jobs done, an estimate, and each running job's
// progress; and that an outcome line replaces it cleanly.
func TestConsoleTerminalLine(t *testing.T) {
	var out bytes.Buffer
	c := newConsole(&out, io.Discard, []time.Duration{time.Second, time.Second, time.Second}, 2)
	c.term = true
	a := c.begin(0, "alpha", "")
	b := c.begin(1, "beta", "")
	a.progress(1, 4, "epoch 1")
	c.mu.Lock()
	c.draw()
	c.mu.Unlock()
	last := out.String()[strings.LastIndex(out.String(), "\r\033[K")+4:]
	for _, want := range []string{"[0/3 done, ETA ", "alpha: 1/4 (25%) epoch 1, ", " · beta: 0s"} {
		if !strings.Contains(last, want) {
			t.Errorf("the progress line %q lacks %q", last, want)
		}
	}
	c.finish(b, "PASS   beta")
	s := out.String()
	rest := s[strings.LastIndex(s, "PASS"):]
	if !strings.Contains(s, "\r\033[KPASS   beta\n\r\033[K[1/3 done, ETA ") || !strings.Contains(rest, "] alpha: 1/4 (25%) epoch 1, ") || strings.Contains(rest, "beta:") {
		t.Errorf("after beta finished:\n%q", rest)
	}
	c.finish(a, "PASS   alpha")
	c.close()
}
