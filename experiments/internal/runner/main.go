package runner

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Exit statuses of the runner.
const (
	ExitOK       = 0 // every run succeeded and no check failed
	ExitFailed   = 1 // a run failed, a check failed, the run was interrupted or output could not be written
	ExitBadInput = 2 // bad flags, config files or -out; nothing was run
)

// SuiteDir is how the default suite's files are named in messages: the
// folder, under experiments/, that the command embeds.
const SuiteDir = "configs"

// Main runs the command with os.Args and the default suite (the *.toml
// files at the top of suite) until it is done or interrupted, and returns
// the exit status. Ctrl-C (SIGINT) and SIGTERM stop it the same way: the
// running experiment is cancelled, its temporary folder removed, earlier
// reports kept, the index written; a second signal kills the process.
func Main(suite fs.FS) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process the usual way
	}()
	defer stop()
	return Run(ctx, os.Args[1:], os.Stdout, os.Stderr, suite)
}

// Run is the whole command without signals and os.Exit: it parses args,
// runs the selected configs until ctx is cancelled, writes to stdout and
// stderr only, and returns the exit status.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, suite fs.FS) int {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		return ExitBadInput // parseFlags printed it
	}
	if opts.list {
		if err := list(stdout, suite); err != nil {
			fmt.Fprintf(stderr, "experiments: %v\n", err)
			return ExitFailed
		}
		return ExitOK
	}
	if opts.merge {
		return runMerge(opts, stdout, stderr)
	}
	shard, err := parseShard(opts.shard, opts.shards, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "experiments: %v\n", err)
		return ExitBadInput
	}

	jobs, errs := selectJobs(suite, opts)
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(stderr, e)
		}
		fmt.Fprintf(stderr, "experiments: %s; nothing was run\n", Count(len(errs), "problem", "problems"))
		return ExitBadInput
	}
	if len(jobs) == 0 {
		fmt.Fprintf(stdout, "no configs in experiments/%s/: nothing to run\n", SuiteDir)
		return ExitOK
	}
	// This shard's jobs, and the sweeps all of whose runs it makes.
	var mine []*job
	var sweeps []*sweep
	whole := map[*sweep]bool{}
	for n, j := range jobs {
		if shard.owns(n) {
			mine = append(mine, j)
		}
		if j.sw != nil {
			if _, seen := whole[j.sw]; !seen {
				sweeps = append(sweeps, j.sw)
				whole[j.sw] = true
			}
			whole[j.sw] = whole[j.sw] && shard.owns(n)
		}
	}

	out := openOutSaying(opts.out, stdout, stderr)
	if out == nil {
		return ExitBadInput
	}
	defer out.close()
	workers := opts.jobs
	if cores := runtime.GOMAXPROCS(0); workers > cores {
		fmt.Fprintf(stdout, "-j %d: running %d at once, the number of cores this process may use (GOMAXPROCS)\n", workers, cores)
		workers = cores
	}
	workers = max(min(workers, len(mine)), 1)
	if shard.count > 0 {
		fmt.Fprintf(stdout, "%s (%s): %s of %d\n", shard, shard.from, Count(len(mine), "job", "jobs"), len(jobs))
		for _, s := range sweeps {
			if !whole[s] {
				n := 0
				for _, r := range s.runs {
					if slices.Contains(mine, r) {
						n++
					}
				}
				fmt.Fprintf(stdout, "sweep %s: %d of its %d runs are in this shard; -merge writes its summary\n", s.name, n, len(s.runs))
			}
		}
	}

	start := time.Now()
	tally, attempted := runJobs(ctx, out, mine, workers, opts, stdout, stderr)
	code := tally.code()

	// The summaries of the sweeps whose runs this invocation made.
	nSummaries := 0
	for _, s := range sweeps {
		if !whole[s] || ctx.Err() != nil || !slices.ContainsFunc(s.runs, func(r *job) bool { return attempted[r] }) {
			continue
		}
		status, n, err := out.summarise(s.runs[0].ref, s.runs[0].quick)
		report := filepath.Join(opts.out, s.name, "report.md")
		switch {
		case err != nil:
			code = ExitFailed
			fmt.Fprintf(stdout, "ERROR  %-28s %9s  summary not written\n", s.name, "sweep")
			fmt.Fprintf(stderr, "%s: summary of the sweep: %v\n", s.name, err)
			continue
		case status == statusFail:
			code = ExitFailed
		}
		nSummaries++
		fmt.Fprintf(stdout, "%-6s %-28s %9s  %s (summary of %d of %d runs)\n", summaryWord(status), s.name, "sweep", report, n, len(s.runs))
	}

	n, err := out.writeIndex()
	if err != nil {
		fmt.Fprintf(stderr, "experiments: writing the index: %v\n", err)
		return ExitFailed
	}
	summaries := ""
	if nSummaries > 0 {
		summaries = ", " + Count(nSummaries, "sweep summary", "sweep summaries")
	}
	fmt.Fprintf(stdout, "ran %s in %s: %d PASS, %d FAIL, %d without checks, %s%s; index of %s: %s\n",
		Count(tally.pass+tally.fail+tally.none+tally.err, "job", "jobs"), time.Since(start).Round(time.Millisecond),
		tally.pass, tally.fail, tally.none, Count(tally.err, "run error", "run errors"), summaries, Count(n, "report", "reports"),
		filepath.Join(opts.out, "index.html"))
	return code
}

