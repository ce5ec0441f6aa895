package plots

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Graph is a figure of a directed graph drawn in layers from the top down
// (see the layout below): a map of how a gradient flows through a
// computation, say, with nodes coloured by the size of the cotangent at
// each value and edges as wide as the gain along them. Nodes can be
// grouped into boxes, nested, and a graph of several parts not joined by
// edges shows them side by side.
//
// Nodes are coloured by Value on one colour scale, with a colour bar
// beside the graph; a node whose Value cannot be shown (NaN, infinite, or
// not positive on a log scale) is drawn grey, with a note. Edge widths
// grow with the base-10 logarithm of Value, from thin at 0.1 or less to
// thick at 10 or more, and a legend shows widths for 0.1, 1 and 10; an
// edge whose Value is NaN or not positive is drawn thin and dashed, with a
// note. Node labels are drawn inside the nodes when every label fits.
//
// Layout: every node lies one layer below the lowest node with an edge to
// it; a node with no edges into it lies just above the highest node it
// has an edge to; an edge spanning several layers is routed through each
// layer between. The nodes of each layer are ordered to reduce crossings
// (barycentre sweeps), the members of a group kept together, and placed
// near the mean position of their neighbours. An edge that would close a
// cycle is drawn against the layers; self-loops are not drawn (both with a
// note).
//
// Nodes, edges and groups are used as given: an edge or a node naming a
// node or group that does not exist, or a group inside itself, is misuse
// and makes Save and Write panic.
type Graph struct {
	// Title is printed above the figure (markup); empty means none.
	Title string

	// Nodes, Edges and Groups are the graph.
	Nodes  []GraphNode
	Edges  []GraphEdge
	Groups []GraphGroup

	// ColorLabel labels the colour bar (markup); EdgeLabel names what
	// edge widths show, in the title of their legend (markup). Empty
	// means none.
	ColorLabel, EdgeLabel string

	// LogColor colours nodes by the base-10 logarithm of Value, with a
	// colour bar labelled in powers of ten. False colours by Value.
	LogColor bool

	// ColorRange fixes the range of values the colours span (values,
	// not logarithms), for example to compare several figures; values
	// outside it take the end colours. The zero Extent means the range
	// of the values that can be shown.
	ColorRange Extent
}

// GraphNode is a node of a Graph.
type GraphNode struct {
	// Label is drawn inside the node (markup) when all labels fit.
	Label string
	// Value gives the node's colour.
	Value float64
	// Group is the innermost group around the node: 1 + its index in
	// Graph.Groups. Zero means none.
	Group int
}

// GraphEdge is an edge of a Graph, drawn from From to To (indices into
// Graph.Nodes) with an arrowhead at To.
type GraphEdge struct {
	From, To int
	// Value gives the edge's width.
	Value float64
}

// GraphGroup is a box drawn around the nodes of a group and the groups
// inside it.
type GraphGroup struct {
	// Label is drawn on the box's top edge (markup); empty means none.
	Label string
	// Parent is the group around this one: 1 + its index in
	// Graph.Groups. Zero means none.
	Parent int
}

var _ Figure = Graph{}

// graphEdgeWidth returns the width of an edge with value v (positive).
func graphEdgeWidth(v float64) vg.Length {
	t := (math.Max(-1, math.Min(1, math.Log10(v))) + 1) / 2
	return graphMinWidth + vg.Length(t)*(graphMaxWidth-graphMinWidth)
}

func (f Graph) layout(Format) (drawFunc, []string) {
	edges, group, parent := f.check()
	lay := layoutGraph(len(f.Nodes), edges, group, parent)
	var notes []string
	if len(f.Nodes) == 0 {
		notes = append(notes, "graph: no nodes")
	}
	var loops, back, badEdges int
	for i, e := range f.Edges {
		switch {
		case e.From == e.To:
			loops++
		case lay.reversed[i]:
			back++
		}
		if !(e.Value > 0) || math.IsInf(e.Value, 1) {
			badEdges++
		}
	}
	if back > 0 {
		notes = append(notes, fmt.Sprintf("graph: %s against the layers, to break cycles", countOf(back, "edge is drawn", "edges are drawn")))
	}
	if loops > 0 {
		notes = append(notes, fmt.Sprintf("graph: %s not drawn", countOf(loops, "self-loop is", "self-loops are")))
	}
	if badEdges > 0 {
		notes = append(notes, fmt.Sprintf("graph: %s no positive finite value, drawn thin and dashed", countOf(badEdges, "edge has", "edges have")))
	}
	fill, bar, note := f.colors()
	if note != "" {
		notes = append(notes, note)
	}
	g := graphDrawing{f: f, lay: lay, fill: fill, bar: bar}
	return g.draw, notes
}

