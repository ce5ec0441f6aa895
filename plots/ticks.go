package plots

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
)

// Tick marks. Every ticker here returns only ticks inside [min, max]:
// gonum/plot leaves room for the label of every tick it is given, even
// one it does not draw, which put a blank band above figures whose log
// axis ended between two decades.

// maxLinearLabels is the most labelled ticks on a linear axis; the step
// between them is the smallest of 1, 2, 5 × 10^k that keeps within it.
const maxLinearLabels = 8

// linearTicks labels round values, steps of 1, 2 or 5 × 10^k, all with
// the same number of decimals, and puts unlabelled minor ticks between
// them. With exp ≠ 0 the labels show the values divided by 10^exp; the
// axis label then says "×10^exp" (see scaleLinearAxis).
type linearTicks struct{ exp int }

// Ticks implements plot.Ticker.
func (t linearTicks) Ticks(lo, hi float64) []plot.Tick {
	step, minor, ok := linearStep(lo, hi)
	if !ok {
		return nil
	}
	unit := math.Pow10(t.exp)
	decimals := max(0, -int(math.Floor(math.Log10(step/unit)+1e-9)))
	var ticks []plot.Tick
	first, last := math.Ceil(lo/minor-1e-9), math.Floor(hi/minor+1e-9)
	per := math.Round(step / minor)
	for k := first; k <= last; k++ {
		v := k * minor
		if v < lo-minor*1e-6 || v > hi+minor*1e-6 {
			continue
		}
		// Rounding can put an end tick just outside the range.
		tk := plot.Tick{Value: math.Max(lo, math.Min(hi, v))}
		if math.Mod(k, per) == 0 {
			tk.Label = fixedLabel(v/unit, decimals)
		}
		ticks = append(ticks, tk)
	}
	return ticks
}

// linearStep returns the labelled and the minor step for [min, max], or
// ok false if the range is empty, not finite, or too small for float64
// to step through.
func linearStep(lo, hi float64) (step, minor float64, ok bool) {
	span := hi - lo
	if !(span > 0) || math.IsInf(span, 0) {
		return 0, 0, false
	}
	e := int(math.Max(-324, math.Floor(math.Log10(span/maxLinearLabels))))
	for ; ; e++ {
		for _, m := range [...]float64{1, 2, 5} {
			step = m * math.Pow10(e)
			if step == 0 || math.IsInf(step, 0) {
				if e > 308 {
					return 0, 0, false
				}
				continue
			}
			if math.Floor(hi/step)-math.Ceil(lo/step)+1 <= maxLinearLabels {
				minor = step / 5
				if m == 2 {
					minor = step / 4
				}
				// Ticks are k × minor for whole k: min/minor must stay
				// well inside float64's exact integers, and a step
				// must move a value (not so near huge values).
				if math.Max(math.Abs(lo), math.Abs(hi))/minor > 1<<50 || minor == 0 {
					return 0, 0, false
				}
				return step, minor, true
			}
		}
	}
}

// fixedLabel formats v with the given number of decimals and a true
// minus sign; never "-0".
func fixedLabel(v float64, decimals int) string {
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Trim(s, "-0.") == "" {
		return strings.TrimPrefix(s, "-")
	}
	return strings.Replace(s, "-", "−", 1)
}

// scaleLinearAxis gives a linear axis whose labels would need more than
// five digits (values from 10^5) or more than three decimals (steps below
// 10^-3) a common power of ten: the labels show the values divided by it
// and the axis label ends "(×10^k)". Call it once the axis range is
// final.
func scaleLinearAxis(a *plot.Axis) {
	var exp int
	var ok bool
	switch t := a.Tick.Marker.(type) {
	case linearTicks:
		if exp, ok = linearExponent(a.Min, a.Max); ok {
			a.Tick.Marker = linearTicks{exp: exp}
		}
	case negatedTicks:
		if _, lin := t.t.(linearTicks); lin {
			if exp, ok = linearExponent(-a.Max, -a.Min); ok {
				a.Tick.Marker = negatedTicks{linearTicks{exp: exp}}
			}
		}
	}
	if !ok {
		return
	}
	factor := "×10^{" + strconv.Itoa(exp) + "}"
	if a.Label.Text == "" {
		a.Label.Text = factor
	} else {
		a.Label.Text += " (" + factor + ")"
	}
}

// linearExponent returns the power of ten to divide the labels of a
// linear axis on [min, max] by, and whether one is wanted.
func linearExponent(lo, hi float64) (int, bool) {
	step, _, ok := linearStep(lo, hi)
	if !ok {
		return 0, false
	}
	top := math.Max(math.Abs(math.Ceil(lo/step)*step), math.Abs(math.Floor(hi/step)*step))
	if !(top >= 1e5 || step < 1e-3) || top == 0 {
		return 0, false
	}
	exp := int(math.Floor(math.Log10(top) + 1e-9))
	// Labels of up to four digits after scaling; a narrow range far
	// from zero (100000 to 100010) keeps its plain labels.
	if math.Log10(step)-float64(exp) < -3-1e-9 {
		return 0, false
	}
	return exp, true
}

