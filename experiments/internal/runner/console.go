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
// diagnostics to err. While a config runs, the console shows its progress
// and the suite's: on a terminal (out is one) as a line redrawn in place,
// with the number of configs done and an estimate of the time left;
// otherwise, as in a log, as a plain line every logEvery.
type console struct {
	out, err io.Writer
	term     bool          // out is a terminal
	logEvery time.Duration // without a terminal, the interval of progress lines

	mu        sync.Mutex
	total     int             // configs in this invocation
	index     int             // 1-based number of the running config
	estimates []time.Duration // each config's expected wall time; 0 if unknown
	finished  []time.Duration // wall times of the configs done
	name      string          // the running config, "" between runs
	start     time.Time
	done, tot int
	what      string
	lastDraw  time.Time
	lastLog   time.Time
	shown     bool // a progress line is on the screen
	stop      chan struct{}
	ticker    sync.WaitGroup
}

// progressLineWidth is the width progress lines are cut to, so that \r
// returns to their start on common terminals.
const progressLineWidth = 100

// newConsole returns a console writing to out and err. It draws a progress
// line only if out is an *os.File that is a character device.
func newConsole(out, err io.Writer, estimates []time.Duration) *console {
	c := &console{out: out, err: err, logEvery: 10 * time.Second, total: len(estimates),
		estimates: estimates}
	if f, ok := out.(*os.File); ok {
		if fi, e := f.Stat(); e == nil && fi.Mode()&os.ModeCharDevice != 0 {
			c.term = true
		}
	}
	return c
}

// begin announces the start of config number index (1-based).
func (c *console) begin(index int, name, detail string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.index, c.name, c.start, c.done, c.tot, c.what = index, name, time.Now(), 0, 0, ""
	c.lastLog = c.start
	if c.term {
		c.draw()
	} else {
		fmt.Fprintf(c.out, "start  %s (%s) [%d/%d]\n", name, detail, index, c.total)
	}
	c.stop = make(chan struct{})
	c.ticker.Add(1)
	tick := min(time.Second, c.logEvery)
	go func(stop chan struct{}) { // keeps the elapsed time moving
		defer c.ticker.Done()
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				c.mu.Lock()
				if c.term {
					c.draw()
				} else if time.Since(c.lastLog) >= c.logEvery {
					c.logLine()
				}
				c.mu.Unlock()
			}
		}
	}(c.stop)
}

// finish ends a run's progress display and prints its outcome line to out.
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
	if c.name != "" {
		c.finished = append(c.finished, time.Since(c.start))
	}
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

// progress records the running config's progress (Env.Progress).
func (c *console) progress(done, total int, what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done, c.tot, c.what = done, total, oneLine(what)
	if c.term && time.Since(c.lastDraw) >= 100*time.Millisecond {
		c.draw()
	}
}

// logf prints a diagnostic line of the running config (Env.Logf).
func (c *console) logf(name, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clear()
	fmt.Fprintf(c.err, "%s: %s\n", name, strings.TrimRight(msg, "\n"))
	c.draw()
}

// runStatus describes the running config: "2/4 (50%) what, 12s". c.mu is
// held.
func (c *console) runStatus() string {
	var b strings.Builder
	switch {
	case c.tot > 0:
		fmt.Fprintf(&b, "%d/%d (%d%%) ", c.done, c.tot, 100*c.done/c.tot)
	case c.done > 0:
		fmt.Fprintf(&b, "%d ", c.done)
	}
	if c.what != "" {
		b.WriteString(c.what + ", ")
	}
	b.WriteString(time.Since(c.start).Round(time.Second).String())
	return b.String()
}

// eta estimates the time left for the whole invocation, from earlier runs'
// wall times where known, the mean of this run's finished configs
// otherwise, and the running config's own progress. c.mu is held.
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
	if c.name != "" {
		elapsed := time.Since(c.start)
		est, known := expect(c.index - 1)
		frac := 0.0
		if c.tot > 0 {
			frac = float64(c.done) / float64(c.tot)
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
	for i := c.index; i < c.total; i++ {
		d, ok := expect(i)
		if !ok {
			return 0, false
		}
		left += d
	}
	return left, true
}

// suiteStatus is "config 3 of 26, about 1m20s left". c.mu is held.
func (c *console) suiteStatus() string {
	s := fmt.Sprintf("config %d of %d", c.index, c.total)
	if left, ok := c.eta(); ok {
		s += ", about " + roundETA(left).String() + " left"
	}
	return s
}

// roundETA rounds an estimate to what it is worth: seconds under a minute,
// then tens of seconds.
func roundETA(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(10 * time.Second)
}

// logLine prints a plain progress line, for logs. c.mu is held.
func (c *console) logLine() {
	if c.name == "" {
		return
	}
	fmt.Fprintf(c.out, "       %s: %s (%s)\n", c.name, c.runStatus(), c.suiteStatus())
	c.lastLog = time.Now()
}

// draw redraws the terminal's progress line; c.mu is held.
func (c *console) draw() {
	if !c.term || c.name == "" {
		return
	}
	head := fmt.Sprintf("[%d/%d", c.index, c.total)
	if left, ok := c.eta(); ok {
		head += ", ETA " + roundETA(left).String()
	}
	line := []rune(head + "] " + c.name + ": " + c.runStatus())
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
