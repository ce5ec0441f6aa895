package plots

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// digitImage returns a w × h image of a ring (a "0") or a bar (a "1")
// in values 0 to 1, blurred at the edges like a scanned digit.
func digitImage(w, h int, ring bool) Image {
	im := Image{Pix: make([]float64, w*h), Width: w, Height: h}
	for y := range h {
		for x := range w {
			dx, dy := (float64(x)+0.5)/float64(w)-0.5, (float64(y)+0.5)/float64(h)-0.5
			var d float64
			if ring {
				d = math.Abs(math.Hypot(dx/0.8, dy)-0.3) / 0.08
			} else {
				d = math.Abs(dx+0.15*dy) / 0.07
				if math.Abs(dy) > 0.35 {
					d = 9
				}
			}
			im.Pix[y*w+x] = math.Max(0, math.Min(1, 1.5-d))
		}
	}
	return im
}

// signedImage returns a w × h map with a positive and a negative lobe,
// of largest |value| amp.
func signedImage(w, h int, amp float64) Image {
	im := Image{Pix: make([]float64, w*h), Width: w, Height: h, Scale: 1}
	for y := range h {
		for x := range w {
			dx, dy := (float64(x)+0.5)/float64(w)-0.5, (float64(y)+0.5)/float64(h)-0.5
			im.Pix[y*w+x] = amp * (math.Exp(-((dx-0.2)*(dx-0.2)+dy*dy)/0.02) - 0.6*math.Exp(-((dx+0.2)*(dx+0.2)+dy*dy)/0.02))
		}
	}
	return im
}

// testImageGrid returns a grid like an attribution figure: an input
// column on a grey scale and two signed maps per row, each on its own
// range, with row, column and image labels and two colour bars.
func testImageGrid() ImageGrid {
	var rows [][]Image
	for r := range 3 {
		in := digitImage(28, 28, r%2 == 0)
		in.Label = "pred 0"
		rows = append(rows, []Image{in, signedImage(28, 28, 1+float64(r)), signedImage(28, 28, 1e-3)})
	}
	return ImageGrid{
		Title:     "Inputs and their maps",
		Images:    rows,
		RowLabels: []string{"image 1", "image 2", "image 3"},
		ColLabels: []string{"input", "gradient", "integrated gradients"},
		Scales: []ImageScale{
			{Range: Extent{0, 1}, ColorBar: true, Label: "pixel"},
			{Palette: Diverging, PerImage: true, ColorBar: true, Label: "value / max |value|"},
		},
	}
}

// gridCellRects returns the device-pixel rectangle of every image of
// grid drawn in a w × h CSS-pixel PNG at one pixel per CSS pixel, from
// the same geometry the drawing uses. (The placement within a cell is
// written out again here, so that a mistake there shows.)
func gridCellRects(grid ImageGrid, w, h int) map[[2]int]image.Rectangle {
	d, notes := grid.resolve()
	wl, hl := vg.Length(w)*cssPixel, vg.Length(h)*cssPixel
	c := draw.New(vgimg.NewWith(vgimg.UseWH(wl, hl), vgimg.UseDPI(96)))
	c = drawCaption(inset(c, figureMargin), notes)
	g := d.geometry(c.Max.X-c.Min.X, c.Max.Y-c.Min.Y)
	left := c.Min.X + (c.Max.X-c.Min.X-g.width)/2 + g.rowLabelW
	gridTop := c.Max.Y - g.titleH - g.colLabelH
	out := map[[2]int]image.Rectangle{}
	for r, row := range grid.Images {
		for col, im := range row {
			// The image is centred in its cell at the common pixel size.
			iw := g.cellW * vg.Length(im.Width) / vg.Length(d.maxW)
			ih := g.cellH * vg.Length(im.Height) / vg.Length(d.maxH)
			x0 := left + vg.Length(col)*(g.cellW+imageGap) + (g.cellW-iw)/2
			y1 := gridTop - vg.Length(r)*(g.cellH+g.labelH+imageGap) - (g.cellH-ih)/2
			out[[2]int{r, col}] = pixelRect(vg.Rectangle{Min: vg.Point{X: x0, Y: y1 - ih}, Max: vg.Point{X: x0 + iw, Y: y1}}, hl, 96)
		}
	}
	return out
}

