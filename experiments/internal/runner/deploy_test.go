package runner

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The files under deploy/ run the command on a cluster. These tests check
// that they parse (the sbatch script with bash -n, the manifests with a
// YAML parser: their meaning lies in their structure, which a line-based
// check could not see) and that the command lines in them are ones the
// runner accepts: every flag exists, the values parse, the config files
// exist, and the shard counts agree with the array or Job they run in.

// repoRoot is the repository's root, from this package's folder.
const repoRoot = "../../.."

// checkArgs parses args (without the program name) as the command would,
// and returns the options; it fails the test if the runner rejects them.
func checkArgs(t *testing.T, where string, args []string) options {
	t.Helper()
	var stderr bytes.Buffer
	o, err := parseFlags(args, &stderr)
	if err != nil {
		t.Fatalf("%s: the runner rejects %q: %v\n%s", where, args, err, stderr.String())
	}
	return o
}

// shellWords splits a command line as the shell does for the simple lines
// of the script: words separated by blanks, double quotes removed.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	in, quoted := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, in = !quoted, true
		case (r == ' ' || r == '\t') && !quoted:
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// TestDeploySlurm checks deploy/slurm/sweep.sbatch: bash parses it, its
// #SBATCH directives come before its first command, its array is 0-(N-1),
// the command it runs is one the runner accepts with -shard auto in such
// an array, and the merge command in its comment merges the folders the
// tasks write.
func TestDeploySlurm(t *testing.T) {
	path := filepath.Join(repoRoot, "deploy", "slurm", "sweep.sbatch")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bash, err := exec.LookPath("bash"); err == nil {
		if out, err := exec.Command(bash, "-n", path).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", path, err, out)
		}
	} else {
		t.Log("no bash: the script's syntax is not checked")
	}
	lines := strings.Split(string(src), "\n")
	firstCommand := slices.IndexFunc(lines, func(l string) bool {
		l = strings.TrimSpace(l)
		return l != "" && !strings.HasPrefix(l, "#")
	})
	tasks := 0
	for i, l := range lines {
		if !strings.HasPrefix(l, "#SBATCH") {
			continue
		}
		if i > firstCommand {
			t.Errorf("line %d: sbatch ignores #SBATCH after the first command (line %d)", i+1, firstCommand+1)
		}
		if m := regexp.MustCompile(`^#SBATCH --array=0-(\d+)$`).FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			tasks = n + 1
		}
	}
	if tasks == 0 {
		t.Fatal("no #SBATCH --array=0-N line")
	}

	// The command, its continued lines joined, with the variables Slurm
	// sets for the last task.
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "bin/experiments ") })
	if i < 0 {
		t.Fatal("no line runs bin/experiments")
	}
	cmd := ""
	for ; i < len(lines); i++ {
		cmd += strings.TrimSuffix(strings.TrimSpace(lines[i]), `\`) + " "
		if !strings.HasSuffix(lines[i], `\`) {
			break
		}
	}
	last := strconv.Itoa(tasks - 1)
	cmd = strings.NewReplacer("${SLURM_CPUS_PER_TASK:-1}", "2", "${SLURM_ARRAY_TASK_ID}", last).Replace(cmd)
	if strings.Contains(cmd, "$") {
		t.Fatalf("the command uses a variable the test does not know: %s", cmd)
	}
	o := checkArgs(t, path, shellWords(cmd)[1:])
	for _, f := range o.configs {
		if _, err := os.Stat(filepath.Join(repoRoot, f)); err != nil {
			t.Errorf("%s runs -config %s: %v", path, f, err)
		}
	}
	env := map[string]string{"SLURM_ARRAY_TASK_ID": last, "SLURM_ARRAY_TASK_COUNT": strconv.Itoa(tasks), "SLURM_ARRAY_TASK_MIN": "0"}
	s, err := parseShard(o.shard, o.shards, func(k string) string { return env[k] })
	if err != nil || s.index != tasks-1 || s.count != tasks {
		t.Errorf("-shard %s in task %s of %d: shard %d/%d, %v", o.shard, last, tasks, s.index, s.count, err)
	}
	if o.out != "out/shard-"+last {
		t.Errorf("task %s writes %s, want out/shard-%s", last, o.out, last)
	}

	m := regexp.MustCompile(`--wrap "bin/experiments ([^"]*)"`).FindStringSubmatch(string(src))
	if m == nil {
		t.Fatal("no merge command (sbatch --wrap \"bin/experiments ... -merge ...\") in the comments")
	}
	words := shellWords(m[1])
	var args []string
	for _, w := range words {
		if w == "out/shard-*" { // the shell's glob, over the folders the tasks wrote
			for k := range tasks {
				args = append(args, fmt.Sprintf("out/shard-%d", k))
			}
			continue
		}
		args = append(args, w)
	}
	if mo := checkArgs(t, "the merge command", args); !mo.merge || len(mo.dirs) != tasks {
		t.Errorf("the merge command %q does not merge the %d tasks' folders", m[1], tasks)
	}
}

