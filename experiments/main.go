package main

import (
	"context"
	"embed"
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
	"time"
)

// Exit statuses of the runner.
const (
	exitOK       = 0 // every run succeeded and no check failed
	exitFailed   = 1 // a run failed, a check failed, the run was interrupted or output could not be written
	exitBadInput = 2 // bad flags or config files; nothing was run or written
)

// configFiles holds experiments/configs/. The default suite is the *.toml
// files directly in it; subfolders (configs/paper/) are not part of it. The
// README.md in it keeps the embed valid while the folder has no configs.
//
//go:embed configs
var configFiles embed.FS

// suiteDir is how default-suite files are named in messages.
const suiteDir = "configs"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills the process the usual way
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program without os.Exit: it parses args, runs the
// selected configs until ctx is cancelled, writes to stdout and stderr only,
// and returns the exit status (exitOK, exitFailed or exitBadInput).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	suite, err := fs.Sub(configFiles, suiteDir)
	if err != nil {
		panic(err) // the embedded folder always exists
	}
	return runSuite(ctx, suite, args, stdout, stderr)
}

// options are the parsed flags.
type options struct {
	configs []string // -config files, in order
	out     string
	list    bool
	only    string
	quick   bool
	seed    int64
	seedSet bool
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
failed, 2 bad flags or config files (nothing run).

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
	fset.BoolVar(&o.quick, "quick", false, "shrink every config with its experiment's quick settings (what the tests use)")
	fset.Int64Var(&o.seed, "seed", 0, "use seed `n` for every config, overriding the files' seed")
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
		out = append(out, source{file: path.Join(suiteDir, n), data: data})
	}
	return out, nil
}

// runSuite is run with the default suite read from suite.
func runSuite(ctx context.Context, suite fs.FS, args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitBadInput // parseFlags printed it
	}
	if opts.list {
		if err := list(stdout, suite); err != nil {
			fmt.Fprintf(stderr, "experiments: %v\n", err)
			return exitFailed
		}
		return exitOK
	}

	jobs, errs := selectJobs(suite, opts)
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(stderr, e)
		}
		fmt.Fprintf(stderr, "experiments: %s; nothing was run\n", plural(len(errs), "problem", "problems"))
		return exitBadInput
	}
	if len(jobs) == 0 {
		fmt.Fprintf(stdout, "no configs in experiments/%s/: nothing to run\n", suiteDir)
		return exitOK
	}

	if err := os.MkdirAll(opts.out, 0o755); err != nil {
		fmt.Fprintf(stderr, "experiments: %v\n", err)
		return exitFailed
	}
	con := newConsole(stdout, stderr)
	code := exitOK
	var nPass, nFail, nNone, nErr int
	start := time.Now()
	for i, j := range jobs {
		if ctx.Err() != nil {
			con.errorf("experiments: interrupted; %s not run", plural(len(jobs)-i, "config", "configs"))
			code = exitFailed
			break
		}
		con.begin(j.name, fmt.Sprintf("experiment %s, %s, seed %d", j.exp.name, j.file, j.seed))
		o := runJob(ctx, opts.out, j, con)
		wall := o.wall.Round(time.Millisecond)
		report := filepath.Join(opts.out, j.name, "report.md")
		switch {
		case o.err != nil:
			nErr++
			code = exitFailed
			con.finish(fmt.Sprintf("ERROR  %-24s %9s  failed; %s left as it was", j.name, wall, filepath.Join(opts.out, j.name)))
			con.errorf("%s: run failed: %v", j.name, o.err)
		case o.status == statusFail:
			nFail++
			code = exitFailed
			con.finish(fmt.Sprintf("FAIL   %-24s %9s  %s", j.name, wall, report))
			for _, c := range o.failed {
				con.errorf("%s: %s", j.name, c)
			}
		case o.status == statusNoChecks:
			nNone++
			con.finish(fmt.Sprintf("NOCHK  %-24s %9s  %s (no verification checks)", j.name, wall, report))
		default:
			nPass++
			con.finish(fmt.Sprintf("PASS   %-24s %9s  %s", j.name, wall, report))
		}
	}

	n, err := writeIndex(opts.out)
	if err != nil {
		fmt.Fprintf(stderr, "experiments: writing the index: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "ran %s in %s: %d PASS, %d FAIL, %d without checks, %s; index of %s: %s\n",
		plural(nPass+nFail+nNone+nErr, "config", "configs"), time.Since(start).Round(time.Millisecond),
		nPass, nFail, nNone, plural(nErr, "run error", "run errors"), plural(n, "report", "reports"),
		filepath.Join(opts.out, "index.html"))
	return code
}

// selectJobs reads and checks the configs the flags select. It returns every
// problem found, so that one invocation shows them all.
func selectJobs(suite fs.FS, opts options) ([]*job, []error) {
	var errs []error
	if opts.only != "" && registry[opts.only] == nil {
		return nil, []error{fmt.Errorf("-only: unknown experiment %q; registered experiments: %s",
			opts.only, strings.Join(experimentNames(), ", "))}
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
			where := "the default suite (experiments/" + suiteDir + "/*.toml)"
			if len(opts.configs) > 0 {
				where = "the -config files"
			}
			return nil, []error{fmt.Errorf("-only: no config in %s runs experiment %q; write one, or run one with -config FILE", where, opts.only)}
		}
	}
	return jobs, nil
}

// list prints every registered experiment with its summary, its parameters
// and defaults, and its configs in the default suite.
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
		fmt.Fprintln(w, "Registered experiments:")
	}
	for _, name := range experimentNames() {
		e := registry[name]
		fmt.Fprintf(w, "\n%s\n    %s\n", name, e.summary)
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
	fmt.Fprintf(w, "\nDefault suite: %s in experiments/%s/ (subfolders such as %s/paper/ run only with -config).\n",
		plural(len(srcs), "config", "configs"), suiteDir, suiteDir)
	for _, s := range invalid {
		fmt.Fprintf(w, "invalid default config: %s\n", s)
	}
	return nil
}

// plural returns "1 thing" or "n things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
