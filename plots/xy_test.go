package plots

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

var (
	nan  = math.NaN()
	inf  = math.Inf(1)
	ninf = math.Inf(-1)
)

func TestDropNotes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		xlog, ylog bool
		series     []Series
		want       []string
	}{
		{
			name: "clean", ylog: true,
			series: []Series{{Name: "a", Y: []float64{1, 2, 3}}},
		},
		{
			name:   "negatives on linear axes are fine",
			series: []Series{{Name: "a", X: []float64{-1, 0, 1}, Y: []float64{-5, 0, 5}}},
		},
		{
			name: "zeros on log y", ylog: true,
			series: []Series{{Name: "a", Y: []float64{1, 0, 2, 0}}},
			want:   []string{"log y: dropped 2 non-positive points from series 'a'"},
		},
		{
			name: "negatives and NaN on log y", ylog: true,
			series: []Series{{Name: "layer 3", Y: []float64{-1, 1, nan, 2, -0.5}}},
			want:   []string{"log y: dropped 3 non-positive/NaN points from series 'layer 3'"},
		},
		{
			name: "+Inf on log y", ylog: true,
			series: []Series{{Name: "a", Y: []float64{1, inf, 3}}},
			want:   []string{"log y: dropped 1 infinite point from series 'a'"},
		},
		{
			name: "zero x on log x", xlog: true,
			series: []Series{{Name: "a", X: []float64{0, 1, 2}, Y: []float64{-1, -2, -3}}},
			want:   []string{"log x: dropped 1 non-positive point from series 'a'"},
		},
		{
			name: "nil X on log x drops index 0", xlog: true,
			series: []Series{{Name: "a", Y: []float64{5, 6, 7}}},
			want:   []string{"log x: dropped 1 non-positive point from series 'a'"},
		},
		{
			name: "both axes", xlog: true, ylog: true,
			series: []Series{{Name: "a", X: []float64{-1, 1, 2, 3}, Y: []float64{1, 0, nan, 4}}},
			want:   []string{"log x, log y: dropped 3 non-positive/NaN points from series 'a'"},
		},
		{
			name: "x on log, y on linear", ylog: true,
			series: []Series{{Name: "a", X: []float64{nan, 1, 2}, Y: []float64{1, 2, 3}}},
			want:   []string{"x: dropped 1 NaN point from series 'a'"},
		},
		{
			name:   "NaN and Inf on linear axes",
			series: []Series{{Name: "loss", Y: []float64{1, nan, ninf, 2, inf}}},
			want:   []string{"y: dropped 3 NaN/infinite points from series 'loss'"},
		},
		{
			name: "all invalid", ylog: true,
			series: []Series{
				{Name: "ok", Y: []float64{1, 2}},
				{Name: "dead", Y: []float64{0, -1, nan, inf}},
			},
			want: []string{"log y: dropped all 4 non-positive/NaN/infinite points from series 'dead' (nothing left to draw)"},
		},
		{
			name: "only series, one point", xlog: true, ylog: true,
			series: []Series{{Name: "x", Y: []float64{0}}},
			want:   []string{"log x, log y: dropped the only non-positive point from series 'x' (nothing left to draw)"},
		},
		{
			name: "unnamed", ylog: true,
			series: []Series{{Y: []float64{1}}, {Y: []float64{1, 0}}},
			want:   []string{"log y: dropped 1 non-positive point from series 2"},
		},
		{
			name: "empty series", ylog: true,
			series: []Series{{Name: "e"}, {Name: "f", X: []float64{}, Y: []float64{}}},
			want:   []string{"series 'e' has no points", "series 'f' has no points"},
		},
		{
			name: "no series", xlog: true, ylog: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, y := Axis{Log: tc.xlog}, Axis{Log: tc.ylog}
			line := Line{X: x, Y: y, Series: tc.series}
			for _, f := range []Figure{line, withPoints(line), Scatter{X: x, Y: y, Groups: tc.series}} {
				_, notes := render(t, f, &Options{WidthPx: 200, HeightPx: 150})
				want := tc.want
				if _, ok := f.(Scatter); ok {
					want = make([]string, len(tc.want))
					for i, n := range tc.want {
						want[i] = strings.ReplaceAll(n, "series", "group")
					}
				}
				if !reflect.DeepEqual(notes, want) && len(notes)+len(want) > 0 {
					t.Errorf("%T: notes\n%q\nwant\n%q", f, notes, want)
				}
			}
			// The SVG caption carries the notes.
			data, notes := render(t, line, &Options{Format: SVG, Width: 30 * 72, Height: 10 * 72})
			text := svgText(t, data)
			for _, n := range notes {
				if !strings.Contains(text, "note: "+n) {
					t.Errorf("caption lacks %q", n)
				}
			}
		})
	}
}

