package plots

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The theme: the one set of fonts, sizes and colours every figure uses.
// The package documentation explains the choices; the values live here
// and nowhere else.

// cssPixel is one CSS pixel, 1/96 inch: the unit in which figures are
// sized for a web page (Options.WidthPx).
const cssPixel = vg.Inch / 96

// Font sizes, in points (1 pt = 4/3 CSS px at 100% zoom): a report's
// body text is 16 px; figure text a little smaller, as in print.
const (
	titleSize   = 12   // 16 px
	labelSize   = 11.5 // 15.3 px: axis labels and the colour bar's label
	tickSize    = 10.5 // 14 px: tick labels
	legendSize  = 10.5 // 14 px
	captionSize = 9    // 12 px: the notes at the bottom of a figure
)

// themeFont is Liberation Sans, which gonum/plot registers in its font
// cache (font.DefaultCache) and which is metric-compatible with Arial, the
// SVG's fallback.
var themeFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

// Colours.
var (
	textColor    = color.Gray{Y: 0x22}
	axisColor    = color.Gray{Y: 0x44}
	gridColor    = color.Gray{Y: 0xe4}
	captionColor = color.Gray{Y: 0x44}
	// referenceColor draws Reference series: guides, not data.
	referenceColor = color.Gray{Y: 0x30}
	// spanColor shades Line.Spans.
	spanColor = color.NRGBA{R: 0x80, G: 0x80, B: 0x80, A: 0x28}
)

// seriesPalette holds the colours of data series in order: the ten colours of
// Tableau's "category10" (matplotlib's default cycle), which stay distinct
// for the common forms of colour blindness when combined with the dash
// patterns of the series.
var seriesPalette = [...]color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, // orange
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, // green
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, // red
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, // purple
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}, // brown
	color.RGBA{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff}, // pink
	color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}, // grey
	color.RGBA{R: 0xbc, G: 0xbd, B: 0x22, A: 0xff}, // olive
	color.RGBA{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff}, // cyan
}

// seriesColor returns the colour of palette slot i (0-based, cycling).
func seriesColor(i int) color.Color { return seriesPalette[i%len(seriesPalette)] }

// Line and glyph sizes.
var (
	lineWidth      = vg.Points(1.5)
	referenceWidth = vg.Points(1.1)
	glyphRadius    = vg.Points(3)
	axisWidth      = vg.Points(0.75)
	gridWidth      = vg.Points(0.75)
	tickLength     = vg.Points(4)
	// Error bars (Series.YErr): thinner than a line, with caps as wide
	// as a glyph.
	errorBarWidth = vg.Points(1)
	errorCapWidth = vg.Points(6)
)

// Graphs: colours of edges, node outlines and boxes (a translucent fill,
// so nested boxes darken), edge widths, node heights and label sizes.
var (
	graphEdgeColor   = color.Gray{Y: 0x50}
	graphNodeStroke  = color.Gray{Y: 0x30}
	graphBoxFill     = color.NRGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0x0c}
	graphBoxStroke   = color.Gray{Y: 0x9a}
	graphMinWidth    = vg.Points(0.5) // edge width for Value ≤ 0.1
	graphMaxWidth    = vg.Points(4.5) // edge width for Value ≥ 10
	graphMaxNodeH    = vg.Points(20)
	graphMinNodeH    = vg.Points(3)
	graphLabelSize   = vg.Length(captionSize)
	graphLabelPad    = vg.Points(3)
	graphLegendWidth = vg.Points(26)
	graphLegendGap   = vg.Points(16) // between the colour bar and the edge legend
)

// Spacing.
var (
	// figureMargin is the blank border around every figure.
	figureMargin = vg.Points(6)
	titlePadding = vg.Points(6)
)

// textStyle returns the theme's text style at the given size.
func textStyle(size vg.Length) text.Style {
	return text.Style{
		Color:   textColor,
		Font:    font.From(themeFont, size),
		Handler: markupHandler,
	}
}

// newPlot returns a plot in the theme: fonts, axes, ticks and title.
func newPlot(title string) *plot.Plot {
	p := plot.New()
	p.BackgroundColor = nil // Write has filled the canvas already
	p.TextHandler = markupHandler
	p.Title.Text = title
	p.Title.Padding = titlePadding
	sty := textStyle(titleSize)
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
	p.Title.TextStyle = sty
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		styleAxis(a)
	}
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XCenter, draw.YTop
	p.Y.Tick.Label.XAlign, p.Y.Tick.Label.YAlign = draw.XRight, draw.YCenter
	return p
}

// styleAxis applies the theme to one axis.
func styleAxis(a *plot.Axis) {
	a.LineStyle = draw.LineStyle{Color: axisColor, Width: axisWidth}
	a.Padding = vg.Points(4)
	a.Label.Padding = vg.Points(4)
	lsty := textStyle(labelSize)
	lsty.XAlign, lsty.YAlign = draw.XCenter, draw.YBottom
	a.Label.TextStyle = lsty
	a.Tick.Label = textStyle(tickSize)
	a.Tick.LineStyle = draw.LineStyle{Color: axisColor, Width: axisWidth}
	a.Tick.Length = tickLength
	a.Tick.Marker = linearTicks{}
}

// newLegend returns an empty legend in the theme.
func newLegend() plot.Legend {
	l := plot.NewLegend()
	l.TextStyle = textStyle(legendSize)
	l.ThumbnailWidth = vg.Points(24)
	l.Padding = vg.Points(1.5)
	l.Left = true
	return l
}

