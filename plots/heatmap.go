package plots

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// HeatMap is a figure of a rows × cols grid of values drawn as coloured
// cells, with a colour bar beside it: a saliency map, a Jacobian, a
// matrix of gradient norms per layer and time step.
//
// NaN cells are drawn in NaNColor and counted in a note. Infinite cells
// are drawn in the colour of the nearer end of the colour scale and
// counted in a note; values outside an explicit ZRange are likewise
// clamped (without a note). A grid whose finite values are all equal is
// drawn in the middle colour of a scale widened around that value, and
// an empty grid gives an empty figure; both with a note.
//
// In PNG output the cells are drawn as one image; in SVG, grids of up to
// 128×128 cells are drawn as one rectangle per cell (plotter.HeatMap) and
// bigger ones as an embedded image.
type HeatMap struct {
	// Title is printed above the figure (markup); empty means none.
	Title string

	// XLabel and YLabel label the axes; ColorLabel labels the colour
	// bar, to its right. All are markup; empty means none.
	XLabel, YLabel, ColorLabel string

	// Z holds the values in row-major order: Z[r*Cols+c] is the cell in
	// row r, column c. len(Z) must equal Rows*Cols, or Save and Write
	// panic.
	Z []float64

	// Rows and Cols are the grid's dimensions.
	Rows, Cols int

	// XExtent and YExtent are the data coordinates of the grid's outer
	// edges: column 0 starts at XExtent.Min and column Cols-1 ends at
	// XExtent.Max, and likewise for rows. The zero Extent puts the cell
	// centres at the column and row indices.
	XExtent, YExtent Extent

	// IndexTicks puts the ticks of both axes on whole numbers only, as
	// the zero extents do, for grids whose cells are numbered from
	// another origin: with XExtent {0.5, n + 0.5} the columns are
	// labelled 1 … n at their centres. Extents should then put cell
	// centres on whole numbers. False means round linear ticks (1, 2,
	// 5 × 10^k, fractions included) for non-zero extents.
	IndexTicks bool

	// OriginLower draws row 0 at the bottom with the Y axis pointing up,
	// like a graph. By default row 0 is at the top and the Y axis points
	// down, like a printed matrix or an image.
	OriginLower bool

	// ColorMap maps values to colours. If nil, a grid with both negative
	// and positive values uses moreland.SmoothBlueRed over a range
	// symmetric about zero (so zero is the neutral colour), and any
	// other grid uses moreland.ExtendedBlackBody over [min, max]. A
	// ColorMap given here has its Min and Max set to the colour range
	// when the figure is drawn, so do not share one between figures
	// drawn concurrently.
	ColorMap palette.ColorMap

	// ZRange fixes the colour range, for example to compare several
	// figures. The zero Extent means the range of the finite values.
	ZRange Extent

	// NaNColor is the colour of NaN cells; nil means mid grey.
	NaNColor color.Color
}

// Heat map styling.
var (
	defaultNaNColor = color.Gray{Y: 0x80}
)

const (
	// paletteSize is the number of colours cells are quantised to.
	paletteSize = 256
	// maxVectorCells is the largest grid drawn in SVG as one rectangle
	// per cell; larger grids, and all grids in PNG (where anti-aliasing
	// would show seams between rectangles), are drawn as an image.
	maxVectorCells = 128 * 128
	// rasterMinSide is the number of pixels, at least, that a rasterised
	// grid has along its longer side before it is scaled onto the page.
	rasterMinSide = 1024
)