// drawing returns what layout draws, for tests.
func (f Graph) drawing() graphDrawing {
	edges, group, parent := f.check()
	fill, bar, _ := f.colors()
	return graphDrawing{f: f, lay: layoutGraph(len(f.Nodes), edges, group, parent), fill: fill, bar: bar}
}

// check panics unless every node, edge and group refers to nodes and
// groups that exist, and returns the edges as pairs, each node's group
// and each group's parent.
func (f Graph) check() (edges [][2]int, group, parent []int) {
	n := len(f.Nodes)
	group = make([]int, n)
	for i, nd := range f.Nodes {
		if nd.Group < 0 || nd.Group > len(f.Groups) {
			panic(fmt.Sprintf("plots: graph node %d is in group %d, want 0 (none) to %d", i, nd.Group, len(f.Groups)))
		}
		group[i] = nd.Group
	}
	parent = make([]int, len(f.Groups))
	for i, g := range f.Groups {
		if g.Parent < 0 || g.Parent > len(f.Groups) {
			panic(fmt.Sprintf("plots: graph group %d has parent %d, want 0 (none) to %d", i, g.Parent, len(f.Groups)))
		}
		parent[i] = g.Parent
	}
	groupChains(parent) // panics on a group inside itself
	edges = make([][2]int, len(f.Edges))
	for i, e := range f.Edges {
		if e.From < 0 || e.From >= n || e.To < 0 || e.To >= n {
			panic(fmt.Sprintf("plots: graph edge %d joins nodes %d and %d, want 0 to %d", i, e.From, e.To, n-1))
		}
		edges[i] = [2]int{e.From, e.To}
	}
	return edges, group, parent
}