// openOutSaying opens the output folder dir (openOut), says which
// temporary files of dead runs it removed, and returns nil after saying
// what is wrong if it cannot.
func openOutSaying(dir string, stdout, stderr io.Writer) *outDir {
	out, removed, err := openOut(dir)
	if err != nil {
		fmt.Fprintf(stderr, "experiments: -out %s: %v\n", dir, err)
		return nil
	}
	if len(removed) > 0 {
		fmt.Fprintf(stdout, "removed %s left in %s by runs that ended without cleaning up: %s\n",
			Count(len(removed), "temporary file", "temporary files"), dir, strings.Join(removed, ", "))
	}
	return out
}

// summaryWord is a summary's status as the runner prints it.
func summaryWord(status string) string {
	if status == statusNoChecks {
		return "NOCHK"
	}
	return status
}

// tally counts the outcomes of the jobs.
type tally struct {
	pass, fail, none, err int
	notRun                int
}

// code is the exit status the outcomes call for.
func (t tally) code() int {
	if t.fail+t.err+t.notRun > 0 {
		return ExitFailed
	}
	return ExitOK
}

// runJobs runs the jobs, up to workers at once, until they are done or ctx
// is cancelled, printing each outcome; it returns the counts and which
// jobs were started.
func runJobs(ctx context.Context, out *outDir, jobs []*job, workers int, opts options, stdout, stderr io.Writer) (tally, map[*job]bool) {
	estimates := make([]time.Duration, len(jobs))
	for i, j := range jobs {
		estimates[i], _ = out.lastWall(j.name, j.quick)
	}
	con := newConsole(stdout, stderr, estimates, workers)
	if opts.logEvery > 0 {
		con.logEvery = opts.logEvery
	}
	defer con.close()

	var mu sync.Mutex
	var t tally
	attempted := map[*job]bool{}
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				j := jobs[i]
				s := con.begin(i, j.name, fmt.Sprintf("experiment %s, %s, seed %d", j.exp.name, j.file, j.seed))
				env := &Env{Seed: j.seed, ctx: ctx, cacheDir: filepath.Join(opts.out, "_cache"), progress: s.progress, logf: s.logf}
				o := out.runJob(j, env)
				wall := o.wall.Round(time.Millisecond)
				report := filepath.Join(opts.out, j.name, "report.md")
				mu.Lock()
				attempted[j] = true
				switch {
				case o.err != nil:
					t.err++
				case o.status == statusFail:
					t.fail++
				case o.status == statusNoChecks:
					t.none++
				default:
					t.pass++
				}
				mu.Unlock()
				switch {
				case o.err != nil:
					con.finish(s, fmt.Sprintf("ERROR  %-28s %9s  failed; %s left as it was", j.name, wall, filepath.Join(opts.out, j.name)))
					con.errorf("%s: run failed: %v", j.name, o.err)
				case o.status == statusFail:
					con.finish(s, fmt.Sprintf("FAIL   %-28s %9s  %s", j.name, wall, report))
					for _, c := range o.failed {
						con.errorf("%s: %s", j.name, c)
					}
				case o.status == statusNoChecks:
					con.finish(s, fmt.Sprintf("NOCHK  %-28s %9s  %s (no verification checks)", j.name, wall, report))
				default:
					con.finish(s, fmt.Sprintf("PASS   %-28s %9s  %s", j.name, wall, report))
				}
			}
		})
	}
	sent := 0