// withPoints returns f with markers on every series.
func withPoints(f Line) Line {
	s := make([]Series, len(f.Series))
	copy(s, f.Series)
	for i := range s {
		s[i].Points = true
	}
	f.Series = s
	return f
}

func TestCleanRuns(t *testing.T) {
	s := Series{Y: []float64{1, nan, 2, 3, 0, 4, -1}}
	runs, all, note := s.clean(false, true, "series 1")
	want := []plotter.XYs{{{X: 0, Y: 1}}, {{X: 2, Y: 2}, {X: 3, Y: 3}}, {{X: 5, Y: 4}}}
	if !reflect.DeepEqual(runs, want) {
		t.Errorf("runs %v, want %v", runs, want)
	}
	if len(all) != 4 {
		t.Errorf("kept %d points, want 4", len(all))
	}
	if note != "log y: dropped 3 non-positive/NaN points from series 1" {
		t.Errorf("note %q", note)
	}
	// Runs must not share backing store beyond their ends.
	runs[0] = append(runs[0], plotter.XY{X: 99, Y: 99})
	if all[1].X == 99 {
		t.Error("appending to a run overwrote the next point")
	}
}

func TestLegendPositions(t *testing.T) {
	for _, pos := range []LegendPosition{TopRight, TopLeft, BottomRight, BottomLeft, Outside, NoLegend} {
		f := Line{Legend: pos, Series: []Series{{Name: "a", Y: []float64{1, 2}}, {Y: []float64{2, 1}}}}
		render(t, f, nil)
		// No named series: no legend, whatever the position.
		f.Series = f.Series[1:]
		render(t, f, nil)
	}
}

func TestExtremeValues(t *testing.T) {
	// Values gonum/plot mishandles on its own: spans that overflow,
	// single huge values, subnormals. None may panic or hang.
	for _, ys := range [][]float64{
		{-1e308, 1e308},
		{math.MaxFloat64, -math.MaxFloat64},
		{5e-324, 1e308},
		{5e-324},
		{1e17},
		{-math.MaxFloat64},
		{0},
	} {
		for _, log := range []bool{false, true} {
			ax := Axis{Log: log}
			figs := []Figure{
				Line{X: ax, Y: ax, Series: []Series{{X: ys, Y: ys, Points: true}}},
				Scatter{X: ax, Y: ax, Groups: []Series{{X: ys, Y: ys}}},
				Bars{Y: ax, Groups: []BarGroup{{Values: ys}}},
			}
			for _, f := range figs {
				if _, err := Write(io.Discard, f, &Options{WidthPx: 120, HeightPx: 90}); err != nil {
					t.Errorf("%T %v log=%v: %v", f, ys, log, err)
				}
			}
		}
		for _, format := range []Format{PNG, SVG} {
			f := HeatMap{Z: ys, Rows: 1, Cols: len(ys)}
			if _, err := Write(io.Discard, f, &Options{Format: format, WidthPx: 120, HeightPx: 90}); err != nil {
				t.Errorf("heat map %v: %v", ys, err)
			}
		}
	}
	_, notes := render(t, Line{Series: []Series{{Y: []float64{-1e308, 1e308}}}}, nil)
	if len(notes) != 1 || !strings.HasPrefix(notes[0], "y: values beyond ±") {
		t.Errorf("overflowing span: notes %q", notes)
	}
}