func (f HeatMap) layout(format Format) (drawFunc, []string) {
	if f.Rows < 0 || f.Cols < 0 || len(f.Z) != f.Rows*f.Cols {
		panic(fmt.Sprintf("plots: heat map has len(Z) = %d, want Rows*Cols = %d*%d", len(f.Z), f.Rows, f.Cols))
	}
	f.XExtent.check("heat map XExtent")
	f.YExtent.check("heat map YExtent")
	f.ZRange.check("heat map ZRange")

	p := newPlot(f.Title)
	p.X.Label.Text = f.XLabel
	p.Y.Label.Text = f.YLabel
	p.X.Padding, p.Y.Padding = 0, 0

	var xt, yt plot.Ticker = linearTicks{}, linearTicks{}
	xe, ye := f.XExtent, f.YExtent
	if xe.isZero() {
		xe = Extent{-0.5, float64(f.Cols) - 0.5}
		xt = indexTicks{}
	}
	if ye.isZero() {
		ye = Extent{-0.5, float64(f.Rows) - 0.5}
		yt = indexTicks{}
	}
	if f.IndexTicks {
		xt, yt = indexTicks{}, indexTicks{}
	}
	p.X.Min, p.X.Max = xe.Min, xe.Max
	p.X.Tick.Marker = xt
	scaleLinearAxis(&p.X)
	if f.OriginLower {
		p.Y.Min, p.Y.Max = ye.Min, ye.Max
		p.Y.Tick.Marker = yt
	} else {
		// Plot -y so that y grows downwards, and label ticks with y.
		p.Y.Min, p.Y.Max = -ye.Max, -ye.Min
		p.Y.Tick.Marker = negatedTicks{yt}
	}
	scaleLinearAxis(&p.Y)

	if f.Rows == 0 || f.Cols == 0 {
		return func(c draw.Canvas) { drawPlot(c, p) }, []string{fmt.Sprintf("heat map: grid is empty (%d x %d)", f.Rows, f.Cols)}
	}

	// Colour range.
	var notes []string
	lo, hi, nan, inf := finiteRange(f.Z)
	if nan > 0 {
		notes = append(notes, fmt.Sprintf("heat map: %s NaN, drawn in %s", cells(nan, len(f.Z)), colorName(f.NaNColor)))
	}
	if inf > 0 {
		notes = append(notes, fmt.Sprintf("heat map: %s infinite, drawn in the end colours of the scale", cells(inf, len(f.Z))))
	}
	cm := f.ColorMap
	if !f.ZRange.isZero() {
		lo, hi = f.ZRange.Min, f.ZRange.Max
	} else {
		switch {
		case lo > hi: // no finite values
			lo, hi = widen(lo, hi)
		case lo == hi:
			notes = append(notes, fmt.Sprintf("heat map: all finite cells equal %s; colour scale widened", formatTick(lo)))
			lo, hi = widen(lo, hi)
		case cm == nil && lo < 0 && hi > 0:
			m := math.Max(-lo, hi)
			lo, hi = -m, m
		}
	}
	if math.IsInf(hi-lo, 0) {
		// Keep hi-lo finite so that scaling values into the palette
		// cannot overflow.
		lo, hi = math.Max(lo, -math.MaxFloat64/2), math.Min(hi, math.MaxFloat64/2)
	}
	if cm == nil {
		if lo < 0 && hi > 0 {
			cm = moreland.SmoothBlueRed()
		} else {
			cm = moreland.ExtendedBlackBody()
		}
	}
	cm.SetMax(hi)
	cm.SetMin(lo)
	scale := safeMap{cm}
	pal := scale.palette(paletteSize)

	g := grid{z: f.Z, rows: f.Rows, cols: f.Cols, x: xe, y: ye, flip: !f.OriginLower}
	nanColor := f.NaNColor
	if nanColor == nil {
		nanColor = defaultNaNColor
	}
	if format == SVG && f.Rows*f.Cols <= maxVectorCells {
		h := plotter.NewHeatMap(g, pal)
		h.Min, h.Max = lo, hi
		h.Underflow, h.Overflow = pal[0], pal[len(pal)-1]
		h.NaN = nanColor
		p.Add(heatCells{h, p.X.Min, p.X.Max, p.Y.Min, p.Y.Max})
	} else {
		img := rasterCells(g, pal, lo, hi, nanColor)
		p.Add(plotter.NewImage(img, p.X.Min, p.Y.Min, p.X.Max, p.Y.Max))
	}

	bar := newColorBar(scale, lo, hi, f.ColorLabel)
	return func(c draw.Canvas) { drawWithColorBar(c, p, bar) }, notes
}

