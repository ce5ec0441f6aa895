package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Report collects what an experiment says about its result, as a list of
// blocks, and renders it as report.md (Markdown: `code`, *emphasis* and
// **strong** are written as such and rendered in the HTML), and as
// results.json. The runner adds the header (title, summary, parameters) and,
// at the end, the Metrics, Timings and Verification sections.
//
// Report methods are not safe for concurrent use: call them from the
// Report step, so the report's order is deterministic. Misuse (a duplicate
// metric or check name, a figure file name with a directory in it, a table
// row of the wrong width) panics, and the runner reports the panic as a
// failed run.
type Report struct {
	blocks  []block
	metrics []metric
	timings []timing
	notes   []string // paragraphs of the Timings section
	checks  []check
	names   map[string]bool // metric and check names in use
}

// block is one piece of a report's body.
type block struct {
	kind    blockKind
	text    string // heading, paragraph or preformatted text; figure caption
	file    string // figure file name
	table   *Table
	heading int // heading level in report.md (2 or 3)
}

type blockKind int

const (
	headingBlock blockKind = iota
	paraBlock
	codeBlock
	tableBlock
	figureBlock
)

// metric is a named deterministic number, kept in results.json.
type metric struct {
	name  string
	value float64
}

// timing is a named wall-clock duration; it varies between runs and is kept
// out of results.json.
type timing struct {
	name    string
	seconds float64
}

// check is one verification check.
type check struct {
	name   string
	bool   bool    // a yes/no check rather than an error against a tolerance
	value  float64 // the measured error; unused for yes/no checks
	tol    float64 // the tolerance; unused for yes/no checks
	detail string  // for yes/no checks: what was observed, shown as the value
	pass   bool
}

// Heading starts a section of the report ("## text" in report.md).
func (r *Report) Heading(text string) {
	r.blocks = append(r.blocks, block{kind: headingBlock, text: oneLine(text), heading: 2})
}

// Subheading starts a subsection ("### text" in report.md).
func (r *Report) Subheading(text string) {
	r.blocks = append(r.blocks, block{kind: headingBlock, text: oneLine(text), heading: 3})
}

// Para adds a paragraph of Markdown text: `code`, *emphasis*, **strong**.
// A sentence that states an outcome ("the error falls as α grows") should
// be generated from the numbers that show it; see Compare, Trend, Choose
// and Claim.
func (r *Report) Para(text string) {
	r.blocks = append(r.blocks, block{kind: paraBlock, text: strings.TrimSpace(text)})
}

// Paraf adds a paragraph formatted with fmt.Sprintf.
func (r *Report) Paraf(format string, args ...any) {
	r.Para(fmt.Sprintf(format, args...))
}

// Claim adds the paragraph yes if holds and the paragraph no otherwise:
// the sentence the measurement supports. Both should quote the numbers.
func (r *Report) Claim(holds bool, yes, no string) {
	r.Para(Choose(holds, yes, no))
}

// Code adds a preformatted block: program output, a formula, a config.
func (r *Report) Code(text string) {
	r.blocks = append(r.blocks, block{kind: codeBlock, text: strings.TrimRight(text, "\n")})
}

// Figure shows the file the Figures step wrote to Dir.Path(file), with a
// caption (Markdown). PNG, JPEG, GIF, SVG and WebP files are shown as
// images, others linked. Files beside it with the same base name and
// another image extension (x.svg beside x.png) are linked under it. The
// runner fails the run if file does not exist after the Figures step.
func (r *Report) Figure(file, caption string) {
	mustBeFileName(file)
	r.blocks = append(r.blocks, block{kind: figureBlock, file: file, text: oneLine(caption)})
}

// Table adds a table with the given column headers and returns it, so rows
// can be added with Row. A table of more than CollapseRows rows is shown
// collapsed in the HTML, with its row count.
func (r *Report) Table(header ...string) *Table {
	if len(header) == 0 {
		panic("runner: Report.Table needs at least one column")
	}
	t := &Table{header: header}
	r.blocks = append(r.blocks, block{kind: tableBlock, table: t})
	return t
}

// Metric records a named result, such as a final loss or a gradient norm.
// Metrics are listed in the report's Metrics section and saved, at full
// precision, in results.json, which two runs with the same config and seed
// reproduce byte for byte; so a metric must not depend on timing or
// scheduling. Names must be unique within a report.
func (r *Report) Metric(name string, v float64) {
	r.claim(name, "metric")
	r.metrics = append(r.metrics, metric{name: name, value: v})
}

