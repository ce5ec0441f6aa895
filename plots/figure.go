package plots

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure is a figure that Save and Write can render. It is implemented
// by Line, Scatter, HeatMap, Bars, Graph and ImageGrid (and pointers to
// them).
type Figure interface {
	// layout checks the figure's data, panicking on misuse, and returns
	// the function that draws it in the given format together with the
	// figure's notes.
	layout(Format) (drawFunc, []string)
}

// drawFunc draws a figure into the given area.
type drawFunc func(c draw.Canvas)

var (
	_ Figure = Line{}
	_ Figure = Scatter{}
	_ Figure = HeatMap{}
	_ Figure = Bars{}
)

// Format is an output image format.
type Format string

// The supported output formats.
const (
	PNG Format = "png"
	SVG Format = "svg"
)

// ErrFormat is returned (wrapped) when an output format is not supported.
var ErrFormat = errors.New("unsupported format")

// Default figure size, used when Options leaves a dimension zero: 800 ×
// 500 CSS pixels, the width of a report's text column (see the package
// documentation).
const (
	DefaultWidth  = 800 * cssPixel
	DefaultHeight = 500 * cssPixel
)

// DefaultDensity is the number of PNG pixels per CSS pixel, each way,
// used when Options.Density and Options.DPI are zero: PNGs are drawn at
// twice the resolution they are shown at, so that they stay sharp on
// high-resolution screens and when zoomed.
const DefaultDensity = 2

// DefaultDPI is the resolution of PNG output, in dots per inch, used when
// Options.Density and Options.DPI are zero: 96 dots per inch (one per CSS
// pixel) times DefaultDensity.
const DefaultDPI = 96 * DefaultDensity

// Options controls how a figure is written. A nil *Options, and every
// zero field, means the default.
type Options struct {
	// Width and Height give the size of the figure. Zero means
	// DefaultWidth and DefaultHeight. Text keeps its size whatever the
	// figure's, so a smaller figure has relatively larger text.
	Width, Height vg.Length

	// WidthPx and HeightPx, when positive, give the size in CSS pixels
	// (1/96 inch) instead and override Width and Height: the size at
	// which the figure is meant to be shown on a page at 100% zoom. The
	// PNG has Density times as many pixels each way.
	WidthPx, HeightPx int

	// Density is the number of PNG pixels per CSS pixel, each way. Zero
	// means DefaultDensity.
	Density int

	// DPI, when positive, gives the resolution of PNG output in dots per
	// inch instead of Density (DPI = 96 × Density). A PNG is
	// Width/inch × DPI pixels wide, rounded to the nearest pixel.
	DPI int

	// Format selects the output format. If empty, Save infers it from
	// the file extension (".svg" gives SVG; ".png" or no extension
	// gives PNG; anything else is an error) and Write uses PNG. An
	// explicit Format wins over the extension.
	Format Format

	// NoSVG stops Save from writing an SVG beside a PNG.
	NoSVG bool
}

// size returns the figure size and PNG resolution that o asks for.
func (o *Options) size() (w, h vg.Length, dpi int, err error) {
	var opt Options
	if o != nil {
		opt = *o
	}
	density := opt.Density
	if density == 0 {
		density = DefaultDensity
	}
	if density < 0 {
		return 0, 0, 0, fmt.Errorf("negative density %d", density)
	}
	dpi = opt.DPI
	if dpi == 0 {
		dpi = 96 * density
	}
	if dpi < 0 {
		return 0, 0, 0, fmt.Errorf("negative DPI %d", dpi)
	}
	w, h = opt.Width, opt.Height
	if w == 0 {
		w = DefaultWidth
	}
	if h == 0 {
		h = DefaultHeight
	}
	if opt.WidthPx > 0 {
		w = vg.Length(opt.WidthPx) * cssPixel
	}
	if opt.HeightPx > 0 {
		h = vg.Length(opt.HeightPx) * cssPixel
	}
	if w <= 0 || h <= 0 || opt.WidthPx < 0 || opt.HeightPx < 0 {
		return 0, 0, 0, fmt.Errorf("invalid figure size %v x %v", w, h)
	}
	return w, h, dpi, nil
}

