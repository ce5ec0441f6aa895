package plots

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one named sequence of (x, y) points: a line of a Line figure
// or a point group of a Scatter figure.
type Series struct {
	// Name labels the series in the legend and in notes; it is markup
	// (see the package documentation). Unnamed series get no legend
	// entry and are called "series 1", "series 2", … in notes ("group
	// 1", … in a Scatter).
	Name string

	// X and Y hold the coordinates. If X is nil, Y is plotted against
	// its indices 0, 1, …, len(Y)-1 (so on a log X axis the first point
	// is dropped, with a note). Otherwise X and Y must have the same
	// length, or Save and Write panic. An empty series draws nothing but
	// keeps its legend entry, and gets a note.
	X, Y []float64

	// Points marks each point of a Line series with a glyph. Scatter
	// figures always draw glyphs and ignore it.
	Points bool

	// NoLine draws a Line series as glyphs only, without connecting
	// lines (Points is then implied): observed data beside a fitted curve,
	// or class samples beside a decision boundary, in one figure. Scatter
	// figures ignore it.
	NoLine bool

	// Reference draws the series as a guide rather than as data: a true
	// function, a line of slope 2, y = x, a unit circle. It is drawn in
	// near-black with a thinner line, solid unless Dash says otherwise
	// (glyphs as small dots), and takes no place in the colour cycle, so
	// the data series keep their colours.
	Reference bool

	// Color picks the series' colour by its 1-based place in the
	// theme's palette of ten (cycling), so that related series can share
	// one. Zero means automatic: the n-th series that is not a Reference
	// gets colour n. Reference series ignore it.
	Color int

	// Dash picks the line's dash pattern. The zero value, AutoDash,
	// gives the n-th series that is not a Reference the n-th pattern
	// (solid first), and Reference series a solid line.
	Dash Dash

	// YErr, if not nil, draws a vertical error bar from Y[i] − YErr[i] to
	// Y[i] + YErr[i] at each point, in the series' colour with short caps
	// (a mean ± one standard deviation, say). It must have the length of
	// Y, or Save and Write panic. A NaN entry draws no bar at its point;
	// negative and infinite entries are dropped, with a note. On a log Y
	// axis, a bar reaching zero or below is drawn from its point upwards
	// only, with a note.
	YErr []float64
}

// Dash is the dash pattern of a line.
type Dash int

// Dash patterns.
const (
	// AutoDash, the zero value, picks a pattern by the series' place
	// (see Series.Dash).
	AutoDash Dash = iota
	Solid
	Dashed
	Dotted
	DashDot
)

// dashPatterns holds the patterns, in points, that AutoDash cycles
// through; the first four are Solid, Dashed, Dotted and DashDot.
var dashPatterns = [...][]vg.Length{
	nil,
	{vg.Points(6), vg.Points(3)},
	{vg.Points(1.5), vg.Points(2.5)},
	{vg.Points(6), vg.Points(2.5), vg.Points(1.5), vg.Points(2.5)},
	{vg.Points(11), vg.Points(3)},
	{vg.Points(11), vg.Points(3), vg.Points(1.5), vg.Points(3), vg.Points(1.5), vg.Points(3)},
	{vg.Points(3), vg.Points(3)},
}

// Span shades an interval of a Line figure's X axis behind the data: an
// assimilation window, a warm-up phase, the range of training data.
type Span struct {
	// X is the interval. It must be finite with Min < Max, or Save and
	// Write panic.
	X Extent

	// Label names the span in the legend (markup); empty means no entry.
	Label string
}

// Line is a figure of one or more series drawn as lines, each in its own
// colour and dash pattern, for example loss curves or gradient norms per
// layer over time steps. Points that cannot be drawn (NaN, infinite, or
// non-positive on a log axis) are dropped and the line is broken there;
// each drop is reported in a note.
type Line struct {
	// Title is printed above the figure (markup); empty means none.
	Title string

	// X and Y configure the axes.
	X, Y Axis

	// Series are drawn in order, with colours, dashes and glyph shapes
	// as their fields say.
	Series []Series

	// Spans are shaded behind the series.
	Spans []Span

	// Legend places the legend of the named series and spans.
	Legend LegendPosition
}

// Scatter is a figure of one or more groups of unconnected points, each
// group in its own colour and glyph shape. Points that cannot be drawn
// (NaN, infinite, or non-positive on a log axis) are dropped, each drop
// reported in a note.
type Scatter struct {
	// Title is printed above the figure (markup); empty means none.
	Title string

	// X and Y configure the axes.
	X, Y Axis

	// Groups are drawn in order; group n that is not a Reference gets
	// the n-th colour and glyph shape unless its Color says otherwise.
	// Their Points, NoLine and Dash fields are ignored.
	Groups []Series

	// Legend places the legend of the named groups.
	Legend LegendPosition
}

