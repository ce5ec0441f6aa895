package plots

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ImageGrid is a figure of small images in rows and columns — digits, a
// model's reconstructions and samples, attribution maps beside the input
// they explain — each drawn pixel for pixel on a colour scale, with
// optional labels for the rows, the columns and each image, and a colour
// bar per scale. It has no axes: pixel indices mean nothing to a reader.
//
// Every image is drawn with square pixels, all at one size: the grid's
// cells are as wide as the widest image and as tall as the tallest, and
// as large as the figure allows. HeightPx gives the figure height that
// fits a grid drawn at a given width without spare room.
//
// NaN pixels are drawn mid grey and infinite ones in the end colours of
// their scale, each counted in a note; so is an image whose values are
// all equal on a scale of its own (it is drawn in the scale's middle
// colour).
type ImageGrid struct {
	// Title is printed above the figure (markup), wrapped to its width;
	// empty means none.
	Title string

	// Images holds the grid row by row: Images[r][c] is drawn in row r,
	// column c. Rows may be of different lengths; the grid has as many
	// columns as the longest. An Image without Pix leaves its cell blank.
	Images [][]Image

	// RowLabels, when not nil, holds one label per row (markup), drawn to
	// the left of the row. ColLabels, when not nil, holds one label per
	// column (markup), drawn above it and wrapped to its width.
	RowLabels, ColLabels []string

	// Scales are the colour scales images are drawn on; Image.Scale
	// picks one. Nil means a single default ImageScale: grey, over the
	// range of all the images, without a colour bar.
	Scales []ImageScale
}

// Image is one image of an ImageGrid.
type Image struct {
	// Pix holds Height rows of Width values, the top row first. Nil
	// leaves the cell blank. len(Pix) must be Width*Height, or Save and
	// Write panic.
	Pix []float64
	// Width and Height are the image's size in pixels.
	Width, Height int
	// Scale is the index in ImageGrid.Scales of the colour scale the
	// image is drawn on; zero means the first.
	Scale int
	// Label is printed under the image (markup), in the notes' small
	// font; empty means none.
	Label string
}

// ImagePalette is the colour ramp of an ImageScale.
type ImagePalette int

// The palettes.
const (
	// Grey, the zero value, runs from black at the low end of the range
	// to white at the high end, evenly in lightness: for images such as
	// pixel intensities and probabilities.
	Grey ImagePalette = iota
	// Diverging runs from blue through a light grey to red (Moreland's
	// smooth blue–red map, the heat maps' diverging map) over a range
	// centred on zero, so that zero is the neutral grey: for signed maps
	// such as attributions and perturbations.
	Diverging
)

// ImageScale is a colour scale of an ImageGrid.
type ImageScale struct {
	// Palette is the colour ramp; the zero value is Grey.
	Palette ImagePalette

	// Range fixes the values at the two ends of the ramp; values outside
	// it take the end colours. The zero Extent means the range of the
	// finite values of all images on this scale — for Diverging, the
	// range ±max |value| — or, with PerImage, of each image on its own.
	Range Extent

	// PerImage draws each image on a range of its own: [min, max] of
	// its values for Grey, ±max |value| for Diverging. The colour bar
	// then shows the normalised values, 0 to 1 for Grey and −1 to 1 for
	// Diverging (value / max |value|). It may not be combined with Range.
	PerImage bool

	// ColorBar draws the scale's colour bar to the right of the grid,
	// labelled Label (markup; empty means no label). False means none.
	ColorBar bool
	Label    string
}

var _ Figure = ImageGrid{}

// Image grid layout.
var (
	imageGap      = vg.Points(3) // between the cells of a row or a column
	imageLabelGap = vg.Points(6) // between row labels and the grid, column labels and the grid
	imageTextGap  = vg.Points(1) // between an image and its label
	imageFrame    = draw.LineStyle{Color: color.Gray{Y: 0xc8}, Width: vg.Points(0.5)}
)

// imageScale is an ImageScale resolved for drawing.
type imageScale struct {
	ImageScale
	pal    colors  // paletteSize colours over [0, 1]
	lo, hi float64 // the shared range (not used with PerImage)
	bar    colorBar
}

// imageGridDrawing is a checked ImageGrid with its scales resolved.
type imageGridDrawing struct {
	f          ImageGrid
	rows, cols int
	maxW, maxH int // the largest image size, in pixels
	scales     []imageScale
	labels     bool // some image has a Label
}