// Timing records a wall-clock duration in seconds. Timings are listed in the
// report's Timings section, the only place of a report that differs between
// two runs of the same config, and are not part of results.json. The runner
// records the total wall time itself. Wall-clock figures belong here (and
// numbers derived from them in TimingNote) and nowhere else in the report.
func (r *Report) Timing(name string, seconds float64) {
	r.timings = append(r.timings, timing{name: oneLine(name), seconds: seconds})
}

// TimingNote adds a paragraph (Markdown) to the Timings section, after its
// table: a sentence quoting numbers derived from wall-clock times, such as a
// growth rate fitted to measured times or a speed-up. Such numbers vary from
// run to run like the times themselves, so they belong here and not in the
// body. Generate the sentence from the numbers, as any outcome sentence.
func (r *Report) TimingNote(text string) {
	r.notes = append(r.notes, strings.TrimSpace(text))
}

// Check records a verification check of a measured error against a
// tolerance, such as the largest relative difference between an adjoint
// gradient and central finite differences. It passes if err is finite and at
// most tol, and returns whether it passed. A failed check does not stop the
// experiment: the report is still written, and the run exits with status 1.
func (r *Report) Check(name string, err float64, tol Tol) bool {
	r.claim(name, "check")
	pass := !math.IsNaN(err) && !math.IsInf(err, 0) && err <= float64(tol)
	r.checks = append(r.checks, check{name: name, value: err, tol: float64(tol), pass: pass})
	return pass
}

// CheckTrue records a yes/no verification check, for properties that are
// not an error against a tolerance (a loss decreased, a solver converged).
// detail says what was observed, with its numbers, and is shown in place of
// the value. It returns ok.
func (r *Report) CheckTrue(name string, ok bool, detail string) bool {
	r.claim(name, "check")
	r.checks = append(r.checks, check{name: name, bool: true, detail: oneLine(detail), pass: ok})
	return ok
}

// claim reserves a metric or check name, panicking if it is empty or taken.
func (r *Report) claim(name, what string) {
	if strings.TrimSpace(name) == "" || strings.ContainsAny(name, "\r\n") {
		panic(fmt.Sprintf("runner: invalid %s name %q", what, name))
	}
	if r.names == nil {
		r.names = map[string]bool{}
	}
	key := what + "\x00" + name
	if r.names[key] {
		panic(fmt.Sprintf("runner: %s %q recorded twice", what, name))
	}
	r.names[key] = true
}

// Passed reports whether the report has at least one check and all passed.
func (r *Report) Passed() bool { return r.status() == statusPass }

// Failed returns a line for each check that did not pass.
func (r *Report) Failed() []string {
	var out []string
	for _, c := range r.checks {
		if !c.pass {
			out = append(out, c.String())
		}
	}
	return out
}

// Text returns the body of the report as Markdown, without the sections the
// runner adds: what the Report step wrote, for tests of it.
func (r *Report) Text() string {
	var b bytes.Buffer
	r.body(&b, "")
	return b.String()
}

// TimingNotes returns the paragraphs added with TimingNote, for tests of
// the Report step.
func (r *Report) TimingNotes() []string { return slices.Clone(r.notes) }

// CollapseRows is the number of rows above which a table is collapsed.
const CollapseRows = 12

// Table is a table of a report, made by Report.Table.
type Table struct {
	header []string
	rows   [][]string
}

// Row adds a row. Each cell is formatted by kind: float64, float32 and Tol
// with Num (3 significant digits), integers in decimal, strings as they are
// (Markdown), errors and fmt.Stringers by their text, anything else with
// fmt.Sprint. Format a cell yourself (fmt.Sprintf) for other precision. The
// number of cells must equal the number of columns.
func (t *Table) Row(cells ...any) {
	if len(cells) != len(t.header) {
		panic(fmt.Sprintf("runner: table row has %d cells, the table has %d columns", len(cells), len(t.header)))
	}
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = formatCell(c)
	}
	t.rows = append(t.rows, row)
}

