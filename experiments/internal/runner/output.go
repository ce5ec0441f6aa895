package runner

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"
)

// The output directory holds, besides the report folders and the index,
// the runner's temporary files. Every one of them carries the id of the
// run that made it:
//
//	.run-ID.lock     held (locked) by run ID for as long as it runs
//	.tmp-ID-NAME     the folder run ID is writing report NAME into
//	.old-ID-NAME     the previous NAME while run ID swaps the new one in
//	.tmp-ID-index.*  an index file being written
//
// A run is alive while its lock file is locked. Locks die with their
// process, however it ends (even by SIGKILL), so at start a run removes the
// temporary files of every run whose lock it can take or whose lock file is
// gone, and leaves those of a run that is still going.

// outDir is the output directory of one invocation of the runner, locked
// for as long as the invocation runs.
type outDir struct {
	path string
	id   string   // this run's id, in its temporary names
	lock *os.File // .run-ID.lock, locked
}

// openOut creates the output directory if needed, takes this run's lock in
// it and removes what dead runs left behind. Its errors say what is wrong
// with the directory; the caller names the flag.
func openOut(dir string) (o *outDir, removed []string, err error) {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, nil, fmt.Errorf("%s is a file, not a directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	var b [6]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	f, err := os.OpenFile(filepath.Join(dir, ".run-"+id+".lock"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot write in %s: %w", dir, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, nil, fmt.Errorf("cannot lock %s: %w", f.Name(), err)
	}
	fmt.Fprintf(f, "pid %d\n", os.Getpid()) // for a person wondering who holds it
	o = &outDir{path: dir, id: id, lock: f}
	return o, o.removeStale(), nil
}

// close releases the lock and removes the lock file.
func (o *outDir) close() {
	name := o.lock.Name()
	o.lock.Close() // releases the lock
	os.Remove(name)
}

// tempName returns the name of a temporary entry of this run.
func (o *outDir) tempName(kind, name string) string {
	return filepath.Join(o.path, "."+kind+"-"+o.id+"-"+name)
}

// removeStale removes the temporary files of dead runs and returns their
// names.
func (o *outDir) removeStale() []string {
	entries, err := os.ReadDir(o.path)
	if err != nil {
		return nil
	}
	alive := map[string]bool{o.id: true}
	isAlive := func(id string) bool {
		a, seen := alive[id]
		if !seen {
			// The lock file is checked by name, not taken from the listing
			// above: a run starting now creates its lock before its
			// folders, and a listing may show the one without the other.
			a = lockHeld(filepath.Join(o.path, ".run-"+id+".lock"))
			alive[id] = a
		}
		return a
	}
	var removed []string
	var deadLocks []string
	for _, e := range entries {
		n := e.Name()
		kind, rest, ok := strings.Cut(strings.TrimPrefix(n, "."), "-")
		if !strings.HasPrefix(n, ".") || !ok {
			continue
		}
		switch kind {
		case "tmp", "old":
			id, _, _ := strings.Cut(rest, "-")
			if !isAlive(id) {
				if os.RemoveAll(filepath.Join(o.path, n)) == nil {
					removed = append(removed, n)
				}
			}
		case "run":
			if id, ok := strings.CutSuffix(rest, ".lock"); ok && !isAlive(id) {
				deadLocks = append(deadLocks, n)
			}
		}
	}
	for _, n := range deadLocks { // after the folders: a lock outlives its run's files
		if os.Remove(filepath.Join(o.path, n)) == nil {
			removed = append(removed, n)
		}
	}
	return removed
}

// outcome is how one run ended.
type outcome struct {
	status string // statusPass, statusFail or statusNoChecks; "" if err != nil
	failed []string
	err    error
	wall   time.Duration
}