func (f ImageGrid) layout(format Format) (drawFunc, []string) {
	d, notes := f.resolve()
	return func(c draw.Canvas) { d.draw(c, format) }, notes
}

// HeightPx returns the height in CSS pixels at which the figure, drawn
// widthPx CSS pixels wide, fits the grid without spare room: the images
// as large as the width allows, with the title, labels, colour bars and
// notes. Pass both to Save in Options.WidthPx and HeightPx. It panics, as
// Save does, if the grid's data are malformed.
func (f ImageGrid) HeightPx(widthPx int) int {
	d, notes := f.resolve()
	w := vg.Length(widthPx) * cssPixel
	margin := min(figureMargin, w/8)
	inner := w - 2*margin
	g := d.geometry(inner, vg.Length(math.Inf(1)))
	h := g.height + captionHeight(notes, inner) + 2*margin
	return int(math.Ceil(float64(h/cssPixel) - 1e-9))
}

// resolve checks the grid's data, panicking on misuse, and computes the
// colour scales and the notes.
func (f ImageGrid) resolve() (imageGridDrawing, []string) {
	d := imageGridDrawing{f: f, rows: len(f.Images)}
	scales := f.Scales
	if scales == nil {
		scales = []ImageScale{{}}
	}
	for r, row := range f.Images {
		d.cols = max(d.cols, len(row))
		for c, im := range row {
			if im.Pix == nil {
				continue
			}
			if im.Width <= 0 || im.Height <= 0 || len(im.Pix) != im.Width*im.Height {
				panic(fmt.Sprintf("plots: image grid: image (%d, %d) has %d values for %d × %d pixels", r, c, len(im.Pix), im.Width, im.Height))
			}
			if im.Scale < 0 || im.Scale >= len(scales) {
				panic(fmt.Sprintf("plots: image grid: image (%d, %d) uses scale %d of %d", r, c, im.Scale, len(scales)))
			}
			d.maxW, d.maxH = max(d.maxW, im.Width), max(d.maxH, im.Height)
			if im.Label != "" {
				d.labels = true
			}
		}
	}
	if f.RowLabels != nil && len(f.RowLabels) != d.rows {
		panic(fmt.Sprintf("plots: image grid has %d row labels for %d rows", len(f.RowLabels), d.rows))
	}
	if f.ColLabels != nil && len(f.ColLabels) != d.cols {
		panic(fmt.Sprintf("plots: image grid has %d column labels for %d columns", len(f.ColLabels), d.cols))
	}

	var notes []string
	for k, s := range scales {
		s.Range.check(fmt.Sprintf("image grid scale %d Range", k))
		if s.PerImage && !s.Range.isZero() {
			panic(fmt.Sprintf("plots: image grid scale %d has both PerImage and a Range", k))
		}
		if s.Palette != Grey && s.Palette != Diverging {
			panic(fmt.Sprintf("plots: image grid scale %d has unknown palette %d", k, s.Palette))
		}
		is := imageScale{ImageScale: s}
		is.lo, is.hi = math.Inf(1), math.Inf(-1)
		var nan, inf, flat int
		for _, row := range f.Images {
			for _, im := range row {
				if im.Pix == nil || im.Scale != k {
					continue
				}
				lo, hi, n, i := finiteRange(im.Pix)
				nan, inf = nan+n, inf+i
				is.lo, is.hi = math.Min(is.lo, lo), math.Max(is.hi, hi)
				if s.PerImage && !(lo < hi) {
					flat++
				}
			}
		}
		where := ""
		if len(scales) > 1 {
			where = fmt.Sprintf(" on scale %d", k+1)
		}
		if nan > 0 {
			notes = append(notes, fmt.Sprintf("image grid: %s%s NaN, drawn in %s", countOf(nan, "pixel is", "pixels are"), where, colorName(defaultNaNColor)))
		}
		if inf > 0 {
			notes = append(notes, fmt.Sprintf("image grid: %s%s infinite, drawn in the end colours of the scale", countOf(inf, "pixel is", "pixels are"), where))
		}
		if flat > 0 {
			notes = append(notes, fmt.Sprintf("image grid: %s%s all values equal, drawn in the middle colour", countOf(flat, "image has", "images have"), where))
		}
		switch {
		case s.PerImage:
			is.lo, is.hi = 0, 1
			if s.Palette == Diverging {
				is.lo = -1
			}
		case !s.Range.isZero():
			is.lo, is.hi = s.Range.Min, s.Range.Max
		default:
			if s.Palette == Diverging {
				m := math.Max(math.Abs(is.lo), math.Abs(is.hi))
				is.lo, is.hi = -m, m
			}
			if !(is.lo < is.hi) { // no finite values, or all equal
				is.lo, is.hi = widen(is.lo, is.hi)
				if !math.IsInf(is.lo, 0) {
					notes = append(notes, fmt.Sprintf("image grid: all finite values%s equal %s; colour scale widened", where, formatTick((is.lo+is.hi)/2)))
				}
			}
		}
		if math.IsInf(is.hi-is.lo, 0) {
			is.lo, is.hi = math.Max(is.lo, -math.MaxFloat64/2), math.Min(is.hi, math.MaxFloat64/2)
		}
		cm := s.Palette.colorMap()
		cm.SetMax(is.hi)
		cm.SetMin(is.lo)
		is.pal = safeMap{cm}.palette(paletteSize)
		if s.ColorBar {
			is.bar = newColorBar(safeMap{cm}, is.lo, is.hi, s.Label)
		}
		d.scales = append(d.scales, is)
	}
	return d, notes
}

