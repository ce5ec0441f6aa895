package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Run is what an experiment's Run function gets: the run's settings, a
// directory for figures, a report to fill, progress reporting and
// cancellation. The runner makes it. A Run built by hand, as in an
// experiment's unit test (&Run{Report: &Report{}, Seed: 1}), works too:
// Progress and Logf print nothing, Context is never cancelled, and Path
// resolves against the current directory.
type Run struct {
	// Name is the output name: the config file's base name without
	// ".toml". The report ends up in OUT/Name/.
	Name string

	// Experiment is the registered experiment name.
	Experiment string

	// Seed is the run's seed: -seed if given, else the config file's seed,
	// else 1. Use Rand rather than seeding generators yourself.
	Seed int64

	// Quick reports whether -quick is in effect. Spec.Quick has already
	// been applied to the configuration; Quick is for anything else that
	// should shrink, such as a figure's resolution.
	Quick bool

	// Report is the report being built; see Report.
	Report *Report

	ctx     context.Context
	dir     string
	streams uint64 // generators handed out by Rand
	con     *console
}

// Context returns the run's context. It is cancelled on Ctrl-C (os.Interrupt);
// a long experiment should check it (ctx.Err() != nil) between steps and
// return its error. A cancelled run is a failed run: nothing it wrote is kept.
func (r *Run) Context() context.Context {
	if r.ctx == nil {
		return context.Background()
	}
	return r.ctx
}

// Rand returns a new random number generator determined by the seed. Each
// call returns a generator with its own stream: the n-th call in a run gives
// the same numbers for the same seed, and different calls give independent
// streams, so a data generator and an initialiser do not share numbers.
func (r *Run) Rand() *rand.Rand {
	r.streams++
	s1 := splitmix(uint64(r.Seed))
	s2 := splitmix(s1 ^ splitmix(r.streams))
	return rand.New(rand.NewPCG(s1, s2))
}

// splitmix is the SplitMix64 finaliser, which spreads nearby seeds apart.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// Dir returns the directory the experiment's files are written to. It is a
// temporary directory inside the output directory, renamed to OUT/Name only
// if the run succeeds. Prefer Path.
func (r *Run) Dir() string { return r.dir }

// Path returns the path at which to write the figure or data file named file
// (such as "norms.png"), to be shown with Report.Figure(file, caption). The
// name must be a plain file name, and not one the runner writes (report.md,
// fragment.html, results.json); Path panics otherwise.
func (r *Run) Path(file string) string {
	mustBeFileName(file)
	return filepath.Join(r.dir, file)
}

// reservedFiles are written by the runner into each experiment's folder.
var reservedFiles = []string{"report.md", "fragment.html", "results.json"}

// mustBeFileName panics unless file is a plain file name an experiment may
// write.
func mustBeFileName(file string) {
	if file == "" || file == "." || file == ".." || strings.ContainsAny(file, `/\`) || strings.HasPrefix(file, ".") {
		panic(fmt.Sprintf("experiments: %q is not a plain file name (no directories, no leading dot)", file))
	}
	for _, f := range reservedFiles {
		if strings.EqualFold(file, f) {
			panic(fmt.Sprintf("experiments: %q is written by the runner; choose another file name", file))
		}
	}
}

// Progress reports that done of total units of work are finished, what
// being a short description of the current one ("epoch 3", "t = 0.25").
// On a terminal it updates a progress line; otherwise it prints nothing. It
// is cheap, rate-limited and safe to call from several goroutines. A total
// of 0 or less means the total is unknown.
func (r *Run) Progress(done, total int, what string) {
	if r.con != nil {
		r.con.progress(done, total, what)
	}
}

// Logf prints a line about the run to the runner's error stream, prefixed
// by the run's name. Use it for diagnostics; results belong in the Report.
// It is safe to call from several goroutines.
func (r *Run) Logf(format string, args ...any) {
	if r.con != nil {
		r.con.logf(r.Name, fmt.Sprintf(format, args...))
	}
}

// console prints the runner's messages: start and finish lines to out,
// diagnostics and, on a terminal, the updating progress line to err.
type console struct {
	out, err io.Writer
	term     bool // err is a terminal: draw a progress line with \r

	mu          sync.Mutex
	name        string // the running experiment, "" between runs
	start       time.Time
	done, total int
	what        string
	lastDraw    time.Time
	shown       bool // a progress line is on the screen
	stop        chan struct{}
	ticker      sync.WaitGroup
}

// newConsole returns a console writing to out and err. It draws a progress
// line only if err is an *os.File that is a character device.
func newConsole(out, err io.Writer) *console {
	c := &console{out: out, err: err}
	if f, ok := err.(*os.File); ok {
		if fi, e := f.Stat(); e == nil && fi.Mode()&os.ModeCharDevice != 0 {
			c.term = true
		}
	}
	return c
}

// progressLineWidth is the width progress lines are cut to, so that \r
// returns to their start on common terminals.
const progressLineWidth = 79

// begin announces the start of a run.
func (c *console) begin(name, detail string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.name, c.start, c.done, c.total, c.what = name, time.Now(), 0, 0, ""
	if !c.term {
		fmt.Fprintf(c.out, "start  %s (%s)\n", name, detail)
		return
	}
	c.draw()
	c.stop = make(chan struct{})
	c.ticker.Add(1)
	go func(stop chan struct{}) { // keeps the elapsed time moving
		defer c.ticker.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				c.mu.Lock()
				c.draw()
				c.mu.Unlock()
			}
		}
	}(c.stop)
}

// finish ends a run's progress line and prints its outcome line to out.
func (c *console) finish(line string) {
	c.mu.Lock()
	stop := c.stop
	c.stop = nil
	c.mu.Unlock()
	if stop != nil {
		close(stop)
		c.ticker.Wait()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clear()
	c.name = ""
	fmt.Fprintln(c.out, line)
}

// errorf prints a line to err, keeping the progress line intact.
func (c *console) errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clear()
	fmt.Fprintf(c.err, format+"\n", args...)
	c.draw()
}

func (c *console) progress(done, total int, what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done, c.total, c.what = done, total, oneLine(what)
	if c.term && time.Since(c.lastDraw) >= 100*time.Millisecond {
		c.draw()
	}
}

func (c *console) logf(name, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clear()
	fmt.Fprintf(c.err, "%s: %s\n", name, strings.TrimRight(msg, "\n"))
	c.draw()
}

// draw redraws the progress line; c.mu is held.
func (c *console) draw() {
	if !c.term || c.name == "" {
		return
	}
	var b strings.Builder
	b.WriteString(c.name + ": ")
	switch {
	case c.total > 0:
		fmt.Fprintf(&b, "%d/%d (%d%%) ", c.done, c.total, 100*c.done/c.total)
	case c.done > 0:
		fmt.Fprintf(&b, "%d ", c.done)
	}
	if c.what != "" {
		b.WriteString(c.what + " ")
	}
	fmt.Fprintf(&b, "[%s]", time.Since(c.start).Round(time.Second))
	line := []rune(b.String())
	if len(line) > progressLineWidth {
		line = append(line[:progressLineWidth-1], '…')
	}
	fmt.Fprint(c.err, "\r\033[K"+string(line))
	c.shown, c.lastDraw = true, time.Now()
}

// clear erases the progress line; c.mu is held.
func (c *console) clear() {
	if c.shown {
		fmt.Fprint(c.err, "\r\033[K")
		c.shown = false
	}
}
