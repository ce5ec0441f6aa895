package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"

	"github.com/adjointkit/adjointkit/plots"
)

// The summary of a sweep is a report folder of its own, OUT/NAME (NAME
// being the sweep's config's output name), written once the sweep's runs
// are in OUT: by the run that made them all, or by -merge. It is made from
// the runs' results.json alone, so the summary of a sweep run in shards
// and merged is the summary of the same sweep run at once, byte for byte.

// summaryFigure is the file name of a summary's figure.
const summaryFigure = "headline.png"

// runRecord is a report folder's results.json as the summary and -merge
// read it.
type runRecord struct {
	name string  // the folder's name
	raw  []byte  // the file, byte for byte
	res  results // the file, decoded
}

// readRun reads the results.json of the report folder dir. A folder
// without one is not a report folder (fs.ErrNotExist).
func readRun(dir string) (*runRecord, error) {
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		return nil, err
	}
	r := &runRecord{name: filepath.Base(dir), raw: data}
	if err := json.Unmarshal(data, &r.res); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "results.json"), err)
	}
	return r, nil
}

// seed is the run's seed (0 if it has none, as a summary).
func (r *runRecord) seed() int64 {
	if r.res.Seed == nil {
		return 0
	}
	return *r.res.Seed
}

// metric returns the value of the metric name, and whether the run has it.
func (r *runRecord) metric(name string) (float64, bool) {
	for _, m := range r.res.Metrics {
		if m.Name == name {
			return float64(m.Value), true
		}
	}
	return 0, false
}

// sweepRuns is what OUT holds of one sweep: the runs that belong to it, in
// run order, and the names of the others.
type sweepRuns struct {
	def     *sweepRef // the sweep (its Point and Run unused)
	quick   bool
	present []*runRecord
	missing []string // runs without a folder
	foreign []string // folders of the sweep's runs that hold another sweep's run or another -quick
}

