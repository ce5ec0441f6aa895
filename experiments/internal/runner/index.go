package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// indexEntry is one report folder listed by the index.
type indexEntry struct {
	Name       string    `json:"name"`
	Experiment string    `json:"experiment"`
	Theme      string    `json:"theme"`
	Title      string    `json:"title"`
	Summary    string    `json:"summary"`
	Status     string    `json:"status"`
	Sweep      *sweepRef `json:"sweep"` // a run of a sweep: listed under its sweep, not shown in full
	body       []byte    // report.md rendered for the index page
}

// describe is the entry's title and summary line, as "title — summary".
func (e indexEntry) describe() string {
	if e.Summary == "" || e.Summary == e.Title {
		return e.Title
	}
	return e.Title + " — " + e.Summary
}

// themeGroup is the entries of one theme.
type themeGroup struct {
	theme   string
	entries []indexEntry // reports other than runs of sweeps
	sweeps  []sweepGroup // the runs of sweeps, by sweep name
}

// sweepGroup is the runs of one sweep in the output folder.
type sweepGroup struct {
	name    string
	runs    []indexEntry // in run order
	summary bool         // the sweep's summary is in the folder too
}

// writeIndex writes index.md and index.html into o, listing every report
// folder there (a folder not starting with '.' that holds results.json),
// whether this run or an earlier one wrote it, grouped by theme in the
// order of Themes and by name within a theme; the runs of a sweep are
// listed under the sweep, after their theme's reports, and only linked
// from index.html (the sweep's summary is shown in full). It returns the
// number of reports listed. The output folder is locked while the index is
// written, so that runs into one folder ending together write it in turn.
func (o *outDir) writeIndex() (int, error) {
	unlock, err := lockDir(o.path)
	if err != nil {
		return 0, fmt.Errorf("locking %s: %w", o.path, err)
	}
	defer unlock()
	dirs, err := os.ReadDir(o.path) // sorted by name
	if err != nil {
		return 0, err
	}
	byTheme := map[string][]indexEntry{}
	runs := map[string]map[string][]indexEntry{} // theme, sweep → runs
	n := 0
	for _, d := range dirs {
		if !d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		folder := filepath.Join(o.path, d.Name())
		data, err := os.ReadFile(filepath.Join(folder, "results.json"))
		if err != nil {
			continue // not a report folder
		}
		var e indexEntry
		if err := json.Unmarshal(data, &e); err != nil {
			e = indexEntry{Title: d.Name(), Summary: "(results.json is unreadable: " + err.Error() + ")", Status: "?"}
		}
		e.Name = d.Name()
		if e.Sweep != nil {
			if runs[e.Theme] == nil {
				runs[e.Theme] = map[string][]indexEntry{}
			}
			runs[e.Theme][e.Sweep.Name] = append(runs[e.Theme][e.Sweep.Name], e)
			n++
			continue
		}
		if md, err := os.ReadFile(filepath.Join(folder, "report.md")); err == nil {
			if e.body, err = renderHTML(md, url.PathEscape(e.Name)+"/", folder, 2); err != nil {
				return 0, fmt.Errorf("rendering %s/report.md: %w", e.Name, err)
			}
		}
		byTheme[e.Theme] = append(byTheme[e.Theme], e)
		n++
	}
	group := func(t string) themeGroup {
		g := themeGroup{theme: t, entries: byTheme[t]}
		for _, name := range slices.Sorted(maps.Keys(runs[t])) {
			rs := runs[t][name]
			slices.SortStableFunc(rs, func(a, b indexEntry) int { return a.Sweep.Run - b.Sweep.Run })
			summary := slices.ContainsFunc(byTheme[t], func(e indexEntry) bool { return e.Name == name })
			g.sweeps = append(g.sweeps, sweepGroup{name: name, runs: rs, summary: summary})
		}
		return g
	}
	var groups []themeGroup
	for _, t := range Themes {
		if len(byTheme[t])+len(runs[t]) > 0 {
			groups = append(groups, group(t))
		}
		delete(byTheme, t)
		delete(runs, t)
	}
	var rest []string
	for t := range byTheme {
		rest = append(rest, t)
	}
	for t := range runs {
		if _, ok := byTheme[t]; !ok {
			rest = append(rest, t)
		}
	}
	slices.Sort(rest) // themes this binary does not know, "" (reports from before themes) last
	if len(rest) > 0 && rest[0] == "" {
		rest = append(rest[1:], "")
	}
	for _, t := range rest {
		groups = append(groups, group(t))
	}

	if err := o.writeFileAtomic("index.md", indexMarkdown(groups, n)); err != nil {
		return 0, err
	}
	if err := o.writeFileAtomic("index.html", indexHTML(groups, n)); err != nil {
		return 0, err
	}
	return n, nil
}