// Save renders fig and writes it to the file path, in the format chosen
// by opt (see Options) or else by the file extension. A nil opt means
// defaults: an 800 × 500 CSS-pixel figure, as a PNG of twice that many
// pixels each way.
//
// Beside a PNG, Save also writes the same figure as an SVG: the path
// with its extension replaced by ".svg" ("loss.png" gives "loss.svg"),
// unless opt.NoSVG is set or the PNG's own path ends in ".svg".
//
// The figures are rendered in memory and written to temporary files in
// the same directory that are then renamed into place, SVG first, so a
// failed save never leaves a partly written figure behind, and a failure
// to write the SVG leaves the PNG untouched too. (Only a crash between
// the two renames could leave a new SVG beside an old PNG.) The files
// have mode 0644.
//
// The returned notes say which data could not be drawn (for example
// non-positive values on a log axis); they are also printed in a caption
// at the bottom of the figure. Notes are returned even when err is not
// nil. Save panics, with a message starting "plots:", if fig's data are
// malformed (for example X and Y of different lengths).
func Save(path string, fig Figure, opt *Options) (notes []string, err error) {
	format := PNG
	if opt != nil && opt.Format != "" {
		format = Format(strings.ToLower(string(opt.Format)))
	} else {
		switch ext := strings.ToLower(filepath.Ext(path)); ext {
		case "", ".png":
		case ".svg":
			format = SVG
		default:
			return nil, fmt.Errorf("plots: save %s: %w %q (want .png or .svg, or set Options.Format)", path, ErrFormat, ext)
		}
	}
	var o Options
	if opt != nil {
		o = *opt
	}
	o.Format = format

	var buf bytes.Buffer
	notes, err = Write(&buf, fig, &o)
	if err != nil {
		return notes, fmt.Errorf("plots: save %s: %w", path, unwrapWrite(err))
	}
	files := []pendingFile{{path, buf.Bytes()}}
	if format == PNG && !o.NoSVG && !strings.EqualFold(filepath.Ext(path), ".svg") {
		var svg bytes.Buffer
		o.Format = SVG
		if _, err := Write(&svg, fig, &o); err != nil {
			return notes, fmt.Errorf("plots: save %s: %w", path, unwrapWrite(err))
		}
		svgPath := strings.TrimSuffix(path, filepath.Ext(path)) + ".svg"
		files = []pendingFile{{svgPath, svg.Bytes()}, files[0]}
	}
	if err := writeFilesAtomic(files); err != nil {
		return notes, fmt.Errorf("plots: save %s: %w", path, err)
	}
	return notes, nil
}

// writeError marks errors from Write so that Save can re-wrap them
// without repeating the "plots:" prefix.
type writeError struct{ err error }

func (e writeError) Error() string { return "plots: write: " + e.err.Error() }
func (e writeError) Unwrap() error { return e.err }

func unwrapWrite(err error) error {
	var we writeError
	if errors.As(err, &we) {
		return we.err
	}
	return err
}

// pendingFile is a file's path and the data it is to hold.
type pendingFile struct {
	path string
	data []byte
}

// writeFilesAtomic writes each file to a temporary file next to it and,
// once all are written, renames them into place in order. If any write
// fails, or a target is a directory, no file is renamed; every temporary
// file not renamed is removed.
func writeFilesAtomic(files []pendingFile) error {
	// A directory in the way is the one failure of a rename that is
	// easily foreseen: check for it before renaming anything.
	for _, f := range files {
		if fi, err := os.Stat(f.path); err == nil && fi.IsDir() {
			return fmt.Errorf("%s is a directory", f.path)
		}
	}
	temps := make([]string, len(files))
	defer func() {
		for _, t := range temps {
			if t != "" {
				os.Remove(t)
			}
		}
	}()
	for i, f := range files {
		tmp, err := writeTemp(f.path, f.data)
		if err != nil {
			return err
		}
		temps[i] = tmp
	}
	for i, f := range files {
		if err := os.Rename(temps[i], f.path); err != nil {
			return err
		}
		temps[i] = ""
	}
	return nil
}

// writeTemp writes data to a new temporary file in the directory of
// path and returns its name.
func writeTemp(path string, data []byte) (name string, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return "", err
	}
	if err = f.Sync(); err != nil {
		return "", err
	}
	if err = f.Chmod(0o644); err != nil {
		return "", err
	}
	if err = f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// Write renders fig and writes it to w in opt.Format (PNG if opt or its
