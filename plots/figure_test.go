package plots

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
)

// testFigures returns one figure of each kind and flavour.
func testFigures() map[string]Figure {
	steps := make([]float64, 30)
	norms := make([]float64, 30)
	for i := range steps {
		steps[i] = float64(i)
		norms[i] = math.Exp(-float64(i) / 4)
	}
	norms[3], norms[7] = 0, math.NaN()
	z := make([]float64, 5*7)
	for i := range z {
		z[i] = math.Sin(float64(i))
	}
	z[4] = math.NaN()
	big := make([]float64, 150*160) // beyond maxVectorCells
	for i := range big {
		big[i] = float64(i%160) - float64(i/160)
	}
	return map[string]Figure{
		"line": Line{
			Title:  "loss",
			X:      Axis{Label: "epoch"},
			Y:      Axis{Label: "loss"},
			Series: []Series{{Name: "train", Y: []float64{3, 2, 1.5, 1.2}}, {Name: "test", Y: []float64{3.1, 2.4, 2, 1.9}, Points: true}},
		},
		"line-log": Line{
			Title:  "gradient norms",
			X:      Axis{Label: "step", Log: true},
			Y:      Axis{Label: "norm", Log: true},
			Series: []Series{{Name: "layer 1", X: steps, Y: norms}, {Name: "dead", Y: []float64{0, 0}}},
			Legend: Outside,
		},
		"scatter": Scatter{
			X:      Axis{Label: "adjoint"},
			Y:      Axis{Label: "finite differences", Log: true},
			Groups: []Series{{Name: "a", X: []float64{1, 2, 3}, Y: []float64{1, 10, -1}}, {Name: "b", X: []float64{2, 3}, Y: []float64{5, 50}}},
			Legend: BottomRight,
		},
		"heat": HeatMap{Title: "Jacobian", XLabel: "input", YLabel: "output", ColorLabel: "∂y/∂x", Z: z, Rows: 5, Cols: 7},
		"heat-big": HeatMap{
			Z: big, Rows: 150, Cols: 160, OriginLower: true,
			XExtent: Extent{0, 1}, YExtent: Extent{-1, 1}, ColorLabel: "saliency",
		},
		"bars": Bars{
			Title:      "gradient error",
			Categories: []string{"linear", "van der Pol", "MLP"},
			Groups:     []BarGroup{{Name: "adjoint", Values: []float64{1e-9, 1e-7, 0}}, {Name: "FD", Values: []float64{1e-4, 1e-3, 1e-5}}},
			Y:          Axis{Label: "relative error", Log: true},
			Legend:     TopLeft,
		},
	}
}

// render writes fig with opt and returns the bytes and notes.
func render(t *testing.T, fig Figure, opt *Options) ([]byte, []string) {
	t.Helper()
	var buf bytes.Buffer
	notes, err := Write(&buf, fig, opt)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes(), notes
}

// pngSize decodes a PNG and returns its size.
func pngSize(t *testing.T, data []byte) image.Point {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decoding PNG: %v", err)
	}
	return img.Bounds().Size()
}

// svgText checks that data is well-formed XML with an <svg> root and
// returns its character data, whitespace collapsed.
func svgText(t *testing.T, data []byte) string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	var root string
	var text []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
		case xml.CharData:
			text = append(text, string(tok))
		}
	}
	if root != "svg" {
		t.Fatalf("root element is %q, want svg", root)
	}
	return strings.Join(strings.Fields(strings.Join(text, " ")), " ")
}

// Default size of a PNG in pixels: 800 x 500 CSS pixels at density 2.
var defaultPx = image.Pt(1600, 1000)

func TestSaveEachKind(t *testing.T) {
	dir := t.TempDir()
	for name, fig := range testFigures() {
		for _, ext := range []string{".png", ".svg"} {
			path := filepath.Join(dir, name+ext)
			notes, err := Save(path, fig, &Options{NoSVG: ext == ".png"})
			if err != nil {
				t.Errorf("%s: %v", path, err)
				continue
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if ext == ".png" {
				if got := pngSize(t, data); got != defaultPx {
					t.Errorf("%s: size %v, want %v", path, got, defaultPx)
				}
				continue
			}
			text := svgText(t, data)
			for _, n := range notes {
				if !strings.Contains(text, strings.Join(strings.Fields(n), " ")) {
					t.Errorf("%s: caption lacks note %q", path, n)
				}
			}
		}
	}
	// Nothing but the figures themselves: no temporary files left.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * len(testFigures()); len(entries) != want {
		t.Errorf("directory holds %d entries, want %d", len(entries), want)
	}
}