// formatCell formats one table cell; see Table.Row.
func formatCell(c any) string {
	switch x := c.(type) {
	case string:
		return x
	case float64:
		return Num(x)
	case float32:
		return Num(float64(x))
	case Tol:
		return Num(float64(x))
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case error:
		return x.Error()
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(c)
}

// Num formats v with 3 significant digits (like %.3g: 0.000123 is "0.000123",
// 1234567 is "1.23e+06"), the precision of report tables.
func Num(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

// numFull formats v with 6 significant digits, for the Metrics section.
func numFull(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// Status values of a report, in results.json and the index.
const (
	statusPass     = "PASS"      // at least one check, and all passed
	statusFail     = "FAIL"      // at least one check failed
	statusNoChecks = "NO CHECKS" // nothing was verified
)

// status summarises the report's checks.
func (r *Report) status() string {
	if len(r.checks) == 0 {
		return statusNoChecks
	}
	for _, c := range r.checks {
		if !c.pass {
			return statusFail
		}
	}
	return statusPass
}

// String describes a check and its outcome on one line.
func (c check) String() string {
	verdict := "PASS"
	if !c.pass {
		verdict = "FAIL"
	}
	if c.bool {
		return fmt.Sprintf("check %q: %s (%s)", c.name, verdict, c.detail)
	}
	op := "<="
	if !c.pass {
		op = "exceeds"
	}
	return fmt.Sprintf("check %q: %s (error %s %s tolerance %s)", c.name, verdict, Num(c.value), op, Num(c.tol))
}

// header is what the runner knows about a run, shown at a report's top.
type header struct {
	name       string // output name
	title      string
	summary    string
	experiment string
	theme      string
	config     string // config file base name
	seed       int64
	quick      bool
	params     []param

	sweep       *sweepRef     // a run of a sweep: which one
	seeds       string        // a sweep's summary: its seeds, shown in place of seed ("" if not swept)
	summaryJSON *sweepSummary // a sweep's summary: its results
}

// Section headings the runner writes.
const (
	metricsHeading      = "## Metrics"
	timingsHeading      = "## Timings"
	verificationHeading = "## Verification"
)

// markdown renders the report as report.md. dir is the run's folder, where
// the figures are (to link the other formats of a figure).
func (r *Report) markdown(h header, dir string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", h.title)
	if h.summary != h.title {
		fmt.Fprintf(&b, "%s\n\n", h.summary)
	}
	fmt.Fprintf(&b, "- experiment: `%s` (theme %s)\n- config: `%s`\n", h.experiment, h.theme, h.config)
	switch {
	case h.summaryJSON != nil && h.seeds != "":
		fmt.Fprintf(&b, "- seeds: %s\n", h.seeds)
	case h.summaryJSON == nil:
		fmt.Fprintf(&b, "- seed: %d\n", h.seed)
	}
	if s := h.sweep; s != nil {
		var point []string
		for i, a := range s.Keys {
			point = append(point, a.Key+" = "+displayValue(s.Point[i]))
		}
		if len(s.Seeds) > 0 {
			point = append(point, fmt.Sprintf("seed %d", h.seed))
		}
		fmt.Fprintf(&b, "- sweep: `%s`, run %d of %d (%s)\n", s.Name, s.Run+1, s.runCount(), strings.Join(point, ", "))
	}
	fmt.Fprintf(&b, "- quick: %s\n\n", yesNo(h.quick))
	if len(h.params) > 0 {
		rows := make([][]string, len(h.params))
		for i, p := range h.params {
			rows[i] = []string{codeSpan(p.key), codeSpan(formatValue(p.val))}
		}
		what := "Parameters"
		if h.summaryJSON != nil {
			what = "Parameters common to every run"
		}
		mdTableCollapsed(&b, fmt.Sprintf("%s (%d)", what, len(h.params)), []string{"key", "value"}, rows, 0)
	}

	r.body(&b, dir)

	if len(r.metrics) > 0 {
		b.WriteString(metricsHeading + "\n\n")
		rows := make([][]string, len(r.metrics))
		for i, m := range r.metrics {
			rows[i] = []string{m.name, numFull(m.value)}
		}
		mdTableCollapsed(&b, fmt.Sprintf("%d metrics", len(r.metrics)), []string{"metric", "value"}, rows, CollapseRows)
	}

	if len(r.timings) > 0 || len(r.notes) > 0 {
		b.WriteString(timingsHeading + "\n\n")
		b.WriteString("Wall-clock times vary from run to run; they are not part of results.json.\n\n")
		if len(r.timings) > 0 {
			rows := make([][]string, len(r.timings))
			for i, t := range r.timings {
				rows[i] = []string{t.name, Num(t.seconds)}
			}
			mdTableCollapsed(&b, fmt.Sprintf("%d timings", len(r.timings)), []string{"timing", "seconds"}, rows, CollapseRows)
		}
		for _, n := range r.notes {
			fmt.Fprintf(&b, "%s\n\n", n)
		}
	}

	b.WriteString(verificationHeading + "\n\n")
	if len(r.checks) == 0 {
		b.WriteString("No verification checks were recorded: nothing in this report has been verified.\n")
		return b.Bytes()
	}
	rows := make([][]string, len(r.checks))
	for i, c := range r.checks {
		rows[i] = checkRow(c)
	}
	mdTable(&b, []string{"check", "value", "tolerance", "result"}, rows)
	b.WriteString(verdict(r.checks) + "\n")
	return b.Bytes()
}

// body writes the blocks the experiment added.
func (r *Report) body(b *bytes.Buffer, dir string) {
	nfig := 0
	for _, bl := range r.blocks {
		switch bl.kind {
		case headingBlock:
			fmt.Fprintf(b, "%s %s\n\n", strings.Repeat("#", bl.heading), bl.text)
		case paraBlock:
			fmt.Fprintf(b, "%s\n\n", bl.text)
		case codeBlock:
			fence := "```"
			for strings.Contains(bl.text, fence) {
				fence += "`"
			}
			fmt.Fprintf(b, "%s\n%s\n%s\n\n", fence, bl.text, fence)
		case tableBlock:
			mdTableCollapsed(b, fmt.Sprintf("Table of %d rows", len(bl.table.rows)), bl.table.header, bl.table.rows, CollapseRows)
		case figureBlock:
			nfig++
			label := fmt.Sprintf("**Figure %d.**", nfig)
			if isImage(bl.file) {
				fmt.Fprintf(b, "![%s](%s)\n\n", mdAlt(bl.text), url.PathEscape(bl.file))
				fmt.Fprintf(b, "%s %s%s\n\n", label, bl.text, otherFormats(dir, bl.file))
			} else {
				fmt.Fprintf(b, "%s [%s](%s): %s\n\n", label, bl.file, url.PathEscape(bl.file), bl.text)
			}
		}
	}
}

// otherFormats links the files beside file with its base name and another
// image extension, such as the SVG of a PNG figure: " (also as [SVG](x.svg))".
func otherFormats(dir, file string) string {
	if dir == "" {
		return ""
	}
	base := strings.TrimSuffix(file, path.Ext(file))
	var links []string
	for _, ext := range imageExts {
		other := base + ext
		if other == file {
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, other)); err == nil && fi.Mode().IsRegular() {
			links = append(links, fmt.Sprintf("[%s](%s)", strings.ToUpper(ext[1:]), url.PathEscape(other)))
		}
	}
	if len(links) == 0 {
		return ""
	}
	return " (also as " + strings.Join(links, ", ") + ")"
}

// checkRow is a check's row of the Verification table.
func checkRow(c check) []string {
	result := "PASS"
	if !c.pass {
		result = "**FAIL**"
	}
	if c.bool {
		return []string{c.name, c.detail, "—", result}
	}
	return []string{c.name, Num(c.value), Num(c.tol), result}
}

// verdict is the sentence closing the Verification section.
func verdict(checks []check) string {
	n := 0
	for _, c := range checks {
		if !c.pass {
			n++
		}
	}
	if n == 0 {
		return fmt.Sprintf("All %d checks passed.", len(checks))
	}
	return fmt.Sprintf("%d of %d checks FAILED.", n, len(checks))
}

// mdTableCollapsed writes a Markdown table, inside a <details> element with
// the given summary when it has more than collapse rows (and collapse > 0),
// or always when collapse is 0.
func mdTableCollapsed(b *bytes.Buffer, summary string, header []string, rows [][]string, collapse int) {
	if collapse > 0 && len(rows) <= collapse {
		mdTable(b, header, rows)
		return
	}
	fmt.Fprintf(b, "<details><summary>%s</summary>\n\n", htmlEscaper.Replace(summary))
	mdTable(b, header, rows)
	b.WriteString("</details>\n\n")
}

// htmlEscaper escapes text for raw HTML in Markdown.
var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// mdTable writes a Markdown table.
func mdTable(b *bytes.Buffer, header []string, rows [][]string) {
	writeRow := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + mdCell(c) + " |")
		}
		b.WriteString("\n")
	}
	writeRow(header)
	b.WriteString("|" + strings.Repeat(" --- |", len(header)) + "\n")
	for _, r := range rows {
		writeRow(r)
	}
	b.WriteString("\n")
}