// Format is unset). Size and resolution are as for Save. It returns the
// figure's notes (see Save), and panics, with a message starting
// "plots:", if fig's data are malformed.
func Write(w io.Writer, fig Figure, opt *Options) (notes []string, err error) {
	if fig == nil {
		panic("plots: nil Figure")
	}
	width, height, dpi, err := opt.size()
	if err != nil {
		return nil, writeError{err}
	}
	format := PNG
	if opt != nil && opt.Format != "" {
		format = opt.Format
	}

	var cw vg.CanvasWriterTo
	format = Format(strings.ToLower(string(format)))
	switch format {
	case PNG:
		cw = vgimg.PngCanvas{Canvas: vgimg.NewWith(
			vgimg.UseWH(width, height),
			vgimg.UseDPI(dpi),
			vgimg.UseBackgroundColor(color.White),
		)}
	case SVG:
		cw = vgsvg.New(width, height)
	default:
		return nil, writeError{fmt.Errorf("%w %q", ErrFormat, format)}
	}

	drawFig, notes := fig.layout(format)
	c := draw.New(cw)
	if format == SVG {
		// (vgimg has filled a PNG's background.)
		c.SetColor(color.White)
		c.Fill(c.Rectangle.Path())
	}
	c = inset(c, figureMargin)
	c = drawCaption(c, notes)
	drawFig(c)

	var buf bytes.Buffer
	if _, err := cw.WriteTo(&buf); err != nil {
		return notes, writeError{err}
	}
	data := buf.Bytes()
	switch format {
	case PNG:
		data = withDensity(data, dpi)
	case SVG:
		data = svgFixes(data)
	}
	if _, err := w.Write(data); err != nil {
		return notes, writeError{err}
	}
	return notes, nil
}

// inset returns c less a margin on every side, or less a smaller one if
// c is too small for it.
func inset(c draw.Canvas, margin vg.Length) draw.Canvas {
	size := c.Size()
	margin = min(margin, size.X/8, size.Y/8)
	return draw.Crop(c, margin, -margin, margin, -margin)
}

// withDensity returns PNG data with a pHYs chunk recording its
// resolution, dpi dots per inch, after the IHDR chunk, so that viewers
// that honour it (and DisplaySize) show the figure at its CSS size.
func withDensity(data []byte, dpi int) []byte {
	const ihdrEnd = 8 + 4 + 4 + 13 + 4 // signature and IHDR chunk
	if len(data) < ihdrEnd {
		return data
	}
	ppm := uint32(math.Round(float64(dpi) / 0.0254))
	chunk := make([]byte, 4+4+9+4)
	binary.BigEndian.PutUint32(chunk[0:], 9)
	copy(chunk[4:], "pHYs")
	binary.BigEndian.PutUint32(chunk[8:], ppm)
	binary.BigEndian.PutUint32(chunk[12:], ppm)
	chunk[16] = 1 // unit: metre
	binary.BigEndian.PutUint32(chunk[17:], crc32.ChecksumIEEE(chunk[4:17]))
	out := make([]byte, 0, len(data)+len(chunk))
	out = append(out, data[:ihdrEnd]...)
	out = append(out, chunk...)
	return append(out, data[ihdrEnd:]...)
}