// colorBar is a heat map's colour scale, drawn beside the grid with its
// ticks, tick labels and label on its right.
type colorBar struct {
	scale  safeMap
	lo, hi float64
	ticks  linearTicks
	log    bool   // lo and hi are base-10 logarithms; ticks label the values
	label  string // markup, ending in the ticks' ×10^k if they have one
}

// newColorBar returns the colour bar of scale over [lo, hi].
func newColorBar(scale safeMap, lo, hi float64, label string) colorBar {
	b := colorBar{scale: scale, lo: lo, hi: hi, label: label}
	if exp, ok := linearExponent(lo, hi); ok {
		b.ticks.exp = exp
		factor := "×10^{" + strconv.Itoa(exp) + "}"
		if b.label == "" {
			b.label = factor
		} else {
			b.label += " (" + factor + ")"
		}
	}
	return b
}

// Colour bar layout.
var (
	colorBarWidth  = vg.Points(12)
	colorBarGap    = vg.Points(12) // between the grid and the bar
	tickLabelGap   = vg.Points(3)  // between a tick and its label
	colorLabelGap  = vg.Points(6)  // between the tick labels and the label
	colorBarBorder = draw.LineStyle{Color: axisColor, Width: axisWidth}
)

// newLogColorBar returns the colour bar of scale over the base-10
// logarithms [lo, hi], its ticks labelled with the values (10^k).
func newLogColorBar(scale safeMap, lo, hi float64, label string) colorBar {
	return colorBar{scale: scale, lo: lo, hi: hi, log: true, label: label}
}

// barTicks returns the bar's ticks, at positions in [lo, hi].
func (b colorBar) barTicks() []plot.Tick {
	if !b.log {
		return b.ticks.Ticks(b.lo, b.hi)
	}
	ts := logTicks{}.Ticks(math.Pow(10, b.lo), math.Pow(10, b.hi))
	for i := range ts {
		ts[i].Value = math.Log10(ts[i].Value)
	}
	return ts
}

// styles returns the styles of the bar's tick labels and label.
func (b colorBar) styles() (tick, label text.Style) {
	tick = textStyle(tickSize)
	tick.XAlign, tick.YAlign = draw.XLeft, draw.YCenter
	label = textStyle(labelSize)
	label.Rotation = math.Pi / 2
	label.XAlign, label.YAlign = draw.XCenter, draw.YTop
	return tick, label
}

// width returns the width of the bar with its ticks and labels.
func (b colorBar) width() vg.Length {
	tick, label := b.styles()
	var labels vg.Length
	for _, t := range b.barTicks() {
		labels = max(labels, tick.Width(t.Label))
	}
	w := colorBarWidth + tickLength + tickLabelGap + labels
	if b.label != "" {
		w += colorLabelGap + label.Height(b.label)
	}
	return w
}

// draw draws the bar's colours into the rectangle r, and its ticks and
// labels to the right of r.
func (b colorBar) draw(c draw.Canvas, r vg.Rectangle) {
	const n = paletteSize
	img := image.NewRGBA(image.Rect(0, 0, 1, n))
	for i := range n {
		col, _ := b.scale.At(b.lo + (b.hi-b.lo)*float64(i)/float64(n-1))
		img.Set(0, n-1-i, col) // image rows count from the top
	}
	c.DrawImage(r, img)
	c.StrokeLines(colorBarBorder, append(rectPoints(r), r.Min))

	tick, label := b.styles()
	right := r.Max.X
	h := r.Max.Y - r.Min.Y
	for _, t := range b.barTicks() {
		if t.Label == "" {
			continue // minor ticks would crowd the short bar
		}
		y := r.Min.Y + vg.Length((t.Value-b.lo)/(b.hi-b.lo))*h
		c.StrokeLine2(colorBarBorder, r.Max.X, y, r.Max.X+tickLength, y)
		x := r.Max.X + tickLength + tickLabelGap
		c.FillText(tick, vg.Point{X: x, Y: y}, t.Label)
		right = max(right, x+tick.Width(t.Label))
	}
	if b.label != "" {
		c.FillText(label, vg.Point{X: right + colorLabelGap, Y: (r.Min.Y + r.Max.Y) / 2}, b.label)
	}
}

