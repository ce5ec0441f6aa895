package plots

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot/palette/moreland"
)

func TestHeatMapNotes(t *testing.T) {
	for _, tc := range []struct {
		name string
		fig  HeatMap
		want []string
	}{
		{
			name: "clean",
			fig:  HeatMap{Z: []float64{1, 2, 3, 4, 5, 6}, Rows: 2, Cols: 3},
		},
		{
			name: "signed",
			fig:  HeatMap{Z: []float64{-1, 2, 3, -4}, Rows: 2, Cols: 2},
		},
		{
			name: "NaN cells",
			fig:  HeatMap{Z: []float64{1, nan, 3, nan}, Rows: 2, Cols: 2},
			want: []string{"heat map: 2 cells are NaN, drawn in grey"},
		},
		{
			name: "NaN colour",
			fig:  HeatMap{Z: []float64{1, nan, 3, 4}, Rows: 2, Cols: 2, NaNColor: color.RGBA{R: 255, A: 255}},
			want: []string{"heat map: 1 cell is NaN, drawn in #ff0000"},
		},
		{
			name: "infinite cells",
			fig:  HeatMap{Z: []float64{1, inf, ninf, 2}, Rows: 1, Cols: 4},
			want: []string{"heat map: 2 cells are infinite, drawn in the end colours of the scale"},
		},
		{
			name: "constant",
			fig:  HeatMap{Z: []float64{3, 3, 3, 3, 3, 3}, Rows: 3, Cols: 2},
			want: []string{"heat map: all finite cells equal 3; colour scale widened"},
		},
		{
			name: "constant zero with NaN",
			fig:  HeatMap{Z: []float64{0, nan}, Rows: 2, Cols: 1},
			want: []string{
				"heat map: 1 cell is NaN, drawn in grey",
				"heat map: all finite cells equal 0; colour scale widened",
			},
		},
		{
			name: "single cell",
			fig:  HeatMap{Z: []float64{-2.5}, Rows: 1, Cols: 1},
			want: []string{"heat map: all finite cells equal -2.5; colour scale widened"},
		},
		{
			name: "constant with explicit range",
			fig:  HeatMap{Z: []float64{3, 3}, Rows: 1, Cols: 2, ZRange: Extent{0, 10}},
		},
		{
			name: "all NaN",
			fig:  HeatMap{Z: []float64{nan, nan, nan, nan}, Rows: 2, Cols: 2},
			want: []string{"heat map: all 4 cells are NaN, drawn in grey"},
		},
		{
			name: "only cell infinite",
			fig:  HeatMap{Z: []float64{inf}, Rows: 1, Cols: 1},
			want: []string{"heat map: the only cell is infinite, drawn in the end colours of the scale"},
		},
		{
			name: "empty",
			fig:  HeatMap{Title: "nothing"},
			want: []string{"heat map: grid is empty (0 x 0)"},
		},
		{
			name: "no rows",
			fig:  HeatMap{Z: []float64{}, Rows: 0, Cols: 5},
			want: []string{"heat map: grid is empty (0 x 5)"},
		},
	} {
		for _, format := range []Format{PNG, SVG} {
			data, notes := render(t, tc.fig, &Options{Format: format, WidthPx: 300, HeightPx: 200})
			if !reflect.DeepEqual(notes, tc.want) && len(notes)+len(tc.want) > 0 {
				t.Errorf("%s (%s): notes\n%q\nwant\n%q", tc.name, format, notes, tc.want)
			}
			if format == SVG {
				svgText(t, data)
			}
		}
	}
}

// luminance returns the grey level of the pixel at fractions (fx, fy) of
// a PNG's width and height.
func luminance(t *testing.T, data []byte, fx, fy float64) uint8 {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	p := image.Pt(b.Min.X+int(fx*float64(b.Dx())), b.Min.Y+int(fy*float64(b.Dy())))
	return color.GrayModel.Convert(img.At(p.X, p.Y)).(color.Gray).Y
}

func TestHeatMapOrientation(t *testing.T) {
	// Two rows: row 0 holds the minimum (black in the default sequential
	// map), row 1 the maximum (white).
	fig := HeatMap{Z: []float64{0, 1}, Rows: 2, Cols: 1}
	data, _ := render(t, fig, nil)
	top, bottom := luminance(t, data, 0.4, 0.25), luminance(t, data, 0.4, 0.65)
	if !(top < 50 && bottom > 200) {
		t.Errorf("default origin: top %d, bottom %d; want row 0 (dark) on top", top, bottom)
	}

	fig.OriginLower = true
	data, _ = render(t, fig, nil)
	top, bottom = luminance(t, data, 0.4, 0.25), luminance(t, data, 0.4, 0.65)
	if !(top > 200 && bottom < 50) {
		t.Errorf("OriginLower: top %d, bottom %d; want row 0 (dark) at the bottom", top, bottom)
	}

	// The same for a grid big enough to be drawn as an image: rows
	// 100–199 bright.
	big := HeatMap{Z: make([]float64, 200*100), Rows: 200, Cols: 100}
	for i := 100 * 100; i < len(big.Z); i++ {
		big.Z[i] = 1
	}
	data, _ = render(t, big, nil)
	top, bottom = luminance(t, data, 0.4, 0.25), luminance(t, data, 0.4, 0.65)
	if !(top < 50 && bottom > 200) {
		t.Errorf("big grid: top %d, bottom %d; want row 0 (dark) on top", top, bottom)
	}
}

