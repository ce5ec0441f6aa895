package plots

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one named sequence of (x, y) points: a line of a Line figure
// or a point group of a Scatter figure.
type Series struct {
	// Name labels the series in the legend and in notes. Unnamed series
	// get no legend entry and are called "series 1", "series 2", … in
	// notes ("group 1", … in a Scatter).
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
}

// Line is a figure of one or more series drawn as lines, each in its own
// colour and dash pattern, for example loss curves or gradient norms per
// layer over time steps. Points that cannot be drawn (NaN, infinite, or
// non-positive on a log axis) are dropped and the line is broken there;
// each drop is reported in a note.
type Line struct {
	// Title is printed above the figure; empty means none.
	Title string

	// X and Y configure the axes.
	X, Y Axis

	// Series are drawn in order; series i gets plotutil.Color(i),
	// plotutil.Dashes(i) and, if it has Points, plotutil.Shape(i).
	Series []Series

	// Legend places the legend of the named series.
	Legend LegendPosition
}

// Scatter is a figure of one or more groups of unconnected points, each
// group in its own colour and glyph shape. Points that cannot be drawn
// (NaN, infinite, or non-positive on a log axis) are dropped, each drop
// reported in a note.
type Scatter struct {
	// Title is printed above the figure; empty means none.
	Title string

	// X and Y configure the axes.
	X, Y Axis

	// Groups are drawn in order; group i gets plotutil.Color(i) and
	// plotutil.Shape(i). Their Points fields are ignored.
	Groups []Series

	// Legend places the legend of the named groups.
	Legend LegendPosition
}

func (f Line) layout(Format) (drawFunc, []string) {
	return xyLayout(f.Title, f.X, f.Y, f.Legend, f.Series, true)
}

func (f Scatter) layout(Format) (drawFunc, []string) {
	return xyLayout(f.Title, f.X, f.Y, f.Legend, f.Groups, false)
}

// Styles shared by the figures.
var (
	lineWidth   = vg.Points(1.25)
	glyphRadius = vg.Points(2.5)
	legendFont  = vg.Points(10)
)

