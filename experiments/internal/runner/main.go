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
	"slices"
	"strings"
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

	out, removed, err := openOut(opts.out)
	if err != nil {
		fmt.Fprintf(stderr, "experiments: -out %s: %v\n", opts.out, err)
		return ExitBadInput
	}
	defer out.close()
	if len(removed) > 0 {
		fmt.Fprintf(stdout, "removed %s left in %s by runs that ended without cleaning up: %s\n",
			Count(len(removed), "temporary file", "temporary files"), opts.out, strings.Join(removed, ", "))
	}

	estimates := make([]time.Duration, len(jobs))
	for i, j := range jobs {
		estimates[i], _ = out.lastWall(j.name, j.quick)
	}
	con := newConsole(stdout, stderr, estimates)
	if opts.logEvery > 0 {
		con.logEvery = opts.logEvery
	}
	code := ExitOK
	var nPass, nFail, nNone, nErr int
	start := time.Now()
	for i, j := range jobs {
		if ctx.Err() != nil {
			con.errorf("experiments: interrupted; %s not run", Count(len(jobs)-i, "config", "configs"))
			code = ExitFailed
			break
		}
		con.begin(i+1, j.name, fmt.Sprintf("experiment %s, %s, seed %d", j.exp.name, j.file, j.seed))
		env := &Env{Seed: j.seed, ctx: ctx, cacheDir: filepath.Join(opts.out, "_cache"), progress: con.progress, logf: func(msg string) { con.logf(j.name, msg) }}
		o := out.runJob(j, env)
		wall := o.wall.Round(time.Millisecond)
		report := filepath.Join(opts.out, j.name, "report.md")
		switch {
		case o.err != nil:
			nErr++
			code = ExitFailed
			con.finish(fmt.Sprintf("ERROR  %-28s %9s  failed; %s left as it was", j.name, wall, filepath.Join(opts.out, j.name)))
			con.errorf("%s: run failed: %v", j.name, o.err)
		case o.status == statusFail:
			nFail++
			code = ExitFailed
			con.finish(fmt.Sprintf("FAIL   %-28s %9s  %s", j.name, wall, report))
			for _, c := range o.failed {
				con.errorf("%s: %s", j.name, c)
			}
		case o.status == statusNoChecks:
			nNone++
			con.finish(fmt.Sprintf("NOCHK  %-28s %9s  %s (no verification checks)", j.name, wall, report))
		default:
			nPass++
			con.finish(fmt.Sprintf("PASS   %-28s %9s  %s", j.name, wall, report))
		}
	}

	n, err := out.writeIndex()
	if err != nil {
		fmt.Fprintf(stderr, "experiments: writing the index: %v\n", err)
		return ExitFailed
	}
	fmt.Fprintf(stdout, "ran %s in %s: %d PASS, %d FAIL, %d without checks, %s; index of %s: %s\n",
		Count(nPass+nFail+nNone+nErr, "config", "configs"), time.Since(start).Round(time.Millisecond),
		nPass, nFail, nNone, Count(nErr, "run error", "run errors"), Count(n, "report", "reports"),
		filepath.Join(opts.out, "index.html"))
	return code
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

Runs the default suite (every *.toml directly in experiments/configs/), or the
files given with -config, and writes one report folder per config to -out,
plus index.md and index.html. Exit status: 0 all good, 1 a run or a check
failed, 2 bad flags, config files or -out (nothing run).

flags:
`

// parseFlags parses the command line. It prints any error, with a pointer to
// -h, to stderr before returning it; flag.ErrHelp means -h was given.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fset := flag.NewFlagSet("experiments", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fset.PrintDefaults()
	}
	var configs fileList
	fset.Var(&configs, "config", "run this config `file` from disk instead of the default suite (repeatable, or a comma-separated list)")
	fset.StringVar(&o.out, "out", "out", "write reports into `dir`")
	fset.BoolVar(&o.list, "list", false, "list the registered experiments and the default configs, then exit")
	fset.StringVar(&o.only, "only", "", "run only the configs of experiment `name`")
	fset.BoolVar(&o.quick, "quick", false, "shrink every config's sizes with its experiment's Quick function (what the tests use); tolerances stay")
	fset.Int64Var(&o.seed, "seed", 0, "use seed `n` for every config, overriding the files' seed")
	fset.DurationVar(&o.logEvery, "log-every", 10*time.Second, "when the output is not a terminal, print a progress line this often (`interval`)")
	if err := fset.Parse(args); err != nil {
		return o, err // the flag package printed it, with the usage
	}
	fset.Visit(func(f *flag.Flag) {
		if f.Name == "seed" {
			o.seedSet = true
		}
	})
	o.configs = configs
	var err error
	switch {
	case fset.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q (config files are given with -config FILE)", fset.Arg(0))
	case o.out == "":
		err = errors.New("-out must not be empty")
	case o.logEvery <= 0:
		err = fmt.Errorf("-log-every must be positive, got %v", o.logEvery)
	}
	if err != nil {
		fmt.Fprintf(stderr, "experiments: %v; see -h\n", err)
	}
	return o, err
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

	lo := loadOptions{quick: opts.quick, seed: opts.seed, seedSet: opts.seedSet}
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
		jobs = append(jobs, j)
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