// themeTitle is a theme's heading.
func themeTitle(t string) string {
	if t == "" {
		return "Other"
	}
	return "Theme " + t
}

// countStatus says how many entries have each status, as "2 PASS, 1 FAIL".
func countStatus(groups []themeGroup) string {
	n := map[string]int{}
	var order []string
	for _, g := range groups {
		for _, e := range g.all() {
			if n[e.Status] == 0 {
				order = append(order, e.Status)
			}
			n[e.Status]++
		}
	}
	rank := func(s string) int {
		if i := slices.Index([]string{statusPass, statusFail, statusNoChecks}, s); i >= 0 {
			return i
		}
		return 3
	}
	slices.SortStableFunc(order, func(a, b string) int { return rank(a) - rank(b) })
	var parts []string
	for _, s := range order {
		parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
	}
	return strings.Join(parts, ", ")
}

// all returns the group's entries, then the runs of its sweeps.
func (g themeGroup) all() []indexEntry {
	out := slices.Clone(g.entries)
	for _, s := range g.sweeps {
		out = append(out, s.runs...)
	}
	return out
}

// sweepLine says what the folder holds of a sweep, in Markdown: its
// summary, and how many of its runs.
func (s sweepGroup) sweepLine(link string) string {
	total := s.runs[0].Sweep.runCount()
	what := fmt.Sprintf("%d of its %s are here", len(s.runs), Count(total, "run", "runs"))
	if len(s.runs) == total {
		what = "all " + Count(total, "run", "runs") + " are here"
		if total == 1 {
			what = "its run is here"
		}
	}
	if !s.summary {
		return fmt.Sprintf("No summary yet (`-merge` writes it once the runs are in one folder); %s.", what)
	}
	return fmt.Sprintf("Summary: %s; %s.", link, what)
}

func indexMarkdown(groups []themeGroup, n int) []byte {
	var b bytes.Buffer
	b.WriteString("# adjointkit experiments\n\n")
	if n == 0 {
		b.WriteString("No reports yet.\n")
		return b.Bytes()
	}
	fmt.Fprintf(&b, "%s: %s. Each folder has `report.md` (and `report.html`), its figures and `results.json`.\n\n",
		Count(n, "report", "reports"), countStatus(groups))
	for _, g := range groups {
		fmt.Fprintf(&b, "## %s\n\n", themeTitle(g.theme))
		rows := make([][]string, len(g.entries))
		for i, e := range g.entries {
			rows[i] = []string{
				fmt.Sprintf("[%s](%s/report.md)", e.Name, url.PathEscape(e.Name)),
				e.Status, "`" + e.Experiment + "`", e.describe(),
			}
		}
		if len(rows) > 0 {
			mdTable(&b, []string{"report", "status", "experiment", "summary"}, rows)
		}
		for _, s := range g.sweeps {
			fmt.Fprintf(&b, "### Sweep %s\n\n", s.name)
			fmt.Fprintf(&b, "%s\n\n", s.sweepLine(fmt.Sprintf("[%s](%s/report.md)", s.name, url.PathEscape(s.name))))
			rows := make([][]string, len(s.runs))
			for i, e := range s.runs {
				rows[i] = []string{fmt.Sprintf("[%s](%s/report.md)", e.Name, url.PathEscape(e.Name)), e.Status}
			}
			mdTableCollapsed(&b, Count(len(rows), "run", "runs"), []string{"run", "status"}, rows, CollapseRows)
		}
	}
	return b.Bytes()
}