// k8sJob is what the tests read of a Kubernetes Job manifest.
type k8sJob struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Spec       struct {
		CompletionMode string `yaml:"completionMode"`
		Completions    int    `yaml:"completions"`
		Parallelism    int    `yaml:"parallelism"`
		Template       struct {
			Spec struct {
				RestartPolicy string `yaml:"restartPolicy"`
				Containers    []struct {
					Image   string   `yaml:"image"`
					Command []string `yaml:"command"`
					Args    []string `yaml:"args"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// readJob decodes the single YAML document of a Job manifest.
func readJob(t *testing.T, name string) k8sJob {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "deploy", "kubernetes", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var j k8sJob
	if err := dec.Decode(&j); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var more any
	if err := dec.Decode(&more); err != io.EOF {
		t.Fatalf("%s holds more than one document (%v)", name, err)
	}
	if j.APIVersion != "batch/v1" || j.Kind != "Job" || j.Spec.Template.Spec.RestartPolicy != "Never" || len(j.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%s is not a batch/v1 Job of one container with restartPolicy Never: %+v", name, j)
	}
	return j
}

// TestDeployKubernetes checks deploy/kubernetes: the Indexed Job's
// arguments are accepted by the runner and shard it into as many shards
// as the Job has completions, its config file is in the image, and the
// merge Job merges every shard's folder.
func TestDeployKubernetes(t *testing.T) {
	sweep := readJob(t, "sweep-job.yaml")
	if sweep.Spec.CompletionMode != "Indexed" || sweep.Spec.Completions < 1 || sweep.Spec.Parallelism < 1 {
		t.Fatalf("sweep-job.yaml: completionMode %q, completions %d, parallelism %d", sweep.Spec.CompletionMode, sweep.Spec.Completions, sweep.Spec.Parallelism)
	}
	n := sweep.Spec.Completions
	c := sweep.Spec.Template.Spec.Containers[0]
	// Kubernetes replaces $(JOB_COMPLETION_INDEX) in args with the pod's
	// index; here, the last one.
	var args []string
	for _, a := range c.Args {
		args = append(args, strings.ReplaceAll(a, "$(JOB_COMPLETION_INDEX)", strconv.Itoa(n-1)))
	}
	o := checkArgs(t, "sweep-job.yaml", args)
	env := map[string]string{"JOB_COMPLETION_INDEX": strconv.Itoa(n - 1)}
	s, err := parseShard(o.shard, o.shards, func(k string) string { return env[k] })
	if err != nil || s.index != n-1 || s.count != n {
		t.Errorf("sweep-job.yaml: the last pod runs shard %d/%d (%v), want %d/%d: -shards must equal completions", s.index, s.count, err, n-1, n)
	}
	outPattern := strings.ReplaceAll(c.Args[slices.Index(c.Args, "-out")+1], "$(JOB_COMPLETION_INDEX)", "%d")
	if !strings.Contains(outPattern, "%d") {
		t.Errorf("sweep-job.yaml: pods write -out %s, the same folder for every index", outPattern)
	}

	// The image (its Dockerfile) holds experiments/configs at /configs.
	docker, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "kubernetes", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^COPY experiments/configs /configs$`).Match(docker) || !regexp.MustCompile(`(?m)^ENTRYPOINT \["/experiments"\]$`).Match(docker) {
		t.Fatal("the Dockerfile does not put the configs at /configs and the command at /experiments")
	}
	for _, f := range o.configs {
		rel, ok := strings.CutPrefix(f, "/configs/")
		if _, err := os.Stat(filepath.Join(repoRoot, "experiments", "configs", rel)); !ok || err != nil {
			t.Errorf("sweep-job.yaml runs -config %s, which is not in the image: %v", f, err)
		}
	}

	merge := readJob(t, "merge-job.yaml")
	mc := merge.Spec.Template.Spec.Containers[0]
	if mc.Image != c.Image {
		t.Errorf("the merge Job runs image %s, the sweep %s", mc.Image, c.Image)
	}
	mo := checkArgs(t, "merge-job.yaml", mc.Args)
	var want []string
	for k := range n {
		want = append(want, fmt.Sprintf(outPattern, k))
	}
	if !mo.merge || !slices.Equal(mo.dirs, want) {
		t.Errorf("merge-job.yaml merges %v, want the %d shards' folders %v", mo.dirs, n, want)
	}
}
