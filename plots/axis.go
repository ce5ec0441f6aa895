package plots

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
)

// Axis describes one axis of a Line, Scatter or Bars figure.
type Axis struct {
	// Label is the axis label, in markup (see the package
	// documentation); empty means none. A linear axis whose tick labels
	// are scaled by a power of ten gets "(×10^k)" appended.
	Label string

	// Log selects a base-10 logarithmic scale, ticked at every decade.
	// Data that cannot be shown
	// on it (zero, negative, NaN or infinite values) are dropped, each
	// drop reported in a note. On a linear scale NaN and infinite values
	// are dropped the same way.
	Log bool
}

// Extent is a closed interval [Min, Max] of data coordinates. The zero
// Extent means "choose automatically".
type Extent struct {
	Min, Max float64
}

// isZero reports whether e is the zero Extent.
func (e Extent) isZero() bool { return e == Extent{} }

// check panics unless e is zero or a proper finite interval.
func (e Extent) check(what string) {
	if e.isZero() {
		return
	}
	if !(e.Min < e.Max) || math.IsInf(e.Max-e.Min, 0) {
		panic(fmt.Sprintf("plots: %s [%v, %v] is not a finite interval with Min < Max", what, e.Min, e.Max))
	}
}

// LegendPosition says where a figure's legend goes. The legend never
// covers data: a corner is used only if no line, point or bar of the
// figure passes under the legend there.
type LegendPosition int

// Legend positions.
const (
	// Auto, the zero value, puts the legend in the first corner of the
	// data area that the data leave free — top right, top left, bottom
	// right, bottom left — and outside the data area if none is.
	Auto LegendPosition = iota
	// TopRight, TopLeft, BottomRight and BottomLeft ask for a corner of
	// the data area. If data pass under the legend there, it goes
	// where Auto puts it instead.
	TopRight
	TopLeft
	BottomRight
	BottomLeft
	// Outside puts the legend beside the data area: to its right, or
	// below the figure in columns when it would take more than a third
	// of the figure's width.
	Outside
	// NoLegend hides the legend.
	NoLegend
)

// setupAxis configures a gonum axis from an Axis.
func setupAxis(a *plot.Axis, ax Axis) {
	a.Label.Text = ax.Label
	if ax.Log {
		a.Scale = plot.LogScale{}
		a.Tick.Marker = logTicks{}
	}
}

// fixLogRange makes the range of a log axis strictly positive and
// non-empty, whatever data (if any) were added to it.
func fixLogRange(a *plot.Axis) {
	lo, hi := a.Min, a.Max
	switch {
	case !(lo > 0) || !(hi >= lo) || math.IsInf(hi, 0):
		// No data: show one decade.
		a.Min, a.Max = 1, 10
	case lo == hi:
		a.Min = math.Max(lo/10, math.SmallestNonzeroFloat64)
		a.Max = math.Min(hi*10, math.MaxFloat64)
	}
}

// fixLinearRange makes the range of a linear axis one that gonum/plot
// can draw. A single value v is widened to v ± max(1, |v|/10) (plot's own
// ±1 is lost to rounding for |v| > 2⁵³ and then it panics), and a span
// that overflows (data near ±MaxFloat64 of both signs, on which plot
// cannot place ticks) is narrowed, which returns a note.
func fixLinearRange(a *plot.Axis, name string) string {
	if math.IsInf(a.Min, 0) || math.IsInf(a.Max, 0) {
		return "" // no data; plot shows [-1, 1]
	}
	if a.Min == a.Max {
		d := math.Max(1, math.Abs(a.Min)/10)
		a.Min = math.Max(a.Min-d, -math.MaxFloat64)
		a.Max = math.Min(a.Max+d, math.MaxFloat64)
	}
	if !math.IsInf(a.Max-a.Min, 0) {
		return ""
	}
	const lim = math.MaxFloat64 / 2
	a.Min, a.Max = math.Max(a.Min, -lim), math.Min(a.Max, lim)
	return fmt.Sprintf("%s: values beyond ±%s are outside the axis range", name, formatTick(lim))
}

// dropCounter tallies the values dropped from one data set and turns
// them into a note.
type dropCounter struct {
	nonPos, nan, inf int  // dropped values by kind (one count per point)
	axes             uint // bit set of axisX, axisY: axes with a bad value
	dropped          int  // points dropped
}

const (
	axisX = 1 << iota
	axisY
)

// bad reports whether v cannot be drawn on an axis, counting why.
func (d *dropCounter) bad(v float64, log bool, axis uint) bool {
	switch {
	case math.IsNaN(v):
		d.nan++
	case math.IsInf(v, 0):
		d.inf++
	case log && v <= 0:
		d.nonPos++
	default:
		return false
	}
	d.axes |= axis
	return true
}

// note describes the drops, or returns "" if there were none. unit is the
// name of one data item ("point", "bar"), what names the data set
// ("series 'loss'"), total the number of items before dropping.
func (d *dropCounter) note(xlog, ylog bool, unit, what string, total int) string {
	if d.dropped == 0 {
		return ""
	}
	var axes []string
	if d.axes&axisX != 0 {
		axes = append(axes, axisName("x", xlog))
	}
	if d.axes&axisY != 0 {
		axes = append(axes, axisName("y", ylog))
	}
	var kinds []string
	if d.nonPos > 0 {
		kinds = append(kinds, "non-positive")
	}
	if d.nan > 0 {
		kinds = append(kinds, "NaN")
	}
	if d.inf > 0 {
		kinds = append(kinds, "infinite")
	}
	units := unit
	if d.dropped != 1 {
		units += "s"
	}
	count := strconv.Itoa(d.dropped)
	tail := ""
	if d.dropped == total {
		count = "all " + count
		if total == 1 {
			count = "the only"
		}
		tail = " (nothing left to draw)"
	}
	return fmt.Sprintf("%s: dropped %s %s %s from %s%s",
		strings.Join(axes, ", "), count, strings.Join(kinds, "/"), units, what, tail)
}

func axisName(name string, log bool) string {
	if log {
		return "log " + name
	}
	return name
}

// seriesName names data set i for notes: "series 'name'" or "series 3"
// (1-based) when unnamed.
func seriesName(kind, name string, i int) string {
	if name == "" {
		return fmt.Sprintf("%s %d", kind, i+1)
	}
	return fmt.Sprintf("%s '%s'", kind, name)
}