// collectSweep reads the runs of the sweep def (run with -quick if quick)
// from the folder out.
func collectSweep(out string, def *sweepRef, quick bool) (*sweepRuns, error) {
	s := &sweepRuns{def: def, quick: quick}
	for i, name := range def.runNames() {
		r, err := readRun(filepath.Join(out, name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			s.missing = append(s.missing, name)
		case err != nil:
			return nil, err
		case r.res.Sweep == nil || !r.res.Sweep.sameSweep(def) || r.res.Sweep.Run != i || r.res.Quick != quick:
			s.foreign = append(s.foreign, name)
		default:
			s.present = append(s.present, r)
		}
	}
	return s, nil
}

// pointStats are the runs of one grid point of a sweep.
type pointStats struct {
	point  []string     // the value of each key, as in runName
	runs   []*runRecord // present, in seed order
	values []float64    // their headline values; NaN where missing
	mean   float64      // of values; NaN without runs
	std    float64      // sample standard deviation (n − 1); NaN with fewer than two runs
}

// sweepSummary is the "sweep_summary" object of a summary's results.json.
type sweepSummary struct {
	Headline string         `json:"headline"`
	Keys     []sweepAxis    `json:"keys"`
	Seeds    []int64        `json:"seeds,omitempty"`
	Runs     int            `json:"runs"`    // runs of the sweep
	Present  int            `json:"present"` // runs summarised
	Points   []summaryPoint `json:"points"`
}

// summaryPoint is one grid point in a summary's results.json.
type summaryPoint struct {
	Point  []string    `json:"point"`
	Runs   []string    `json:"runs"`   // the runs summarised
	Values []jsonFloat `json:"values"` // their headline values
	Mean   *jsonFloat  `json:"mean"`   // null without runs
	Std    *jsonFloat  `json:"std"`    // sample standard deviation; null with fewer than two runs
}

// writeSummary writes the summary of the sweep s into out/NAME and returns
// its status. The sweep must have at least one run present.
func (o *outDir) writeSummary(s *sweepRuns) (status string, err error) {
	first := s.present[0].res
	exp := registry[first.Experiment]
	if exp == nil || exp.headline == "" {
		return "", fmt.Errorf("sweep %s: experiment %q is not registered with a headline metric in this program", s.def.Name, first.Experiment)
	}
	headline := exp.headline
	def := s.def

	// The grid points, each with its runs.
	var points []*pointStats
	byPoint := map[string]*pointStats{}
	forGrid(def.Keys, func(idx []int) {
		p := &pointStats{point: make([]string, len(idx))}
		for i, k := range idx {
			p.point[i] = def.Keys[i].Values[k]
		}
		points = append(points, p)
		byPoint[strings.Join(p.point, ",")] = p
	})
	var noHeadline []string
	for _, r := range s.present {
		p := byPoint[strings.Join(r.res.Sweep.Point, ",")]
		v, ok := r.metric(headline)
		if !ok {
			v = math.NaN()
			noHeadline = append(noHeadline, r.name)
		}
		p.runs = append(p.runs, r)
		p.values = append(p.values, v)
	}
	for _, p := range points {
		p.mean, p.std = math.NaN(), math.NaN()
		if len(p.values) > 0 {
			p.mean, p.std = stat.MeanStdDev(p.values, nil) // std is NaN for one value
		}
	}

	// The runs' title, if they share one other than the experiment's
	// summary (a config's title, not one that states each run's sizes).
	title := fmt.Sprintf("Sweep of %s over %s", first.Experiment, shapeOf(def))
	if !slices.ContainsFunc(s.present, func(r *runRecord) bool { return r.res.Title != first.Title }) && first.Title != first.Summary {
		title = fmt.Sprintf("%s: sweep of %s", first.Title, shapeOf(def))
	}
	h := header{
		name: def.Name, experiment: first.Experiment, theme: first.Theme, summary: first.Summary,
		title: title, config: first.Config, quick: s.quick, seeds: seedsText(def),
	}
	for _, k := range slices.Sorted(maps.Keys(first.Params)) {
		if slices.ContainsFunc(def.Keys, func(a sweepAxis) bool { return a.Key == k }) {
			continue
		}
		b, err := json.Marshal(first.Params[k]) // as results.json has it, on one line
		if err != nil {
			return "", err
		}
		h.params = append(h.params, param{key: k, val: json.RawMessage(b)})
	}

	rep := &Report{}
	rep.Para(sweepIntro(def, headline, len(s.present)))
	rep.Heading(headline + " by point")
	what := "over its seeds"
	if len(def.Seeds) == 0 {
		what = "over its runs"
	}
	rep.Paraf("The mean and sample standard deviation (n − 1 in the denominator) of each point's **%s**, %s; "+
		"min and max are its lowest and highest run.", headline, what)
	cols := []string{"#"}
	for _, a := range def.Keys {
		cols = append(cols, codeSpan(a.Key))
	}
	tab := rep.Table(append(cols, "runs", "mean ± sd", "min", "max")...)
	for i, p := range points {
		row := []any{i + 1}
		for _, v := range p.point {
			row = append(row, displayValue(v))
		}
		row = append(row, len(p.runs), meanSD(p))
		if len(p.values) > 0 {
			row = append(row, floats.Min(p.values), floats.Max(p.values))
		} else {
			row = append(row, "—", "—")
		}
		tab.Row(row...)
	}
	tmp := o.tempName("tmp", def.Name)
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // gone once renamed
	caption, err := drawSummary(filepath.Join(tmp, summaryFigure), headline, def, points)
	if err != nil {
		return "", fmt.Errorf("sweep %s: figure: %w", def.Name, err)
	}
	rep.Figure(summaryFigure, caption)

	rep.Heading("Runs")
	cols = []string{"run"}
	for _, a := range def.Keys {
		cols = append(cols, codeSpan(a.Key))
	}
	if len(def.Seeds) > 0 {
		cols = append(cols, "seed")
	}
	runs := rep.Table(append(cols, "status", headline)...)
	for _, p := range points {
		for i, r := range p.runs {
			row := []any{fmt.Sprintf("[%s](../%s/report.html)", r.name, url.PathEscape(r.name))}
			for _, v := range p.point {
				row = append(row, displayValue(v))
			}
			if len(def.Seeds) > 0 {
				row = append(row, r.seed())
			}
			runs.Row(append(row, r.res.Status, p.values[i])...)
		}
	}
	if len(s.foreign) > 0 {
		rep.Paraf("Left out: %s, whose folders hold runs of another version of this sweep (another config file or -quick setting); run the sweep again to replace them.",
			listNames(s.foreign))
	}

	// Checks: the summary is only as good as its runs.
	n := def.runCount()
	absent := append(slices.Clone(s.missing), s.foreign...)
	detail := fmt.Sprintf("%d of %d runs", len(s.present), n)
	if len(absent) > 0 {
		detail += "; missing: " + listNames(absent)
	}
	rep.CheckTrue("every run of the sweep is present", len(absent) == 0, detail)
	counts := map[string]int{}
	var failed []string
	for _, r := range s.present {
		counts[r.res.Status]++
		if r.res.Status == statusFail {
			failed = append(failed, r.name)
		}
	}
	var parts []string
	for _, st := range []string{statusPass, statusFail, statusNoChecks} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
	}
	detail = strings.Join(parts, ", ")
	if len(failed) > 0 {
		detail += "; failed: " + listNames(failed)
	}
	rep.CheckTrue("no run failed a check", len(failed) == 0, detail)
	detail = fmt.Sprintf("in %d of %d runs present", len(s.present)-len(noHeadline), len(s.present))
	if len(noHeadline) > 0 {
		detail += "; not in " + listNames(noHeadline)
	}
	rep.CheckTrue("every run recorded the headline metric", len(noHeadline) == 0, detail)

	h.summaryJSON = &sweepSummary{Headline: headline, Keys: def.Keys, Seeds: def.Seeds, Runs: n, Present: len(s.present)}
	for _, p := range points {
		sp := summaryPoint{Point: p.point, Runs: []string{}, Values: []jsonFloat{}}
		for i, r := range p.runs {
			sp.Runs = append(sp.Runs, r.name)
			sp.Values = append(sp.Values, jsonFloat(p.values[i]))
		}
		if len(p.values) > 0 {
			m := jsonFloat(p.mean)
			sp.Mean = &m
		}
		if len(p.values) > 1 {
			sd := jsonFloat(p.std)
			sp.Std = &sd
		}
		h.summaryJSON.Points = append(h.summaryJSON.Points, sp)
	}
	if err := o.publish(tmp, h, rep, nil); err != nil {
		return "", err
	}
	return rep.status(), nil
}