// TestImageGridPixels draws images of known content and checks each
// where the layout puts it: a black image, a white one, a left-to-right
// ramp and a 2 × 2 checkerboard, drawn at the others' pixel size (half
// their cells), which must come out as exactly its two colours, sharp:
// no blended pixels between the squares.
func TestImageGridPixels(t *testing.T) {
	black := Image{Pix: make([]float64, 16), Width: 4, Height: 4}
	white := Image{Pix: slices.Repeat([]float64{1}, 16), Width: 4, Height: 4}
	ramp := Image{Pix: make([]float64, 16), Width: 4, Height: 4}
	for i := range ramp.Pix {
		ramp.Pix[i] = float64(i%4) / 3
	}
	checker := Image{Pix: []float64{0, 1, 1, 0}, Width: 2, Height: 2}
	grid := ImageGrid{Images: [][]Image{{black, white}, {ramp, checker}}}
	const w, h = 400, 400
	img := decode(t, must(render(t, grid, &Options{WidthPx: w, HeightPx: h, Density: 1})))
	rects := gridCellRects(grid, w, h)
	inner := func(r image.Rectangle) image.Rectangle { return r.Inset(3) } // clear of the frame and rounding
	exact := func(want color.Gray) func(color.Color) bool {
		return func(c color.Color) bool { return color.GrayModel.Convert(c).(color.Gray) == want }
	}
	for _, tc := range []struct {
		cell [2]int
		want color.Gray
	}{{[2]int{0, 0}, color.Gray{0}}, {[2]int{0, 1}, color.Gray{255}}} {
		r := inner(rects[tc.cell])
		if n := count(img, r, exact(tc.want)); n != r.Dx()*r.Dy() {
			t.Errorf("cell %v: %d of %d pixels are %v", tc.cell, n, r.Dx()*r.Dy(), tc.want)
		}
	}
	// The ramp brightens from left to right, in four bands.
	r := inner(rects[[2]int{1, 0}])
	prev := -1
	for _, fx := range []float64{0.1, 0.4, 0.6, 0.9} {
		y := color.GrayModel.Convert(img.At(r.Min.X+int(fx*float64(r.Dx())), r.Min.Y+r.Dy()/2)).(color.Gray).Y
		if int(y) <= prev {
			t.Errorf("ramp at %.1f of its width: grey %d, not brighter than %d", fx, y, prev)
		}
		prev = int(y)
	}
	// The checkerboard: only black and white, half each.
	r = inner(rects[[2]int{1, 1}])
	nb, nw := count(img, r, exact(color.Gray{0})), count(img, r, exact(color.Gray{255}))
	if nb+nw != r.Dx()*r.Dy() || math.Abs(float64(nb-nw)) > 0.1*float64(nb+nw) {
		t.Errorf("checkerboard: %d black, %d white of %d pixels; want only the two, half each", nb, nw, r.Dx()*r.Dy())
	}
	mid := r.Min.Add(r.Size().Div(2))
	tl := color.GrayModel.Convert(img.At(mid.X-4, mid.Y-4)).(color.Gray).Y
	tr := color.GrayModel.Convert(img.At(mid.X+4, mid.Y-4)).(color.Gray).Y
	if tl != 0 || tr != 255 {
		t.Errorf("checkerboard: top left %d, top right %d; want 0 (black) and 255 (white)", tl, tr)
	}
}