// gridLines draws the light grid behind the data: a line at every
// labelled tick and, on a log axis, at every decade. Bars set noX.
type gridLines struct{ noX bool }

// Plot implements plot.Plotter.
func (g gridLines) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	sty := draw.LineStyle{Color: gridColor, Width: gridWidth}
	if !g.noX {
		for _, v := range gridValues(&p.X) {
			if x := trX(v); x >= c.Min.X && x <= c.Max.X {
				c.StrokeLine2(sty, x, c.Min.Y, x, c.Max.Y)
			}
		}
	}
	for _, v := range gridValues(&p.Y) {
		if y := trY(v); y >= c.Min.Y && y <= c.Max.Y {
			c.StrokeLine2(sty, c.Min.X, y, c.Max.X, y)
		}
	}
}

// gridValues returns where an axis gets grid lines.
func gridValues(a *plot.Axis) []float64 {
	_, log := a.Scale.(plot.LogScale)
	var vs []float64
	for _, t := range a.Tick.Marker.Ticks(a.Min, a.Max) {
		if t.Label != "" || log && isDecade(t.Value) {
			vs = append(vs, t.Value)
		}
	}
	return vs
}

// isDecade reports whether v is a power of ten, up to rounding.
func isDecade(v float64) bool {
	l := math.Log10(v)
	return math.Abs(l-math.Round(l)) < 1e-9
}

// The Y axis label is drawn by the theme, not by gonum/plot: plot makes
// room for the label as if it were centred on the arithmetic middle of
// the data range, which on a log axis lies near the top, and so left a
// blank band above every log-scale plot with a long Y label.

// splitYLabel returns a copy of p without its Y axis label and the part
// of c left of which the label goes.
func splitYLabel(p *plot.Plot, c draw.Canvas) (*plot.Plot, draw.Canvas) {
	if p.Y.Label.Text == "" {
		return p, c
	}
	q := *p
	q.Y.Label.Text = ""
	w := p.Y.Label.TextStyle.Height(p.Y.Label.Text) + p.Y.Label.Padding
	return &q, draw.Crop(c, w, 0, 0, 0)
}

// drawPlot draws p into c, its Y axis label centred on the data area.
func drawPlot(c draw.Canvas, p *plot.Plot) {
	q, qc := splitYLabel(p, c)
	q.Draw(qc)
	if q == p {
		return
	}
	dc := q.DataCanvas(qc)
	sty := p.Y.Label.TextStyle
	sty.Rotation += math.Pi / 2
	x := c.Min.X + sty.Height(p.Y.Label.Text) - sty.FontExtents().Descent
	c.FillText(sty, vg.Point{X: x, Y: (dc.Min.Y + dc.Max.Y) / 2}, p.Y.Label.Text)
}

// dataCanvas returns the data area of p drawn into c by drawPlot.
func dataCanvas(c draw.Canvas, p *plot.Plot) draw.Canvas {
	q, qc := splitYLabel(p, c)
	return q.DataCanvas(qc)
}

// glyphStroke is the width of the outline glyphs' strokes: gonum's are
// 0.5 pt, faint at a normal viewing size.
var glyphStroke = vg.Points(1)

// glyphShape is the theme's n-th glyph shape (cycling): an open circle,
// square and triangle, a plus and a cross, then a filled circle, square
// and triangle — gonum/plotutil's order, with thicker outlines.
type glyphShape int

const numGlyphShapes = 8

// DrawGlyph implements draw.GlyphDrawer.
func (g glyphShape) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius
	var p vg.Path
	switch int(g) % numGlyphShapes {
	case 0, 5: // circle
		p.Move(vg.Point{X: pt.X + r, Y: pt.Y})
		p.Arc(pt, r, 0, 2*math.Pi)
		p.Close()
	case 1, 6: // square of the circle's area
		x := r * vg.Length(math.Sqrt(math.Pi)/2)
		p.Move(vg.Point{X: pt.X - x, Y: pt.Y - x})
		p.Line(vg.Point{X: pt.X + x, Y: pt.Y - x})
		p.Line(vg.Point{X: pt.X + x, Y: pt.Y + x})
		p.Line(vg.Point{X: pt.X - x, Y: pt.Y + x})
		p.Close()
	case 2, 7: // triangle, point up
		h := r * 1.3
		p.Move(vg.Point{X: pt.X, Y: pt.Y + h})
		p.Line(vg.Point{X: pt.X - h*0.866, Y: pt.Y - h/2})
		p.Line(vg.Point{X: pt.X + h*0.866, Y: pt.Y - h/2})
		p.Close()
	case 3: // plus
		p.Move(vg.Point{X: pt.X, Y: pt.Y + r})
		p.Line(vg.Point{X: pt.X, Y: pt.Y - r})
		p.Move(vg.Point{X: pt.X - r, Y: pt.Y})
		p.Line(vg.Point{X: pt.X + r, Y: pt.Y})
	case 4: // cross
		d := r * 0.8
		p.Move(vg.Point{X: pt.X - d, Y: pt.Y - d})
		p.Line(vg.Point{X: pt.X + d, Y: pt.Y + d})
		p.Move(vg.Point{X: pt.X - d, Y: pt.Y + d})
		p.Line(vg.Point{X: pt.X + d, Y: pt.Y - d})
	}
	if int(g)%numGlyphShapes >= 5 {
		c.SetColor(sty.Color)
		c.Fill(p)
		return
	}
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: glyphStroke})
	c.Stroke(p)
}