func TestPNGSize(t *testing.T) {
	fig := testFigures()["line"]
	for _, tc := range []struct {
		name string
		opt  *Options
		want image.Point
	}{
		{"nil", nil, defaultPx},
		{"zero", &Options{}, defaultPx},
		// 10cm = 377.95 CSS px, 755.9 PNG pixels at density 2.
		{"lengths", &Options{Width: 10 * vg.Centimeter, Height: 5 * vg.Centimeter}, image.Pt(756, 378)},
		{"inches", &Options{Width: 4 * vg.Inch, Height: 3 * vg.Inch}, image.Pt(768, 576)},
		{"pixels", &Options{WidthPx: 800, HeightPx: 600}, image.Pt(1600, 1200)},
		{"density 1", &Options{WidthPx: 333, HeightPx: 217, Density: 1}, image.Pt(333, 217)},
		{"density 3", &Options{WidthPx: 333, HeightPx: 217, Density: 3}, image.Pt(999, 651)},
		// DPI wins over density: 333 CSS px = 3.47 in, 250 dots at 72 dpi.
		{"odd pixels at 72 dpi", &Options{WidthPx: 333, HeightPx: 217, DPI: 72, Density: 2}, image.Pt(250, 163)},
		{"mixed", &Options{WidthPx: 500, Height: 1 * vg.Inch}, image.Pt(1000, 192)},
		{"dpi", &Options{DPI: 300}, image.Pt(2500, 1563)},
	} {
		data, _ := render(t, fig, tc.opt)
		if got := pngSize(t, data); got != tc.want {
			t.Errorf("%s: size %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSVGSize(t *testing.T) {
	data, _ := render(t, testFigures()["bars"], &Options{Format: SVG, Width: 4 * vg.Inch, Height: 2 * vg.Inch})
	svgText(t, data)
	if !bytes.Contains(data, []byte(`width="288pt" height="144pt"`)) {
		t.Errorf("SVG header does not give 288pt x 144pt:\n%.300s", data)
	}
}

func TestFormatSelection(t *testing.T) {
	fig := testFigures()["scatter"]
	isPNG := func(b []byte) bool { return bytes.HasPrefix(b, []byte("\x89PNG")) }
	isSVG := func(b []byte) bool { return bytes.Contains(b[:min(len(b), 200)], []byte("<svg")) }
	for _, tc := range []struct {
		file   string
		format Format
		check  func([]byte) bool
	}{
		{"a.png", "", isPNG},
		{"b.PNG", "", isPNG},
		{"c", "", isPNG},
		{"d.svg", "", isSVG},
		{"e.SVG", "", isSVG},
		{"f.png", SVG, isSVG},
		{"g.img", PNG, isPNG},
		{"h.svg", "PNG", isPNG},
	} {
		path := filepath.Join(t.TempDir(), tc.file)
		if _, err := Save(path, fig, &Options{Format: tc.format}); err != nil {
			t.Errorf("%s (%q): %v", tc.file, tc.format, err)
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !tc.check(data) {
			t.Errorf("%s (%q): wrong format: %.20q", tc.file, tc.format, data)
		}
	}

	var buf bytes.Buffer
	if _, err := Write(&buf, fig, nil); err != nil || !isPNG(buf.Bytes()) {
		t.Errorf("Write with nil options: err %v, PNG %v", err, isPNG(buf.Bytes()))
	}
}

func TestSaveErrors(t *testing.T) {
	fig := testFigures()["line"]
	dir := t.TempDir()

	// Unsupported formats are reported and nothing is written.
	for _, tc := range []struct {
		file string
		opt  *Options
	}{
		{"fig.pdf", nil},
		{"fig.jpg", &Options{}},
		{"fig.png", &Options{Format: "eps"}},
	} {
		path := filepath.Join(dir, tc.file)
		_, err := Save(path, fig, tc.opt)
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: error %v, want ErrFormat", tc.file, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "plots: save "+path+": ") {
			t.Errorf("%s: error %q lacks context", tc.file, err)
		}
	}
	if _, err := Write(io.Discard, fig, &Options{Format: "gif"}); !errors.Is(err, ErrFormat) {
		t.Errorf("Write gif: error %v, want ErrFormat", err)
	}

	// Bad sizes.
	for _, opt := range []*Options{{Width: -1}, {HeightPx: -3}, {DPI: -96}, {Density: -2}} {
		if _, err := Write(io.Discard, fig, opt); err == nil {
			t.Errorf("Write(%+v): no error", *opt)
		}
	}

	// A missing directory.
	path := filepath.Join(dir, "missing", "fig.png")
	if _, err := Save(path, fig, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing directory: error %v, want ErrNotExist", err)
	}

	// Renaming onto a directory fails; the temporary file is removed.
	target := filepath.Join(dir, "taken.png")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Save(target, fig, nil); err == nil {
		t.Error("saving over a directory: no error")
	}

	// A failed save leaves an existing figure alone.
	good := filepath.Join(dir, "good.png")
	if _, err := Save(good, fig, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(good)
	if _, err := Save(good, fig, &Options{Width: -1}); err == nil {
		t.Error("negative width: no error")
	}
	after, _ := os.ReadFile(good)
	if !bytes.Equal(before, after) {
		t.Error("failed save changed the existing figure")
	}

	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if name := e.Name(); name != "taken.png" && name != "good.png" && name != "good.svg" {
			t.Errorf("unexpected file %q left behind", name)
		}
	}
}

// failWriter fails every write.
type failWriter struct{}

var errDiskFull = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestWriteError(t *testing.T) {
	notes, err := Write(failWriter{}, testFigures()["line-log"], nil)
	if !errors.Is(err, errDiskFull) {
		t.Errorf("error %v, want one wrapping %v", err, errDiskFull)
	}
	if len(notes) == 0 {
		t.Error("notes not returned with the error")
	}
}

func TestDeterministic(t *testing.T) {
	for name, fig := range testFigures() {
		for _, format := range []Format{PNG, SVG} {
			opt := &Options{Format: format, WidthPx: 400, HeightPx: 300}
			a, _ := render(t, fig, opt)
			b, _ := render(t, fig, opt)
			if !bytes.Equal(a, b) {
				t.Errorf("%s %s: two renders differ", name, format)
			}
		}
	}

	// And through Save.
	dir := t.TempDir()
	fig := testFigures()["heat"]
	p1, p2 := filepath.Join(dir, "1.png"), filepath.Join(dir, "2.png")
	for _, p := range []string{p1, p2} {
		if _, err := Save(p, fig, nil); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := os.ReadFile(p1)
	b, _ := os.ReadFile(p2)
	if !bytes.Equal(a, b) {
		t.Error("two saved PNGs differ")
	}
}

func TestCaptionLimit(t *testing.T) {
	var series []Series
	for range 20 {
		series = append(series, Series{Y: []float64{1, math.NaN()}})
	}
	data, notes := render(t, Line{Series: series}, &Options{Format: SVG})
	if len(notes) != 20 {
		t.Fatalf("got %d notes, want 20", len(notes))
	}
	text := svgText(t, data)
	if !strings.Contains(text, "(15 more notes not shown)") {
		t.Errorf("caption does not say how many notes it left out: %q", text)
	}
}

// mustPanic checks that f panics with a message starting "plots:".
func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("%s: no panic", name)
			return
		}
		msg, ok := r.(string)
		if !ok || !strings.HasPrefix(msg, "plots: ") {
			t.Errorf("%s: panic %#v, want a message starting %q", name, r, "plots: ")
		}
	}()
	f()
}

func TestMisusePanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		fig  Figure
	}{
		{"line X longer", Line{Series: []Series{{Name: "a", X: []float64{1, 2, 3}, Y: []float64{1, 2}}}}},
		{"line X shorter", Line{Series: []Series{{Y: []float64{1}}, {X: []float64{}, Y: []float64{1, 2}}}}},
		{"scatter", Scatter{Groups: []Series{{X: []float64{1}, Y: []float64{}}}}},
		{"bars", Bars{Categories: []string{"a", "b"}, Groups: []BarGroup{{Name: "x", Values: []float64{1}}}}},
		{"bars ragged", Bars{Groups: []BarGroup{{Values: []float64{1, 2}}, {Values: []float64{1}}}}},
		{"heat len", HeatMap{Z: []float64{1, 2, 3}, Rows: 2, Cols: 2}},
		{"heat no dims", HeatMap{Z: []float64{1, 2, 3}}},
		{"heat negative", HeatMap{Rows: -1, Cols: 0}},
		{"heat extent", HeatMap{Z: []float64{1}, Rows: 1, Cols: 1, XExtent: Extent{2, 1}}},
		{"heat extent inf", HeatMap{Z: []float64{1}, Rows: 1, Cols: 1, YExtent: Extent{0, math.Inf(1)}}},
		{"heat zrange", HeatMap{Z: []float64{1}, Rows: 1, Cols: 1, ZRange: Extent{1, 1}}},
		{"nil", nil},
	} {
		mustPanic(t, tc.name, func() { Write(io.Discard, tc.fig, nil) })
	}
	mustPanic(t, "save", func() {
		Save(filepath.Join(t.TempDir(), "x.png"), Line{Series: []Series{{X: []float64{1}}}}, nil)
	})
}

