package runner

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A run's jobs are numbered 0, 1, …, n−1 in the order the configs are
// listed (the default suite by file name, -config files in the order
// given), each sweep's runs in their order (see forGrid; seeds innermost).
// Shard i of k (-shard i/k, 0 ≤ i < k) runs the jobs whose number is i
// modulo k: every job belongs to exactly one shard, the shards' sizes
// differ by at most one, and the runs of one sweep are dealt out in turn,
// so that runs that differ in cost (a sweep over sizes) spread over the
// shards. Every shard must be given the same configs and flags.

// Environment variables read by -shard auto.
const (
	envSlurmTask  = "SLURM_ARRAY_TASK_ID"    // this task's index in a Slurm job array
	envSlurmCount = "SLURM_ARRAY_TASK_COUNT" // the number of tasks in the array
	envSlurmMin   = "SLURM_ARRAY_TASK_MIN"   // the array's lowest index
	envSlurmStep  = "SLURM_ARRAY_TASK_STEP"  // the array's index step
	envK8sIndex   = "JOB_COMPLETION_INDEX"   // this pod's index in a Kubernetes Indexed Job
	// EnvShards gives the number of shards to -shard auto where the
	// scheduler does not (a Kubernetes Indexed Job: set it to the Job's
	// completions). The -shards flag does the same.
	EnvShards = "EXPERIMENTS_SHARDS"
)

// shardSpec is this invocation's share of the jobs: shard index of count.
type shardSpec struct {
	index, count int
	from         string // where index and count come from, for messages
}

// parseShard reads -shard: "i/k" with 0 ≤ i < k, or "auto", which reads
// the scheduler's environment through getenv; shards is -shards (0 if not
// given). The zero shardSpec (count 0) means no -shard.
func parseShard(flag string, shards int, getenv func(string) string) (shardSpec, error) {
	if flag == "" {
		if shards != 0 {
			return shardSpec{}, errors.New("-shards is the number of shards for -shard auto; give -shard auto too")
		}
		return shardSpec{}, nil
	}
	if flag != "auto" {
		if shards != 0 {
			return shardSpec{}, fmt.Errorf("-shards goes with -shard auto; -shard %s names the number of shards itself", flag)
		}
		a, b, ok := strings.Cut(flag, "/")
		i, err1 := strconv.Atoi(a)
		k, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || k < 1 || i < 0 || i >= k {
			return shardSpec{}, fmt.Errorf("-shard %q: want i/k with 0 ≤ i < k, such as 0/4 (the first of four shards), or auto", flag)
		}
		return shardSpec{index: i, count: k, from: "-shard " + flag}, nil
	}
	if shards < 0 {
		return shardSpec{}, fmt.Errorf("-shards %d: want a positive number", shards)
	}
	if id := getenv(envSlurmTask); id != "" {
		return slurmShard(id, shards, getenv)
	}
	if idx := getenv(envK8sIndex); idx != "" {
		i, err := strconv.Atoi(idx)
		if err != nil || i < 0 {
			return shardSpec{}, fmt.Errorf("-shard auto: %s=%q is not a non-negative integer", envK8sIndex, idx)
		}
		from := "-shards"
		k := shards
		if k == 0 {
			env := getenv(EnvShards)
			if env == "" {
				return shardSpec{}, fmt.Errorf("-shard auto: %s=%d is set (a Kubernetes Indexed Job), but the number of shards is not: "+
					"give -shards N or set %s to the Job's completions", envK8sIndex, i, EnvShards)
			}
			if k, err = strconv.Atoi(env); err != nil || k < 1 {
				return shardSpec{}, fmt.Errorf("-shard auto: %s=%q is not a positive integer", EnvShards, env)
			}
			from = EnvShards
		}
		if i >= k {
			return shardSpec{}, fmt.Errorf("-shard auto: %s=%d, but there are %d shards (%s): the index must be below", envK8sIndex, i, k, from)
		}
		return shardSpec{index: i, count: k, from: fmt.Sprintf("%s=%d, %s=%d", envK8sIndex, i, from, k)}, nil
	}
	return shardSpec{}, fmt.Errorf("-shard auto: neither %s (a Slurm job array) nor %s (a Kubernetes Indexed Job) is set; "+
		"run it as a task of one, or give the shard yourself with -shard i/k", envSlurmTask, envK8sIndex)
}

// slurmShard reads a Slurm job array's task: its index id among
// SLURM_ARRAY_TASK_COUNT tasks numbered from SLURM_ARRAY_TASK_MIN in steps
// of SLURM_ARRAY_TASK_STEP (so --array=1-8 works as well as --array=0-7).
func slurmShard(id string, shards int, getenv func(string) string) (shardSpec, error) {
	num := func(name, def string) (int, error) {
		v := getenv(name)
		if v == "" {
			v = def
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("-shard auto: %s=%q is not an integer", name, v)
		}
		return n, nil
	}
	task, err := num(envSlurmTask, "")
	if err != nil {
		return shardSpec{}, err
	}
	if getenv(envSlurmCount) == "" {
		return shardSpec{}, fmt.Errorf("-shard auto: %s=%d is set but %s is not: is this a job array (sbatch --array)?", envSlurmTask, task, envSlurmCount)
	}
	count, err := num(envSlurmCount, "")
	if err != nil {
		return shardSpec{}, err
	}
	lo, err := num(envSlurmMin, "0")
	if err != nil {
		return shardSpec{}, err
	}
	step, err := num(envSlurmStep, "1")
	if err != nil {
		return shardSpec{}, err
	}
	if step < 1 || (task-lo)%step != 0 || (task-lo)/step < 0 || (task-lo)/step >= count || count < 1 {
		return shardSpec{}, fmt.Errorf("-shard auto: task %s=%d is not one of the %d tasks from %d in steps of %d that %s and %s describe",
			envSlurmTask, task, count, lo, step, envSlurmMin, envSlurmStep)
	}
	if shards != 0 && shards != count {
		return shardSpec{}, fmt.Errorf("-shard auto: -shards %d, but the Slurm job array has %d tasks (%s)", shards, count, envSlurmCount)
	}
	i := (task - lo) / step
	return shardSpec{index: i, count: count, from: fmt.Sprintf("Slurm job array: %s=%d, %s=%d", envSlurmTask, task, envSlurmCount, count)}, nil
}

// owns reports whether job number n belongs to the shard.
func (s shardSpec) owns(n int) bool { return s.count == 0 || n%s.count == s.index }

// String is "shard i/k".
func (s shardSpec) String() string { return fmt.Sprintf("shard %d/%d", s.index, s.count) }