// sweepIntro is the summary's first paragraph: what was swept.
func sweepIntro(def *sweepRef, headline string, present int) string {
	var parts []string
	for _, a := range def.Keys {
		vals := make([]string, len(a.Values))
		for i, v := range a.Values {
			vals[i] = "`" + displayValue(v) + "`"
		}
		parts = append(parts, fmt.Sprintf("`%s` over %s", a.Key, strings.Join(vals, ", ")))
	}
	if len(def.Seeds) > 0 {
		parts = append(parts, "the seeds over "+seedsText(def))
	}
	return fmt.Sprintf("This sweep varies %s: %s, each a report of its own (%d here, listed under Runs). "+
		"It summarises them by the experiment's headline metric, **%s**.",
		strings.Join(parts, "; "), Count(def.runCount(), "run", "runs"), present, headline)
}

// shapeOf describes the size of a sweep: "lr (3 values) × 3 seeds".
func shapeOf(def *sweepRef) string {
	var parts []string
	for _, a := range def.Keys {
		parts = append(parts, fmt.Sprintf("%s (%s)", a.Key, Count(len(a.Values), "value", "values")))
	}
	if len(def.Seeds) > 0 {
		parts = append(parts, Count(len(def.Seeds), "seed", "seeds"))
	}
	return strings.Join(parts, " × ")
}

