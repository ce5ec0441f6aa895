package plots

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure is a figure that Save and Write can render. It is implemented
// by Line, Scatter, HeatMap and Bars (and pointers to them).
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

// Default figure size, used when Options leaves a dimension zero.
const (
	DefaultWidth  = 16 * vg.Centimeter
	DefaultHeight = 10 * vg.Centimeter
)

// DefaultDPI is the resolution of PNG output, in dots per inch, used when
// Options.DPI is zero.
const DefaultDPI = vgimg.DefaultDPI

// Options controls how a figure is written. A nil *Options, and every
// zero field, means the default.
type Options struct {
	// Width and Height give the size of the figure. Zero means
	// DefaultWidth and DefaultHeight.
	Width, Height vg.Length

	// WidthPx and HeightPx, when positive, give the size in pixels
	// instead and override Width and Height. Pixels are converted to
	// lengths at DPI, so a PNG comes out exactly WidthPx × HeightPx.
	WidthPx, HeightPx int

	// DPI is the resolution of PNG output in dots per inch. Zero means
	// DefaultDPI. A PNG is Width/inch*DPI pixels wide, rounded to the
	// nearest pixel.
	DPI int

	// Format selects the output format. If empty, Save infers it from
	// the file extension (".svg" gives SVG; ".png" or no extension
	// gives PNG; anything else is an error) and Write uses PNG. An
	// explicit Format wins over the extension.
	Format Format
}

// size returns the figure size and resolution that o asks for.
func (o *Options) size() (w, h vg.Length, dpi int, err error) {
	var opt Options
	if o != nil {
		opt = *o
	}
	dpi = opt.DPI
	if dpi == 0 {
		dpi = DefaultDPI
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
		w = vg.Length(opt.WidthPx) * vg.Inch / vg.Length(dpi)
	}
	if opt.HeightPx > 0 {
		h = vg.Length(opt.HeightPx) * vg.Inch / vg.Length(dpi)
	}
	if w <= 0 || h <= 0 || opt.WidthPx < 0 || opt.HeightPx < 0 {
		return 0, 0, 0, fmt.Errorf("invalid figure size %v x %v", w, h)
	}
	return w, h, dpi, nil
}

// Save renders fig and writes it to the file path, in the format chosen
// by opt (see Options) or else by the file extension. A nil opt means
// defaults: a 16cm x 10cm PNG at 96 dpi.
//
// The figure is rendered in memory and written to a temporary file in
// the same directory that is then renamed to path, so a failed save
// never leaves a partly written figure behind. The file has mode 0644.
//
// The returned notes say which data could not be drawn (for example
// non-positive values on a log axis); they are also printed in a caption
// at the bottom of the figure. Notes are returned even when err is not
// nil. Save panics, with a message starting "plots:", if fig's data are
// malformed (for example X and Y of different lengths).
func Save(path string, fig Figure, opt *Options) (notes []string, err error) {
	format := PNG
	if opt != nil && opt.Format != "" {
		format = opt.Format
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
	if err := writeFileAtomic(path, buf.Bytes()); err != nil {
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

// writeFileAtomic writes data to a temporary file next to path and renames
// it into place.
func writeFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
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
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	c = drawCaption(c, notes)
	drawFig(c)

	if _, err := cw.WriteTo(w); err != nil {
		return notes, writeError{err}
	}
	return notes, nil
}

// Caption layout.
const (
	captionFontSize = 8
	captionMaxLines = 6
)

var captionColor = color.Gray{Y: 0x40}

// drawCaption prints notes, word-wrapped, at the bottom of c and returns
// the area left above them.
func drawCaption(c draw.Canvas, notes []string) draw.Canvas {
	if len(notes) == 0 {
		return c
	}
	sty := text.Style{
		Color:   captionColor,
		Font:    font.From(plot.DefaultFont, captionFontSize),
		XAlign:  draw.XLeft,
		YAlign:  draw.YBottom,
		Handler: plot.DefaultTextHandler,
	}
	margin := vg.Points(4)
	width := c.Max.X - c.Min.X - 2*margin

	var lines []string
	for i, n := range notes {
		if len(lines) >= captionMaxLines-1 && i < len(notes)-1 {
			lines = append(lines, fmt.Sprintf("(%d more notes not shown)", len(notes)-i))
			break
		}
		lines = append(lines, wrap(sty, "note: "+n, width)...)
	}

	lineHeight := sty.Rectangle("Mg").Size().Y
	y := c.Min.Y + margin
	for i := len(lines) - 1; i >= 0; i-- {
		c.FillText(sty, vg.Point{X: c.Min.X + margin, Y: y}, lines[i])
		y += lineHeight
	}
	c.Min.Y = y + margin
	return c
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
