package plots

import (
	"fmt"
	"image"
	"testing"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// figureCanvas returns the canvas Write draws a figure without notes
// into, for a figure of the default size.
func figureCanvas() draw.Canvas {
	c := draw.New(vgimg.NewWith(vgimg.UseWH(DefaultWidth, DefaultHeight), vgimg.UseDPI(96)))
	return inset(c, figureMargin)
}

// blob returns a named series filling the square [x, x+2] × [y, y+2]
// with a zigzag.
func blob(name string, x, y float64) Series {
	s := Series{Name: name}
	for i := range 9 {
		s.X = append(s.X, x+float64(i)/4)
		s.Y = append(s.Y, y+float64(i%2)*2)
	}
	return s
}

// cornerBlobs returns series in every corner of [0, 10]² but free.
func cornerBlobs(free LegendPosition) []Series {
	at := map[LegendPosition][2]float64{TopLeft: {0, 8}, TopRight: {8, 8}, BottomLeft: {0, 0}, BottomRight: {8, 0}}
	var s []Series
	for _, pos := range corners {
		if pos != free {
			s = append(s, blob(fmt.Sprint("corner ", pos), at[pos][0], at[pos][1]))
		}
	}
	return s
}

// darkPixels counts the pixels of text colour (dark grey) in r.
func darkPixels(img image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if r>>8 < 0x70 && r == g && g == b {
				n++
			}
		}
	}
	return n
}

// pixelRect converts a rectangle on a canvas of the given height, in
// points, to pixels at dpi (image rows count from the top).
func pixelRect(r vg.Rectangle, height vg.Length, dpi float64) image.Rectangle {
	px := func(l vg.Length) int { return int(float64(l) / 72 * dpi) }
	return image.Rect(px(r.Min.X), px(height-r.Max.Y), px(r.Max.X), px(height-r.Min.Y))
}

// TestLegendFreeCorner puts data in three corners of the data area and
// checks that the legend goes to the fourth, and is drawn there.
func TestLegendFreeCorner(t *testing.T) {
	for _, free := range corners {
		for _, asked := range []LegendPosition{Auto, TopRight, BottomLeft} {
			f := Line{Series: cornerBlobs(free), Legend: asked}
			fig, _ := xyFigure(f.Title, f.X, f.Y, f.Legend, f.Series, nil, true)
			c := figureCanvas()
			if got := fig.place(c); got != free {
				t.Errorf("free %v, asked %v: legend placed %v", free, asked, got)
				continue
			}
			// The legend's text is in the free quarter of the data area
			// and in no other.
			data, _ := render(t, f, &Options{Density: 1})
			img := decode(t, data)
			dc := pixelRect(dataCanvas(c, fig.p).Rectangle, DefaultHeight, 96)
			mid := dc.Min.Add(dc.Size().Div(2))
			quarters := map[LegendPosition]image.Rectangle{
				TopLeft:     image.Rect(dc.Min.X+2, dc.Min.Y+2, mid.X, mid.Y),
				TopRight:    image.Rect(mid.X, dc.Min.Y+2, dc.Max.X-2, mid.Y),
				BottomLeft:  image.Rect(dc.Min.X+2, mid.Y, mid.X, dc.Max.Y-2),
				BottomRight: image.Rect(mid.X, mid.Y, dc.Max.X-2, dc.Max.Y-2),
			}
			for pos, q := range quarters {
				n := darkPixels(img, q)
				if pos == free && n < 100 {
					t.Errorf("free %v: %d text pixels in that quarter, want the legend", free, n)
				}
				if pos != free && n > 0 {
					t.Errorf("free %v: %d text pixels in quarter %v", free, n, pos)
				}
			}
		}
	}
}

// TestLegendOutsideWhenFull fills the data area and checks that the
// legend goes outside it, to the right.
func TestLegendOutsideWhenFull(t *testing.T) {
	var a, b Series
	a.Name, b.Name = "a", "b"
	for i := range 15 {
		for j := range 15 {
			s := &a
			if (i+j)%2 == 1 {
				s = &b
			}
			s.X = append(s.X, float64(i))
			s.Y = append(s.Y, float64(j))
		}
	}
	f := Scatter{Groups: []Series{a, b}}
	fig, _ := xyFigure(f.Title, f.X, f.Y, f.Legend, f.Groups, nil, false)
	if got := fig.place(figureCanvas()); got != Outside {
		t.Fatalf("data everywhere: legend placed %v, want Outside", got)
	}
	data, _ := render(t, f, &Options{Density: 1})
	img := decode(t, data)
	// Text in a strip at the right edge, beside the top of the plot,
	// where the data area would be with the legend inside.
	b0 := img.Bounds()
	strip := image.Rect(b0.Max.X*94/100, 0, b0.Max.X-1, b0.Max.Y*2/5)
	if n := darkPixels(img, strip); n < 30 {
		t.Errorf("%d text pixels right of the plot, want the legend there", n)
	}

	// A legend too wide for the right goes below.
	f.Groups[0].Name = "a rather long legend entry that would squeeze the plot"
	data, _ = render(t, f, &Options{Density: 1})
	img = decode(t, data)
	if n := darkPixels(img, strip); n > 0 {
		t.Errorf("%d text pixels right of the plot with a wide legend, want it below", n)
	}
	bottom := image.Rect(b0.Max.X/4, b0.Max.Y*90/100, b0.Max.X*3/4, b0.Max.Y-1)
	if n := darkPixels(img, bottom); n < 100 {
		t.Errorf("%d text pixels below the plot, want the wide legend there", n)
	}
}