func TestHeatMapColorMap(t *testing.T) {
	cm := moreland.Kindlmann()
	fig := HeatMap{Z: []float64{1, 2, 3, 4}, Rows: 2, Cols: 2, ColorMap: cm}
	render(t, fig, nil)
	if cm.Min() != 1 || cm.Max() != 4 {
		t.Errorf("ColorMap range [%v, %v], want data range [1, 4]", cm.Min(), cm.Max())
	}
	fig.ZRange = Extent{-10, 10}
	render(t, fig, &Options{Format: SVG})
	if cm.Min() != -10 || cm.Max() != 10 {
		t.Errorf("ColorMap range [%v, %v], want ZRange [-10, 10]", cm.Min(), cm.Max())
	}
	// A user map is not made symmetric.
	fig = HeatMap{Z: []float64{-1, 4}, Rows: 1, Cols: 2, ColorMap: cm}
	render(t, fig, nil)
	if cm.Min() != -1 || cm.Max() != 4 {
		t.Errorf("ColorMap range [%v, %v], want [-1, 4]", cm.Min(), cm.Max())
	}

	// NaN cells take NaNColor.
	red := color.RGBA{R: 255, A: 255}
	data, _ := render(t, HeatMap{Z: []float64{nan, nan}, Rows: 1, Cols: 2, NaNColor: red}, nil)
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if got := color.RGBAModel.Convert(img.At(b.Dx()*4/10, b.Dy()/3)); got != red {
		t.Errorf("NaN cell colour %v, want %v", got, red)
	}
}

func TestGrid(t *testing.T) {
	z := []float64{0, 1, 2, 3, 4, 5, 6, 7}
	g := grid{z: z, rows: 2, cols: 4, x: Extent{0, 4}, y: Extent{0, 1}}
	if c, r := g.Dims(); c != 4 || r != 2 {
		t.Errorf("Dims %d, %d", c, r)
	}
	if g.X(0) != 0.5 || g.X(3) != 3.5 || g.Y(0) != 0.25 || g.Y(1) != 0.75 {
		t.Errorf("centres X %v %v Y %v %v", g.X(0), g.X(3), g.Y(0), g.Y(1))
	}
	if g.Z(2, 1) != 6 {
		t.Errorf("Z(2, 1) = %v, want 6", g.Z(2, 1))
	}
	g.flip = true // row 0 on top: grid row 0 (bottom) is data row 1
	if g.Z(2, 0) != 6 || g.Z(2, 1) != 2 {
		t.Errorf("flipped Z(2, 0) = %v, Z(2, 1) = %v; want 6, 2", g.Z(2, 0), g.Z(2, 1))
	}
	if g.Y(0) != -0.75 || g.Y(1) != -0.25 {
		t.Errorf("flipped Y %v %v, want -0.75 -0.25", g.Y(0), g.Y(1))
	}
}

func TestIndexTicks(t *testing.T) {
	labels := func(min, max float64) []string {
		var l []string
		for _, tk := range (indexTicks{}).Ticks(min, max) {
			l = append(l, tk.Label)
		}
		return l
	}
	for _, tc := range []struct {
		min, max float64
		want     []string
	}{
		{-0.5, 0.5, []string{"0"}},
		{-0.5, 5.5, []string{"0", "1", "2", "3", "4", "5"}},
		{-0.5, 27.5, []string{"0", "5", "10", "15", "20", "25"}},
		{-0.5, 99.5, []string{"0", "20", "40", "60", "80"}},
		{0.2, 0.8, nil},
	} {
		if got := labels(tc.min, tc.max); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("[%v, %v]: %q, want %q", tc.min, tc.max, got, tc.want)
		}
	}
	// Negated, as for a downward Y axis: labels are the row indices.
	ticks := negatedTicks{indexTicks{}}.Ticks(-2.5, 0.5)
	if len(ticks) != 3 || ticks[0].Value != 0 || ticks[0].Label != "0" || ticks[2].Value != -2 || ticks[2].Label != "2" {
		t.Errorf("negated ticks %v", ticks)
	}
}

// TestHeatMapIndexTicks checks that IndexTicks labels cells numbered from
// 1 at their centres, with whole numbers only, where the same extents
// alone give round linear ticks at cell edges too.
func TestHeatMapIndexTicks(t *testing.T) {
	fig := HeatMap{
		Z: []float64{1, 2, 3, 4, 5, 6}, Rows: 3, Cols: 2,
		XExtent: Extent{Min: 0.5, Max: 2.5}, YExtent: Extent{Min: 0.5, Max: 3.5},
		ZRange: Extent{Min: 100, Max: 200}, // colour-bar labels apart from the axes'
	}
	labels := func(fig HeatMap) []string {
		data, _ := render(t, fig, &Options{Format: SVG, WidthPx: 400, HeightPx: 300})
		var l []string
		for _, f := range strings.Fields(svgText(t, data)) {
			if v, err := strconv.ParseFloat(f, 64); err == nil && v < 100 {
				l = append(l, f)
			}
		}
		slices.Sort(l)
		return l
	}
	if got := labels(fig); !slices.Contains(got, "1.5") {
		t.Errorf("without IndexTicks: labels %q, want linear ticks such as 1.5", got)
	}
	fig.IndexTicks = true
	want := []string{"1", "1", "2", "2", "3"} // columns 1, 2 and rows 1, 2, 3
	if got := labels(fig); !slices.Equal(got, want) {
		t.Errorf("IndexTicks: labels %q, want %q", got, want)
	}
}
