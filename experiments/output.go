package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"
)

// outcome is how one run ended.
type outcome struct {
	status string // statusPass, statusFail or statusNoChecks; "" if err != nil
	failed []check
	err    error
	wall   time.Duration
}

// runJob runs one job into a temporary directory inside out and, if the run
// succeeds (even with failing checks), replaces out/<name> with it. On error
// or cancellation the temporary directory is removed and any earlier
// out/<name> is left as it was.
func runJob(ctx context.Context, out string, j *job, con *console) outcome {
	tmp, err := os.MkdirTemp(out, ".tmp-"+j.name+"-")
	if err != nil {
		return outcome{err: err}
	}
	kept := false
	defer func() {
		if !kept {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes it private
		return outcome{err: err}
	}

	h := header{
		name: j.name, title: j.title, summary: j.exp.summary, experiment: j.exp.name,
		config: path.Base(filepath.ToSlash(j.file)), seed: j.seed, quick: j.quick,
		params: params(j.cfg),
	}
	r := &Run{Name: j.name, Experiment: j.exp.name, Seed: j.seed, Quick: j.quick,
		Report: &Report{}, ctx: ctx, dir: tmp, con: con}
	start := time.Now()
	err = callRun(j.exp, r, j.cfg)
	wall := time.Since(start)
	if ctx.Err() != nil { // even if Run returned nil, its results may be partial
		if err == nil {
			err = context.Cause(ctx)
		}
		err = fmt.Errorf("interrupted: %w", err)
	}
	if err != nil {
		return outcome{err: err, wall: wall}
	}
	for _, b := range r.Report.blocks {
		if b.kind != figureBlock {
			continue
		}
		if fi, err := os.Stat(filepath.Join(tmp, b.file)); err != nil || !fi.Mode().IsRegular() {
			return outcome{err: fmt.Errorf("figure %q is in the report but no file was written to Run.Path(%q)", b.file, b.file), wall: wall}
		}
	}

	rep := r.Report
	rep.timings = append([]timing{{name: "total (wall)", seconds: wall.Seconds()}}, rep.timings...)
	js, err := rep.resultsJSON(h)
	if err != nil {
		return outcome{err: fmt.Errorf("encoding results.json: %w", err), wall: wall}
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"report.md", rep.markdown(h)},
		{"fragment.html", rep.fragmentHTML(h)},
		{"results.json", js},
	} {
		if err := os.WriteFile(filepath.Join(tmp, f.name), f.data, 0o644); err != nil {
			return outcome{err: err, wall: wall}
		}
	}
	if err := replaceDir(filepath.Join(out, j.name), tmp); err != nil {
		return outcome{err: err, wall: wall}
	}
	kept = true
	return outcome{status: rep.status(), failed: rep.failed(), wall: wall}
}

// callRun calls the experiment, turning a panic into an error.
func callRun(e *experiment, r *Run, cfg any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return e.run(r, cfg)
}

// replaceDir moves directory src to dst, replacing what was there: the old
// dst is renamed aside, src renamed in, and only then the old one removed.
// If src cannot be renamed in, the old dst is put back.
func replaceDir(dst, src string) error {
	old := ""
	if _, err := os.Lstat(dst); err == nil {
		aside, err := os.MkdirTemp(filepath.Dir(dst), ".old-"+filepath.Base(dst)+"-")
		if err != nil {
			return err
		}
		if err := os.Remove(aside); err != nil {
			return err
		}
		if err := os.Rename(dst, aside); err != nil {
			return err
		}
		old = aside
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
		os.RemoveAll(old) // a leftover .old-* folder is harmless: the index skips it
	}
	return nil
}

// writeFileAtomic writes data to a temporary file beside name and renames it
// over name, so readers see the old file or the new one, never a part.
func writeFileAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".tmp-"+filepath.Base(name)+"-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// indexEntry is one report folder listed by the index.
type indexEntry struct {
	Name       string `json:"name"`
	Experiment string `json:"experiment"`
	Title      string `json:"title"`
	Summary    string `json:"summary"`
	Status     string `json:"status"`
	fragment   []byte // fragment.html, if present
}

// describe is the entry's title and summary line, as "title — summary".
func (e indexEntry) describe() string {
	if e.Summary == "" || e.Summary == e.Title {
		return e.Title
	}
	return e.Title + " — " + e.Summary
}