// colors returns the fill colour of every node, the colour bar, and a
// note on the nodes drawn grey (empty if none).
func (f Graph) colors() (fill []color.Color, bar colorBar, note string) {
	n := len(f.Nodes)
	vals := make([]float64, n)
	ok := make([]bool, n)
	lo, hi := math.Inf(1), math.Inf(-1)
	var bad int
	for i, nd := range f.Nodes {
		v := nd.Value
		if f.LogColor {
			v = math.Log10(v)
		}
		vals[i] = v
		ok[i] = !math.IsNaN(v) && !math.IsInf(v, 0)
		if !ok[i] {
			bad++
			continue
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if bad > 0 {
		what := "NaN or infinite"
		if f.LogColor {
			what = "not positive and finite"
		}
		note = fmt.Sprintf("graph: %s %s, drawn grey", countOf(bad, "node value is", "node values are"), what)
	}
	if !f.ColorRange.isZero() {
		f.ColorRange.check("graph ColorRange")
		lo, hi = f.ColorRange.Min, f.ColorRange.Max
		if f.LogColor {
			if !(lo > 0) {
				panic(fmt.Sprintf("plots: graph ColorRange %v must be positive for LogColor", f.ColorRange))
			}
			lo, hi = math.Log10(lo), math.Log10(hi)
		}
	}
	switch {
	case lo > hi:
		lo, hi = 0, 1
	case lo == hi:
		d := math.Abs(lo) / 10
		if d == 0 || f.LogColor {
			d = 0.5
		}
		lo, hi = lo-d, hi+d
	}
	cm := moreland.ExtendedBlackBody()
	cm.SetMax(hi)
	cm.SetMin(lo)
	scale := safeMap{cm}
	if f.LogColor {
		bar = newLogColorBar(scale, lo, hi, f.ColorLabel)
	} else {
		bar = newColorBar(scale, lo, hi, f.ColorLabel)
	}
	fill = make([]color.Color, n)
	for i := range f.Nodes {
		fill[i] = defaultNaNColor
		if ok[i] {
			fill[i], _ = scale.At(vals[i])
		}
	}
	return fill, bar, note
}

// countOf formats "1 edge is" or "3 edges are".
func countOf(k int, one, many string) string {
	if k == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", k, many)
}

// graphDrawing draws a laid-out Graph.
type graphDrawing struct {
	f    Graph
	lay  *graphLayout
	fill []color.Color
	bar  colorBar
}

// geometry is where the layout's units land on the page.
type geometry struct {
	x0, unit   vg.Length // position p is at x0 + p·unit
	top, layer vg.Length // layer k's centre is at top − (k + ½)·layer
	nodeW      vg.Length
	nodeH      vg.Length
	padX, padY vg.Length // box padding per nesting level
	margin     vg.Length // room left of the outermost boxes' contents for the labels of the boxes inside
	labels     bool
}

// split divides the canvas below the title into the graph's area and, on
// the right, the colour bar's rectangle and the edge legend's top left
// corner; side is false when the figure is too narrow for them.
func (g graphDrawing) split(c draw.Canvas) (area draw.Canvas, bar vg.Rectangle, legend vg.Point, side bool) {
	if g.f.Title != "" {
		c.Max.Y -= textStyle(titleSize).Height(g.f.Title) + titlePadding
	}
	right := max(g.bar.width(), g.legendWidth())
	area = c
	area.Max.X -= colorBarGap + right
	if area.Max.X-area.Min.X < (c.Max.X-c.Min.X)/3 {
		return c, bar, legend, false
	}
	barTop := c.Max.Y - textStyle(tickSize).Height("0")/2
	barH := (c.Max.Y - c.Min.Y) * 0.45
	bar = vg.Rectangle{
		Min: vg.Point{X: area.Max.X + colorBarGap, Y: barTop - barH},
		Max: vg.Point{X: area.Max.X + colorBarGap + colorBarWidth, Y: barTop},
	}
	legend = vg.Point{X: area.Max.X + colorBarGap, Y: barTop - barH - graphLegendGap}
	return area, bar, legend, true
}

func (g graphDrawing) draw(c draw.Canvas) {
	if g.f.Title != "" {
		sty := textStyle(titleSize)
		sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
		c.FillText(sty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: c.Max.Y}, g.f.Title)
	}
	area, bar, legend, side := g.split(c)
	if side {
		if sensible(bar) {
			g.bar.draw(c, bar)
		}
		g.drawLegend(c, legend)
	}
	if g.lay.n == 0 {
		return
	}
	geo := g.geometry(area)
	g.drawBoxes(c, geo)
	g.drawEdges(c, geo)
	g.drawNodes(c, geo)
}

// boxDepth returns the deepest nesting of groups.
func (g graphDrawing) boxDepth() int {
	d := 0
	for _, ch := range g.lay.groups {
		d = max(d, len(ch))
	}
	return d
}

// geometry fits the layout into the area, centred. It moves the
// components apart to make room for the labels of boxes.
func (g graphDrawing) geometry(area draw.Canvas) geometry {
	lay := g.lay
	depth := g.boxDepth()
	labelSty := textStyle(graphLabelSize)
	textH := labelSty.Height("Mg")
	var geo geometry
	// Vertically: layers share the height, less room at the top for the
	// labels of the outermost boxes, which go above them.
	top := area.Max.Y
	if depth > 0 {
		top -= textH + vg.Points(2)
	}
	geo.layer = (top - area.Min.Y) / vg.Length(lay.depth())
	geo.top = top
	// Nodes take half a layer, more (up to 65%) if that makes room for
	// their labels.
	geo.nodeH = max(graphMinNodeH, min(graphMaxNodeH, geo.layer*0.5))
	if textH > geo.nodeH && textH <= geo.layer*0.65 {
		geo.nodeH = textH
	}
	geo.padY = max(0, min(vg.Points(6), (geo.layer-geo.nodeH)/vg.Length(2*depth+2)))

	// The labels of boxes inside the outermost ones go to their left.
	for gi, ch := range lay.groups {
		if len(ch) == 2 && g.f.Groups[gi].Label != "" {
			geo.margin = max(geo.margin, labelSty.Width(g.f.Groups[gi].Label)+2*graphLabelPad)
		}
	}

	// Horizontally: the node width wanted for the labels, and a unit (the
	// gap between neighbours) of at most 1.6 node widths, less if the
	// width is short.
	labelW := vg.Length(0)
	for _, nd := range g.f.Nodes {
		labelW = max(labelW, labelSty.Width(nd.Label))
	}
	wantW := geo.nodeH * 2.5
	canLabel := labelW > 0 && geo.nodeH >= textH
	if canLabel {
		wantW = max(wantW, labelW+2*graphLabelPad)
	}
	geo.padX = vg.Points(8)
	width := area.Max.X - area.Min.X
	for range 3 {
		// Components move apart by the label margin and the box
		// padding, in units, which depend on the width: settle them.
		extra := 0.0
		if geo.unit > 0 {
			extra = float64((geo.margin + 2*vg.Length(depth)*geo.padX) / geo.unit)
		}
		lay.alignComponents(extra)
		w := vg.Length(lay.width())
		avail := width - 2*vg.Length(depth)*geo.padX - geo.margin
		geo.unit = min(avail/(w+1), wantW*1.6)
		// Box padding must fit in the extra gap between groups.
		geo.padX = min(vg.Points(8), geo.unit*groupGap/2*0.9)
	}
	w := vg.Length(lay.width())
	geo.nodeW = min(wantW, geo.unit*0.8)
	geo.labels = canLabel && labelW+2*graphLabelPad <= geo.nodeW
	if !geo.labels {
		geo.nodeW = min(geo.nodeH*2.5, geo.unit*0.8)
	}
	used := (w+1)*geo.unit + geo.margin
	geo.x0 = (area.Min.X+area.Max.X)/2 - used/2 + geo.margin + geo.unit/2
	return geo
}

func (geo geometry) at(lay *graphLayout, v int) vg.Point {
	return vg.Point{
		X: geo.x0 + vg.Length(lay.pos[v])*geo.unit,
		Y: geo.top - (vg.Length(lay.layer[v])+0.5)*geo.layer,
	}
}

// drawBoxes draws the group boxes, outer ones first.
func (g graphDrawing) drawBoxes(c draw.Canvas, geo geometry) {
	lay := g.lay
	type box struct {
		r     vg.Rectangle
		depth int
		any   bool
	}
	boxes := make([]box, len(lay.groups))
	for v := range lay.layer {
		p := lay.path[v]
		pt := geo.at(lay, v)
		hw, hh := geo.nodeW/2, geo.nodeH/2
		if v >= lay.n {
			hw, hh = 0, 0 // a dummy: the edge passing through
		}
		for k := 1; k < len(p); k++ {
			gi := p[k] - 1
			levels := vg.Length(len(p) - k)
			r := vg.Rectangle{
				Min: vg.Point{X: pt.X - hw - levels*geo.padX, Y: pt.Y - hh - levels*geo.padY},
				Max: vg.Point{X: pt.X + hw + levels*geo.padX, Y: pt.Y + hh + levels*geo.padY},
			}
			b := &boxes[gi]
			if !b.any {
				b.r, b.any, b.depth = r, true, k
				continue
			}
			b.r.Min.X, b.r.Min.Y = min(b.r.Min.X, r.Min.X), min(b.r.Min.Y, r.Min.Y)
			b.r.Max.X, b.r.Max.Y = max(b.r.Max.X, r.Max.X), max(b.r.Max.Y, r.Max.Y)
		}
	}
	for gi := range boxes {
		if boxes[gi].depth == 1 {
			boxes[gi].r.Min.X -= geo.margin
		}
	}
	labelSty := textStyle(graphLabelSize)
	labelSty.XAlign, labelSty.YAlign = draw.XLeft, draw.YCenter
	stroke := draw.LineStyle{Color: graphBoxStroke, Width: vg.Points(0.75)}
	for d := 1; d <= g.boxDepth(); d++ {
		for gi, b := range boxes {
			if !b.any || b.depth != d {
				continue
			}
			path := roundedRect(b.r, min(vg.Points(4), max(geo.padY, vg.Points(2))))
			c.SetColor(graphBoxFill)
			c.Fill(path)
			c.SetLineStyle(stroke)
			c.Stroke(path)
			lbl := g.f.Groups[gi].Label
			if lbl == "" {
				continue
			}
			switch d {
			case 1:
				// Outermost boxes: the label above, centred.
				sty := labelSty
				sty.XAlign, sty.YAlign = draw.XCenter, draw.YBottom
				c.FillText(sty, vg.Point{X: (b.r.Min.X + b.r.Max.X) / 2, Y: b.r.Max.Y + vg.Points(2)}, lbl)
				continue
			case 2:
				// The boxes inside them: the label to the left, in the
				// room kept for it.
				sty := labelSty
				sty.XAlign = draw.XRight
				c.FillText(sty, vg.Point{X: b.r.Min.X - graphLabelPad, Y: (b.r.Min.Y + b.r.Max.Y) / 2}, lbl)
				continue
			}
			// Deeper boxes: on the top edge, left, over a white patch,
			// if there is room.
			w := labelSty.Width(lbl)
			if w+2*graphLabelPad > b.r.Max.X-b.r.Min.X || 2*geo.padY < labelSty.Height(lbl)*0.8 {
				continue
			}
			x := b.r.Min.X + graphLabelPad
			y := b.r.Max.Y
			h := labelSty.Height(lbl)
			c.SetColor(color.White)
			c.Fill(rectPath(vg.Rectangle{Min: vg.Point{X: x - 1, Y: y - h/2}, Max: vg.Point{X: x + w + 1, Y: y + h/2}}))
			c.FillText(labelSty, vg.Point{X: x, Y: y}, lbl)
		}
	}
}

// drawEdges draws every edge as a smooth curve through its dummy nodes,
// with an arrowhead at its end.
func (g graphDrawing) drawEdges(c draw.Canvas, geo geometry) {
	lay := g.lay
	for i, e := range g.f.Edges {
		p := lay.paths[i]
		if len(p) < 2 {
			continue
		}
		pts := make([]vg.Point, len(p))
		for k, v := range p {
			pts[k] = geo.at(lay, v)
		}
		// Start and end on the nodes' edges.
		dir := func(a, b vg.Point) vg.Length {
			if b.Y < a.Y {
				return -1
			}
			return 1
		}
		pts[0].Y += dir(pts[0], pts[1]) * geo.nodeH / 2
		last := len(pts) - 1
		sty := draw.LineStyle{Color: graphEdgeColor, Width: graphMinWidth}
		ok := e.Value > 0 && !math.IsInf(e.Value, 1)
		if ok {
			sty.Width = graphEdgeWidth(e.Value)
		} else {
			sty.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		}
		head := min(vg.Points(3)+sty.Width*1.2, (geo.layer-geo.nodeH)*0.45)
		d := dir(pts[last], pts[last-1])
		tip := pts[last]
		tip.Y += d * geo.nodeH / 2
		pts[last] = tip
		pts[last].Y += d * head * 0.8 // the line stops inside the arrowhead
		var path vg.Path
		path.Move(pts[0])
		for k := 1; k < len(pts); k++ {
			a, b := pts[k-1], pts[k]
			h := (b.Y - a.Y) / 2
			path.CubeTo(vg.Point{X: a.X, Y: a.Y + h}, vg.Point{X: b.X, Y: b.Y - h}, b)
		}
		c.SetLineStyle(sty)
		c.Stroke(path)
		// The arrowhead points along the curve's end, which is vertical.
		var arrow vg.Path
		half := head * 0.6
		arrow.Move(tip)
		arrow.Line(vg.Point{X: tip.X - half, Y: tip.Y + d*head})
		arrow.Line(vg.Point{X: tip.X + half, Y: tip.Y + d*head})
		arrow.Close()
		c.SetColor(graphEdgeColor)
		c.Fill(arrow)
	}
}

// drawNodes draws the nodes as rounded boxes in their colours, with their
// labels if they fit.
func (g graphDrawing) drawNodes(c draw.Canvas, geo geometry) {
	lay := g.lay
	labelSty := textStyle(graphLabelSize)
	labelSty.XAlign, labelSty.YAlign = draw.XCenter, draw.YCenter
	stroke := draw.LineStyle{Color: graphNodeStroke, Width: vg.Points(0.75)}
	for v := range lay.n {
		pt := geo.at(lay, v)
		r := vg.Rectangle{
			Min: vg.Point{X: pt.X - geo.nodeW/2, Y: pt.Y - geo.nodeH/2},
			Max: vg.Point{X: pt.X + geo.nodeW/2, Y: pt.Y + geo.nodeH/2},
		}
		path := roundedRect(r, geo.nodeH/4)
		c.SetColor(g.fill[v])
		c.Fill(path)
		c.SetLineStyle(stroke)
		c.Stroke(path)
		if geo.labels && g.f.Nodes[v].Label != "" {
			sty := labelSty
			sty.Color = textOn(g.fill[v])
			c.FillText(sty, pt, g.f.Nodes[v].Label)
		}
	}
}

// textOn returns black or white, whichever reads better on bg.
func textOn(bg color.Color) color.Color {
	r, gr, b, _ := bg.RGBA()
	lum := 0.2126*float64(r) + 0.7152*float64(gr) + 0.0722*float64(b)
	if lum > 0.45*0xffff {
		return color.Black
	}
	return color.White
}

// legendWidth returns the width of the edge-width legend.
func (g graphDrawing) legendWidth() vg.Length {
	sty := textStyle(tickSize)
	w := graphLegendWidth + tickLabelGap + sty.Width("10")
	if g.f.EdgeLabel != "" {
		w = max(w, textStyle(tickSize).Width("width: "+g.f.EdgeLabel))
	}
	return w
}

// drawLegend draws the samples of edge widths, top left at pt.
func (g graphDrawing) drawLegend(c draw.Canvas, pt vg.Point) {
	if len(g.f.Edges) == 0 {
		return
	}
	sty := textStyle(tickSize)
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YTop
	y := pt.Y
	title := "edge width"
	if g.f.EdgeLabel != "" {
		title = "width: " + g.f.EdgeLabel
	}
	c.FillText(sty, vg.Point{X: pt.X, Y: y}, title)
	y -= sty.Height(title) + vg.Points(4)
	sty.YAlign = draw.YCenter
	for _, v := range []float64{10, 1, 0.1} {
		h := sty.Height("0")
		mid := y - h/2
		c.StrokeLine2(draw.LineStyle{Color: graphEdgeColor, Width: graphEdgeWidth(v)}, pt.X, mid, pt.X+graphLegendWidth, mid)
		c.FillText(sty, vg.Point{X: pt.X + graphLegendWidth + tickLabelGap, Y: mid}, formatTick(v))
		y -= h + vg.Points(4)
	}
}

// roundedRect returns the outline of r with corners of radius rad.
func roundedRect(r vg.Rectangle, rad vg.Length) vg.Path {
	rad = min(rad, (r.Max.X-r.Min.X)/2, (r.Max.Y-r.Min.Y)/2)
	var p vg.Path
	p.Move(vg.Point{X: r.Min.X + rad, Y: r.Min.Y})
	p.Line(vg.Point{X: r.Max.X - rad, Y: r.Min.Y})
	p.Arc(vg.Point{X: r.Max.X - rad, Y: r.Min.Y + rad}, rad, -math.Pi/2, math.Pi/2)
	p.Line(vg.Point{X: r.Max.X, Y: r.Max.Y - rad})
	p.Arc(vg.Point{X: r.Max.X - rad, Y: r.Max.Y - rad}, rad, 0, math.Pi/2)
	p.Line(vg.Point{X: r.Min.X + rad, Y: r.Max.Y})
	p.Arc(vg.Point{X: r.Min.X + rad, Y: r.Max.Y - rad}, rad, math.Pi/2, math.Pi/2)
	p.Line(vg.Point{X: r.Min.X, Y: r.Min.Y + rad})
	p.Arc(vg.Point{X: r.Min.X + rad, Y: r.Min.Y + rad}, rad, math.Pi, math.Pi/2)
	p.Close()
	return p
}

// rectPath returns the outline of r.
func rectPath(r vg.Rectangle) vg.Path {
	var p vg.Path
	p.Move(r.Min)
	p.Line(vg.Point{X: r.Max.X, Y: r.Min.Y})
	p.Line(r.Max)
	p.Line(vg.Point{X: r.Min.X, Y: r.Max.Y})
	p.Close()
	return p
}