// mdCell makes text safe inside a Markdown table cell.
func mdCell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", `\|`)
}

// mdAlt makes a caption safe as an image's alternative text: Markdown
// markup is dropped and brackets escaped.
func mdAlt(s string) string {
	s = strings.NewReplacer("`", "", "*", "", "[", `\[`, "]", `\]`).Replace(s)
	return oneLine(s)
}

// codeSpan wraps s in backticks, unless it holds one.
func codeSpan(s string) string {
	if strings.Contains(s, "`") {
		return s
	}
	return "`" + s + "`"
}

// oneLine joins the lines of s with spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\r", "")), " ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// imageExts are the extensions of files shown as images, in the order
// other formats of a figure are linked.
var imageExts = []string{".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp"}

// isImage reports whether a figure file is shown as an image.
func isImage(file string) bool {
	ext := strings.ToLower(path.Ext(file))
	for _, e := range imageExts {
		if ext == e {
			return true
		}
	}
	return false
}

// results is the content of results.json: everything that must be the same
// for two runs with the same config and seed. Timings are left out.
type results struct {
	Name       string         `json:"name"`
	Experiment string         `json:"experiment"`
	Theme      string         `json:"theme"`
	Title      string         `json:"title"`
	Summary    string         `json:"summary"`
	Config     string         `json:"config"`
	Seed       *int64         `json:"seed,omitempty"` // nil for a sweep's summary
	Quick      bool           `json:"quick"`
	Params     map[string]any `json:"params"` // keys dotted for nested tables
	Status     string         `json:"status"` // PASS, FAIL or NO CHECKS
	Metrics    []resultMetric `json:"metrics"`
	Checks     []resultCheck  `json:"checks"`

	Sweep        *sweepRef     `json:"sweep,omitempty"`         // a run of a sweep
	SweepSummary *sweepSummary `json:"sweep_summary,omitempty"` // a sweep's summary
}