// svgFixes amends the SVG that gonum/plot writes: its text styles name
// fonts metric-compatible with Liberation Sans for viewers that lack it,
// and its images (heat map cells, colour bars) fill the rectangles they
// are drawn into, as in a PNG, instead of keeping their aspect ratio,
// and are scaled up without blurring the cells.
func svgFixes(svg []byte) []byte {
	svg = bytes.ReplaceAll(svg, []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
	return bytes.ReplaceAll(svg, []byte("<image "),
		[]byte(`<image preserveAspectRatio="none" style="image-rendering:pixelated" `))
}

// captionMaxLines is the most lines of notes a caption shows.
const captionMaxLines = 6

// drawCaption prints notes, word-wrapped, at the bottom of c and returns
// the area left above them.
func drawCaption(c draw.Canvas, notes []string) draw.Canvas {
	if len(notes) == 0 {
		return c
	}
	sty, lines, lineHeight := captionLines(notes, c.Max.X-c.Min.X)
	y := c.Min.Y
	for i := len(lines) - 1; i >= 0; i-- {
		c.FillText(sty, vg.Point{X: c.Min.X, Y: y}, lines[i])
		y += lineHeight
	}
	c.Min.Y = y + captionGap
	return c
}

// captionGap separates the caption from the figure above it.
var captionGap = vg.Points(4)

// captionLines returns the style, the word-wrapped lines and the line
// height of the caption that drawCaption prints for notes in the given
// width.
func captionLines(notes []string, width vg.Length) (sty text.Style, lines []string, lineHeight vg.Length) {
	sty = textStyle(captionSize)
	sty.Color = captionColor
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YBottom
	for i, n := range notes {
		if len(lines) >= captionMaxLines-1 && i < len(notes)-1 {
			lines = append(lines, fmt.Sprintf("(%d more notes not shown)", len(notes)-i))
			break
		}
		lines = append(lines, wrap(sty, "note: "+n, width)...)
	}
	return sty, lines, sty.Rectangle("Mg").Size().Y
}

// captionHeight returns the height drawCaption takes for notes in the
// given width.
func captionHeight(notes []string, width vg.Length) vg.Length {
	if len(notes) == 0 {
		return 0
	}
	_, lines, lh := captionLines(notes, width)
	return vg.Length(len(lines))*lh + captionGap
}

// wrap breaks s at spaces into lines no wider than width (a single word
// wider than width gets a line of its own), indenting continuation lines.
func wrap(sty text.Style, s string, width vg.Length) []string {
	lines := wrapWords(sty, s, width)
	for i := 1; i < len(lines); i++ {
		lines[i] = "    " + lines[i]
	}
	return lines
}

// wrapWords breaks s at spaces into lines no wider than width (a single
// word wider than width gets a line of its own).
func wrapWords(sty text.Style, s string, width vg.Length) []string {
	var lines []string
	cur := ""
	for _, w := range strings.Fields(s) {
		switch {
		case cur == "":
			cur = w
		case sty.Width(cur+" "+w) <= width:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur = w
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// DisplaySize returns the size, in CSS pixels, at which the PNG or SVG
// figure in the file at path is meant to be shown, for the width and
// height of an HTML <img>: for a PNG its pixel size divided by its
// density, read from its pHYs chunk (a PNG without one is taken to have
// one pixel per CSS pixel); for an SVG its size in points times 4/3.
func DisplaySize(path string) (width, height int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, fmt.Errorf("plots: display size: %w", err)
	}
	if w, h, ok := pngDisplaySize(data); ok {
		return w, h, nil
	}
	if w, h, ok := svgDisplaySize(data); ok {
		return w, h, nil
	}
	return 0, 0, fmt.Errorf("plots: display size of %s: %w (want a PNG or an SVG with its size in pt)", path, ErrFormat)
}

// pngDisplaySize reads the pixel size and the pHYs chunk of a PNG.
func pngDisplaySize(data []byte) (w, h int, ok bool) {
	const sig = "\x89PNG\r\n\x1a\n"
	if len(data) < 8+8+13 || string(data[:8]) != sig || string(data[12:16]) != "IHDR" {
		return 0, 0, false
	}
	w = int(binary.BigEndian.Uint32(data[16:]))
	h = int(binary.BigEndian.Uint32(data[20:]))
	for i := 8; i+8 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[i:]))
		typ := string(data[i+4 : i+8])
		if typ == "IDAT" || i+12+n > len(data) || n < 0 {
			break
		}
		if typ == "pHYs" && n == 9 && data[i+16] == 1 {
			ppm := float64(binary.BigEndian.Uint32(data[i+8:]))
			ppmY := float64(binary.BigEndian.Uint32(data[i+12:]))
			css := 96 / 0.0254 // CSS pixels per metre
			if ppm > 0 && ppmY > 0 {
				return int(math.Round(float64(w) * css / ppm)), int(math.Round(float64(h) * css / ppmY)), true
			}
		}
		i += 12 + n
	}
	return w, h, true
}

// svgSize matches the size an SVG written by this package declares.
var svgSize = regexp.MustCompile(`<svg width="([0-9.]+)pt" height="([0-9.]+)pt"`)

// svgDisplaySize reads the size of an SVG written by this package.
func svgDisplaySize(data []byte) (w, h int, ok bool) {
	m := svgSize.FindSubmatch(data[:min(len(data), 1024)])
	if m == nil {
		return 0, 0, false
	}
	pw, err1 := strconv.ParseFloat(string(m[1]), 64)
	ph, err2 := strconv.ParseFloat(string(m[2]), 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return int(math.Round(pw * 4 / 3)), int(math.Round(ph * 4 / 3)), true
}