// drawWithColorBar draws p with the colour bar to its right, the bar
// spanning the height of p's data area.
func drawWithColorBar(c draw.Canvas, p *plot.Plot, bar colorBar) {
	tick, _ := bar.styles()
	if p.Title.Text == "" {
		// Room for the top half of the colour bar's top tick label.
		c.Max.Y -= tick.Height("0") / 2
	}
	main := c
	main.Max.X -= colorBarGap + bar.width()
	if main.Max.X-main.Min.X < (c.Max.X-c.Min.X)/3 {
		// Too narrow for a bar: the grid alone.
		drawPlot(c, p)
		return
	}
	drawPlot(main, p)
	dc := dataCanvas(main, p)
	r := vg.Rectangle{
		Min: vg.Point{X: main.Max.X + colorBarGap, Y: dc.Min.Y},
		Max: vg.Point{X: main.Max.X + colorBarGap + colorBarWidth, Y: dc.Max.Y},
	}
	if sensible(r) {
		bar.draw(c, r)
	}
}

// sensible reports whether r is finite and has a positive size.
func sensible(r vg.Rectangle) bool {
	for _, v := range []vg.Length{r.Min.X, r.Min.Y, r.Max.X, r.Max.Y} {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return r.Max.X > r.Min.X && r.Max.Y > r.Min.Y
}

// cells formats "3 cells are", "all 4 cells are" and the like.
func cells(n, total int) string {
	switch {
	case n == total && n == 1:
		return "the only cell is"
	case n == total:
		return fmt.Sprintf("all %d cells are", n)
	case n == 1:
		return "1 cell is"
	}
	return fmt.Sprintf("%d cells are", n)
}

// colorName describes a NaN colour for notes.
func colorName(c color.Color) string {
	if c == nil {
		return "grey"
	}
	r, g, b, a := c.RGBA()
	if a == 0 {
		return "transparent"
	}
	return fmt.Sprintf("#%02x%02x%02x", r>>8, g>>8, b>>8)
}

// grid adapts a row-major slice to plotter.GridXYZ. Grid row j counts
// from the bottom of the figure; with flip, data row 0 is at the top and
// Y returns negated coordinates (see negatedTicks).
type grid struct {
	z          []float64
	rows, cols int
	x, y       Extent
	flip       bool
}

func (g grid) Dims() (c, r int) { return g.cols, g.rows }

func (g grid) Z(c, r int) float64 {
	if g.flip {
		r = g.rows - 1 - r
	}
	return g.z[r*g.cols+c]
}

func (g grid) X(c int) float64 {
	return g.x.Min + (float64(c)+0.5)*(g.x.Max-g.x.Min)/float64(g.cols)
}

func (g grid) Y(r int) float64 {
	if g.flip {
		r = g.rows - 1 - r
		return -(g.y.Min + (float64(r)+0.5)*(g.y.Max-g.y.Min)/float64(g.rows))
	}
	return g.y.Min + (float64(r)+0.5)*(g.y.Max-g.y.Min)/float64(g.rows)
}

// heatCells draws a plotter.HeatMap without its per-cell glyph boxes,
// which would only pad the data area and cost time on big grids, and
// with a data range given by the extents (HeatMap's own computation
// overflows near ±MaxFloat64).
type heatCells struct {
	h                      *plotter.HeatMap
	xmin, xmax, ymin, ymax float64
}

// Plot implements plot.Plotter.
func (h heatCells) Plot(c draw.Canvas, p *plot.Plot) { h.h.Plot(c, p) }

// DataRange implements plot.DataRanger.
func (h heatCells) DataRange() (xmin, xmax, ymin, ymax float64) {
	return h.xmin, h.xmax, h.ymin, h.ymax
}

// rasterCells renders the grid as an image, each cell a block of pixels,
// for drawing cells without seams and big grids quickly.
func rasterCells(g grid, pal colors, lo, hi float64, nanColor color.Color) image.Image {
	k := max(1, rasterMinSide/max(g.rows, g.cols))
	img := image.NewRGBA(image.Rect(0, 0, g.cols*k, g.rows*k))
	rgba := make([]color.RGBA, len(pal))
	for i, c := range pal {
		rgba[i] = color.RGBAModel.Convert(c).(color.RGBA)
	}
	nan := color.RGBAModel.Convert(nanColor).(color.RGBA)
	top := float64(len(rgba) - 1)
	for r := range g.rows {
		// Image rows count from the top; grid rows from the bottom.
		y0 := (g.rows - 1 - r) * k
		for c := range g.cols {
			var col color.RGBA
			switch v := g.Z(c, r); {
			case math.IsNaN(v):
				col = nan
			case v <= lo:
				col = rgba[0]
			case v >= hi:
				col = rgba[len(rgba)-1]
			default:
				// Clamp before converting: with extreme ranges the
				// index can be NaN or infinite.
				i := (v-lo)/(hi-lo)*top + 0.5
				switch {
				case !(i >= 0):
					i = 0
				case i > top:
					i = top
				}
				col = rgba[int(i)]
			}
			for x := c * k; x < (c+1)*k; x++ {
				img.SetRGBA(x, y0, col)
			}
		}
		// Repeat the first pixel row of the block.
		row := img.Pix[y0*img.Stride : y0*img.Stride+g.cols*k*4]
		for y := y0 + 1; y < y0+k; y++ {
			copy(img.Pix[y*img.Stride:], row)
		}
	}
	return img
}

// negatedTicks labels an axis that plots -y with the values of y.
type negatedTicks struct{ t plot.Ticker }

// Ticks implements plot.Ticker.
func (n negatedTicks) Ticks(min, max float64) []plot.Tick {
	ticks := n.t.Ticks(-max, -min)
	for i := range ticks {
		ticks[i].Value = -ticks[i].Value
	}
	return ticks
}

// indexTicks puts ticks on whole numbers, for axes counting rows or
// columns: every integer if there are few, else every 2nd, 5th, 10th, ….
type indexTicks struct{}

// maxIndexLabels is the most labelled ticks indexTicks puts on an axis.
const maxIndexLabels = 8

// Ticks implements plot.Ticker.
func (indexTicks) Ticks(min, max float64) []plot.Tick {
	lo, hi := math.Ceil(min), math.Floor(max)
	if !(hi >= lo) || math.IsInf(hi-lo, 0) {
		return nil
	}
	step := 1.0
	for i := 0; (hi-lo)/step >= maxIndexLabels; i++ {
		step *= [...]float64{2, 2.5, 2}[i%3] // 1, 2, 5, 10, 20, 50, …
	}
	var ticks []plot.Tick
	for k := math.Ceil(lo / step); k*step <= hi && len(ticks) <= maxIndexLabels; k++ {
		v := k * step
		ticks = append(ticks, plot.Tick{Value: v, Label: formatTick(v)})
	}
	return ticks
}

// colors is a palette.Palette.
type colors []color.Color

// Colors implements palette.Palette.
func (c colors) Colors() []color.Color { return c }

// safeMap wraps a ColorMap so that At clamps its argument into range and
// never fails: the colour bar and palette code panic on errors.
type safeMap struct{ palette.ColorMap }

// At implements palette.ColorMap.
func (m safeMap) At(v float64) (color.Color, error) {
	lo, hi := m.Min(), m.Max()
	switch {
	case math.IsNaN(v) || v < lo:
		v = lo
	case v > hi:
		v = hi
	}
	c, err := m.ColorMap.At(v)
	if err != nil {
		return defaultNaNColor, nil
	}
	return c, nil
}

// palette returns n colours evenly spaced over the map's range.
func (m safeMap) palette(n int) colors {
	lo, hi := m.Min(), m.Max()
	out := make(colors, n)
	for i := range out {
		c, _ := m.At(lo + (hi-lo)*float64(i)/float64(n-1))
		out[i] = c
	}
	return out
}
