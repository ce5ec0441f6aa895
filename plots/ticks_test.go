package plots

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"gonum.org/v1/plot"
)

// labels returns the labels of the labelled ticks.
func labels(ticks []plot.Tick) []string {
	var l []string
	for _, t := range ticks {
		if t.Label != "" {
			l = append(l, t.Label)
		}
	}
	return l
}

func TestLinearTickLabels(t *testing.T) {
	for _, tc := range []struct {
		min, max float64
		want     []string
	}{
		{0, 1, []string{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}},
		{-1, 1, []string{"−1.0", "−0.5", "0.0", "0.5", "1.0"}},
		// Issue 12's odd ticks: gonum gave 2.50/12.50/22.50 and 10/60/110.
		{0, 25, []string{"0", "5", "10", "15", "20", "25"}},
		{2.5, 22.5, []string{"5", "10", "15", "20"}},
		{10, 110, []string{"20", "40", "60", "80", "100"}},
		{0.05, 0.95, []string{"0.2", "0.4", "0.6", "0.8"}},
		{1, 20, []string{"5", "10", "15", "20"}},
		{-3e-4, 0, []string{"−0.00030", "−0.00025", "−0.00020", "−0.00015", "−0.00010", "−0.00005", "0.00000"}},
		{0, 1.5e6, []string{"0", "200000", "400000", "600000", "800000", "1000000", "1200000", "1400000"}},
	} {
		got := labels(linearTicks{}.Ticks(tc.min, tc.max))
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("[%v, %v]: labels %q, want %q", tc.min, tc.max, got, tc.want)
		}
	}
}