func TestTinyFigures(t *testing.T) {
	for name, fig := range testFigures() {
		for _, format := range []Format{PNG, SVG} {
			for _, px := range []image.Point{{1, 1}, {20, 15}, {60, 40}, {120, 90}, {3000, 20}, {20, 2000}} {
				opt := &Options{Format: format, WidthPx: px.X, HeightPx: px.Y, Density: 1}
				data, _ := render(t, fig, opt)
				if format == PNG {
					if got := pngSize(t, data); got != px {
						t.Errorf("%s: size %v, want %v", name, got, px)
					}
				} else {
					svgText(t, data)
				}
			}
		}
	}
}

// TestSaveWritesSVGBeside checks that Save writes an SVG beside a PNG,
// that both show the same figure, and that NoSVG and SVG paths write one
// file.
func TestSaveWritesSVGBeside(t *testing.T) {
	dir := t.TempDir()
	fig := testFigures()["line"]
	for _, tc := range []struct {
		file  string
		opt   *Options
		files []string
	}{
		{"a.png", nil, []string{"a.png", "a.svg"}},
		{"b", nil, []string{"b", "b.svg"}},
		{"c.png", &Options{NoSVG: true}, []string{"c.png"}},
		{"d.svg", nil, []string{"d.svg"}},
		{"e.svg", &Options{Format: PNG}, []string{"e.svg"}},
	} {
		sub := filepath.Join(dir, strings.TrimSuffix(tc.file, filepath.Ext(tc.file)))
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := Save(filepath.Join(sub, tc.file), fig, tc.opt); err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		entries, _ := os.ReadDir(sub)
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		if !slices.Equal(got, tc.files) {
			t.Errorf("%s: wrote %q, want %q", tc.file, got, tc.files)
		}
	}
	svg, err := os.ReadFile(filepath.Join(dir, "a", "a.svg"))
	if err != nil {
		t.Fatal(err)
	}
	text := svgText(t, svg)
	for _, want := range []string{"loss", "epoch", "train", "test"} {
		if !strings.Contains(text, want) {
			t.Errorf("a.svg lacks the text %q: %q", want, text)
		}
	}
	// Viewers without Liberation Sans get a metric-compatible font.
	if !bytes.Contains(svg, []byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")) {
		t.Errorf("a.svg names no fallback fonts")
	}
	if bytes.Contains(svg, []byte("font-family:Liberation Sans;")) {
		t.Errorf("a.svg still names Liberation Sans alone")
	}
}