// finiteRange returns the least and greatest finite values of v (+Inf and
// −Inf if none) and the numbers of NaN and infinite values.
func finiteRange(v []float64) (lo, hi float64, nan, inf int) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		switch {
		case math.IsNaN(x):
			nan++
		case math.IsInf(x, 0):
			inf++
		default:
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
	}
	return lo, hi, nan, inf
}

// widen returns a proper range around lo = hi (±|lo|/10, or ±0.5 around
// zero), or [0, 1] if lo > hi (no values): the colour range of data
// without a spread.
func widen(lo, hi float64) (float64, float64) {
	if lo > hi {
		return 0, 1
	}
	d := math.Abs(lo) / 10
	if d == 0 {
		d = 0.5
	}
	return math.Max(lo-d, -math.MaxFloat64), math.Min(hi+d, math.MaxFloat64)
}

// colorMap returns a fresh colour map of the palette.
func (p ImagePalette) colorMap() palette.ColorMap {
	if p == Diverging {
		return moreland.SmoothBlueRed()
	}
	cm, err := moreland.NewLuminance([]color.Color{color.Black, color.White})
	if err != nil {
		panic("plots: grey ramp: " + err.Error()) // fixed controls: cannot happen
	}
	return cm
}

// gridGeometry is where an ImageGrid's parts go, relative to the top
// left corner of its area.
type gridGeometry struct {
	titleLines []string
	titleH     vg.Length // the title's lines and padding
	rowLabelW  vg.Length // row labels and their gap
	colLines   [][]string
	colLabelH  vg.Length // column labels and their gap
	cellW      vg.Length
	cellH      vg.Length // the image part of a cell
	labelH     vg.Length // the image label under it, if any
	barsW      vg.Length // the colour bars with their gaps
	width      vg.Length // everything from the row labels to the last bar
	height     vg.Length // everything from the title to the last row
}

// styles returns the text styles of the title, the row and column
// labels, and the image labels.
func imageGridStyles() (title, rowLabel, colLabel, imageLabel text.Style) {
	title = textStyle(titleSize)
	title.XAlign, title.YAlign = draw.XCenter, draw.YTop
	rowLabel = textStyle(legendSize)
	rowLabel.XAlign, rowLabel.YAlign = draw.XRight, draw.YCenter
	colLabel = textStyle(legendSize)
	colLabel.XAlign, colLabel.YAlign = draw.XCenter, draw.YBottom
	imageLabel = textStyle(captionSize)
	imageLabel.XAlign, imageLabel.YAlign = draw.XCenter, draw.YTop
	return
}

// lineHeight returns the height of one line of text in sty.
func lineHeight(sty text.Style) vg.Length { return sty.Rectangle("Mg").Size().Y }

