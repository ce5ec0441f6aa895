package plots

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// legendEntry is one line of a legend: a name and the thumbnails that
// show its style.
type legendEntry struct {
	name   string
	thumbs []plot.Thumbnailer
}

// legendOf returns a gonum legend in the theme holding entries.
func legendOf(entries []legendEntry) plot.Legend {
	l := newLegend()
	for _, e := range entries {
		l.Add(e.name, e.thumbs...)
	}
	return l
}

// ink is what a figure draws in its data area, in data coordinates: the
// legend is placed clear of it.
type ink struct {
	lines  []plotter.XYs // polylines
	points []plotter.XYs // glyphs of radius glyphRadius
	rects  []dataRect    // bars
	// shades are background (Line.Spans): the legend avoids them if it
	// can, and covers them if it must.
	shades []Extent
}

// dataRect is a rectangle in data coordinates.
type dataRect struct{ x0, x1, y0, y1 float64 }

// legendFigure draws a plot whose legend is placed when the size of the
// canvas is known.
type legendFigure struct {
	p       *plot.Plot
	entries []legendEntry
	pos     LegendPosition
	ink     ink
}

// draw draws the figure into c.
func (f legendFigure) draw(c draw.Canvas) {
	switch pos := f.place(c); pos {
	case NoLegend:
		drawPlot(c, f.p)
	case Outside:
		drawOutsideLegend(c, f.p, f.entries)
	default:
		drawPlot(c, f.p)
		drawInsideLegend(dataCanvas(c, f.p), legendOf(f.entries), pos)
	}
}

// Legend box styling.
var (
	legendInset   = vg.Points(4) // from the axes
	legendPadding = vg.Points(4) // inside the box
	legendClear   = vg.Points(2) // free space around the box
	legendFill    = color.White
	legendBorder  = draw.LineStyle{Color: color.Gray{Y: 0xcc}, Width: vg.Points(0.6)}
)

// corners lists the legend corners in the order Auto tries them.
var corners = [...]LegendPosition{TopRight, TopLeft, BottomRight, BottomLeft}

// place decides where the legend goes on canvas c: NoLegend if there is
// none, else the requested corner if the data leave it free, else the
// first free corner, else Outside.
func (f legendFigure) place(c draw.Canvas) LegendPosition {
	if f.pos == NoLegend || len(f.entries) == 0 {
		return NoLegend
	}
	if f.pos == Outside {
		return Outside
	}
	dc := dataCanvas(c, f.p)
	leg := legendOf(f.entries)
	try := func(pos LegendPosition, k ink) bool {
		box := legendBox(dc, leg, pos)
		if box.Min.X < dc.Min.X || box.Max.X > dc.Max.X || box.Min.Y < dc.Min.Y || box.Max.Y > dc.Max.Y {
			return false // does not fit inside
		}
		box.Min = box.Min.Sub(vg.Point{X: legendClear, Y: legendClear})
		box.Max = box.Max.Add(vg.Point{X: legendClear, Y: legendClear})
		return !k.hits(f.p, dc, box)
	}
	// First a corner clear of the shaded spans too, then any corner
	// clear of the data.
	for _, k := range []ink{f.ink, {lines: f.ink.lines, points: f.ink.points, rects: f.ink.rects}} {
		if f.pos != Auto && try(f.pos, k) {
			return f.pos
		}
		for _, pos := range corners {
			if try(pos, k) {
				return pos
			}
		}
	}
	return Outside
}

// legendBox returns the box the legend occupies in corner pos of the
// data area dc.
func legendBox(dc draw.Canvas, leg plot.Legend, pos LegendPosition) vg.Rectangle {
	size := leg.Rectangle(dc).Size()
	w := size.X + 2*legendPadding
	h := size.Y + 2*legendPadding + leg.TextStyle.FontExtents().Descent
	var box vg.Rectangle
	box.Min.X, box.Max.X = insetInterval(dc.Min.X, dc.Max.X, w, pos == TopLeft || pos == BottomLeft)
	box.Min.Y, box.Max.Y = insetInterval(dc.Min.Y, dc.Max.Y, h, pos == BottomLeft || pos == BottomRight)
	return box
}

// insetInterval returns the interval of length l legendInset inside
// [lo, hi], at its low end or at its high end.
func insetInterval(lo, hi, l vg.Length, low bool) (vg.Length, vg.Length) {
	if low {
		return lo + legendInset, lo + legendInset + l
	}
	return hi - legendInset - l, hi - legendInset
}

// drawInsideLegend draws leg on a white box in corner pos of the data
// area dc.
func drawInsideLegend(dc draw.Canvas, leg plot.Legend, pos LegendPosition) {
	box := legendBox(dc, leg, pos)
	dc.FillPolygon(legendFill, rectPoints(box))
	dc.StrokeLines(legendBorder, append(rectPoints(box), box.Min))
	area := dc
	area.Rectangle = vg.Rectangle{
		Min: vg.Point{X: box.Min.X + legendPadding, Y: box.Min.Y + legendPadding},
		Max: vg.Point{X: box.Max.X - legendPadding, Y: box.Max.Y - legendPadding},
	}
	leg.Top, leg.Left = true, true
	leg.Draw(area)
}

// rectPoints returns the corners of r, anticlockwise from r.Min.
func rectPoints(r vg.Rectangle) []vg.Point {
	return []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}}
}