// xyLayout builds a Line (lines true) or Scatter figure.
func xyLayout(title string, xa, ya Axis, pos LegendPosition, series []Series, lines bool) (drawFunc, []string) {
	kind := "series"
	if !lines {
		kind = "group"
	}
	p := newPlot(title)
	setupAxis(&p.X, xa)
	setupAxis(&p.Y, ya)

	leg := newLegend()
	var notes []string
	for i, s := range series {
		what := seriesName(kind, s.Name, i)
		if s.X != nil && len(s.X) != len(s.Y) {
			panic(fmt.Sprintf("plots: %s has len(X) = %d but len(Y) = %d", what, len(s.X), len(s.Y)))
		}
		runs, all, note := s.clean(xa.Log, ya.Log, what)
		if note != "" {
			notes = append(notes, note)
		}

		col := plotutil.Color(i)
		glyph := draw.GlyphStyle{Color: col, Radius: glyphRadius, Shape: plotutil.Shape(i)}
		var thumbs []plot.Thumbnailer
		if lines && !s.NoLine {
			sty := draw.LineStyle{Color: col, Width: lineWidth, Dashes: plotutil.Dashes(i)}
			for _, r := range runs {
				p.Add(&plotter.Line{XYs: r, LineStyle: sty})
				if len(r) == 1 && !s.Points {
					// A lone point between dropped ones has no line
					// segment; mark it so that it is not lost.
					dot := draw.GlyphStyle{Color: col, Radius: lineWidth, Shape: draw.CircleGlyph{}}
					p.Add(&plotter.Scatter{XYs: r, GlyphStyle: dot})
				}
			}
			thumbs = append(thumbs, &plotter.Line{LineStyle: sty})
		}
		if !lines || s.Points || s.NoLine {
			sc := &plotter.Scatter{XYs: all, GlyphStyle: glyph}
			p.Add(sc)
			thumbs = append(thumbs, sc)
		}
		if s.Name != "" {
			leg.Add(s.Name, thumbs...)
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
	return withLegend(p, leg, pos), notes
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

// newPlot returns a plot with the package's default styling.
func newPlot(title string) *plot.Plot {
	p := plot.New()
	p.X.Tick.Marker = linearTicks{}
	p.Y.Tick.Marker = linearTicks{}
	p.Title.Text = title
	p.Title.Padding = vg.Points(6)
	return p
}

// newLegend returns an empty legend with the package's default styling.
func newLegend() plot.Legend {
	l := plot.NewLegend()
	l.TextStyle.Font.Size = legendFont
	return l
}

// withLegend returns the function drawing p with leg at pos.
func withLegend(p *plot.Plot, leg plot.Legend, pos LegendPosition) drawFunc {
	switch pos {
	case NoLegend:
		return p.Draw
	case Outside:
		return func(c draw.Canvas) { drawOutsideLegend(c, p, leg) }
	}
	return func(c draw.Canvas) {
		p.Draw(c)
		drawInsideLegend(p.DataCanvas(c), leg, pos)
	}
}

// Legend box styling.
var (
	legendInset   = vg.Points(5)
	legendPadding = vg.Points(3)
	legendFill    = color.NRGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xd8}
	legendBorder  = draw.LineStyle{Color: color.Gray{Y: 0xb0}, Width: vg.Points(0.5)}
)

// drawInsideLegend draws leg on a translucent box in a corner of the data
// area dc.
func drawInsideLegend(dc draw.Canvas, leg plot.Legend, pos LegendPosition) {
	size := leg.Rectangle(dc).Size()
	if size.X == 0 {
		return
	}
	descent := leg.TextStyle.FontExtents().Descent
	w := size.X + 2*legendPadding
	h := size.Y + 2*legendPadding + descent
	var box vg.Rectangle
	switch pos {
	case TopLeft, BottomLeft:
		box.Min.X = dc.Min.X + legendInset
		box.Max.X = box.Min.X + w
		leg.Left = true
	default:
		box.Max.X = dc.Max.X - legendInset
		box.Min.X = box.Max.X - w
	}
	switch pos {
	case BottomLeft, BottomRight:
		box.Min.Y = dc.Min.Y + legendInset
		box.Max.Y = box.Min.Y + h
	default:
		box.Max.Y = dc.Max.Y - legendInset
		box.Min.Y = box.Max.Y - h
	}
	dc.FillPolygon(legendFill, rectPoints(box))
	dc.StrokeLines(legendBorder, append(rectPoints(box), box.Min))

	area := dc
	area.Rectangle = vg.Rectangle{
		Min: vg.Point{X: box.Min.X + legendPadding, Y: box.Min.Y + legendPadding},
		Max: vg.Point{X: box.Max.X - legendPadding, Y: box.Max.Y - legendPadding},
	}
	leg.Top = true
	leg.Draw(area)
}

// rectPoints returns the corners of r, anticlockwise from r.Min.
func rectPoints(r vg.Rectangle) []vg.Point {
	return []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}}
}

// drawOutsideLegend draws p with leg in a column to its right.
func drawOutsideLegend(c draw.Canvas, p *plot.Plot, leg plot.Legend) {
	w := leg.Rectangle(c).Size().X
	if w == 0 {
		p.Draw(c)
		return
	}
	gap := vg.Points(8)
	area := draw.Crop(c, 0, -(w + 2*gap), 0, 0)
	p.Draw(area)
	dc := p.DataCanvas(area)
	la := c
	la.Min.X = area.Max.X + gap
	la.Max.X = c.Max.X - gap
	la.Min.Y, la.Max.Y = dc.Min.Y, dc.Max.Y
	leg.Left, leg.Top = true, true
	leg.Draw(la)
}