func (f Line) layout(Format) (drawFunc, []string) {
	fig, notes := xyFigure(f.Title, f.X, f.Y, f.Legend, f.Series, f.Spans, true)
	return fig.draw, notes
}

func (f Scatter) layout(Format) (drawFunc, []string) {
	fig, notes := xyFigure(f.Title, f.X, f.Y, f.Legend, f.Groups, nil, false)
	return fig.draw, notes
}

// seriesStyle is how one series is drawn.
type seriesStyle struct {
	line  draw.LineStyle
	glyph draw.GlyphStyle
}

// style returns the style of s, whose automatic place (among series
// that are not references) is auto.
func (s Series) style(auto int) seriesStyle {
	if s.Reference {
		var dashes []vg.Length
		if s.Dash > AutoDash {
			dashes = dashPatterns[int(s.Dash-Solid)%len(dashPatterns)]
		}
		return seriesStyle{
			line:  draw.LineStyle{Color: referenceColor, Width: referenceWidth, Dashes: dashes},
			glyph: draw.GlyphStyle{Color: referenceColor, Radius: glyphRadius / 2, Shape: draw.CircleGlyph{}},
		}
	}
	col := seriesColor(auto)
	if s.Color > 0 {
		col = seriesColor(s.Color - 1)
	}
	dashes := dashPatterns[auto%len(dashPatterns)]
	if s.Dash > AutoDash {
		dashes = dashPatterns[int(s.Dash-Solid)%len(dashPatterns)]
	}
	return seriesStyle{
		line:  draw.LineStyle{Color: col, Width: lineWidth, Dashes: dashes},
		glyph: draw.GlyphStyle{Color: col, Radius: glyphRadius, Shape: glyphShape(auto)},
	}
}

// xyFigure builds a Line (lines true) or Scatter figure.
func xyFigure(title string, xa, ya Axis, pos LegendPosition, series []Series, spans []Span, lines bool) (legendFigure, []string) {
	kind := "series"
	if !lines {
		kind = "group"
	}
	p := newPlot(title)
	setupAxis(&p.X, xa)
	setupAxis(&p.Y, ya)
	p.Add(gridLines{})

	var (
		notes   []string
		entries []legendEntry
		k       ink
	)
	for i, sp := range spans {
		sp.X.check(fmt.Sprintf("span %d X", i+1))
		if xa.Log && !(sp.X.Min > 0) {
			notes = append(notes, fmt.Sprintf("log x: dropped %s, which reaches x <= 0", seriesName("span", sp.Label, i)))
			continue
		}
		sh := shade{sp.X}
		p.Add(sh)
		k.shades = append(k.shades, sp.X)
		if sp.Label != "" {
			entries = append(entries, legendEntry{sp.Label, []plot.Thumbnailer{sh}})
		}
	}

	auto := 0
	for i, s := range series {
		what := seriesName(kind, s.Name, i)
		if s.X != nil && len(s.X) != len(s.Y) {
			panic(fmt.Sprintf("plots: %s has len(X) = %d but len(Y) = %d", what, len(s.X), len(s.Y)))
		}
		runs, all, note := s.clean(xa.Log, ya.Log, what)
		if note != "" {
			notes = append(notes, note)
		}
		sty := s.style(auto)
		if !s.Reference {
			auto++
		}
		var thumbs []plot.Thumbnailer
		if lines && !s.NoLine {
			for _, r := range runs {
				p.Add(&plotter.Line{XYs: r, LineStyle: sty.line})
				if len(r) == 1 && !s.Points {
					// A lone point between dropped ones has no line
					// segment; mark it so that it is not lost.
					dot := draw.GlyphStyle{Color: sty.line.Color, Radius: sty.line.Width, Shape: draw.CircleGlyph{}}
					p.Add(&plotter.Scatter{XYs: r, GlyphStyle: dot})
				}
			}
			k.lines = append(k.lines, runs...)
			thumbs = append(thumbs, &plotter.Line{LineStyle: sty.line})
		}
		if !lines || s.Points || s.NoLine {
			sc := &plotter.Scatter{XYs: all, GlyphStyle: sty.glyph}
			p.Add(sc)
			k.points = append(k.points, all)
			thumbs = append(thumbs, sc)
		}
		if s.YErr != nil {
			if len(s.YErr) != len(s.Y) {
				panic(fmt.Sprintf("plots: %s has len(YErr) = %d but len(Y) = %d", what, len(s.YErr), len(s.Y)))
			}
			bars, note := s.errorBars(xa.Log, ya.Log, what)
			if note != "" {
				notes = append(notes, note)
			}
			if len(bars) > 0 {
				eb := &plotter.YErrorBars{XYs: make(plotter.XYs, len(bars)), YErrors: make(plotter.YErrors, len(bars)),
					LineStyle: draw.LineStyle{Color: sty.line.Color, Width: errorBarWidth}, CapWidth: errorCapWidth}
				for i, b := range bars {
					eb.XYs[i] = plotter.XY{X: b.x, Y: b.y}
					eb.YErrors[i].Low, eb.YErrors[i].High = b.y-b.lo, b.hi-b.y
					k.lines = append(k.lines, plotter.XYs{{X: b.x, Y: b.lo}, {X: b.x, Y: b.hi}})
				}
				p.Add(eb)
			}
		}
		if s.Name != "" {
			entries = append(entries, legendEntry{s.Name, thumbs})
		}
	}
	if xa.Log {
		fixLogRange(&p.X)
	} else if note := fixLinearRange(&p.X, "x"); note != "" {
		notes = append(notes, note)
	}
	if ya.Log {
		fixLogRange(&p.Y)
	} else if note := fixLinearRange(&p.Y, "y"); note != "" {
		notes = append(notes, note)
	}
	scaleLinearAxis(&p.X)
	scaleLinearAxis(&p.Y)
	return legendFigure{p: p, entries: entries, pos: pos, ink: k}, notes
}