type resultMetric struct {
	Name  string    `json:"name"`
	Value jsonFloat `json:"value"`
}

type resultCheck struct {
	Name      string     `json:"name"`
	Kind      string     `json:"kind"` // "error" or "bool"
	Value     *jsonFloat `json:"value,omitempty"`
	Tolerance *jsonFloat `json:"tolerance,omitempty"`
	Detail    string     `json:"detail,omitempty"`
	Pass      bool       `json:"pass"`
}

// jsonFloat is a float64 that encodes NaN and ±Inf as the strings "NaN",
// "+Inf" and "-Inf", which JSON numbers cannot hold.
type jsonFloat float64

// UnmarshalJSON implements json.Unmarshaler: a number, or one of the
// strings MarshalJSON writes.
func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		switch s {
		case "NaN", "+Inf", "-Inf":
			v, _ := strconv.ParseFloat(s, 64)
			*f = jsonFloat(v)
			return nil
		}
		return fmt.Errorf("runner: %q is not a number", s)
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = jsonFloat(v)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return json.Marshal(strconv.FormatFloat(v, 'g', -1, 64))
	}
	return json.Marshal(v)
}

// resultsJSON renders results.json.
func (r *Report) resultsJSON(h header) ([]byte, error) {
	res := results{
		Name: h.name, Experiment: h.experiment, Theme: h.theme, Title: h.title, Summary: h.summary,
		Config: h.config, Quick: h.quick, Status: r.status(),
		Params:  map[string]any{},
		Metrics: []resultMetric{},
		Checks:  []resultCheck{},
		Sweep:   h.sweep, SweepSummary: h.summaryJSON,
	}
	if h.summaryJSON == nil {
		res.Seed = &h.seed
	}
	for _, p := range h.params {
		res.Params[p.key] = jsonValue(p.val)
	}
	for _, m := range r.metrics {
		res.Metrics = append(res.Metrics, resultMetric{Name: m.name, Value: jsonFloat(m.value)})
	}
	for _, c := range r.checks {
		rc := resultCheck{Name: c.name, Kind: "error", Pass: c.pass}
		if c.bool {
			rc.Kind, rc.Detail = "bool", c.detail
		} else {
			v, t := jsonFloat(c.value), jsonFloat(c.tol)
			rc.Value, rc.Tolerance = &v, &t
		}
		res.Checks = append(res.Checks, rc)
	}
	out, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// jsonValue converts a configuration value for encoding/json: floats (Tol
// included) may be non-finite, and durations read better as text.
func jsonValue(v any) any {
	if x, ok := v.(fmt.Stringer); ok {
		return x.String()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Float32, reflect.Float64:
		return jsonFloat(rv.Float())
	case reflect.Slice, reflect.Array:
		if k := rv.Type().Elem().Kind(); k == reflect.Float32 || k == reflect.Float64 {
			out := make([]jsonFloat, rv.Len())
			for i := range out {
				out[i] = jsonFloat(rv.Index(i).Float())
			}
			return out
		}
	}
	return v
}