feed:
	for ; sent < len(jobs); sent++ {
		if ctx.Err() != nil {
			break
		}
		select {
		case next <- sent:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if sent < len(jobs) {
		t.notRun = len(jobs) - sent
		con.errorf("experiments: interrupted; %s not run", Count(t.notRun, "job", "jobs"))
	}
	return t, attempted
}

// options are the parsed flags.
type options struct {
	configs  []string // -config files, in order
	out      string
	list     bool
	only     string
	quick    bool
	seed     int64
	seedSet  bool
	logEvery time.Duration // -log-every; 0 means the console's default
	jobs     int           // -j
	shard    string        // -shard, "" if not given
	shards   int           // -shards, 0 if not given
	force    bool          // -force
	merge    bool          // -merge
	dirs     []string      // the folders to merge
}

// fileList is a flag.Value collecting file names from repeated flags and
// comma-separated lists. A value naming an existing file is taken whole,
// so paths containing commas still work.
type fileList []string

func (l *fileList) String() string { return strings.Join(*l, ",") }

func (l *fileList) Set(s string) error {
	if _, err := os.Stat(s); err == nil {
		*l = append(*l, s)
		return nil
	}
	n := 0
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			*l = append(*l, f)
			n++
		}
	}
	if n == 0 {
		return errors.New("no file name given")
	}
	return nil
}

const usageText = `usage: go run ./experiments [flags]
       go run ./experiments [-out DIR] -merge DIR...

Runs the default suite (every *.toml directly in experiments/configs/), or the
files given with -config, and writes one report folder per config (per run of
a sweep) to -out, plus index.md and index.html. -merge instead combines the
output folders of shards into -out without running anything. Exit status: 0 all
good, 1 a run or a check failed, 2 bad flags, config files or -out (nothing run).

flags:
`

// parseFlags parses the command line. It prints any error, with a pointer to
// -h, to stderr before returning it; flag.ErrHelp means -h was given.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fset := newFlagSet(&o, stderr)
	if err := fset.Parse(args); err != nil {
		return o, err // the flag package printed it, with the usage
	}
	given := map[string]bool{}
	fset.Visit(func(f *flag.Flag) { given[f.Name] = true })
	o.seedSet = given["seed"]
	var err error
	switch {
	case o.merge:
		o.dirs = fset.Args()
		var others []string
		for name := range given {
			if name != "merge" && name != "out" {
				others = append(others, "-"+name)
			}
		}
		slices.Sort(others)
		switch i := slices.IndexFunc(o.dirs, func(d string) bool { return strings.HasPrefix(d, "-") }); {
		case len(o.dirs) == 0:
			err = errors.New("-merge needs the output folders to merge, given after the flags (-merge DIR DIR)")
		case i >= 0:
			err = fmt.Errorf("flags go before the folders to merge: %s comes after %s", o.dirs[i], o.dirs[0])
		case len(others) > 0:
			err = fmt.Errorf("-merge combines finished output folders and runs nothing: it takes only -out, not %s", strings.Join(others, ", "))
		}
	case fset.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q (config files are given with -config FILE)", fset.Arg(0))
	case o.logEvery <= 0:
		err = fmt.Errorf("-log-every must be positive, got %v", o.logEvery)
	case o.jobs < 1:
		err = fmt.Errorf("-j %d: want at least 1 (the number of configs to run at once)", o.jobs)
	}
	if err == nil && o.out == "" {
		err = errors.New("-out must not be empty")
	}
	if err != nil {
		fmt.Fprintf(stderr, "experiments: %v; see -h\n", err)
	}
	return o, err
}

// newFlagSet defines the command's flags, storing them in o.
func newFlagSet(o *options, stderr io.Writer) *flag.FlagSet {
	fset := flag.NewFlagSet("experiments", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fset.PrintDefaults()
	}
	fset.Var((*fileList)(&o.configs), "config", "run this config `file` from disk instead of the default suite (repeatable, or a comma-separated list)")
	fset.StringVar(&o.out, "out", "out", "write reports into `dir`")
	fset.BoolVar(&o.list, "list", false, "list the registered experiments and the default configs, then exit")
	fset.StringVar(&o.only, "only", "", "run only the configs of experiment `name`")
	fset.BoolVar(&o.quick, "quick", false, "shrink every config's sizes with its experiment's Quick function (what the tests use); tolerances stay")
	fset.Int64Var(&o.seed, "seed", 0, "use seed `n` for every config, overriding the files' seed (and starting a sweep's counted seeds)")
	fset.DurationVar(&o.logEvery, "log-every", 10*time.Second, "when the output is not a terminal, print a progress line this often (`interval`)")
	fset.IntVar(&o.jobs, "j", 1, "run up to `n` jobs at once (at most the number of cores)")
	fset.StringVar(&o.shard, "shard", "", "run only shard `i/k` of the jobs (0 ≤ i < k), or auto: the shard of this Slurm array task or Kubernetes Indexed Job pod")
	fset.IntVar(&o.shards, "shards", 0, "with -shard auto in a Kubernetes Indexed Job: the number of shards `k` (its completions; or set "+EnvShards+")")
	fset.BoolVar(&o.force, "force", false, fmt.Sprintf("run sweeps of more than %d runs", MaxSweepRuns))
	fset.BoolVar(&o.merge, "merge", false, "combine the output folders given after the flags (shards of one run) into -out, without running anything")
	return fset
}