// logTicks puts a tick at every decade (powers of ten inside the range)
// and, over ranges of up to maxMinorDecades decades, minor ticks at 2–9
// times each decade. Decades are labelled 10^k in one notation; over wide
// ranges only every 2nd, 3rd, 5th, 10th, … decade is labelled, keeping
// at most maxLogLabels labels. Ranges holding fewer than three decades
// label 2 and 5 times the decades (or all integer multiples) too, as
// plain numbers near 1 and as m×10^k beyond, and ranges narrower than
// that get linear ticks.
type logTicks struct{}

const (
	maxLogLabels    = 8
	maxMinorDecades = 6
	// maxDecadeTicks is the most decade ticks drawn: over wider
	// ranges, only labelled decades get a tick.
	maxDecadeTicks = 60
)

// Ticks implements plot.Ticker.
func (logTicks) Ticks(min, max float64) []plot.Tick {
	if !(min > 0) || !(max >= min) || math.IsInf(max, 0) {
		return nil
	}
	inside := func(v float64) bool {
		return v >= min*(1-1e-12) && v <= max*(1+1e-12) && v > 0 && !math.IsInf(v, 0)
	}
	lo := int(math.Ceil(math.Log10(min) - 1e-9))
	hi := int(math.Floor(math.Log10(max) + 1e-9))
	if hi-lo+1 >= 3 {
		step := labelStep(hi - lo + 1)
		minors := math.Log10(max/min) <= maxMinorDecades
		var ticks []plot.Tick
		for e := lo - 1; e <= hi; e++ {
			v := math.Pow10(e)
			labelled := e%step == 0
			if e >= lo && (labelled || hi-lo < maxDecadeTicks) && inside(v) {
				t := plot.Tick{Value: v}
				if labelled {
					t.Label = decadeLabel(e)
				}
				ticks = append(ticks, t)
			}
			if minors {
				for m := 2; m < 10; m++ {
					if mv := float64(m) * v; inside(mv) {
						ticks = append(ticks, plot.Tick{Value: mv})
					}
				}
			}
		}
		return ticks
	}

	// Fewer than three decades inside: label 1, 2 and 5 times the
	// decades if that gives three labels, else every multiple if that
	// gives two.
	for _, try := range []struct {
		ms  []int
		min int
	}{{[]int{1, 2, 5}, 3}, {[]int{1, 2, 3, 4, 5, 6, 7, 8, 9}, 2}} {
		ms := try.ms
		var ticks []plot.Tick
		var labels []float64
		for e := lo - 1; e <= hi; e++ {
			for m := 1; m < 10; m++ {
				v := float64(m) * math.Pow10(e)
				if !inside(v) {
					continue
				}
				t := plot.Tick{Value: v}
				for _, lm := range ms {
					if m == lm {
						labels = append(labels, v)
						t.Label = "?" // formatted below
					}
				}
				ticks = append(ticks, t)
			}
		}
		if len(labels) < try.min {
			continue
		}
		plain := true
		for _, v := range labels {
			plain = plain && v >= 1e-3 && v < 1e5
		}
		for i := range ticks {
			if ticks[i].Label == "" {
				continue
			}
			if plain {
				ticks[i].Label = formatTick(ticks[i].Value)
			} else {
				ticks[i].Label = mantissaLabel(ticks[i].Value)
			}
		}
		return ticks
	}
	// Narrower than one step between mantissas.
	return linearTicks{}.Ticks(min, max)
}

// labelStep returns the smallest of 1, 2, 3, 5, 10, 20, 30, 50, … that
// labels at most maxLogLabels of n decades.
func labelStep(n int) int {
	for unit := 1; ; unit *= 10 {
		for _, m := range [...]int{1, 2, 3, 5} {
			if s := m * unit; (n+s-1)/s <= maxLogLabels {
				return s
			}
		}
	}
}

// decadeLabel labels the tick 10^e, in markup.
func decadeLabel(e int) string {
	return "10^{" + strconv.Itoa(e) + "}"
}

// mantissaLabel labels m × 10^e (m a whole number from 1 to 9) in
// markup: "10^{-3}" or "5×10^{-3}".
func mantissaLabel(v float64) string {
	e := int(math.Floor(math.Log10(v) + 1e-9))
	m := math.Round(v / math.Pow10(e))
	if m == 1 {
		return decadeLabel(e)
	}
	return fmt.Sprintf("%g×%s", m, decadeLabel(e))
}

// formatTick formats a value compactly, for notes and labels alike. Twelve significant digits hide
// the rounding of computed tick values (math.Pow10(-24) is not exactly
// 1e-24 in binary) while keeping every digit a person would write.
func formatTick(v float64) string {
	if v == 0 {
		return "0" // not "-0"
	}
	return strconv.FormatFloat(v, 'g', 12, 64)
}