// clean returns the drawable points of s, split into runs at dropped
// points, all of them in one slice, and a note on any drops.
func (s Series) clean(xlog, ylog bool, what string) (runs []plotter.XYs, all plotter.XYs, note string) {
	n := len(s.Y)
	if n == 0 {
		return nil, nil, what + " has no points"
	}
	var d dropCounter
	all = make(plotter.XYs, 0, n)
	start := 0 // start in all of the current run
	for i, y := range s.Y {
		x := float64(i)
		if s.X != nil {
			x = s.X[i]
		}
		badX := d.bad(x, xlog, axisX)
		badY := d.bad(y, ylog, axisY)
		if badX || badY {
			d.dropped++
			if len(all) > start {
				runs = append(runs, all[start:len(all):len(all)])
			}
			start = len(all)
			continue
		}
		all = append(all, plotter.XY{X: x, Y: y})
	}
	if len(all) > start {
		runs = append(runs, all[start:])
	}
	return runs, all, d.note(xlog, ylog, "point", what, n)
}

// errorBar is one error bar of a series: from lo to hi at x, around y.
type errorBar struct{ x, y, lo, hi float64 }

// errorBars returns the error bars of s that can be drawn, at the points
// clean keeps, and a note on those dropped or cut.
func (s Series) errorBars(xlog, ylog bool, what string) ([]errorBar, string) {
	var bars []errorBar
	dropped, cut := 0, 0
	for i, y := range s.Y {
		x := float64(i)
		if s.X != nil {
			x = s.X[i]
		}
		var d dropCounter
		e := s.YErr[i]
		switch {
		case d.bad(x, xlog, axisX) || d.bad(y, ylog, axisY) || math.IsNaN(e):
			continue // the point is dropped (and noted), or has no bar
		case e < 0 || math.IsInf(e, 0):
			dropped++
			continue
		}
		b := errorBar{x: x, y: y, lo: y - e, hi: y + e}
		if math.IsInf(b.lo, 0) || math.IsInf(b.hi, 0) {
			dropped++
			continue
		}
		if ylog && !(b.lo > 0) {
			b.lo = y
			cut++
		}
		bars = append(bars, b)
	}
	var notes []string
	if dropped > 0 {
		notes = append(notes, fmt.Sprintf("y: dropped %s from %s", countOf(dropped, "negative or infinite error bar", "negative or infinite error bars"), what))
	}
	if cut > 0 {
		verb := "reach"
		if cut == 1 {
			verb = "reaches"
		}
		notes = append(notes, fmt.Sprintf("log y: %s of %s %s zero or below: drawn upwards only", countOf(cut, "error bar", "error bars"), what, verb))
	}
	return bars, strings.Join(notes, "; ")
}

// shade draws a Span: a translucent band across the data area.
type shade struct{ x Extent }

// Plot implements plot.Plotter.
func (s shade) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x0 := clamp(trX(s.x.Min), c.Min.X, c.Max.X)
	x1 := clamp(trX(s.x.Max), c.Min.X, c.Max.X)
	if !(x1 > x0) {
		return
	}
	c.FillPolygon(spanColor, rectPoints(vg.Rectangle{Min: vg.Point{X: x0, Y: c.Min.Y}, Max: vg.Point{X: x1, Y: c.Max.Y}}))
}

// DataRange implements plot.DataRanger: the span widens the X range to
// include it and leaves the Y range alone.
func (s shade) DataRange() (xmin, xmax, ymin, ymax float64) {
	return s.x.Min, s.x.Max, math.Inf(1), math.Inf(-1)
}

// Thumbnail implements plot.Thumbnailer.
func (s shade) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(spanColor, rectPoints(c.Rectangle))
}