// seedsText lists the seeds of a sweep, or "" if it does not sweep them.
func seedsText(def *sweepRef) string {
	s := make([]string, len(def.Seeds))
	for i, v := range def.Seeds {
		s[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(s, ", ")
}

// displayValue is a value of a folder name as a reader reads it: with %XX
// decoded.
func displayValue(v string) string {
	if d, err := url.PathUnescape(v); err == nil {
		return d
	}
	return v
}

// meanSD formats a point's mean ± standard deviation.
func meanSD(p *pointStats) string {
	switch len(p.values) {
	case 0:
		return "—"
	case 1:
		return Num(p.mean) + " (one run)"
	}
	return Num(p.mean) + " ± " + Num(p.std)
}

// listNames lists up to five names, then how many more there are.
func listNames(names []string) string {
	if len(names) <= 5 {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
}

// maxSummarySeries is the number of lines a summary figure draws before
// it numbers the points instead.
const maxSummarySeries = 10

// drawSummary draws the headline of every point with error bars of one
// standard deviation, and the single runs as dots, into path; it returns
// the caption. The X axis is the first swept key whose values are all
// numbers (log scaled if they are positive and span a factor of 10 or
// more), with a line for each combination of the other keys; if no key is
// numeric, or there would be more than maxSummarySeries lines, the points
// are numbered as in the table. A sweep of seeds alone shows each seed's
// run and the mean.
func drawSummary(path, headline string, def *sweepRef, points []*pointStats) (string, error) {
	fig := plots.Line{Y: plots.Axis{Label: plots.Escape(headline)}}
	spread := "one standard deviation over its runs"
	if len(def.Seeds) > 0 {
		spread = "one standard deviation over " + Count(len(def.Seeds), "seed", "seeds")
	}
	fig.Title = plots.Escape(fmt.Sprintf("%s: mean ± %s", headline, spread))
	var caption string
	if len(def.Keys) == 0 {
		p := points[0]
		dots := plots.Series{Name: "runs", NoLine: true}
		for _, r := range p.runs {
			dots.X = append(dots.X, float64(r.seed()))
		}
		dots.Y = p.values
		lo, hi := slices.Min(dots.X), slices.Max(dots.X)
		if lo == hi {
			lo, hi = lo-0.5, hi+0.5
		}
		mean := plots.Series{Name: "mean", X: []float64{lo, hi}, Y: []float64{p.mean, p.mean}, Reference: true, Dash: plots.Dashed}
		fig.X.Label = "seed"
		fig.Series = []plots.Series{dots, mean}
		fig.Title = plots.Escape(headline + " of each seed")
		caption = fmt.Sprintf("The headline metric, %s, of each run against its seed (markers); the dashed line is their mean.", headline)
		_, err := plots.Save(path, fig, nil)
		return caption, err
	}

	xKey := -1
	var xs []float64
	for i, a := range def.Keys {
		if v, ok := numericValues(a.Values); ok {
			xKey, xs = i, v
			break
		}
	}
	series := 1
	for i, a := range def.Keys {
		if i != xKey {
			series *= len(a.Values)
		}
	}
	anySD := slices.ContainsFunc(points, func(p *pointStats) bool { return len(p.values) > 1 })
	add := func(color int, name string, ps []*pointStats, x func(i int) float64) {
		line := plots.Series{Name: name, Color: color, Points: true}
		dots := plots.Series{Color: color, NoLine: true}
		for i, p := range ps {
			line.X = append(line.X, x(i))
			line.Y = append(line.Y, p.mean)
			line.YErr = append(line.YErr, p.std)
			for _, v := range p.values {
				dots.X, dots.Y = append(dots.X, x(i)), append(dots.Y, v)
			}
		}
		if !anySD {
			line.YErr = nil
		}
		fig.Series = append(fig.Series, line, dots)
	}
	bars := "with error bars of ± " + spread
	if !anySD {
		bars = "(one run per point: no error bars)"
	}
	if xKey < 0 || series > maxSummarySeries {
		fig.X.Label = "point (# in the table)"
		add(1, "", points, func(i int) float64 { return float64(i + 1) })
		caption = fmt.Sprintf("The mean %s of each point, numbered as in the table, %s; the unjoined markers are the single runs.", headline, bars)
		_, err := plots.Save(path, fig, nil)
		return caption, err
	}

	var means []float64
	for _, p := range points {
		if len(p.values) > 0 {
			means = append(means, p.mean)
		}
	}
	if lo, hi := slices.Min(means), slices.Max(means); lo > 0 && hi >= 100*lo {
		fig.Y.Log = true // means spanning two decades or more, all positive
	}
	fig.X.Label = plots.Escape(def.Keys[xKey].Key)
	if lo, hi := slices.Min(xs), slices.Max(xs); lo > 0 && hi >= 10*lo {
		fig.X.Log = true
	}
	// One line per combination of the other keys, in grid order.
	n := len(def.Keys[xKey].Values)
	lines := map[string][]*pointStats{}
	var order []string
	var names []string
	for _, p := range points {
		var label []string
		for i, v := range p.point {
			if i != xKey {
				label = append(label, def.Keys[i].Key+" = "+displayValue(v))
			}
		}
		k := strings.Join(label, ", ")
		if _, ok := lines[k]; !ok {
			order = append(order, k)
			names = append(names, k)
		}
		lines[k] = append(lines[k], p)
	}
	for li, k := range order {
		ps := lines[k]
		if len(ps) != n {
			return "", fmt.Errorf("line %q has %d points, want %d", k, len(ps), n) // cannot happen: a full grid
		}
		add(li+1, plots.Escape(names[li]), ps, func(i int) float64 {
			v, _ := strconv.ParseFloat(displayValue(ps[i].point[xKey]), 64)
			return v
		})
	}
	caption = fmt.Sprintf("The mean %s against `%s`, %s; the unjoined markers are the single runs.", headline, def.Keys[xKey].Key, bars)
	if len(order) > 1 {
		caption += " Each line holds the other keys fixed, as its legend says."
	}
	_, err := plots.Save(path, fig, nil)
	return caption, err
}

// numericValues parses the values of a key as numbers, if they all are.
func numericValues(values []string) ([]float64, bool) {
	out := make([]float64, len(values))
	for i, v := range values {
		f, err := strconv.ParseFloat(displayValue(v), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, false
		}
		out[i] = f
	}
	return out, true
}

// summarise writes the summary of the sweep def (run with -quick if
// quick) from the runs in o, and returns its status and the number of runs
// it summarises.
func (o *outDir) summarise(def *sweepRef, quick bool) (status string, n int, err error) {
	s, err := collectSweep(o.path, def, quick)
	if err != nil {
		return "", 0, err
	}
	if len(s.present) == 0 {
		return "", 0, fmt.Errorf("none of its %d runs is in %s", def.runCount(), o.path)
	}
	status, err = o.writeSummary(s)
	return status, len(s.present), err
}