// TestLegendClearOfBars checks that a bar chart's legend avoids bars.
func TestLegendClearOfBars(t *testing.T) {
	for _, tc := range []struct {
		values []float64
		want   LegendPosition
	}{
		{[]float64{1, 1, 1, 1, 10}, TopLeft},          // tall bar on the right
		{[]float64{10, 1, 1, 1, 1}, TopRight},         // tall bar on the left
		{[]float64{10, 10, 10, 10, 10}, Outside},      // no room at all
		{[]float64{-10, -1, -1, -1, -1}, BottomRight}, // down from 0 at the top
		{[]float64{-1, -1, -1, -1, -10}, BottomLeft},
		{[]float64{10, -10, 10, -10, 10}, BottomRight}, // a gap beside the last bar
		{[]float64{10, -10, 10, -10, 10, -10}, TopRight},
		{[]float64{10, 10, 10, 10, 10}, NoLegend},    // unnamed
		{[]float64{1, 2, 3, 4, 5}, TopLeft},          // rising
		{[]float64{5, 4, 3, 2, 1}, TopRight},         // falling
		{[]float64{1e-3, 1e-3, 1e-3, 1, 1}, TopLeft}, // small bars, log axis below
	} {
		name := "group"
		if tc.want == NoLegend {
			name = ""
		}
		f := Bars{Groups: []BarGroup{{Name: name, Values: tc.values}}, Y: Axis{Log: tc.values[0] == 1e-3}}
		fig, _, _ := f.figure()
		if got := fig.place(figureCanvas()); got != tc.want {
			t.Errorf("bars %v: legend placed %v, want %v", tc.values, got, tc.want)
		}
	}
	// Bars up and down in every category leave no corner.
	up, down := []float64{10, 10, 10, 10}, []float64{-10, -10, -10, -10}
	f := Bars{Groups: []BarGroup{{Name: "up", Values: up}, {Name: "down", Values: down}, {Name: "up again", Values: up}}}
	fig, _, _ := f.figure()
	if got := fig.place(figureCanvas()); got != Outside {
		t.Errorf("bars everywhere: legend placed %v, want Outside", got)
	}
}

func TestSegmentHits(t *testing.T) {
	r := vg.Rectangle{Min: vg.Point{X: 0, Y: 0}, Max: vg.Point{X: 10, Y: 10}}
	p := func(x, y vg.Length) vg.Point { return vg.Point{X: x, Y: y} }
	for _, tc := range []struct {
		a, b vg.Point
		want bool
	}{
		{p(-5, 5), p(15, 5), true},    // straight through
		{p(2, 2), p(3, 3), true},      // inside
		{p(-5, -5), p(-1, 20), false}, // left of it
		{p(-5, 6), p(6, -5), true},    // across the corner
		{p(-5, 3), p(3, -5), false},   // past the corner
		{p(11, 0), p(11, 10), false},  // parallel, outside
		{p(10, 0), p(10, 10), true},   // along an edge
		{p(5, 20), p(5, 20), false},   // a point outside
	} {
		if got := segmentHits(r, tc.a, tc.b); got != tc.want {
			t.Errorf("segment %v–%v: hits %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestLegendAvoidsSpans: a shaded span is background; the legend avoids
// it when a corner clear of both data and spans exists, and covers it
// only when none does.
func TestLegendAvoidsSpans(t *testing.T) {
	// Top corners taken; a point at the bottom middle sets the range.
	series := []Series{blob("a", 0, 8), blob("b", 8, 8), {X: []float64{5}, Y: []float64{0}}}
	for _, tc := range []struct {
		spans []Span
		want  LegendPosition
	}{
		{nil, BottomRight},
		{[]Span{{X: Extent{Min: 7, Max: 10}}}, BottomLeft},
		{[]Span{{X: Extent{Min: 0, Max: 3}}, {X: Extent{Min: 7, Max: 10}}}, BottomRight},
	} {
		fig, _ := xyFigure("", Axis{}, Axis{}, Auto, series, tc.spans, true)
		if got := fig.place(figureCanvas()); got != tc.want {
			t.Errorf("spans %v: legend placed %v, want %v", tc.spans, got, tc.want)
		}
	}
}