// geometry lays the grid out in an area w wide and h high (h may be
// infinite: then the width alone decides the size of the images).
func (d imageGridDrawing) geometry(w, h vg.Length) gridGeometry {
	var g gridGeometry
	titleSty, rowSty, colSty, imSty := imageGridStyles()
	if d.f.Title != "" {
		g.titleLines = wrapWords(titleSty, d.f.Title, w)
		g.titleH = vg.Length(len(g.titleLines))*lineHeight(titleSty) + titlePadding
	}
	for _, l := range d.f.RowLabels {
		g.rowLabelW = max(g.rowLabelW, rowSty.Width(l))
	}
	if g.rowLabelW > 0 {
		g.rowLabelW += imageLabelGap
	}
	for _, s := range d.scales {
		if s.ColorBar {
			g.barsW += colorBarGap + s.bar.width()
		}
	}
	if d.labels {
		g.labelH = imageTextGap + lineHeight(imSty)
	}
	if d.rows == 0 || d.cols == 0 || d.maxW == 0 {
		g.height = g.titleH
		return g
	}
	rows, cols := vg.Length(d.rows), vg.Length(d.cols)
	gaps := func(n vg.Length) vg.Length { return (n - 1) * imageGap }
	// The unit is the length of one image pixel. Column labels wrap to
	// the cell width, which depends on the unit: a few rounds settle it.
	fromW := (w - g.rowLabelW - g.barsW - gaps(cols)) / (cols * vg.Length(d.maxW))
	unit := fromW
	for range 3 {
		g.colLines, g.colLabelH = nil, 0
		lines := 0
		for _, l := range d.f.ColLabels {
			wl := wrapWords(colSty, l, vg.Length(d.maxW)*unit)
			g.colLines = append(g.colLines, wl)
			lines = max(lines, len(wl))
		}
		if lines > 0 {
			g.colLabelH = vg.Length(lines)*lineHeight(colSty) + imageLabelGap
		}
		fromH := (h - g.titleH - g.colLabelH - rows*g.labelH - gaps(rows)) / (rows * vg.Length(d.maxH))
		unit = max(0, min(fromW, fromH))
	}
	g.cellW, g.cellH = vg.Length(d.maxW)*unit, vg.Length(d.maxH)*unit
	g.width = g.rowLabelW + cols*g.cellW + gaps(cols) + g.barsW
	g.height = g.titleH + g.colLabelH + rows*(g.cellH+g.labelH) + gaps(rows)
	return g
}

// draw draws the grid into c, centred across and from the top down.
func (d imageGridDrawing) draw(c draw.Canvas, format Format) {
	w, h := c.Max.X-c.Min.X, c.Max.Y-c.Min.Y
	g := d.geometry(w, h)
	titleSty, rowSty, colSty, imSty := imageGridStyles()
	top := c.Max.Y
	lh := lineHeight(titleSty)
	for i, l := range g.titleLines {
		c.FillText(titleSty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: top - vg.Length(i)*lh}, l)
	}
	if !(g.cellW > 0) {
		return
	}
	dpi := 0.0
	if format == PNG {
		dpi = canvasDPI(c.Canvas)
	}
	left := c.Min.X + (w-g.width)/2 + g.rowLabelW
	gridTop := top - g.titleH - g.colLabelH
	cellX := func(col int) vg.Length { return left + vg.Length(col)*(g.cellW+imageGap) }
	cellTop := func(row int) vg.Length { return gridTop - vg.Length(row)*(g.cellH+g.labelH+imageGap) }

	clh := lineHeight(colSty)
	for col, lines := range g.colLines {
		x := cellX(col) + g.cellW/2
		for i, l := range lines {
			y := gridTop + imageLabelGap + vg.Length(len(lines)-1-i)*clh
			c.FillText(colSty, vg.Point{X: x, Y: y}, l)
		}
	}
	for row, l := range d.f.RowLabels {
		c.FillText(rowSty, vg.Point{X: left - imageLabelGap, Y: cellTop(row) - g.cellH/2}, l)
	}
	for row, ims := range d.f.Images {
		for col, im := range ims {
			if im.Pix == nil {
				continue
			}
			// The image, centred in its cell at the common pixel size.
			iw := g.cellW * vg.Length(im.Width) / vg.Length(d.maxW)
			ih := g.cellH * vg.Length(im.Height) / vg.Length(d.maxH)
			x0 := cellX(col) + (g.cellW-iw)/2
			y1 := cellTop(row) - (g.cellH-ih)/2
			r := vg.Rectangle{Min: vg.Point{X: x0, Y: y1 - ih}, Max: vg.Point{X: x0 + iw, Y: y1}}
			if dpi > 0 {
				r = snapRect(r, dpi)
			}
			c.DrawImage(r, d.raster(im, r, dpi))
			c.StrokeLines(imageFrame, append(rectPoints(r), r.Min))
			if im.Label != "" {
				c.FillText(imSty, vg.Point{X: cellX(col) + g.cellW/2, Y: cellTop(row) - g.cellH - imageTextGap}, im.Label)
			}
		}
	}
	x := left + vg.Length(d.cols)*(g.cellW+imageGap) - imageGap
	barTop := gridTop
	barBottom := cellTop(d.rows-1) - g.cellH
	for _, s := range d.scales {
		if !s.ColorBar {
			continue
		}
		r := vg.Rectangle{Min: vg.Point{X: x + colorBarGap, Y: barBottom}, Max: vg.Point{X: x + colorBarGap + colorBarWidth, Y: barTop}}
		if sensible(r) {
			s.bar.draw(c, r)
		}
		x += colorBarGap + s.bar.width()
	}
}

