package plots

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata/golden")

// decode decodes a PNG.
func decode(t *testing.T, data []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decoding PNG: %v", err)
	}
	return img
}

// goldenFigures returns the figures compared with golden images: one of
// each kind, using the markup, a Reference series, a Span, a colour bar
// with a power of ten, a note, a graph with nested boxes and a log
// colour bar, and an image grid with labels and two colour bars.
func goldenFigures() map[string]Figure {
	h := []float64{1, 0.5, 0.25, 0.125, 0.0625, 0.03125}
	e1, e4 := make([]float64, len(h)), make([]float64, len(h))
	for i, v := range h {
		e1[i], e4[i] = 0.3*v, 0.02*math.Pow(v, 4)
	}
	t := make([]float64, 40)
	u, w := make([]float64, 40), make([]float64, 40)
	for i := range t {
		t[i] = float64(i) / 4
		u[i] = math.Sin(t[i])
		w[i] = 0.5 * math.Cos(t[i])
	}
	z := make([]float64, 6*8)
	for i := range z {
		z[i] = 6e-16 * math.Sin(float64(i)*1.3)
	}
	return map[string]Figure{
		"line": Line{
			Title:  "Adjoint λ_i(t) of the state",
			X:      Axis{Label: "t (s)"},
			Y:      Axis{Label: "‖dL/dh_t‖"},
			Series: []Series{{Name: "λ_1", X: t, Y: u}, {Name: "λ_2", X: t, Y: w}},
			Spans:  []Span{{X: Extent{Min: 2, Max: 4}, Label: "window"}},
		},
		"loglog": Line{
			Title: "error against step size",
			X:     Axis{Label: "step size h", Log: true},
			Y:     Axis{Label: "error", Log: true},
			Series: []Series{
				{Name: "Euler", X: h, Y: e1, Points: true},
				{Name: "RK4", X: h, Y: e4, Points: true},
				{Name: "slope 4", X: []float64{1, 0.03125}, Y: []float64{1e-1, 1e-1 * math.Pow(0.03125, 4)}, Reference: true, Dash: Dashed},
				{Name: "failed", Y: []float64{1, 0}},
			},
		},
		"scatter": Scatter{
			X:      Axis{Label: "Re λ"},
			Y:      Axis{Label: "Im λ"},
			Groups: []Series{{Name: "a", X: []float64{0.1, 0.5, 0.9}, Y: []float64{0.2, 0.8, 0.4}}, {Name: "b", X: []float64{0.3, 0.6}, Y: []float64{0.6, 0.1}}},
		},
		"heat": HeatMap{Title: "core − formula", XLabel: "column", YLabel: "row", ColorLabel: "difference", Z: z, Rows: 6, Cols: 8},
		"graph": func() Graph {
			g := residualLadder(3)
			g.Title = "cotangent map"
			g.LogColor, g.ColorLabel, g.EdgeLabel = true, "‖∂L/∂h‖", "gain"
			return g
		}(),
		"imagegrid": testImageGrid(),
		"bars": Bars{
			Title:      "gradient error",
			Categories: []string{"linear", "van der Pol", "W_1"},
			Groups:     []BarGroup{{Name: "adjoint", Values: []float64{1e-9, 1e-7, 3e-8}}, {Name: "FD", Values: []float64{1e-4, 1e-3, 1e-5}}},
			Y:          Axis{Label: "relative error", Log: true},
		},
	}
}

// goldenOptions are the options golden images are rendered with: small,
// at one pixel per CSS pixel, to keep testdata small.
var goldenOptions = &Options{WidthPx: 480, HeightPx: 300, Density: 1}

// goldenTolerance is the fraction of pixels that may differ from a
// golden image by more than a fifth of the colour range. Rendering is
// deterministic on one machine; the margin (43 of 144000 pixels) is for
// the anti-aliasing of text and slanted lines, whose last bits can differ
// between CPU architectures (fused multiply-add) and which a differing
// pixel almost never differs by that much. A changed label of three
// letters changes about 200 pixels (see TestGoldenComparison).
const goldenTolerance = 0.0003

