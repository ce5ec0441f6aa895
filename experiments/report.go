package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// Report collects what an experiment wants to say, as a list of blocks, and
// renders it as report.md, as an HTML fragment for the index page, and as
// results.json. An experiment fills the Report it finds in Run.Report; the
// runner adds the header (title, summary, parameters) and, at the end, the
// Metrics, Timings and Verification sections.
//
// Report methods are not safe for concurrent use: call them from the
// goroutine that runs the experiment, so the report's order is
// deterministic. Misuse (a duplicate metric or check name, a figure file
// name with a directory in it, a table row of the wrong width) panics, and
// the runner reports the panic as a failed run.
type Report struct {
	blocks  []block
	metrics []metric
	timings []timing
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
	value  float64 // the measured (relative) error; unused for yes/no checks
	tol    float64 // the tolerance; unused for yes/no checks
	detail string  // for yes/no checks: what was checked, shown as the value
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

// Para adds a paragraph of plain text. Text in `backticks` is shown as code;
// other Markdown is left as written in report.md and shown literally in HTML.
func (r *Report) Para(text string) {
	r.blocks = append(r.blocks, block{kind: paraBlock, text: strings.TrimSpace(text)})
}

// Paraf adds a paragraph formatted with fmt.Sprintf.
func (r *Report) Paraf(format string, args ...any) {
	r.Para(fmt.Sprintf(format, args...))
}

// Code adds a preformatted block: program output, a formula, a config.
func (r *Report) Code(text string) {
	r.blocks = append(r.blocks, block{kind: codeBlock, text: strings.TrimRight(text, "\n")})
}

// Figure shows the file written to Run.Path(file), with a caption. PNG,
// JPEG, GIF, SVG and WebP files are shown as images; other files are linked.
// The runner fails the run if the file does not exist when Run returns.
func (r *Report) Figure(file, caption string) {
	mustBeFileName(file)
	r.blocks = append(r.blocks, block{kind: figureBlock, file: file, text: oneLine(caption)})
}

// Table adds a table with the given column headers and returns it, so rows
// can be added with Row.
func (r *Report) Table(header ...string) *Table {
	if len(header) == 0 {
		panic("experiments: Report.Table needs at least one column")
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
// report's Timings section and are not part of results.json. The runner
// records the total wall time itself.
func (r *Report) Timing(name string, seconds float64) {
	r.timings = append(r.timings, timing{name: oneLine(name), seconds: seconds})
}

// Check records a verification check on a relative error, such as the
// largest relative difference between an adjoint gradient and central finite
// differences. It passes if maxRelErr is finite and at most tol, and it
// returns whether it passed. A failed check does not stop the experiment:
// the report is still written, and the run exits with status 1.
func (r *Report) Check(name string, maxRelErr, tol float64) bool {
	r.claim(name, "check")
	pass := !math.IsNaN(maxRelErr) && !math.IsInf(maxRelErr, 0) && maxRelErr <= tol
	r.checks = append(r.checks, check{name: name, value: maxRelErr, tol: tol, pass: pass})
	return pass
}

// CheckTrue records a yes/no verification check, for properties that are
// not a relative error (a loss decreased, a solver converged). detail says
// what was observed and is shown in place of the value. It returns ok.
func (r *Report) CheckTrue(name string, ok bool, detail string) bool {
	r.claim(name, "check")
	r.checks = append(r.checks, check{name: name, bool: true, detail: oneLine(detail), pass: ok})
	return ok
}

// claim reserves a metric or check name, panicking if it is empty or taken.
func (r *Report) claim(name, what string) {
	if strings.TrimSpace(name) == "" || strings.ContainsAny(name, "\r\n") {
		panic(fmt.Sprintf("experiments: invalid %s name %q", what, name))
	}
	if r.names == nil {
		r.names = map[string]bool{}
	}
	key := what + "\x00" + name
	if r.names[key] {
		panic(fmt.Sprintf("experiments: %s %q recorded twice", what, name))
	}
	r.names[key] = true
}

// Table is a table of a report, made by Report.Table.
type Table struct {
	header []string
	rows   [][]string
}

// Row adds a row. Each cell is formatted by kind: float64 and float32 with
// Num (3 significant digits), integers in decimal, strings as they are,
// errors and fmt.Stringers by their text, anything else with fmt.Sprint.
// Format a cell yourself (fmt.Sprintf) for other precision. The number of
// cells must equal the number of columns.
func (t *Table) Row(cells ...any) {
	if len(cells) != len(t.header) {
		panic(fmt.Sprintf("experiments: table row has %d cells, the table has %d columns", len(cells), len(t.header)))
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

// failed returns the checks that did not pass.
func (r *Report) failed() []check {
	var out []check
	for _, c := range r.checks {
		if !c.pass {
			out = append(out, c)
		}
	}
	return out
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
	return fmt.Sprintf("check %q: %s (max rel. error %s %s tolerance %s)", c.name, verdict, Num(c.value), op, Num(c.tol))
}

// header is what the runner knows about a run, shown at a report's top.
type header struct {
	name       string // output name
	title      string
	summary    string
	experiment string
	config     string // config file base name
	seed       int64
	quick      bool
	params     []param
}

// timingsHeading starts the Timings section; stripTimings removes it.
const timingsHeading = "## Timings"

// markdown renders the report as report.md.
func (r *Report) markdown(h header) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", h.title)
	if h.summary != h.title {
		fmt.Fprintf(&b, "%s\n\n", h.summary)
	}
	fmt.Fprintf(&b, "- experiment: `%s`\n- config: `%s`\n- seed: %d\n- quick: %s\n\n", h.experiment, h.config, h.seed, yesNo(h.quick))
	if len(h.params) > 0 {
		b.WriteString("Parameters:\n\n| key | value |\n| --- | --- |\n")
		for _, p := range h.params {
			fmt.Fprintf(&b, "| %s | %s |\n", codeSpan(mdCell(p.key)), codeSpan(mdCell(formatValue(p.val))))
		}
		b.WriteString("\n")
	}

	for _, bl := range r.blocks {
		switch bl.kind {
		case headingBlock:
			fmt.Fprintf(&b, "%s %s\n\n", strings.Repeat("#", bl.heading), bl.text)
		case paraBlock:
			fmt.Fprintf(&b, "%s\n\n", bl.text)
		case codeBlock:
			fence := "```"
			for strings.Contains(bl.text, fence) {
				fence += "`"
			}
			fmt.Fprintf(&b, "%s\n%s\n%s\n\n", fence, bl.text, fence)
		case tableBlock:
			mdTable(&b, bl.table.header, bl.table.rows)
		case figureBlock:
			if isImage(bl.file) {
				fmt.Fprintf(&b, "![%s](%s)\n\n", mdCell(bl.text), url.PathEscape(bl.file))
				if bl.text != "" {
					fmt.Fprintf(&b, "*%s*\n\n", bl.text)
				}
			} else {
				fmt.Fprintf(&b, "[%s](%s)", bl.file, url.PathEscape(bl.file))
				if bl.text != "" {
					fmt.Fprintf(&b, ": %s", bl.text)
				}
				b.WriteString("\n\n")
			}
		}
	}

	if len(r.metrics) > 0 {
		b.WriteString("## Metrics\n\n")
		rows := make([][]string, len(r.metrics))
		for i, m := range r.metrics {
			rows[i] = []string{m.name, numFull(m.value)}
		}
		mdTable(&b, []string{"metric", "value"}, rows)
	}

	if len(r.timings) > 0 {
		b.WriteString(timingsHeading + "\n\n")
		b.WriteString("Wall-clock times vary from run to run; they are not part of results.json.\n\n")
		rows := make([][]string, len(r.timings))
		for i, t := range r.timings {
			rows[i] = []string{t.name, Num(t.seconds)}
		}
		mdTable(&b, []string{"timing", "seconds"}, rows)
	}

	b.WriteString("## Verification\n\n")
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

// checkRow is a check's row of the Verification table.
func checkRow(c check) []string {
	result := "PASS"
	if !c.pass {
		result = "FAIL"
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

// stripTimings removes the Timings section from a rendered report.md: what
// remains is the same for two runs with the same config and seed. Compare
// reports with it (the tests do).
func stripTimings(md string) string {
	i := strings.LastIndex(md, "\n"+timingsHeading+"\n")
	if i < 0 {
		return md
	}
	rest := md[i+1+len(timingsHeading):]
	j := strings.Index(rest, "\n## ")
	if j < 0 {
		return md[:i+1]
	}
	return md[:i+1] + rest[j+1:]
}

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

// isImage reports whether a figure file is shown as an image.
func isImage(file string) bool {
	switch strings.ToLower(path.Ext(file)) {
	case ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp":
		return true
	}
	return false
}

// fragmentHTML renders the report as an HTML fragment (a <section>) for the
// index page. Links and image sources are relative to the output directory,
// where index.html lives: "name/figure.png".
func (r *Report) fragmentHTML(h header) []byte {
	var b bytes.Buffer
	esc := html.EscapeString
	dir := url.PathEscape(h.name) + "/"
	fmt.Fprintf(&b, "<section class=\"report\" id=\"%s\">\n", esc("exp-"+h.name))
	fmt.Fprintf(&b, "<h2>%s <span class=\"status %s\">%s</span></h2>\n", esc(h.title), statusClass(r.status()), esc(r.status()))
	if h.summary != h.title {
		fmt.Fprintf(&b, "<p class=\"summary\">%s</p>\n", esc(h.summary))
	}
	fmt.Fprintf(&b, "<p class=\"meta\">experiment <code>%s</code> · config <code>%s</code> · seed %d · quick: %s · <a href=\"%sreport.md\">report.md</a> · <a href=\"%sresults.json\">results.json</a></p>\n",
		esc(h.experiment), esc(h.config), h.seed, yesNo(h.quick), dir, dir)
	if len(h.params) > 0 {
		rows := make([][]string, len(h.params))
		for i, p := range h.params {
			rows[i] = []string{codeSpan(p.key), codeSpan(formatValue(p.val))}
		}
		htmlTable(&b, "params", []string{"parameter", "value"}, rows)
	}

	for _, bl := range r.blocks {
		switch bl.kind {
		case headingBlock:
			fmt.Fprintf(&b, "<h%d>%s</h%d>\n", bl.heading+1, inlineHTML(bl.text), bl.heading+1)
		case paraBlock:
			fmt.Fprintf(&b, "<p>%s</p>\n", inlineHTML(bl.text))
		case codeBlock:
			fmt.Fprintf(&b, "<pre><code>%s</code></pre>\n", esc(bl.text))
		case tableBlock:
			htmlTable(&b, "", bl.table.header, bl.table.rows)
		case figureBlock:
			src := dir + url.PathEscape(bl.file)
			if isImage(bl.file) {
				fmt.Fprintf(&b, "<figure><img src=\"%s\" alt=\"%s\"><figcaption>%s</figcaption></figure>\n", esc(src), esc(bl.text), inlineHTML(bl.text))
			} else {
				fmt.Fprintf(&b, "<figure><a href=\"%s\">%s</a><figcaption>%s</figcaption></figure>\n", esc(src), esc(bl.file), inlineHTML(bl.text))
			}
		}
	}

	if len(r.metrics) > 0 {
		b.WriteString("<h3>Metrics</h3>\n")
		rows := make([][]string, len(r.metrics))
		for i, m := range r.metrics {
			rows[i] = []string{m.name, numFull(m.value)}
		}
		htmlTable(&b, "metrics", []string{"metric", "value"}, rows)
	}
	if len(r.timings) > 0 {
		b.WriteString("<h3>Timings</h3>\n")
		rows := make([][]string, len(r.timings))
		for i, t := range r.timings {
			rows[i] = []string{t.name, Num(t.seconds)}
		}
		htmlTable(&b, "timings", []string{"timing", "seconds"}, rows)
	}
	b.WriteString("<h3>Verification</h3>\n")
	if len(r.checks) == 0 {
		b.WriteString("<p class=\"verdict\">No verification checks were recorded: nothing in this report has been verified.</p>\n")
	} else {
		b.WriteString("<table class=\"checks\">\n<tr><th>check</th><th>value</th><th>tolerance</th><th>result</th></tr>\n")
		for _, c := range r.checks {
			row := checkRow(c)
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%s</td><td class=\"%s\">%s</td></tr>\n",
				esc(row[0]), esc(row[1]), esc(row[2]), statusClass(row[3]), row[3])
		}
		b.WriteString("</table>\n")
		fmt.Fprintf(&b, "<p class=\"verdict\">%s</p>\n", esc(verdict(r.checks)))
	}
	b.WriteString("</section>\n")
	return b.Bytes()
}

// htmlTable writes an HTML table whose cells may hold `code` spans.
func htmlTable(b *bytes.Buffer, class string, header []string, rows [][]string) {
	if class != "" {
		fmt.Fprintf(b, "<table class=%q>\n<tr>", class)
	} else {
		b.WriteString("<table>\n<tr>")
	}
	for _, h := range header {
		fmt.Fprintf(b, "<th>%s</th>", inlineHTML(h))
	}
	b.WriteString("</tr>\n")
	for _, r := range rows {
		b.WriteString("<tr>")
		for _, c := range r {
			fmt.Fprintf(b, "<td>%s</td>", inlineHTML(c))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</table>\n")
}

// inlineHTML escapes text and turns `code` spans into <code> elements.
func inlineHTML(s string) string {
	parts := strings.Split(s, "`")
	if len(parts)%2 == 0 { // an unmatched backtick: show it as it is
		return html.EscapeString(s)
	}
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 {
			b.WriteString("<code>" + html.EscapeString(p) + "</code>")
		} else {
			b.WriteString(html.EscapeString(p))
		}
	}
	return b.String()
}

// statusClass is the CSS class of a status or check result.
func statusClass(s string) string {
	switch s {
	case statusPass:
		return "pass"
	case statusFail:
		return "fail"
	}
	return "none"
}

// results is the content of results.json: everything that must be the same
// for two runs with the same config and seed. Timings are left out.
type results struct {
	Name       string         `json:"name"`
	Experiment string         `json:"experiment"`
	Title      string         `json:"title"`
	Summary    string         `json:"summary"`
	Config     string         `json:"config"`
	Seed       int64          `json:"seed"`
	Quick      bool           `json:"quick"`
	Params     map[string]any `json:"params"` // keys dotted for nested tables
	Status     string         `json:"status"` // PASS, FAIL or NO CHECKS
	Metrics    []resultMetric `json:"metrics"`
	Checks     []resultCheck  `json:"checks"`
}

type resultMetric struct {
	Name  string    `json:"name"`
	Value jsonFloat `json:"value"`
}

type resultCheck struct {
	Name      string     `json:"name"`
	Kind      string     `json:"kind"` // "relerr" or "bool"
	Value     *jsonFloat `json:"value,omitempty"`
	Tolerance *jsonFloat `json:"tolerance,omitempty"`
	Detail    string     `json:"detail,omitempty"`
	Pass      bool       `json:"pass"`
}

// jsonFloat is a float64 that encodes NaN and ±Inf as the strings "NaN",
// "+Inf" and "-Inf", which JSON numbers cannot hold.
type jsonFloat float64

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
		Name: h.name, Experiment: h.experiment, Title: h.title, Summary: h.summary,
		Config: h.config, Seed: h.seed, Quick: h.quick, Status: r.status(),
		Params:  map[string]any{},
		Metrics: []resultMetric{},
		Checks:  []resultCheck{},
	}
	for _, p := range h.params {
		res.Params[p.key] = jsonValue(p.val)
	}
	for _, m := range r.metrics {
		res.Metrics = append(res.Metrics, resultMetric{Name: m.name, Value: jsonFloat(m.value)})
	}
	for _, c := range r.checks {
		rc := resultCheck{Name: c.name, Kind: "relerr", Pass: c.pass}
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

// jsonValue converts a configuration value for encoding/json: floats may be
// non-finite, and durations read better as text.
func jsonValue(v any) any {
	switch x := v.(type) {
	case float64:
		return jsonFloat(x)
	case float32:
		return jsonFloat(x)
	case []float64:
		out := make([]jsonFloat, len(x))
		for i, f := range x {
			out[i] = jsonFloat(f)
		}
		return out
	case fmt.Stringer:
		return x.String()
	}
	return v
}
