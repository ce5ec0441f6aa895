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
	// Label is the axis label; empty means none.
	Label string

	// Log selects a base-10 logarithmic scale. Data that cannot be shown
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

// LegendPosition says where a figure's legend goes.
type LegendPosition int

// Legend positions. The zero value, TopRight, puts the legend inside the
// data area at the top right.
const (
	TopRight LegendPosition = iota
	TopLeft
	BottomRight
	BottomLeft
	// Outside puts the legend to the right of the data area.
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

// logTicks places major ticks at powers of ten (thinned out over wide
// ranges) and minor ticks at their multiples. Unlike plot.LogTicks it
// always labels at least two ticks inside the range, so narrow ranges
// stay readable.
type logTicks struct{}

// maxLogLabels is the most labelled decades logTicks puts on an axis.
const maxLogLabels = 8

// Ticks implements plot.Ticker.
func (logTicks) Ticks(min, max float64) []plot.Tick {
	if !(min > 0) || !(max >= min) || math.IsInf(max, 0) {
		return nil
	}
	lo := int(math.Floor(math.Log10(min)))
	hi := int(math.Ceil(math.Log10(max)))
	decades := hi - lo
	step := (decades + maxLogLabels - 1) / maxLogLabels
	if step < 1 {
		step = 1
	}
	var ticks []plot.Tick
	labelled := 0
	for e := lo; e <= hi; e++ {
		v := math.Pow10(e)
		if v == 0 || math.IsInf(v, 0) {
			continue // beyond float64; a zero tick would make plot panic
		}
		t := plot.Tick{Value: v}
		if e%step == 0 {
			t.Label = decadeLabel(e)
			if v >= min && v <= max {
				labelled++
			}
		}
		ticks = append(ticks, t)
		if decades <= 12 && e < hi {
			for m := 2; m < 10; m++ {
				ticks = append(ticks, plot.Tick{Value: float64(m) * v})
			}
		}
	}
	if labelled >= 2 {
		return ticks
	}
	// Narrow range: label the 2s and 5s too, and if that still gives
	// fewer than two labels, use linear ticks.
	labelled = 0
	for i := range ticks {
		m := ticks[i].Value / math.Pow10(int(math.Floor(math.Log10(ticks[i].Value)+1e-9)))
		if math.Abs(m-1) < 1e-9 || math.Abs(m-2) < 1e-9 || math.Abs(m-5) < 1e-9 {
			ticks[i].Label = formatTick(ticks[i].Value)
			if ticks[i].Value >= min && ticks[i].Value <= max {
				labelled++
			}
		}
	}
	if labelled >= 2 {
		return ticks
	}
	return linearTicks{}.Ticks(min, max)
}

// linearTicks is plot.DefaultTicks made safe: DefaultTicks panics on an
// empty range and loops forever on an infinite one.
type linearTicks struct{}

// Ticks implements plot.Ticker.
func (linearTicks) Ticks(min, max float64) []plot.Tick {
	if !(min < max) || math.IsInf(max-min, 0) {
		return nil
	}
	return plot.DefaultTicks{}.Ticks(min, max)
}

// decadeLabel labels the tick 10^e: plainly near 1 (0.001 to 1000), and
// as 1e±N beyond, so that the labels of one log axis read alike.
func decadeLabel(e int) string {
	if e >= -3 && e <= 3 {
		return formatTick(math.Pow10(e))
	}
	return fmt.Sprintf("1e%d", e)
}

// formatTick formats a tick value compactly. Twelve significant digits
// hide the rounding of computed tick values (math.Pow10(-24) is not
// exactly 1e-24 in binary) while keeping every digit a person would write.
func formatTick(v float64) string {
	if v == 0 {
		return "0" // not "-0"
	}
	return strconv.FormatFloat(v, 'g', 12, 64)
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