// canvasDPI returns the resolution of the raster canvas under the
// (possibly nested) draw.Canvas c, or 0 if it has none.
func canvasDPI(c vg.Canvas) float64 {
	for {
		switch v := c.(type) {
		case interface{ DPI() float64 }:
			return v.DPI()
		case draw.Canvas:
			c = v.Canvas
		case *draw.Canvas:
			c = v.Canvas
		default:
			return 0
		}
	}
}

// snapRect moves the corners of r to the nearest device pixels at dpi,
// so that image pixels land on whole device pixels.
func snapRect(r vg.Rectangle, dpi float64) vg.Rectangle {
	snap := func(l vg.Length) vg.Length {
		return vg.Length(math.Round(float64(l)*dpi/float64(vg.Inch)) * float64(vg.Inch) / dpi)
	}
	return vg.Rectangle{Min: vg.Point{X: snap(r.Min.X), Y: snap(r.Min.Y)}, Max: vg.Point{X: snap(r.Max.X), Y: snap(r.Max.Y)}}
}

// raster returns im in its scale's colours. For a PNG (dpi > 0) it is
// scaled up to the device pixels of r by repeating pixels, so that the
// renderer, which interpolates, draws sharp pixels; an SVG embeds the
// image at its own size and asks the viewer not to smooth it.
func (d imageGridDrawing) raster(im Image, r vg.Rectangle, dpi float64) image.Image {
	s := d.scales[im.Scale]
	lo, hi := s.lo, s.hi
	if s.PerImage {
		a, b, _, _ := finiteRange(im.Pix)
		switch {
		case s.Palette == Diverging:
			m := math.Max(math.Abs(a), math.Abs(b))
			lo, hi = -m, m
		default:
			lo, hi = a, b
		}
		if !(lo < hi) {
			lo, hi = widen(lo, hi)
		}
	}
	rgba := make([]color.RGBA, len(s.pal))
	for i, c := range s.pal {
		rgba[i] = color.RGBAModel.Convert(c).(color.RGBA)
	}
	nan := color.RGBAModel.Convert(defaultNaNColor).(color.RGBA)
	top := float64(len(rgba) - 1)
	colorOf := func(v float64) color.RGBA {
		switch {
		case math.IsNaN(v):
			return nan
		case v <= lo:
			return rgba[0]
		case v >= hi:
			return rgba[len(rgba)-1]
		}
		i := (v-lo)/(hi-lo)*top + 0.5
		if !(i >= 0) {
			i = 0
		}
		return rgba[min(int(i), len(rgba)-1)]
	}
	pw, ph := im.Width, im.Height
	if dpi > 0 {
		pw = max(pw, int(math.Round(float64(r.Max.X-r.Min.X)*dpi/float64(vg.Inch))))
		ph = max(ph, int(math.Round(float64(r.Max.Y-r.Min.Y)*dpi/float64(vg.Inch))))
	}
	img := image.NewRGBA(image.Rect(0, 0, pw, ph))
	for y := range ph {
		sy := y * im.Height / ph
		for x := range pw {
			img.SetRGBA(x, y, colorOf(im.Pix[sy*im.Width+x*im.Width/pw]))
		}
	}
	return img
}
