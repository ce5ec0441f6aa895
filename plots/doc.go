// Package plots renders figures from plain Go data: line plots of loss
// curves and gradient norms (per layer, per time step, often on log
// axes), scatter plots, heat maps of saliency maps and Jacobians with a
// colour bar, bar charts of errors, and layered graphs of how gradients
// flow. It is a thin layer over gonum.org/v1/plot and depends on no other
// adjointkit package.
//
// A figure is a struct filled in field by field — Line, Scatter, HeatMap,
// Bars, Graph or ImageGrid — whose zero fields mean sensible defaults. Save writes
// it to a file and Write to an io.Writer:
//
//	notes, err := plots.Save("grads.png", plots.Line{
//		Title: "gradient norm per layer",
//		X:     plots.Axis{Label: "step"},
//		Y:     plots.Axis{Label: "‖∂L/∂W_l‖", Log: true},
//		Series: []plots.Series{
//			{Name: "layer 1", Y: norms1},
//			{Name: "layer 2", Y: norms2},
//		},
//	}, nil)
//
// Every figure is drawn in one theme; callers choose what to show, never
// how it looks.
//
// # Size, text and output
//
// Figures are sized in CSS pixels (Options.WidthPx and HeightPx; 1 CSS
// pixel is 1/96 inch), the size at which they are meant to be shown on a
// page at 100% zoom. The default, 800 × 500, is the width of a report's
// text column: figures are read at 700–900 CSS pixels wide. Text has a
// fixed size in points (1 pt = 4/3 CSS px), chosen against the 16 px body
// text of such a page: tick labels and legends 10.5 pt (14 px), axis
// labels 11.5 pt (15 px), titles 12 pt (16 px), notes 9 pt (12 px). A
// figure shown at its CSS size therefore has text as legible as the page
// around it; one shown scaled (say to fill a column of another width)
// has its text scaled alike, so size figures near the width they will be
// shown at. All text is Liberation Sans, which gonum/plot embeds and which
// is metric-compatible with Arial.
//
// PNGs are drawn at DefaultDensity (2) pixels per CSS pixel, sharp on
// high-resolution screens: an 800 × 500 figure is a 1600 × 1000 PNG. Its
// pHYs chunk records that density, and DisplaySize reads it back. An HTML
// page must show such a PNG at its CSS size, not its pixel size:
//
//	<img src="grads.png" width="800" height="500">   (sizes from DisplaySize)
//	<img src="grads.png" srcset="grads.png 2x">      (or let the browser halve it)
//
// or embed the SVG. Save writes an SVG beside every PNG ("grads.png" and
// "grads.svg") in the same call; the SVG names Arial and Helvetica as
// fallbacks for viewers without Liberation Sans. Both files are written
// through temporary files in the target directory and renamed into place
// only when both are complete, so a failed save leaves no partial figure,
// and an SVG that cannot be written leaves the PNG untouched too.
// Rendering is deterministic: the same figure and options give the same
// bytes.
//
// # Markup
//
// Titles, axis labels, series names, category labels and notes are
// markup, a small plain-text notation for the sub- and superscripts of
// mathematics:
//
//	W_l          W with subscript l: a _ lowers the letters and digits after it
//	k_obs        k with subscript "obs"
//	h_{t+1}      braces group anything: subscript "t+1"
//	x^2, 10^-3   superscripts (a leading - is drawn as a minus sign)
//	10^{-3} s    braces end a script before other text
//	e^{x_i}      scripts nest
//	x\_1         a backslash escapes \ _ ^ { }: "x_1" verbatim
//
// Scripts are drawn in a smaller font on a raised or lowered baseline. A
// _ or ^ followed by a space, or by nothing, is drawn as it is; text
// that must show underscores (file names, configuration keys) should go
// through Escape. Unicode sub- and superscript characters (x₁, λₖ,
// 10⁻³, Wᵀ) are drawn as scripts too, since Liberation Sans lacks some of
// them and spaces its own widely. So is ‖, drawn as || because the font's
// own ‖ is hardly taller than a letter l. Characters the font lacks are
// drawn as stand-ins: ∇ as an upside-down Δ, ⟨ ⟩ as < >, ∝ as ~, ∈ as
// ϵ, ∗ and ⋆ as *, ⊙ and ∘ as ◦. Greek letters, ∂, ×, −, ±, ≤, ≈, √, ∞,
// ∫ and the like are in the font and drawn as they are.
//
// # Axes and ticks
//
// Linear axes are labelled at round values — steps of 1, 2 or 5 × 10^k —
// with the same number of decimals on every label. When labels would
// need more than five digits or three decimals, they show the values
// divided by a power of ten and the axis label ends "(×10^k)": a colour
// bar spanning ±8.9 × 10⁻¹⁶ reads −5, 0, 5 (×10⁻¹⁶). Axis{Log: true}
// gives a base-10 log axis with a tick at every decade, labelled 10^k;
// over more than eight decades only every 2nd, 3rd, 5th, … decade is
// labelled, and over fewer than three the 2s and 5s are labelled too.
// Light grid lines run at the labelled ticks and, on log axes, at every
// decade. Axis ranges are those of the data; no tick lies outside them.
//
// # Legends
//
// A legend never covers data. Its Legend field (LegendPosition) is
// Auto by default: the legend goes into the first corner of the data
// area, top right, top left, bottom right or bottom left, that no line,
// point or bar passes under, decided from the data when the figure is
// drawn; if there is none, it goes outside — to the right of the plot, or
// below it in columns if it would take more than a third of the figure's
// width. A requested corner (TopLeft, …) is used if free, else Auto
// decides; Outside and NoLegend are obeyed as they are. Series without a
// Name have no legend entry.
//
// # Series styles
//
// The n-th series of a Line figure gets the n-th colour of the palette
// (Tableau's ten, matplotlib's default cycle), the n-th dash pattern
// (solid first) and, with Points, the n-th glyph shape. Series.Color and
// Series.Dash override that, so that related series share a colour or a
// pattern. Series.Reference marks a guide — a true function, a line of
// slope 2, y = x — drawn in near-black outside the colour cycle. A Span
// shades an interval of a Line figure's X axis behind the data, an
// assimilation window for example. Series.YErr adds vertical error bars
// in the series' colour: a mean ± one standard deviation over seeds, say.
//
// # Graphs
//
// Graph draws a directed graph in layers from the top down — a map of how
// a gradient flows through a computation, say — with nodes coloured by a
// value on one colour scale (LogColor for a log scale, ColorRange to share
// it between figures), edges as wide as the logarithm of their value, and
// groups of nodes in nested boxes. The layout is the package's own: cycles
// broken by reversing edges found by a depth-first search, longest-path
// layers, dummy nodes along long edges, barycentre sweeps against
// crossings that keep each group together, and positions pulled towards
// the median of their neighbours with long edges kept straight. Parts of
// the graph not joined by edges are drawn side by side. WriteDOT and
// SaveDOT write the same graph, colours included, in Graphviz's DOT
// language.
//
// # Image grids
//
// ImageGrid draws small images — digits, a model's reconstructions and
// samples, attribution maps beside their input — in rows and columns,
// pixel for pixel with square pixels and no axes, with labels for rows,
// columns and single images. Each image is drawn on one of the grid's
// colour scales: Grey for intensities, Diverging (zero neutral) for
// signed maps, over a shared range, a fixed one, or each image's own,
// with an optional colour bar per scale. ImageGrid.HeightPx gives the
// figure height that fits the grid at a given width. In a PNG the
// pixels land on whole device pixels, drawn sharp; an SVG embeds each
// image at its own size and asks the viewer not to smooth it.
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
// hold Rows*Cols values, bar groups of the wrong length, a Span that is
// not an interval — panics with a message starting "plots:". Failures to
// write are returned as errors.
package plots
