package runner

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
)

// Env is what an experiment's Compute step gets besides its configuration:
// the seed and random streams, cancellation and progress reporting. The
// runner makes it; a test may use &Env{Seed: n}, whose Context is never
// cancelled and whose Progress does nothing.
type Env struct {
	// Seed is the run's seed: -seed if given, else the config file's seed,
	// else 1. Draw random numbers with Rand rather than seeding generators.
	Seed int64

	ctx      context.Context
	cacheDir string
	progress func(done, total int, what string)
	logf     func(msg string)
	streams  uint64 // generators handed out by Rand
}

// Context returns the run's context, cancelled on Ctrl-C or SIGTERM. A long
// computation checks it (ctx.Err() != nil) between steps and returns its
// error. A cancelled run is a failed run: nothing it wrote is kept.
func (e *Env) Context() context.Context {
	if e.ctx == nil {
		return context.Background()
	}
	return e.ctx
}

// Rand returns a new random number generator determined by the seed. Each
// call returns a generator with its own stream: the n-th call of a run gives
// the same numbers for the same seed, and different calls give independent
// streams, so a data generator and an initialiser share no numbers.
func (e *Env) Rand() *rand.Rand {
	e.streams++
	s1 := splitmix(uint64(e.Seed))
	s2 := splitmix(s1 ^ splitmix(e.streams))
	return rand.New(rand.NewPCG(s1, s2))
}

// splitmix is the SplitMix64 finaliser, which spreads nearby seeds apart.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// Progress reports that done of total units of work are finished, what
// being a short description of the current one ("epoch 3", "T = 50"). The
// runner shows it on a terminal and, in a log, on a line every few seconds.
// It is cheap and safe to call from several goroutines. A total of 0 or
// less means the total is unknown.
func (e *Env) Progress(done, total int, what string) {
	if e.progress != nil {
		e.progress(done, total, what)
	}
}

// StepProgress returns a callback for a library loop that reports its steps
// (such as nn.Trainer's Progress): each call reports done of total steps
// under the label what, and returns the context's error once the run is
// cancelled, which stops the loop.
func (e *Env) StepProgress(what string) func(done, total int) error {
	return func(done, total int) error {
		e.Progress(done, total, what)
		return e.Context().Err()
	}
}

// Logf prints a diagnostic line about the run to the runner's error stream.
// Results belong in the result and the report, not here.
func (e *Env) Logf(format string, args ...any) {
	if e.logf != nil {
		e.logf(fmt.Sprintf(format, args...))
	}
}

// CacheDir returns a folder kept across runs, OUT/_cache, where Compute
// may keep results that are costly to recompute and determined by their
// inputs, such as trained weights, for later runs and other experiments
// to reuse. Name each entry by a hash of everything that determines it,
// write it atomically, and check what is read back: a damaged entry is
// recomputed, never trusted. The results must not depend on whether an
// entry was found. Empty when there is no such folder (an Env made by a
// test): compute afresh.
func (e *Env) CacheDir() string { return e.cacheDir }

// Dir is the folder an experiment's Figures step writes to: a temporary
// folder inside the output directory, renamed to OUT/NAME once the whole
// run has succeeded.
type Dir struct {
	dir string
}

// Path returns where to write the figure or data file named file, such as
// "norms.png", to be shown in the report with Report.Figure(file, caption).
// The name must be a plain file name, and not one the runner writes
// (report.md, report.html, results.json, timings.json); Path panics
// otherwise.
func (d Dir) Path(file string) string {
	mustBeFileName(file)
	return filepath.Join(d.dir, file)
}

// reservedFiles are written by the runner into each experiment's folder.
var reservedFiles = []string{"report.md", "report.html", "fragment.html", "results.json", "timings.json"}

// mustBeFileName panics unless file is a plain file name an experiment may
// write.
func mustBeFileName(file string) {
	if file == "" || file == "." || file == ".." || strings.ContainsAny(file, `/\`) || strings.HasPrefix(file, ".") {
		panic(fmt.Sprintf("runner: %q is not a plain file name (no directories, no leading dot)", file))
	}
	for _, f := range reservedFiles {
		if strings.EqualFold(file, f) {
			panic(fmt.Sprintf("runner: %q is written by the runner; choose another file name", file))
		}
	}
}

// DirAt returns a Dir writing into path, for tests of a Figures step.
func DirAt(path string) Dir { return Dir{dir: path} }
