package plots_test

import (
	"bytes"
	"fmt"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/adjointkit/adjointkit/plots"
)

// pngSize returns the pixel size of the PNG file at path.
func pngSize(path string) string {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		log.Fatal(err)
	}
	return fmt.Sprintf("%dx%d", cfg.Width, cfg.Height)
}

// Gradient norms per layer on a log axis. Layer 3's gradient vanishes
// and then turns NaN; those points cannot be drawn on a log axis, so
// they are dropped and reported. The PNG is drawn at twice the
// default 800 × 500 CSS-pixel size.
func Example() {
	dir, err := os.MkdirTemp("", "plots-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	fig := plots.Line{
		Title: "gradient norm per layer",
		X:     plots.Axis{Label: "step"},
		Y:     plots.Axis{Label: "‖∂L/∂θ_l‖", Log: true}, // markup: θ with subscript l
		Series: []plots.Series{
			{Name: "layer 1", Y: []float64{1, 0.8, 0.7, 0.65, 0.6}},
			{Name: "layer 2", Y: []float64{1e-1, 1e-2, 1e-3, 1e-4, 1e-5}},
			{Name: "layer 3", Y: []float64{1e-3, 1e-6, 0, 0, math.NaN()}, Points: true},
		},
	}
	path := filepath.Join(dir, "grads.png")
	notes, err := plots.Save(path, fig, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range notes {
		fmt.Println(n)
	}
	fmt.Println(pngSize(path))
	// Output:
	// log y: dropped 3 non-positive/NaN points from series 'layer 3'
	// 1600x1000
}

// A saliency map held as a flat row-major slice, saved at a size given in
// pixels. Row 0 is drawn at the top, as in an image.
func ExampleHeatMap() {
	dir, err := os.MkdirTemp("", "plots-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	const rows, cols = 8, 8
	sal := make([]float64, rows*cols)
	for r := range rows {
		for c := range cols {
			sal[r*cols+c] = math.Exp(-float64((r-3)*(r-3)+(c-4)*(c-4)) / 4)
		}
	}
	sal[0] = math.NaN() // a masked pixel

	fig := plots.HeatMap{
		Title:      "saliency",
		Z:          sal,
		Rows:       rows,
		Cols:       cols,
		ColorLabel: "|∂y/∂x|",
	}
	path := filepath.Join(dir, "saliency.png")
	notes, err := plots.Save(path, fig, &plots.Options{WidthPx: 480, HeightPx: 400})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(notes)
	fmt.Println(pngSize(path))
	// Output:
	// [heat map: 1 cell is NaN, drawn in grey]
	// 960x800
}

// Two 8 × 8 images and their signed maps in a grid: the images on a grey
// scale from 0 to 1, each map on its own ±max |value|, with a colour bar
// for each scale. HeightPx sizes the figure to fit the grid at the
// chosen width.
func ExampleImageGrid() {
	dir, err := os.MkdirTemp("", "plots-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	const n = 8
	var rows [][]plots.Image
	for k := range 2 {
		img := plots.Image{Pix: make([]float64, n*n), Width: n, Height: n, Label: fmt.Sprintf("digit %d", k)}
		sal := plots.Image{Pix: make([]float64, n*n), Width: n, Height: n, Scale: 1}
		for i := range img.Pix {
			r, c := i/n, i%n
			img.Pix[i] = math.Exp(-float64((r-3-k)*(r-3-k)+(c-4)*(c-4)) / 4)
			sal.Pix[i] = float64(c-r) * float64(k+1)
		}
		rows = append(rows, []plots.Image{img, sal})
	}
	fig := plots.ImageGrid{
		Title:     "inputs and saliency",
		Images:    rows,
		ColLabels: []string{"input", "∂y/∂x"},
		Scales: []plots.ImageScale{
			{Palette: plots.Grey, Range: plots.Extent{Min: 0, Max: 1}, ColorBar: true, Label: "pixel"},
			{Palette: plots.Diverging, PerImage: true, ColorBar: true, Label: "value / max |value|"},
		},
	}
	h := fig.HeightPx(400)
	path := filepath.Join(dir, "grid.png")
	notes, err := plots.Save(path, fig, &plots.Options{WidthPx: 400, HeightPx: h})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(notes)
	fmt.Println(pngSize(path))
	// Output:
	// []
	// 800x598
}

// Errors of several gradient methods per problem, on a log axis, written
// as SVG to a buffer. The adjoint method's exact zero cannot be drawn.
func ExampleBars() {
	fig := plots.Bars{
		Title:      "gradient error",
		Categories: []string{"linear", "van der Pol", "Lotka–Volterra"},
		Groups: []plots.BarGroup{
			{Name: "adjoint", Values: []float64{1e-12, 3e-9, 0}},
			{Name: "forward FD", Values: []float64{2e-6, 5e-5, 1e-4}},
		},
		Y:      plots.Axis{Label: "relative error", Log: true},
		Legend: plots.TopLeft,
	}
	var buf bytes.Buffer
	notes, err := plots.Write(&buf, fig, &plots.Options{Format: plots.SVG})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(notes)
	fmt.Println(bytes.Contains(buf.Bytes(), []byte("<svg")))
	// Output:
	// [log y: dropped 1 non-positive bar from group 'adjoint']
	// true
}

// Two groups of points on log axes; a point at x = 0 is dropped.
func ExampleScatter() {
	fig := plots.Scatter{
		X: plots.Axis{Label: "step size", Log: true},
		Y: plots.Axis{Label: "error", Log: true},
		Groups: []plots.Series{
			{Name: "central", X: []float64{0, 1e-4, 1e-3, 1e-2}, Y: []float64{1e-9, 1e-8, 1e-6, 1e-4}},
			{Name: "forward", X: []float64{1e-4, 1e-3, 1e-2}, Y: []float64{1e-4, 1e-3, 1e-2}},
		},
	}
	var buf bytes.Buffer
	notes, err := plots.Write(&buf, fig, nil) // PNG
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := png.DecodeConfig(&buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(notes)
	fmt.Println(cfg.Width, cfg.Height)
	// Output:
	// [log x: dropped 1 non-positive point from group 'central']
	// 1600 1000
}

// Global error against step size on log-log axes, with a line of slope 4
// drawn as a reference and the range of step sizes too large to be stable
// shaded. Save writes the PNG and an SVG beside it; DisplaySize gives
// the size, in CSS pixels, to show the PNG at in HTML.
func ExampleLine() {
	dir, err := os.MkdirTemp("", "plots-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	h := []float64{0.4, 0.2, 0.1, 0.05, 0.025}
	euler, rk4 := make([]float64, len(h)), make([]float64, len(h))
	for i, v := range h {
		euler[i], rk4[i] = 0.5*v, 0.02*math.Pow(v, 4)
	}
	fig := plots.Line{
		Title: "global error at T = 1",
		X:     plots.Axis{Label: "step size h", Log: true},
		Y:     plots.Axis{Label: "‖y_N − y(T)‖", Log: true},
		Series: []plots.Series{
			{Name: "Euler", X: h, Y: euler, Points: true},
			{Name: "RK4", X: h, Y: rk4, Points: true},
			// A guide, not data: near-black, outside the colour cycle.
			{Name: "slope 4", X: []float64{0.4, 0.025}, Y: []float64{1e-3, 1e-3 / math.Pow(16, 4)}, Reference: true, Dash: plots.Dashed},
		},
		Spans: []plots.Span{{X: plots.Extent{Min: 0.3, Max: 0.4}, Label: "unstable for h > 0.3"}},
		// Legend: the zero value, Auto, puts the legend in a corner the
		// data leave free, or outside the plot.
	}
	path := filepath.Join(dir, "convergence.png")
	if _, err := plots.Save(path, fig, &plots.Options{WidthPx: 640, HeightPx: 400}); err != nil {
		log.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		fmt.Println(e.Name())
	}
	fmt.Println("PNG pixels:", pngSize(path))
	w, hgt, err := plots.DisplaySize(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("<img src=\"convergence.png\" width=\"%d\" height=\"%d\">\n", w, hgt)
	// Output:
	// convergence.png
	// convergence.svg
	// PNG pixels: 1280x800
	// <img src="convergence.png" width="640" height="400">
}

// Text taken verbatim, such as a configuration key, is escaped so that
// its underscores are not read as subscripts.
func ExampleEscape() {
	fmt.Println(plots.Escape("max_iter"))
	// Output: max\_iter
}

// A small map of a gradient flow: three blocks in a box, each coloured by
// its cotangent norm on a log scale, edges as wide as their gains; and the
// same graph in Graphviz's DOT language.
func ExampleGraph() {
	fig := plots.Graph{
		Title:  "gradient flow",
		Groups: []plots.GraphGroup{{Label: "model"}},
		Nodes: []plots.GraphNode{
			{Label: "loss", Value: 1, Group: 1},
			{Label: "layer_2", Value: 0.3, Group: 1},
			{Label: "layer_1", Value: 0.02, Group: 1},
		},
		Edges: []plots.GraphEdge{
			{From: 0, To: 1, Value: 0.3},
			{From: 1, To: 2, Value: 0.07},
		},
		LogColor: true, ColorLabel: "‖∂L/∂h‖", EdgeLabel: "gain",
	}
	var png, dot bytes.Buffer
	notes, err := plots.Write(&png, fig, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := plots.WriteDOT(&dot, fig); err != nil {
		log.Fatal(err)
	}
	fmt.Println(notes, png.Len() > 0)
	for _, line := range strings.Split(dot.String(), "\n") {
		if strings.Contains(line, "->") || strings.Contains(line, "n2 [") {
			fmt.Println(strings.TrimSpace(line))
		}
	}
	// Output:
	// [] true
	// n2 [label=<layer<SUB>1</SUB>>, fillcolor="#000000", fontcolor="#ffffff", tooltip="0.02"];
	// n0 -> n1 [penwidth=1.45, tooltip="0.3"];
	// n1 -> n2 [penwidth=0.50, tooltip="0.07"];
}