// TestImageGridScales checks the colours of the scales: a shared grey
// range, a fixed range that clamps, a diverging map centred on zero and
// per-image ranges.
func TestImageGridScales(t *testing.T) {
	flat := func(v float64, scale int) Image {
		return Image{Pix: slices.Repeat([]float64{v}, 9), Width: 3, Height: 3, Scale: scale}
	}
	blue, red := color.RGBA{0x3b, 0x4c, 0xc0, 0xff}, color.RGBA{0xb4, 0x04, 0x26, 0xff} // SmoothBlueRed's ends
	cases := []struct {
		name   string
		grid   ImageGrid
		want   []color.Color // colour of each image of the only row
		notes  int
		noteIn string
	}{
		{"shared grey", ImageGrid{Images: [][]Image{{flat(2, 0), flat(4, 0), flat(3, 0)}}},
			[]color.Color{color.Black, color.White, nil}, 0, ""},
		{"fixed range clamps", ImageGrid{Images: [][]Image{{flat(-5, 0), flat(5, 0)}}, Scales: []ImageScale{{Range: Extent{0, 1}}}},
			[]color.Color{color.Black, color.White}, 0, ""},
		{"diverging", ImageGrid{Images: [][]Image{{flat(-1, 0), flat(0.5, 0), flat(0, 0)}}, Scales: []ImageScale{{Palette: Diverging}}},
			[]color.Color{blue, nil, color.RGBA{0xdd, 0xdd, 0xdd, 0xff}}, 0, ""},
		{"per image", ImageGrid{Images: [][]Image{{{Pix: []float64{-2, 1}, Width: 2, Height: 1}, {Pix: []float64{0.001, 0.002}, Width: 2, Height: 1}}},
			Scales: []ImageScale{{Palette: Diverging, PerImage: true}}},
			nil, 0, ""},
		{"per image flat", ImageGrid{Images: [][]Image{{flat(7, 0)}}, Scales: []ImageScale{{PerImage: true}}},
			nil, 1, "1 image has all values equal"},
		{"NaN and Inf", ImageGrid{Images: [][]Image{{{Pix: []float64{math.NaN(), math.Inf(1), 0, 1}, Width: 2, Height: 2}}}},
			nil, 2, "1 pixel is NaN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const w, h = 300, 200
			data, notes := render(t, tc.grid, &Options{WidthPx: w, HeightPx: h, Density: 1})
			if len(notes) != tc.notes || tc.noteIn != "" && !strings.Contains(strings.Join(notes, "; "), tc.noteIn) {
				t.Errorf("notes %q, want %d mentioning %q", notes, tc.notes, tc.noteIn)
			}
			img := decode(t, data)
			rects := gridCellRects(tc.grid, w, h)
			for c, want := range tc.want {
				if want == nil {
					continue
				}
				r := rects[[2]int{0, c}]
				got := img.At(r.Min.X+r.Dx()/2, r.Min.Y+r.Dy()/2)
				if !near(got, want) {
					t.Errorf("image %d: colour %v, want %v", c, got, want)
				}
			}
			if tc.name == "per image" {
				// Each image spans its own ±max|value|: the left pixel of
				// the first (−2) and the right pixel of the second
				// (0.002) take the ends of the scale.
				r0, r1 := rects[[2]int{0, 0}], rects[[2]int{0, 1}]
				left := img.At(r0.Min.X+r0.Dx()/4, r0.Min.Y+r0.Dy()/2)
				right := img.At(r1.Min.X+3*r1.Dx()/4, r1.Min.Y+r1.Dy()/2)
				if !near(left, blue) || !near(right, red) {
					t.Errorf("per-image ends: %v and %v, want %v and %v", left, right, blue, red)
				}
			}
		})
	}
}

// TestImageGridHeight checks that HeightPx fits the grid: drawn at that
// height the last row of images (with its labels) ends just above the
// bottom margin, and a taller figure only adds blank room below.
func TestImageGridHeight(t *testing.T) {
	grid := testImageGrid()
	const w = 600
	h := grid.HeightPx(w)
	if h < 300 || h > 900 {
		t.Fatalf("HeightPx(%d) = %d for 3 rows of 3 square images", w, h)
	}
	lowestInk := func(img image.Image) int {
		b := img.Bounds()
		for y := b.Max.Y - 1; y >= 0; y-- {
			for x := 0; x < b.Dx(); x++ {
				if !near(img.At(x, y), color.White) {
					return y
				}
			}
		}
		return -1
	}
	fit := decode(t, must(render(t, grid, &Options{WidthPx: w, HeightPx: h, Density: 1})))
	margin := int(figureMargin / cssPixel)
	if gap := h - 1 - lowestInk(fit); gap < margin-1 || gap > margin+4 {
		t.Errorf("drawn at HeightPx: %d blank pixel rows at the bottom, want the margin, %d", gap, margin)
	}
	tall := decode(t, must(render(t, grid, &Options{WidthPx: w, HeightPx: h + 100, Density: 1})))
	if got, want := lowestInk(tall), lowestInk(fit); got != want {
		t.Errorf("drawn 100 px taller, the lowest ink is at row %d, want %d as at HeightPx", got, want)
	}
	if d := pixelDiff(fit, cropImage(tall, fit.Bounds())); d > 0 {
		t.Errorf("drawn taller, %.3f%% of the fitting figure's pixels differ", 100*d)
	}
	// A narrower figure shows the same grid smaller: less height.
	if h2 := grid.HeightPx(w / 2); h2 >= h {
		t.Errorf("HeightPx(%d) = %d, not less than HeightPx(%d) = %d", w/2, h2, w, h)
	}
}