// writeIndex writes out/index.md and out/index.html, listing every report
// folder in out (a folder not starting with '.' that holds results.json),
// whether this run or an earlier one wrote it, in name order. It returns
// the number of reports listed.
func writeIndex(out string) (int, error) {
	dirs, err := os.ReadDir(out) // sorted by name
	if err != nil {
		return 0, err
	}
	var entries []indexEntry
	for _, d := range dirs {
		if !d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(out, d.Name(), "results.json"))
		if err != nil {
			continue // not a report folder
		}
		var e indexEntry
		if err := json.Unmarshal(data, &e); err != nil {
			e = indexEntry{Title: d.Name(), Summary: "(results.json is unreadable: " + err.Error() + ")", Status: "?"}
		}
		e.Name = d.Name()
		e.fragment, _ = os.ReadFile(filepath.Join(out, d.Name(), "fragment.html"))
		entries = append(entries, e)
	}
	if err := writeFileAtomic(filepath.Join(out, "index.md"), indexMarkdown(entries)); err != nil {
		return 0, err
	}
	if err := writeFileAtomic(filepath.Join(out, "index.html"), indexHTML(entries)); err != nil {
		return 0, err
	}
	return len(entries), nil
}

// countStatus says how many entries have each status, as "2 PASS, 1 FAIL".
func countStatus(entries []indexEntry) string {
	var order []string
	n := map[string]int{}
	for _, e := range entries {
		if n[e.Status] == 0 {
			order = append(order, e.Status)
		}
		n[e.Status]++
	}
	var parts []string
	for _, s := range []string{statusPass, statusFail, statusNoChecks} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	for _, s := range order {
		if s != statusPass && s != statusFail && s != statusNoChecks {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

func indexMarkdown(entries []indexEntry) []byte {
	var b bytes.Buffer
	b.WriteString("# adjointkit experiments\n\n")
	if len(entries) == 0 {
		b.WriteString("No reports yet.\n")
		return b.Bytes()
	}
	fmt.Fprintf(&b, "%d reports: %s. Each folder has `report.md`, its figures and `results.json`.\n\n", len(entries), countStatus(entries))
	rows := make([][]string, len(entries))
	for i, e := range entries {
		rows[i] = []string{
			fmt.Sprintf("[%s](%s/report.md)", e.Name, url.PathEscape(e.Name)),
			e.Status, "`" + e.Experiment + "`", e.describe(),
		}
	}
	mdTable(&b, []string{"report", "status", "experiment", "summary"}, rows)
	return b.Bytes()
}

// indexCSS styles index.html.
const indexCSS = `body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#222}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}code,pre{font-family:ui-monospace,monospace;font-size:.9em}pre{background:#f6f6f6;padding:.6rem;overflow-x:auto}
section.report{border-top:2px solid #888;margin-top:3rem}figure{margin:1rem 0}img{max-width:100%}figcaption{font-style:italic}
.pass{color:#176b2c;font-weight:bold}.fail{color:#b00020;font-weight:bold}.none{color:#8a6d00;font-weight:bold}
.status{font-size:.7em;vertical-align:middle}.summary,.meta{color:#555}`

func indexHTML(entries []indexEntry) []byte {
	var b bytes.Buffer
	esc := html.EscapeString
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	b.WriteString("<title>adjointkit experiments</title>\n<style>\n" + indexCSS + "\n</style>\n</head>\n<body>\n")
	b.WriteString("<h1>adjointkit experiments</h1>\n")
	if len(entries) == 0 {
		b.WriteString("<p>No reports yet.</p>\n")
	} else {
		fmt.Fprintf(&b, "<p>%d reports: %s.</p>\n", len(entries), esc(countStatus(entries)))
		b.WriteString("<table class=\"index\">\n<tr><th>report</th><th>status</th><th>experiment</th><th>summary</th></tr>\n")
		for _, e := range entries {
			fmt.Fprintf(&b, "<tr><td><a href=\"#%s\">%s</a> (<a href=\"%s/report.md\">md</a>)</td><td class=\"%s\">%s</td><td><code>%s</code></td><td>%s</td></tr>\n",
				esc("exp-"+e.Name), esc(e.Name), esc(url.PathEscape(e.Name)), statusClass(e.Status), esc(e.Status), esc(e.Experiment), esc(e.describe()))
		}
		b.WriteString("</table>\n")
	}
	for _, e := range entries {
		if len(e.fragment) > 0 {
			b.Write(e.fragment)
		} else {
			fmt.Fprintf(&b, "<section class=\"report\" id=\"%s\"><h2>%s</h2><p>No HTML fragment: see <a href=\"%s/report.md\">report.md</a>.</p></section>\n",
				esc("exp-"+e.Name), esc(e.Name), esc(url.PathEscape(e.Name)))
		}
	}
	b.WriteString("</body>\n</html>\n")
	return b.Bytes()
}