// source is a config file's name (for messages) and content.
type source struct {
	file string
	data []byte
}

// suiteSources reads the default suite: the *.toml files at the top of
// suite, in name order.
func suiteSources(suite fs.FS) ([]source, error) {
	names, err := fs.Glob(suite, "*.toml")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var out []source
	for _, n := range names {
		data, err := fs.ReadFile(suite, n)
		if err != nil {
			return nil, err
		}
		out = append(out, source{file: path.Join(SuiteDir, n), data: data})
	}
	return out, nil
}

// selectJobs reads and checks the configs the flags select. It returns every
// problem found, so that one invocation shows them all.
func selectJobs(suite fs.FS, opts options) ([]*job, []error) {
	var errs []error
	if opts.only != "" && registry[opts.only] == nil {
		return nil, []error{fmt.Errorf("-only: unknown experiment %q; registered experiments: %s",
			opts.only, strings.Join(Names(), ", "))}
	}
	var srcs []source
	if len(opts.configs) > 0 {
		for _, f := range opts.configs {
			data, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, fmt.Errorf("-config: %w", err))
				continue
			}
			srcs = append(srcs, source{file: f, data: data})
		}
	} else {
		var err error
		if srcs, err = suiteSources(suite); err != nil {
			return nil, []error{fmt.Errorf("reading the default suite: %w", err)}
		}
	}

	lo := loadOptions{quick: opts.quick, seed: opts.seed, seedSet: opts.seedSet, force: opts.force}
	var jobs []*job
	byName := map[string]string{}
	for _, s := range srcs {
		j, jerrs := loadConfig(s.file, s.data, lo)
		errs = append(errs, jerrs...)
		if j == nil {
			continue
		}
		if prev, dup := byName[j.name]; dup {
			errs = append(errs, &inputError{file: s.file, msg: fmt.Sprintf(
				"output name %q is also used by %s: both would write %s/; rename one of the files", j.name, prev, j.name)})
			continue
		}
		byName[j.name] = s.file
		if j.sw != nil {
			jobs = append(jobs, j.sw.runs...)
		} else {
			jobs = append(jobs, j)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if opts.only != "" {
		jobs = slices.DeleteFunc(jobs, func(j *job) bool { return j.exp.name != opts.only })
		if len(jobs) == 0 {
			where := "the default suite (experiments/" + SuiteDir + "/*.toml)"
			if len(opts.configs) > 0 {
				where = "the -config files"
			}
			return nil, []error{fmt.Errorf("-only: no config in %s runs experiment %q; write one, or run one with -config FILE", where, opts.only)}
		}
	}
	return jobs, nil
}

// list prints every registered experiment with its theme and summary, its
// parameters and defaults, and its configs in the default suite.
func list(w io.Writer, suite fs.FS) error {
	srcs, err := suiteSources(suite)
	if err != nil {
		return err
	}
	byExp := map[string][]string{}
	var invalid []string
	for _, s := range srcs {
		j, errs := loadConfig(s.file, s.data, loadOptions{})
		if len(errs) > 0 {
			invalid = append(invalid, fmt.Sprintf("%s (%v)", s.file, errs[0]))
			continue
		}
		byExp[j.exp.name] = append(byExp[j.exp.name], s.file)
	}

	if len(registry) == 0 {
		fmt.Fprintln(w, "Registered experiments: none")
	} else {
		fmt.Fprintln(w, "Registered experiments, by theme:")
	}
	for _, theme := range Themes {
		for _, name := range Names() {
			e := registry[name]
			if e.theme != theme {
				continue
			}
			fmt.Fprintf(w, "\n%s (%s)\n    %s\n", name, theme, e.summary)
			var ps []string
			for _, p := range params(e.defaults()) {
				ps = append(ps, p.key+" = "+formatValue(p.val))
			}
			if len(ps) > 0 {
				fmt.Fprintf(w, "    [params] defaults: %s\n", strings.Join(ps, ", "))
			}
			if files := byExp[name]; len(files) > 0 {
				fmt.Fprintf(w, "    default configs: %s\n", strings.Join(files, ", "))
			} else {
				fmt.Fprintln(w, "    default configs: none")
			}
		}
	}
	fmt.Fprintf(w, "\nDefault suite: %s in experiments/%s/ (subfolders such as %s/paper/ run only with -config).\n",
		Count(len(srcs), "config", "configs"), SuiteDir, SuiteDir)
	for _, s := range invalid {
		fmt.Fprintf(w, "invalid default config: %s\n", s)
	}
	return nil
}