// TestSVGFailureLeavesPNG makes the SVG beside a PNG impossible to write
// and checks that the PNG is then neither written nor changed.
func TestSVGFailureLeavesPNG(t *testing.T) {
	dir := t.TempDir()
	fig := testFigures()["bars"]
	png := filepath.Join(dir, "fig.png")
	if err := os.Mkdir(filepath.Join(dir, "fig.svg"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Save(png, fig, nil); err == nil || !strings.Contains(err.Error(), "fig.svg") {
		t.Errorf("SVG path taken by a directory: error %v, want one naming fig.svg", err)
	}
	if _, err := os.Stat(png); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("PNG written although its SVG failed: %v", err)
	}

	// An existing PNG is left as it was.
	old := []byte("old figure")
	if err := os.WriteFile(png, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Save(png, fig, nil); err == nil {
		t.Error("second save: no error")
	}
	if got, _ := os.ReadFile(png); !bytes.Equal(got, old) {
		t.Error("failed save changed the existing PNG")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("directory holds %d entries, want fig.png and fig.svg only (no temporary files)", len(entries))
	}
}

func TestDisplaySize(t *testing.T) {
	dir := t.TempDir()
	fig := testFigures()["scatter"]
	for _, tc := range []struct {
		opt        *Options
		w, h       int // CSS pixels
		pngW, pngH int
	}{
		{nil, 800, 500, 1600, 1000},
		{&Options{WidthPx: 640, HeightPx: 400}, 640, 400, 1280, 800},
		{&Options{WidthPx: 640, HeightPx: 400, Density: 3}, 640, 400, 1920, 1200},
		{&Options{WidthPx: 333, HeightPx: 217, Density: 1}, 333, 217, 333, 217},
	} {
		path := filepath.Join(dir, "f.png")
		if _, err := Save(path, fig, tc.opt); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(path)
		if got := pngSize(t, data); got != image.Pt(tc.pngW, tc.pngH) {
			t.Errorf("%+v: PNG %v, want %dx%d", tc.opt, got, tc.pngW, tc.pngH)
		}
		for _, f := range []string{"f.png", "f.svg"} {
			w, h, err := DisplaySize(filepath.Join(dir, f))
			if err != nil || w != tc.w || h != tc.h {
				t.Errorf("%+v: DisplaySize(%s) = %d, %d, %v; want %d, %d", tc.opt, f, w, h, err, tc.w, tc.h)
			}
		}
	}
	if _, _, err := DisplaySize(filepath.Join(dir, "missing.png")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error %v", err)
	}
	other := filepath.Join(dir, "x.txt")
	os.WriteFile(other, []byte("not a figure"), 0o644)
	if _, _, err := DisplaySize(other); !errors.Is(err, ErrFormat) {
		t.Errorf("text file: error %v, want ErrFormat", err)
	}
}