func TestLinearExponent(t *testing.T) {
	for _, tc := range []struct {
		min, max float64
		exp      int
		ok       bool
		labels   []string
	}{
		// conv_symmetry's colour bar showed "5.55112e-16".
		{-8.88e-16, 8.88e-16, -16, true, []string{"−5", "0", "5"}},
		{-3e-4, 0, -4, true, []string{"−3.0", "−2.5", "−2.0", "−1.5", "−1.0", "−0.5", "0.0"}},
		{0, 1.5e6, 6, true, []string{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0", "1.2", "1.4"}},
		{0, 2e-3, -3, true, []string{"0.0", "0.5", "1.0", "1.5", "2.0"}},
		{0, 1, 0, false, nil},
		{0, 25000, 0, false, nil},
		// Steps of 0.0005 would need four decimals.
		{0.001, 0.004, -3, true, []string{"1.0", "1.5", "2.0", "2.5", "3.0", "3.5", "4.0"}},
		// A narrow range far from zero keeps plain labels.
		{100000, 100010, 0, false, nil},
	} {
		exp, ok := linearExponent(tc.min, tc.max)
		if ok != tc.ok || ok && exp != tc.exp {
			t.Errorf("[%v, %v]: exponent %d, %v; want %d, %v", tc.min, tc.max, exp, ok, tc.exp, tc.ok)
			continue
		}
		if ok {
			got := labels(linearTicks{exp: exp}.Ticks(tc.min, tc.max))
			if !reflect.DeepEqual(got, tc.labels) {
				t.Errorf("[%v, %v]: scaled labels %q, want %q", tc.min, tc.max, got, tc.labels)
			}
		}
	}

	// The factor goes into the axis label.
	p := newPlot("")
	p.Y.Label.Text = "difference"
	p.Y.Min, p.Y.Max = -8.88e-16, 8.88e-16
	scaleLinearAxis(&p.Y)
	if p.Y.Label.Text != "difference (×10^{-16})" {
		t.Errorf("label %q", p.Y.Label.Text)
	}
	p.X.Min, p.X.Max = 0, 3e6
	scaleLinearAxis(&p.X)
	if p.X.Label.Text != "×10^{6}" {
		t.Errorf("unlabelled axis: label %q", p.X.Label.Text)
	}
}

func TestLogTickLabels(t *testing.T) {
	for _, tc := range []struct {
		min, max float64
		want     []string
	}{
		{1e-3, 1e2, []string{"10^{-3}", "10^{-2}", "10^{-1}", "10^{0}", "10^{1}", "10^{2}"}},
		{0.9, 110, []string{"10^{0}", "10^{1}", "10^{2}"}},
		// A range ending between decades has no tick outside it.
		{3e-7, 1.05e9, []string{"10^{-6}", "10^{-4}", "10^{-2}", "10^{0}", "10^{2}", "10^{4}", "10^{6}", "10^{8}"}},
		{1e-16, 1e2, []string{"10^{-15}", "10^{-12}", "10^{-9}", "10^{-6}", "10^{-3}", "10^{0}"}},
		// Under two decades: 1, 2, 5 times each decade, plainly near 1…
		{0.3, 7, []string{"0.5", "1", "2", "5"}},
		{2, 5, []string{"2", "3", "4", "5"}},
		// … and as powers of ten far from it.
		{2e-7, 6e-6, []string{"2×10^{-7}", "5×10^{-7}", "10^{-6}", "2×10^{-6}", "5×10^{-6}"}},
	} {
		got := labels(logTicks{}.Ticks(tc.min, tc.max))
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("[%v, %v]: labels %q, want %q", tc.min, tc.max, got, tc.want)
		}
	}

	// Thinned labels keep a tick at every decade.
	ticks := logTicks{}.Ticks(1e-16, 1e2)
	decades := 0
	for _, tk := range ticks {
		if isDecade(tk.Value) {
			decades++
		}
	}
	if decades != 19 {
		t.Errorf("[1e-16, 1e2]: %d decade ticks, want 19", decades)
	}
}

// TestTicksInsideRange checks every ticker on many ranges: no tick
// outside the range (gonum/plot leaves room for such ticks' labels and
// so drew a blank band above the plot), at least two labels, no more
// than the maximum, and labels in one notation.
func TestTicksInsideRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		a := math.Pow(10, rng.Float64()*40-20) * (rng.Float64()*2 - 1)
		b := a + math.Pow(10, rng.Float64()*40-20)
		if i%2 == 0 {
			a, b = math.Abs(a), math.Abs(b)
			if a > b {
				a, b = b, a
			}
		}
		tickers := map[string]plot.Ticker{"linear": linearTicks{}}
		if a > 0 {
			tickers["log"] = logTicks{}
		}
		for name, tk := range tickers {
			ticks := tk.Ticks(a, b)
			for _, x := range ticks {
				if x.Value < a || x.Value > b {
					t.Fatalf("%s [%v, %v]: tick %v outside", name, a, b, x.Value)
				}
			}
			ls := labels(ticks)
			if len(ls) < 2 && b-a > 1e-10*math.Abs(b) {
				t.Fatalf("%s [%v, %v]: labels %q, want at least 2", name, a, b, ls)
			}
			if len(ls) > maxLogLabels+1 {
				t.Fatalf("%s [%v, %v]: %d labels", name, a, b, len(ls))
			}
			if name == "log" && len(ls) > 0 {
				pow := strings.Contains(ls[0], "10^")
				for _, l := range ls {
					if strings.Contains(l, "10^") != pow {
						t.Fatalf("log [%v, %v]: labels %q mix notations", a, b, ls)
					}
				}
			}
		}
	}
	for _, r := range [][2]float64{{0, 1}, {-1, 1}, {2, 1}, {1, inf}, {nan, 1}} {
		if ticks := (logTicks{}).Ticks(r[0], r[1]); ticks != nil {
			t.Errorf("log %v: got ticks %v, want none", r, ticks)
		}
	}
	for _, r := range [][2]float64{{1, 1}, {2, 1}, {-inf, inf}, {nan, 1}, {-math.MaxFloat64, math.MaxFloat64}} {
		if ticks := (linearTicks{}).Ticks(r[0], r[1]); ticks != nil {
			t.Errorf("linear %v: got ticks %v, want none", r, ticks)
		}
	}
}

func TestFixedLabel(t *testing.T) {
	for _, c := range []struct {
		v    float64
		d    int
		want string
	}{{math.Copysign(0, -1), 1, "0.0"}, {-1e-17, 2, "0.00"}, {-2.5, 1, "−2.5"}, {3, 0, "3"}, {0.30000000000000004, 1, "0.3"}} {
		if got := fixedLabel(c.v, c.d); got != c.want {
			t.Errorf("fixedLabel(%v, %d) = %q, want %q", c.v, c.d, got, c.want)
		}
	}
}

func TestFormatTickHidesRounding(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{{math.Pow10(-24), "1e-24"}, {1e-30 * 1.0000000000000002, "1e-30"}, {0.1 + 0.2, "0.3"}, {250, "250"}, {math.Copysign(0, -1), "0"}} {
		if got := formatTick(c.v); got != c.want {
			t.Errorf("formatTick(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}