// cropImage returns the part r of img.
func cropImage(img image.Image, r image.Rectangle) image.Image {
	out := image.NewRGBA(r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			out.Set(x, y, img.At(x, y))
		}
	}
	return out
}

// TestImageGridSVG checks the SVG: one embedded image per image and per
// colour bar, drawn without smoothing, and every label as text.
func TestImageGridSVG(t *testing.T) {
	grid := testImageGrid()
	data, _ := render(t, grid, &Options{Format: SVG, WidthPx: 600, HeightPx: grid.HeightPx(600)})
	if n, want := bytes.Count(data, []byte("<image ")), 9+2; n != want {
		t.Errorf("%d <image> elements, want %d (9 images, 2 colour bars)", n, want)
	}
	if !bytes.Contains(data, []byte("image-rendering:pixelated")) {
		t.Error("images are not drawn pixelated")
	}
	txt := svgText(t, data)
	for _, s := range []string{"Inputs and their maps", "image 2", "gradient", "pred 0", "pixel"} {
		if !strings.Contains(txt, s) {
			t.Errorf("SVG text lacks %q", s)
		}
	}
}

// TestImageGridLabelsWrap checks that a column label wider than its
// column is wrapped onto more lines rather than overrunning its
// neighbours, and that blank cells and ragged rows are allowed.
func TestImageGridLabelsWrap(t *testing.T) {
	im := digitImage(28, 28, true)
	grid := ImageGrid{
		Images:    [][]Image{{im, im, im, im, im, im, im, im}, {im, {}, im}},
		ColLabels: []string{"a very long column label indeed", "b", "c", "d", "e", "f", "g", "h"},
	}
	d, _ := grid.resolve()
	g := d.geometry(500, vg.Length(math.Inf(1)))
	if len(g.colLines[0]) < 2 {
		t.Errorf("long label in %d line(s): %q", len(g.colLines[0]), g.colLines[0])
	}
	_, _, sty, _ := imageGridStyles()
	for i, lines := range g.colLines {
		for _, l := range lines {
			if w := sty.Width(l); w > g.cellW && strings.Contains(l, " ") {
				t.Errorf("column %d: line %q is %v wide, the column %v", i, l, w, g.cellW)
			}
		}
	}
	render(t, grid, nil)
}

func TestImageGridMisuse(t *testing.T) {
	im := Image{Pix: make([]float64, 4), Width: 2, Height: 2}
	for name, tc := range map[string]struct {
		grid ImageGrid
		want string
	}{
		"size":        {ImageGrid{Images: [][]Image{{{Pix: make([]float64, 3), Width: 2, Height: 2}}}}, "3 values for 2 × 2"},
		"scale":       {ImageGrid{Images: [][]Image{{{Pix: im.Pix, Width: 2, Height: 2, Scale: 1}}}}, "scale 1 of 1"},
		"row labels":  {ImageGrid{Images: [][]Image{{im}}, RowLabels: []string{"a", "b"}}, "2 row labels for 1 rows"},
		"col labels":  {ImageGrid{Images: [][]Image{{im, im}}, ColLabels: []string{"a"}}, "1 column labels for 2 columns"},
		"range":       {ImageGrid{Images: [][]Image{{im}}, Scales: []ImageScale{{Range: Extent{1, 0}}}}, "not a finite interval"},
		"per image":   {ImageGrid{Images: [][]Image{{im}}, Scales: []ImageScale{{Range: Extent{0, 1}, PerImage: true}}}, "both PerImage and a Range"},
		"palette":     {ImageGrid{Images: [][]Image{{im}}, Scales: []ImageScale{{Palette: 7}}}, "unknown palette"},
		"height size": {ImageGrid{Images: [][]Image{{{Pix: im.Pix, Width: 0, Height: 4}}}}, "4 values for 0 × 4"},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.HasPrefix(fmt.Sprint(r), "plots: ") || !strings.Contains(fmt.Sprint(r), tc.want) {
					t.Errorf("panic %v, want a plots: message mentioning %q", r, tc.want)
				}
			}()
			render(t, tc.grid, nil)
		})
	}
	// An empty grid is drawn (blank), not a panic.
	render(t, ImageGrid{Title: "nothing"}, nil)
	if h := (ImageGrid{}).HeightPx(400); h <= 0 {
		t.Errorf("empty grid: HeightPx %d", h)
	}
}