// TestNoLineDrawsOnlyPoints: a NoLine series of a Line figure is drawn
// exactly as the same points in a Scatter figure, and differently from a
// series with lines.
func TestNoLineDrawsOnlyPoints(t *testing.T) {
	x, y := []float64{0, 1, 2, 3}, []float64{1, 3, 2, 4}
	render := func(f Figure) []byte {
		var b bytes.Buffer
		if _, err := Write(&b, f, nil); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	noLine := render(Line{Series: []Series{{X: x, Y: y, NoLine: true}}})
	scatter := render(Scatter{Groups: []Series{{X: x, Y: y}}})
	withLine := render(Line{Series: []Series{{X: x, Y: y, Points: true}}})
	if !bytes.Equal(noLine, scatter) {
		t.Error("a NoLine series is not drawn like the same points in a Scatter")
	}
	if bytes.Equal(noLine, withLine) {
		t.Error("a NoLine series is drawn with its line")
	}
}

// TestNoBlankBandAbovePlot: a log Y axis ending between decades with a
// long label (vanishing_exploding's figures) left a blank band between
// the title and the plot; the data area must start right under the
// title.
func TestNoBlankBandAbovePlot(t *testing.T) {
	var series []Series
	for _, g := range []float64{0.5, 1, 3} {
		s := Series{Name: "g = " + formatTick(g)}
		for l := 1; l <= 20; l++ {
			s.X = append(s.X, float64(l))
			s.Y = append(s.Y, 0.3*math.Pow(g, float64(20-l)))
		}
		series = append(series, s)
	}
	const title = "tanh, depth 20: gradient norm per layer at initialisation"
	for _, ylabel := range []string{"", "‖dL/dW_l‖ (weight and bias)"} {
		fig, _ := xyFigure(title, Axis{Label: "layer l"}, Axis{Label: ylabel, Log: true}, Auto, series, nil, true)
		c := figureCanvas()
		dc := dataCanvas(c, fig.p)
		top := c.Max.Y - fig.p.Title.TextStyle.Rectangle(title).Size().Y - titlePadding
		// Room for half a tick label above the top tick at most.
		if gap := top - dc.Max.Y; gap > vg.Points(tickSize) {
			t.Errorf("Y label %q: %.1f pt between the title and the plot", ylabel, gap.Points())
		}
	}
}

// TestErrorBars checks Series.YErr: the bars widen the Y range and are
// drawn, in the series' colour, above and below their points and nowhere
// else; NaN entries draw no bar; bad entries are dropped with a note; a
// bar reaching below zero on a log axis is cut with a note; a YErr of the
// wrong length panics.
func TestErrorBars(t *testing.T) {
	x, y := []float64{0, 1, 2}, []float64{0, 0, 0}
	bars := Line{Series: []Series{{X: x, Y: y, YErr: []float64{nan, 5, nan}, NoLine: true}}}
	fig, notes := xyFigure(bars.Title, bars.X, bars.Y, bars.Legend, bars.Series, nil, true)
	if len(notes) != 0 {
		t.Errorf("notes %q, want none (NaN means no bar)", notes)
	}
	if fig.p.Y.Min > -5 || fig.p.Y.Max < 5 {
		t.Errorf("Y range [%v, %v] does not hold the bar from -5 to 5", fig.p.Y.Min, fig.p.Y.Max)
	}
	dc := pixelRect(dataCanvas(figureCanvas(), fig.p).Rectangle, DefaultHeight, 96)
	img := decode(t, must(render(t, bars, &Options{Density: 1})))
	plain := bars
	// The same axes without bars: a guide at x = 0 spans the range.
	plain.Series = []Series{{X: x, Y: y, NoLine: true}, {X: []float64{0, 0}, Y: []float64{-5, 5}, Reference: true}}
	imgPlain := decode(t, must(render(t, plain, &Options{Density: 1})))
	blue := func(c color.Color) bool { return near(c, seriesColor(0)) }
	midX, midY := (dc.Min.X+dc.Max.X)/2, (dc.Min.Y+dc.Max.Y)/2
	h := dc.Dy() / 4 // a quarter of the data area: past the glyph, short of the ends
	above := image.Rect(midX-2, midY-h, midX+3, midY-15)
	below := image.Rect(midX-2, midY+15, midX+3, midY+h)
	left := image.Rect(dc.Min.X+2, midY-h, dc.Min.X+30, midY-15) // above the first point: NaN, no bar
	for _, c := range []struct {
		name string
		img  image.Image
		r    image.Rectangle
		want bool
	}{
		{"above the middle point", img, above, true},
		{"below the middle point", img, below, true},
		{"above the first point", img, left, false},
		{"above the middle point, no YErr", imgPlain, above, false},
	} {
		n := count(c.img, c.r, blue)
		if c.want && n < c.r.Dy() || !c.want && n > 0 {
			t.Errorf("%s: %d pixels of the series' colour in a %d-pixel-high strip", c.name, n, c.r.Dy())
		}
	}

	_, notes = render(t, Line{Series: []Series{{Name: "a", Y: []float64{1, 2, 3, 4}, YErr: []float64{-1, inf, 0.5, nan}}}}, nil)
	if want := []string{"y: dropped 2 negative or infinite error bars from series 'a'"}; !reflect.DeepEqual(notes, want) {
		t.Errorf("bad errors: notes %q, want %q", notes, want)
	}
	_, notes = render(t, Line{Y: Axis{Log: true}, Series: []Series{{Name: "a", Y: []float64{1, 2}, YErr: []float64{1, 0.5}}}}, nil)
	if want := []string{"log y: 1 error bar of series 'a' reaches zero or below: drawn upwards only"}; !reflect.DeepEqual(notes, want) {
		t.Errorf("log axis: notes %q, want %q", notes, want)
	}

	defer func() {
		if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "len(YErr) = 1 but len(Y) = 2") {
			t.Errorf("YErr of the wrong length: panic %v", p)
		}
	}()
	render(t, Line{Series: []Series{{Y: []float64{1, 2}, YErr: []float64{1}}}}, nil)
}
