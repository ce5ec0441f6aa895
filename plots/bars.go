package plots

import (
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// BarGroup is one named set of bars, one bar per category: for example
// the error of one method on each of several problems.
type BarGroup struct {
	// Name labels the group in the legend (markup) and in notes.
	// Unnamed groups
	// get no legend entry and are called "group 1", "group 2", … in
	// notes.
	Name string

	// Values holds one bar height per category.
	Values []float64
}

// Bars is a bar chart: for each category, one bar per group, side by
// side, each group in its own colour. Bars that cannot be drawn (NaN,
// infinite, or non-positive on a log axis) are left out, each drop
// reported in a note. On a log Y axis bars rise from the bottom of the
// axis, which is the power of ten below the smallest bar.
type Bars struct {
	// Title is printed above the figure (markup); empty means none.
	Title string

	// XLabel labels the category axis (markup); empty means none.
	XLabel string

	// Y configures the value axis.
	Y Axis

	// Categories label the bar positions along the X axis (markup;
	// labels too wide for their place are wrapped). If nil, the
	// positions are labelled 0, 1, …. Every group must have one value
	// per category (or, if Categories is nil, all groups the same
	// number of values), or Save and Write panic.
	Categories []string

	// Groups are drawn in order, each in the next colour of the
	// theme's palette.
	Groups []BarGroup

	// Legend places the legend of the named groups.
	Legend LegendPosition
}

// barFill is the fraction of each category's slot covered by its bars.
const barFill = 0.8

func (f Bars) layout(Format) (drawFunc, []string) {
	fig, labels, notes := f.figure()
	return func(c draw.Canvas) {
		wrapLabels(fig.p, c, labels)
		fig.draw(c)
	}, notes
}

// figure builds the bar chart, returning its category labels for
// wrapLabels.
func (f Bars) figure() (legendFigure, []string, []string) {
	n := len(f.Categories)
	labels := f.Categories
	if labels == nil && len(f.Groups) > 0 {
		n = len(f.Groups[0].Values)
		labels = make([]string, n)
		for i := range labels {
			labels[i] = strconv.Itoa(i)
		}
	}
	for i, g := range f.Groups {
		if len(g.Values) != n {
			panic(fmt.Sprintf("plots: %s has %d values, want %d (one per category)",
				seriesName("group", g.Name, i), len(g.Values), n))
		}
	}

	p := newPlot(f.Title)
	p.X.Label.Text = f.XLabel
	setupAxis(&p.Y, f.Y)
	p.Add(gridLines{noX: true})
	ticks := make([]plot.Tick, n)
	for i, l := range labels {
		ticks[i] = plot.Tick{Value: float64(i), Label: l}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Tick.Length = 0
	p.X.Min, p.X.Max = -0.5, float64(n)-0.5
	if n == 0 {
		p.X.Min, p.X.Max = -0.5, 0.5
	}

	var (
		entries []legendEntry
		notes   []string
		sets    []*barSet
	)
	w := barFill / float64(max(1, len(f.Groups)))
	lo := math.Inf(1) // smallest bar, for the log axis
	for gi, g := range f.Groups {
		bs := &barSet{
			values: make([]float64, n),
			offset: (float64(gi) - float64(len(f.Groups)-1)/2) * w,
			width:  w,
			color:  seriesColor(gi),
			log:    f.Y.Log,
		}
		var d dropCounter
		for i, v := range g.Values {
			if d.bad(v, f.Y.Log, axisY) {
				d.dropped++
				v = math.NaN()
			} else {
				lo = math.Min(lo, v)
			}
			bs.values[i] = v
		}
		if note := d.note(false, f.Y.Log, "bar", seriesName("group", g.Name, gi), n); note != "" {
			notes = append(notes, note)
		}
		p.Add(bs)
		sets = append(sets, bs)
		if g.Name != "" {
			entries = append(entries, legendEntry{g.Name, []plot.Thumbnailer{bs}})
		}
	}
	if f.Y.Log {
		if lo < math.Inf(1) {
			// Start the axis at a power of ten visibly below the
			// smallest bar.
			p.Y.Min = math.Max(math.Pow10(int(math.Floor(math.Log10(lo)-0.1))), math.SmallestNonzeroFloat64)
		}
		fixLogRange(&p.Y)
	} else if note := fixLinearRange(&p.Y, "y"); note != "" {
		notes = append(notes, note)
	}
	scaleLinearAxis(&p.Y)

	// The bars, for placing the legend clear of them.
	var k ink
	for _, bs := range sets {
		base := 0.0
		if bs.log {
			base = p.Y.Min
		}
		for i, v := range bs.values {
			if !math.IsNaN(v) {
				x := float64(i) + bs.offset
				k.rects = append(k.rects, dataRect{x - bs.width/2, x + bs.width/2, base, v})
			}
		}
	}
	return legendFigure{p: p, entries: entries, pos: f.Legend, ink: k}, labels, notes
}

// wrapLabels breaks category labels that are wider than their slot onto
// several lines. When there are too many categories for a label each,
// only every 2nd, 5th, 10th, … is labelled.
func wrapLabels(p *plot.Plot, c draw.Canvas, labels []string) {
	n := len(labels)
	if n == 0 {
		return
	}
	sty := p.X.Tick.Label
	// Thin on the canvas width (the data area is a little narrower),
	// so that thousands of labels are not all measured.
	step := 1
	minSlot := 2 * sty.Height("0")
	if est := (c.Max.X - c.Min.X) / vg.Length(n); est < minSlot {
		step = roundStep(float64(minSlot / est))
	}
	ticks := make(plot.ConstantTicks, n)
	for i, l := range labels {
		ticks[i] = plot.Tick{Value: float64(i)}
		if i%step == 0 {
			ticks[i].Label = l
		}
	}
	p.X.Tick.Marker = ticks
	dc := dataCanvas(c, p)
	slot := 0.95 * (dc.Max.X - dc.Min.X) / vg.Length(n) * vg.Length(step)
	for i := range ticks {
		if l := ticks[i].Label; l != "" && sty.Width(l) > slot {
			ticks[i].Label = strings.Join(wrapWords(sty, l, slot), "\n")
		}
	}
}

// roundStep returns the smallest of 1, 2, 5, 10, 20, … not below x.
func roundStep(x float64) int {
	for unit := 1; ; unit *= 10 {
		for _, m := range [...]int{1, 2, 5} {
			if float64(m*unit) >= x || unit > math.MaxInt32 {
				return m * unit
			}
		}
	}
}

// barSet draws one group of bars. NaN values are not drawn.
type barSet struct {
	values        []float64
	offset, width float64 // in category units
	color         color.Color
	log           bool
}

var barOutline = draw.LineStyle{Color: color.White, Width: vg.Points(0.5)}

// Plot implements plot.Plotter.
func (b *barSet) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	base := 0.0
	if b.log {
		base = p.Y.Min
	}
	for i, v := range b.values {
		if math.IsNaN(v) {
			continue
		}
		// Bars are rectangles, so clamping their corners to the canvas
		// clips them (and keeps far-off values from overwhelming the
		// rasteriser).
		x0 := clamp(trX(float64(i)+b.offset-b.width/2), c.Min.X, c.Max.X)
		x1 := clamp(trX(float64(i)+b.offset+b.width/2), c.Min.X, c.Max.X)
		y0 := clamp(trY(base), c.Min.Y, c.Max.Y)
		y1 := clamp(trY(v), c.Min.Y, c.Max.Y)
		pts := []vg.Point{{X: x0, Y: y0}, {X: x0, Y: y1}, {X: x1, Y: y1}, {X: x1, Y: y0}}
		c.FillPolygon(b.color, pts)
		c.StrokeLines(barOutline, append(pts, pts[0]))
	}
}

// DataRange implements plot.DataRanger.
func (b *barSet) DataRange() (xmin, xmax, ymin, ymax float64) {
	ymin, ymax = math.Inf(1), math.Inf(-1)
	if !b.log {
		ymin, ymax = 0, 0
	}
	for _, v := range b.values {
		if !math.IsNaN(v) {
			ymin, ymax = math.Min(ymin, v), math.Max(ymax, v)
		}
	}
	return -0.5, float64(len(b.values)) - 0.5, ymin, ymax
}

// Thumbnail implements plot.Thumbnailer.
func (b *barSet) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{
		{X: c.Min.X, Y: c.Min.Y}, {X: c.Min.X, Y: c.Max.Y},
		{X: c.Max.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Min.Y},
	}
	c.FillPolygon(b.color, pts)
	c.StrokeLines(barOutline, append(pts, pts[0]))
}

// clamp limits v to [lo, hi].
func clamp(v, lo, hi vg.Length) vg.Length {
	return max(lo, min(v, hi))
}