func indexHTML(groups []themeGroup, n int) []byte {
	var b bytes.Buffer
	esc := html.EscapeString
	b.WriteString("<h1 id=\"top\">adjointkit experiments</h1>\n")
	if n == 0 {
		b.WriteString("<p>No reports yet.</p>\n")
		return page("adjointkit experiments", b.Bytes())
	}
	fmt.Fprintf(&b, "<p>%s: %s. Each report below is also on a page of its own (report.html in its folder).</p>\n",
		esc(Count(n, "report", "reports")), esc(countStatus(groups)))
	b.WriteString("<h2>Contents</h2>\n")
	for _, g := range groups {
		fmt.Fprintf(&b, "<h3><a href=\"#%s\">%s</a></h3>\n", esc("theme-"+g.theme), esc(themeTitle(g.theme)))
		if len(g.entries) > 0 {
			b.WriteString("<table class=\"index\">\n<thead><tr><th>report</th><th>status</th><th>summary</th></tr></thead>\n<tbody>\n")
			for _, e := range g.entries {
				fmt.Fprintf(&b, "<tr><td><a href=\"#%s\">%s</a></td><td class=\"%s\">%s</td><td>%s</td></tr>\n",
					esc("exp-"+e.Name), esc(e.Name), statusClass(e.Status), esc(e.Status), esc(e.describe()))
			}
			b.WriteString("</tbody>\n</table>\n")
		}
		for _, s := range g.sweeps {
			fmt.Fprintf(&b, "<h4>Sweep %s</h4>\n", esc(s.name))
			md := s.sweepLine(fmt.Sprintf("[%s](#%s)", s.name, "exp-"+s.name))
			line, _ := renderHTML([]byte(md), "", "", 0)
			b.Write(line)
			if len(s.runs) > CollapseRows {
				fmt.Fprintf(&b, "<details><summary>%s</summary>\n", esc(Count(len(s.runs), "run", "runs")))
			}
			b.WriteString("<table class=\"index\">\n<thead><tr><th>run</th><th>status</th></tr></thead>\n<tbody>\n")
			for _, e := range s.runs {
				fmt.Fprintf(&b, "<tr><td><a href=\"%s/report.html\">%s</a></td><td class=\"%s\">%s</td></tr>\n",
					esc(url.PathEscape(e.Name)), esc(e.Name), statusClass(e.Status), esc(e.Status))
			}
			b.WriteString("</tbody>\n</table>\n")
			if len(s.runs) > CollapseRows {
				b.WriteString("</details>\n")
			}
		}
	}
	for _, g := range groups {
		fmt.Fprintf(&b, "<section class=\"theme\" id=\"%s\">\n<h2>%s</h2>\n", esc("theme-"+g.theme), esc(themeTitle(g.theme)))
		for _, e := range g.entries {
			dir := esc(url.PathEscape(e.Name))
			fmt.Fprintf(&b, "<section class=\"report\" id=\"%s\">\n", esc("exp-"+e.Name))
			fmt.Fprintf(&b, "<p class=\"meta\"><span class=\"%s\">%s</span> · <code>%s</code> · <a href=\"%s/report.html\">own page</a> · <a href=\"%s/report.md\">report.md</a> · <a href=\"%s/results.json\">results.json</a> · <a href=\"#top\">contents</a></p>\n",
				statusClass(e.Status), esc(e.Status), esc(e.Name), dir, dir, dir)
			if len(e.body) > 0 {
				b.Write(e.body)
			} else {
				fmt.Fprintf(&b, "<p>No report.md in %s/.</p>\n", dir)
			}
			b.WriteString("</section>\n")
		}
		b.WriteString("</section>\n")
	}
	return page("adjointkit experiments", b.Bytes())
}