// pixelDiff returns the fraction of pixels of a and b whose colours
// differ by more than a fifth of the range in some channel, or 1 if
// their sizes differ.
func pixelDiff(a, b image.Image) float64 {
	if a.Bounds().Size() != b.Bounds().Size() {
		return 1
	}
	ab, bb := a.Bounds(), b.Bounds()
	n := 0
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			r1, g1, b1, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			d := max(absDiff(r1, r2), absDiff(g1, g2), absDiff(b1, b2))
			if d > 0xffff/5 {
				n++
			}
		}
	}
	return float64(n) / float64(ab.Dx()*ab.Dy())
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// TestGolden compares each kind of figure with its golden image in
// testdata/golden. After an intended change of the theme, look at the
// new images and rewrite them with: go test ./plots -run TestGolden -update
func TestGolden(t *testing.T) {
	for name, fig := range goldenFigures() {
		data, _ := render(t, fig, goldenOptions)
		path := filepath.Join("testdata", "golden", name+".png")
		if *update {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if d := pixelDiff(decode(t, data), decode(t, want)); d > goldenTolerance {
			got := filepath.Join(t.TempDir(), name+".png")
			os.WriteFile(got, data, 0o644)
			t.Errorf("%s: %.3f%% of pixels differ from %s (tolerance %.3f%%); got %s",
				name, 100*d, path, 100*goldenTolerance, got)
		}
	}
}

// TestGoldenComparison checks that the comparison fails on the images
// it must catch: a blank one, one without a series, one without its
// legend, one with other ticks.
func TestGoldenComparison(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "golden", "line.png"))
	if err != nil {
		t.Skip("no golden image yet")
	}
	want := decode(t, golden)
	blank := image.NewRGBA(want.Bounds())
	for i := range blank.Pix {
		blank.Pix[i] = 0xff
	}
	line := goldenFigures()["line"].(Line)
	noSeries := line
	noSeries.Series = []Series{line.Series[0], {Name: line.Series[1].Name}}
	noLegend := line
	noLegend.Legend = NoLegend
	relabelled := line
	relabelled.X.Label = "t (min)"
	for name, img := range map[string]image.Image{
		"blank":       blank,
		"no series":   decode(t, must(render(t, noSeries, goldenOptions))),
		"no legend":   decode(t, must(render(t, noLegend, goldenOptions))),
		"other label": decode(t, must(render(t, relabelled, goldenOptions))),
	} {
		if d := pixelDiff(img, want); d <= goldenTolerance {
			t.Errorf("%s: only %.4f%% of pixels differ; the comparison would pass it", name, 100*d)
		}
	}
}

func must(data []byte, _ []string) []byte { return data }

// near reports whether c is within 40 of want in every channel.
func near(c, want color.Color) bool {
	r1, g1, b1, _ := c.RGBA()
	r2, g2, b2, _ := want.RGBA()
	return max(absDiff(r1, r2), absDiff(g1, g2), absDiff(b1, b2)) < 40<<8
}

// count returns how many pixels of img in r satisfy ok.
func count(img image.Image, r image.Rectangle, ok func(color.Color) bool) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if ok(img.At(x, y)) {
				n++
			}
		}
	}
	return n
}

// TestPixelStatistics checks, for each kind of figure, that the middle
// of the image is not blank and shows the first series' colour.
func TestPixelStatistics(t *testing.T) {
	white := func(c color.Color) bool { return near(c, color.White) }
	for name, fig := range testFigures() {
		data, _ := render(t, fig, nil)
		img := decode(t, data)
		b := img.Bounds()
		mid := image.Rect(b.Dx()/4, b.Dy()/4, b.Dx()*3/4, b.Dy()*3/4)
		area := mid.Dx() * mid.Dy()
		ink := 1 - float64(count(img, mid, white))/float64(area)
		first := count(img, mid, func(c color.Color) bool { return near(c, seriesColor(0)) })
		// About half what the figures show: a blank figure, or one
		// missing its first series, fails.
		want := map[string][2]float64{ // least ink, least pixels of series colour
			"line": {0.008, 1200}, "line-log": {0.002, 600}, "scatter": {0.0004, 50},
			"bars": {0.3, 15000}, "heat": {0.9, 0}, "heat-big": {0.6, 0},
		}[name]
		if ink < want[0] {
			t.Errorf("%s: %.2f%% of the middle is not white, want at least %.2f%%", name, 100*ink, 100*want[0])
		}
		if float64(first) < want[1] {
			t.Errorf("%s: %d pixels of the first series' colour, want at least %v", name, first, want[1])
		}
		if strings.HasPrefix(name, "heat") {
			// A heat map shows many colours, not one flat one.
			colours := map[color.Color]bool{}
			count(img, mid, func(c color.Color) bool { colours[c] = true; return false })
			if len(colours) < 50 {
				t.Errorf("%s: %d colours in the middle, want at least 50", name, len(colours))
			}
		}
	}
}

// TestLineWhereItShouldBe draws a rising diagonal and checks its colour
// is in the lower-left and upper-right quarters of the data area and not
// in the other two: the image is not only non-blank but right way up.
func TestLineWhereItShouldBe(t *testing.T) {
	f := Line{Series: []Series{{X: []float64{0, 1}, Y: []float64{0, 1}}}}
	fig, _ := xyFigure(f.Title, f.X, f.Y, f.Legend, f.Series, nil, true)
	dc := pixelRect(dataCanvas(figureCanvas(), fig.p).Rectangle, DefaultHeight, 96)
	img := decode(t, must(render(t, f, &Options{Density: 1})))
	blue := func(c color.Color) bool { return near(c, seriesColor(0)) }
	m := dc.Min.Add(dc.Size().Div(2))
	// Quarters less a band around the middle, where the line crosses.
	const band = 20
	for _, q := range []struct {
		name string
		r    image.Rectangle
		want bool
	}{
		{"lower left", image.Rect(dc.Min.X, m.Y+band, m.X-band, dc.Max.Y), true},
		{"upper right", image.Rect(m.X+band, dc.Min.Y, dc.Max.X, m.Y-band), true},
		{"upper left", image.Rect(dc.Min.X, dc.Min.Y, m.X-band, m.Y-band), false},
		{"lower right", image.Rect(m.X+band, m.Y+band, dc.Max.X, dc.Max.Y), false},
	} {
		n := count(img, q.r, blue)
		if q.want && n < 100 || !q.want && n > 0 {
			t.Errorf("%s quarter: %d pixels of the line's colour", q.name, n)
		}
	}
}
