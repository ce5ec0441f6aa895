// Package plots renders figures from plain Go data: line plots of loss
// curves and gradient norms (per layer, per time step, often on log
// axes), scatter plots, heat maps of saliency maps and Jacobians with a
// colour bar, and bar charts of errors. It is a thin layer over
// gonum.org/v1/plot and depends on no other adjointkit package.
//
// A figure is a struct filled in field by field — Line, Scatter, HeatMap
// or Bars — whose zero fields mean sensible defaults. Save writes it to a
// file and Write to an io.Writer:
//
//	notes, err := plots.Save("grads.png", plots.Line{
//		Title: "gradient norm per layer",
//		X:     plots.Axis{Label: "step"},
//		Y:     plots.Axis{Label: "|∂L/∂θ|", Log: true},
//		Series: []plots.Series{
//			{Name: "layer 1", Y: norms1},
//			{Name: "layer 2", Y: norms2},
//		},
//	}, nil)
//
// # Output
//
// Figures are PNG by default and SVG when the file name ends in ".svg" or
// Options.Format says so. The default size is 16cm × 10cm (605 × 378
// pixels at the default 96 dpi); Options sets another size in lengths or
// in pixels. Save writes through a temporary file in the target directory
// and renames it into place, so a failed save leaves no partial figure.
// Rendering is deterministic: the same figure and options give the same
// bytes.
//
// # Data that cannot be drawn
//
// gonum/plot panics on non-positive values on a log axis and cannot draw
// NaN or infinite values at all. plots never passes them on: such points
// (and bars) are dropped, lines are broken where points were dropped, and
// every drop is described in a note such as
//
//	log y: dropped 3 non-positive/NaN points from series 'layer 3'
//
// Save and Write return the notes, and also print them in a caption at
// the bottom of the figure so that the image itself says what is
// missing. A series left with no points still gets its legend entry and
// the figure still renders. Heat maps draw NaN cells in a fixed colour and
// infinite cells in the end colours of the scale, again with notes. Other
// inputs that trip gonum/plot up — a single huge value, a linear axis
// spanning nearly ±MaxFloat64 — are handled too, so data never make
// Save or Write panic.
//
// Misuse — X and Y of different lengths, a heat map whose Z does not
// hold Rows*Cols values, bar groups of the wrong length — panics with a
// message starting "plots:". Failures to write are returned as errors.
//
// Series and groups take their colours, dash patterns and glyph shapes
// from gonum.org/v1/plot/plotutil in order.
package plots