// outsideGap separates an outside legend from the plot.
var outsideGap = vg.Points(10)

// maxRightLegend is the largest fraction of the figure's width an
// outside legend may take to the right of the plot; a wider one goes
// below it.
const maxRightLegend = 1.0 / 3

// drawOutsideLegend draws p with the legend of entries beside it: in a
// column to its right, or, if that column would be too wide, in columns
// below the figure.
func drawOutsideLegend(c draw.Canvas, p *plot.Plot, entries []legendEntry) {
	leg := legendOf(entries)
	w := leg.Rectangle(c).Size().X
	width := c.Max.X - c.Min.X
	if w <= width*maxRightLegend {
		area := draw.Crop(c, 0, -(w + outsideGap), 0, 0)
		drawPlot(area, p)
		dc := dataCanvas(area, p)
		la := c
		la.Min.X = area.Max.X + outsideGap
		la.Min.Y, la.Max.Y = dc.Min.Y, dc.Max.Y
		leg.Top, leg.Left = true, true
		leg.Draw(la)
		return
	}

	// Below: as many columns as fit, filled row by row so that the
	// entries read in order from left to right.
	colW := w + outsideGap
	cols := max(1, min(len(entries), int(width/colW)))
	columns := make([][]legendEntry, cols)
	for i, e := range entries {
		columns[i%cols] = append(columns[i%cols], e)
	}
	first := legendOf(columns[0])
	h := first.Rectangle(c).Size().Y
	h += leg.TextStyle.FontExtents().Descent
	area := draw.Crop(c, 0, 0, h+outsideGap, 0)
	drawPlot(area, p)
	// Centre the columns under the data area.
	dc := dataCanvas(area, p)
	total := vg.Length(cols)*colW - outsideGap
	x0 := max(c.Min.X, (dc.Min.X+dc.Max.X)/2-total/2)
	for i, col := range columns {
		l := legendOf(col)
		la := c
		la.Min.X = x0 + vg.Length(i)*colW
		la.Max.X = la.Min.X + w
		la.Max.Y = c.Min.Y + h
		l.Top, l.Left = true, true
		l.Draw(la)
	}
}

// hits reports whether any of the ink, drawn by p into the data area dc,
// touches the rectangle r.
func (k ink) hits(p *plot.Plot, dc draw.Canvas, r vg.Rectangle) bool {
	trX, trY := p.Transforms(&dc)
	at := func(xy plotter.XY) vg.Point { return vg.Point{X: trX(xy.X), Y: trY(xy.Y)} }
	for _, line := range k.lines {
		for i := range line {
			a := at(line[i])
			if i == 0 {
				if len(line) == 1 && pointHits(r, a, lineWidth) {
					return true
				}
				continue
			}
			if segmentHits(r, at(line[i-1]), a) {
				return true
			}
		}
	}
	for _, pts := range k.points {
		for _, xy := range pts {
			if pointHits(r, at(xy), glyphRadius) {
				return true
			}
		}
	}
	for _, e := range k.shades {
		x0, x1 := trX(e.Min), trX(e.Max)
		if bad(x0, x1) || x1 >= r.Min.X && x0 <= r.Max.X {
			return true
		}
	}
	for _, b := range k.rects {
		x0, x1 := trX(b.x0), trX(b.x1)
		y0, y1 := trY(b.y0), trY(b.y1)
		if bad(x0, x1, y0, y1) {
			return true
		}
		if math.Max(float64(x0), float64(x1)) >= float64(r.Min.X) && math.Min(float64(x0), float64(x1)) <= float64(r.Max.X) &&
			math.Max(float64(y0), float64(y1)) >= float64(r.Min.Y) && math.Min(float64(y0), float64(y1)) <= float64(r.Max.Y) {
			return true
		}
	}
	return false
}

// bad reports whether any length is NaN or infinite; such ink is taken
// to hit everything.
func bad(ls ...vg.Length) bool {
	for _, l := range ls {
		if math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) {
			return true
		}
	}
	return false
}

// pointHits reports whether a disc of radius rad at a touches r.
func pointHits(r vg.Rectangle, a vg.Point, rad vg.Length) bool {
	if bad(a.X, a.Y) {
		return true
	}
	return a.X+rad >= r.Min.X && a.X-rad <= r.Max.X && a.Y+rad >= r.Min.Y && a.Y-rad <= r.Max.Y
}

// segmentHits reports whether the segment from a to b touches r
// (Liang–Barsky clipping).
func segmentHits(r vg.Rectangle, a, b vg.Point) bool {
	if bad(a.X, a.Y, b.X, b.Y) {
		return true
	}
	t0, t1 := 0.0, 1.0
	dx, dy := float64(b.X-a.X), float64(b.Y-a.Y)
	for _, e := range [4][2]float64{
		{-dx, float64(a.X - r.Min.X)},
		{dx, float64(r.Max.X - a.X)},
		{-dy, float64(a.Y - r.Min.Y)},
		{dy, float64(r.Max.Y - a.Y)},
	} {
		p, q := e[0], e[1]
		if p == 0 {
			if q < 0 {
				return false // parallel to this edge and outside it
			}
			continue
		}
		t := q / p
		if p < 0 {
			if t > t1 {
				return false
			}
			t0 = math.Max(t0, t)
		} else {
			if t < t0 {
				return false
			}
			t1 = math.Min(t1, t)
		}
	}
	return t0 <= t1
}
