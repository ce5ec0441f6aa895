package runner

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// console prints the runner's messages. Start and finish lines go to out,
// diagnostics to err. While jobs run (up to workers at once), the console
// shows their progress and the whole run's: on a terminal (out is one) as a
// line redrawn in place, with the number of jobs done and an estimate of
// the time left; otherwise, as in a log, as a plain line per running job
// every logEvery. Its methods are safe for concurrent use.
type console struct {
	out, err io.Writer
	term     bool          // out is a terminal
	logEvery time.Duration // without a terminal, the interval of progress lines
	workers  int           // jobs run at once

	mu        sync.Mutex
	total     int             // jobs in this invocation
	estimates []time.Duration // each job's expected wall time; 0 if unknown
	finished  []time.Duration // wall times of the jobs done
	started   int             // jobs begun (they begin in order)
	running   []*slot         // the jobs running, in the order they began
	lastDraw  time.Time
	shown     bool // a progress line is on the screen
	stop      chan struct{}
	ticker    sync.WaitGroup
}

// slot is one running job's line of progress.
type slot struct {
	c         *console
	index     int // 0-based job number
	name      string
	start     time.Time
	done, tot int
	what      string
	lastLog   time.Time
}

// progressLineWidth is the width progress lines are cut to, so that \r
// returns to their start on common terminals.
const progressLineWidth = 100

// newConsole returns a console writing to out and err, for jobs expected
// to take estimates and run workers at once. It draws a progress line only
// if out is an *os.File that is a character device.
func newConsole(out, err io.Writer, estimates []time.Duration, workers int) *console {
	c := &console{out: out, err: err, logEvery: 10 * time.Second, total: len(estimates),
		estimates: estimates, workers: max(workers, 1)}
	if f, ok := out.(*os.File); ok {
		if fi, e := f.Stat(); e == nil && fi.Mode()&os.ModeCharDevice != 0 {
			c.term = true
		}
	}
	return c
}

// begin announces the start of job number index (0-based) and returns its
// slot, through which it reports progress.
func (c *console) begin(index int, name, detail string) *slot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &slot{c: c, index: index, name: name, start: time.Now()}
	s.lastLog = s.start
	c.running = append(c.running, s)
	c.started = max(c.started, index+1)
	if c.term {
		c.draw()
	} else {
		fmt.Fprintf(c.out, "start  %s (%s) [%d/%d]\n", name, detail, index+1, c.total)
	}
	if c.stop == nil {
		c.stop = make(chan struct{})
		c.ticker.Add(1)
		go c.tick(c.stop, min(time.Second, c.logEvery))
	}
	return s
}

// tick keeps the elapsed times moving until stop is closed.
func (c *console) tick(stop chan struct{}, every time.Duration) {
	defer c.ticker.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			c.mu.Lock()
			if c.term {
				c.draw()
			} else {
				for _, s := range c.running {
					if time.Since(s.lastLog) >= c.logEvery {
						c.logLine(s)
					}
				}
			}
			c.mu.Unlock()
		}
	}
}

// close stops the ticker; call it when no job runs.
func (c *console) close() {
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
}

// finish ends the job of s and prints its outcome line to out.
func (c *console) finish(s *slot, line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clear()
	for i, r := range c.running {
		if r == s {
			c.running = append(c.running[:i], c.running[i+1:]...)
			c.finished = append(c.finished, time.Since(s.start))
			break
		}
	}
	fmt.Fprintln(c.out, line)
	c.draw()
}

// errorf prints a line to err, keeping the progress line intact.
func (c *console) errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clear()
	fmt.Fprintf(c.err, format+"\n", args...)
	c.draw()
}

// progress records the job's progress (Env.Progress).
func (s *slot) progress(done, total int, what string) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	s.done, s.tot, s.what = done, total, oneLine(what)
	if c.term && time.Since(c.lastDraw) >= 100*time.Millisecond {
		c.draw()
	}
}

// logf prints a diagnostic line of the job (Env.Logf).
func (s *slot) logf(msg string) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clear()
	fmt.Fprintf(c.err, "%s: %s\n", s.name, strings.TrimRight(msg, "\n"))
	c.draw()
}