// runJob runs one job into a temporary folder of o and, if the run succeeds
// (even with failing checks), replaces o/NAME with it. On error or
// cancellation the temporary folder is removed and any earlier o/NAME is
// left as it was.
func (o *outDir) runJob(j *job, env *Env) outcome {
	tmp := o.tempName("tmp", j.name)
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return outcome{err: err}
	}
	kept := false
	defer func() {
		if !kept {
			os.RemoveAll(tmp)
		}
	}()

	h := header{
		name: j.name, title: j.title, summary: j.exp.summary, experiment: j.exp.name, theme: j.exp.theme,
		config: path.Base(filepath.ToSlash(j.file)), seed: j.seed, quick: j.quick, params: params(j.cfg), sweep: j.ref,
	}
	rep := &Report{}
	start := time.Now()
	err := callRun(j.exp, env, Dir{dir: tmp}, rep, j.cfg)
	wall := time.Since(start)
	if ctx := env.Context(); ctx.Err() != nil { // even if the run returned nil, its results may be partial
		if err == nil {
			err = ctx.Err()
		}
		err = fmt.Errorf("interrupted: %w", err)
	}
	if err != nil {
		return outcome{err: err, wall: wall}
	}
	rep.timings = append([]timing{{name: "total (wall)", seconds: wall.Seconds()}}, rep.timings...)
	tj, _ := json.Marshal(timingsFile{Quick: j.quick, WallSeconds: wall.Seconds()})
	if err := o.publish(tmp, h, rep, append(tj, '\n')); err != nil {
		return outcome{err: err, wall: wall}
	}
	kept = true
	return outcome{status: rep.status(), failed: rep.Failed(), wall: wall}
}

// publish writes the report rep with header h (report.md, report.html,
// results.json and, if not nil, timings.json) into the folder tmp, which
// holds its figures, and moves tmp to o/NAME, replacing what was there.
func (o *outDir) publish(tmp string, h header, rep *Report, timings []byte) error {
	for _, b := range rep.blocks {
		if b.kind != figureBlock {
			continue
		}
		if fi, err := os.Stat(filepath.Join(tmp, b.file)); err != nil || !fi.Mode().IsRegular() {
			return fmt.Errorf("figure %q is in the report but the Figures step wrote no such file", b.file)
		}
	}
	md := rep.markdown(h, tmp)
	body, err := renderHTML(md, "", tmp, 0)
	if err != nil {
		return fmt.Errorf("rendering report.html: %w", err)
	}
	nav := []byte("<p class=\"meta\"><a href=\"../index.html\">all experiments</a> · <a href=\"report.md\">report.md</a> · <a href=\"results.json\">results.json</a></p>\n")
	js, err := rep.resultsJSON(h)
	if err != nil {
		return fmt.Errorf("encoding results.json: %w", err)
	}
	files := []struct {
		name string
		data []byte
	}{
		{"report.md", md},
		{"report.html", page(h.title, append(nav, body...))},
		{"results.json", js},
	}
	if timings != nil {
		files = append(files, struct {
			name string
			data []byte
		}{"timings.json", timings})
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(tmp, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	return o.replaceDir(h.name, tmp)
}

// timingsFile is the content of timings.json: how long a report took, so
// that the next run can estimate how long it will take.
type timingsFile struct {
	Quick       bool    `json:"quick"`
	WallSeconds float64 `json:"wall_seconds"`
}

// lastWall returns how long the report NAME took when last run with the
// same quick setting, from its timings.json.
func (o *outDir) lastWall(name string, quick bool) (time.Duration, bool) {
	data, err := os.ReadFile(filepath.Join(o.path, name, "timings.json"))
	if err != nil {
		return 0, false
	}
	var t timingsFile
	if json.Unmarshal(data, &t) != nil || t.Quick != quick || !(t.WallSeconds >= 0) {
		return 0, false
	}
	return time.Duration(t.WallSeconds * float64(time.Second)), true
}

// callRun runs the experiment, turning a panic into an error.
func callRun(e *experiment, env *Env, dir Dir, rep *Report, cfg any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return e.run(env, dir, rep, cfg)
}

// replaceDir moves the folder src to o/name, replacing what was there: the
// old folder is renamed aside, src renamed in, and only then the old one
// removed. If src cannot be renamed in, the old folder is put back.
func (o *outDir) replaceDir(name, src string) error {
	dst := filepath.Join(o.path, name)
	old := ""
	if _, err := os.Lstat(dst); err == nil {
		old = o.tempName("old", name)
		if err := os.Rename(dst, old); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		if old != "" {
			os.Rename(old, dst)
		}
		return err
	}
	if old != "" {
		os.RemoveAll(old) // a leftover is removed by the next run
	}
	return nil
}

// writeFileAtomic writes data to a temporary file of o and renames it over
// o/name, so readers see the old file or the new one, never a part.
func (o *outDir) writeFileAtomic(name string, data []byte) error {
	tmp := o.tempName("tmp", name)
	err := os.WriteFile(tmp, data, 0o644)
	if err == nil {
		err = os.Rename(tmp, filepath.Join(o.path, name))
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