// status describes the job's progress: "2/4 (50%) what, 12s". c.mu is
// held.
func (s *slot) status() string {
	var b strings.Builder
	switch {
	case s.tot > 0:
		fmt.Fprintf(&b, "%d/%d (%d%%) ", s.done, s.tot, 100*s.done/s.tot)
	case s.done > 0:
		fmt.Fprintf(&b, "%d ", s.done)
	}
	if s.what != "" {
		b.WriteString(s.what + ", ")
	}
	b.WriteString(time.Since(s.start).Round(time.Second).String())
	return b.String()
}

// eta estimates the time left for the whole invocation: the work left in
// the running jobs (from their progress, or from earlier runs' wall times)
// and in the jobs not yet begun (earlier runs' wall times where known, the
// mean of this run's finished jobs otherwise), shared among the workers.
// c.mu is held.
func (c *console) eta() (time.Duration, bool) {
	var mean time.Duration
	if len(c.finished) > 0 {
		var sum time.Duration
		for _, d := range c.finished {
			sum += d
		}
		mean = sum / time.Duration(len(c.finished))
	}
	expect := func(i int) (time.Duration, bool) { // i is 0-based
		if i < len(c.estimates) && c.estimates[i] > 0 {
			return c.estimates[i], true
		}
		return mean, len(c.finished) > 0
	}
	var left time.Duration
	for _, s := range c.running {
		elapsed := time.Since(s.start)
		est, known := expect(s.index)
		frac := 0.0
		if s.tot > 0 {
			frac = float64(s.done) / float64(s.tot)
		}
		switch {
		case frac >= 0.1 || (!known && frac > 0):
			left += time.Duration(float64(elapsed) * (1 - frac) / frac)
		case known:
			left += max(est-elapsed, 0)
		default:
			return 0, false
		}
	}
	for i := c.started; i < c.total; i++ {
		d, ok := expect(i)
		if !ok {
			return 0, false
		}
		left += d
	}
	busy := min(c.workers, len(c.running)+c.total-c.started)
	return left / time.Duration(max(busy, 1)), true
}

// runStatus is "job 3 of 26, 2 running, about 1m20s left". c.mu is held.
func (c *console) runStatus(s *slot) string {
	b := fmt.Sprintf("job %d of %d", s.index+1, c.total)
	if len(c.running) > 1 {
		b += fmt.Sprintf(", %d running", len(c.running))
	}
	if left, ok := c.eta(); ok {
		b += ", about " + roundETA(left).String() + " left"
	}
	return b
}

// roundETA rounds an estimate to what it is worth: seconds under a minute,
// then tens of seconds.
func roundETA(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(10 * time.Second)
}

// logLine prints a plain progress line of s, for logs. c.mu is held.
func (c *console) logLine(s *slot) {
	fmt.Fprintf(c.out, "       %s: %s (%s)\n", s.name, s.status(), c.runStatus(s))
	s.lastLog = time.Now()
}

// draw redraws the terminal's progress line: "[3/26 done, ETA 1m20s] a:
// 2/4 (50%) epoch 2, 12s · b: 3s". c.mu is held.
func (c *console) draw() {
	if !c.term || len(c.running) == 0 {
		return
	}
	head := fmt.Sprintf("[%d/%d done", len(c.finished), c.total)
	if left, ok := c.eta(); ok {
		head += ", ETA " + roundETA(left).String()
	}
	parts := make([]string, len(c.running))
	for i, s := range c.running {
		parts[i] = s.name + ": " + s.status()
	}
	line := []rune(head + "] " + strings.Join(parts, " · "))
	if len(line) > progressLineWidth {
		line = append(line[:progressLineWidth-1], '…')
	}
	fmt.Fprint(c.out, "\r\033[K"+string(line))
	c.shown, c.lastDraw = true, time.Now()
}

// clear erases the progress line; c.mu is held.
func (c *console) clear() {
	if c.shown {
		fmt.Fprint(c.out, "\r\033[K")
		c.shown = false
	}
}
