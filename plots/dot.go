package plots

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"
	"strings"
)

// WriteDOT writes g in Graphviz's DOT language, for people who lay out
// and draw graphs with Graphviz (dot -Tsvg map.dot > map.svg) or with
// tools that read DOT. Nodes have the colours of the figure (the same
// colour scale) and their values as tooltips; edges have widths from
// their values, as in the figure, and their values as tooltips; groups
// are clusters, nested as the groups are. Labels keep their sub- and
// superscripts (HTML-like labels with <SUB> and <SUP>). The title, the
// colour scale and the edge legend become the graph's label. Every edge
// is written, self-loops and cycles included, since Graphviz lays them
// out itself.
//
// It panics, as Save does, if an edge, node or group refers to a node or
// group that does not exist, and returns the error of writing to w.
func WriteDOT(w io.Writer, g Graph) error {
	_, group, parent := g.check()
	fill, bar, _ := g.colors()
	var b bytes.Buffer
	b.WriteString("digraph {\n")
	label := htmlLabel(g.Title)
	if scale := dotScale(g, bar); scale != "" {
		if label != "" {
			label += "<BR/>"
		}
		label += `<FONT POINT-SIZE="10">` + scale + "</FONT>"
	}
	fmt.Fprintf(&b, "\tgraph [rankdir=TB, labelloc=t, fontname=\"Helvetica\", label=<%s>];\n", label)
	fmt.Fprintf(&b, "\tnode [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10, color=%q];\n", hexColor(graphNodeStroke))
	fmt.Fprintf(&b, "\tedge [color=%q, arrowsize=0.6];\n", hexColor(graphEdgeColor))

	// Each group's members and child groups, written depth first.
	members := make([][]int, len(g.Groups)+1) // index 0: outside every group
	for i := range g.Nodes {
		members[group[i]] = append(members[group[i]], i)
	}
	children := make([][]int, len(g.Groups)+1)
	for i, p := range parent {
		children[p] = append(children[p], i+1)
	}
	var write func(gr, indent int)
	write = func(gr, indent int) {
		tab := strings.Repeat("\t", indent)
		for _, i := range members[gr] {
			fmt.Fprintf(&b, "%sn%d [label=<%s>, fillcolor=%q, fontcolor=%q, tooltip=%q];\n", tab, i,
				htmlLabel(g.Nodes[i].Label), hexColor(fill[i]), hexColor(textOn(fill[i])), dotNumber(g.Nodes[i].Value))
		}
		for _, c := range children[gr] {
			fmt.Fprintf(&b, "%ssubgraph cluster_%d {\n", tab, c)
			fmt.Fprintf(&b, "%s\tgraph [label=<%s>, style=\"rounded,filled\", fillcolor=%q, color=%q];\n", tab,
				htmlLabel(g.Groups[c-1].Label), hexColor(boxFill(indent)), hexColor(graphBoxStroke))
			write(c, indent+1)
			fmt.Fprintf(&b, "%s}\n", tab)
		}
	}
	write(0, 1)
	for _, e := range g.Edges {
		width := graphMinWidth
		if e.Value > 0 && !math.IsInf(e.Value, 1) {
			width = graphEdgeWidth(e.Value)
		}
		fmt.Fprintf(&b, "\tn%d -> n%d [penwidth=%s, tooltip=%q", e.From, e.To, strconv.FormatFloat(float64(width), 'f', 2, 64), dotNumber(e.Value))
		if !(e.Value > 0) || math.IsInf(e.Value, 1) {
			b.WriteString(", style=dashed")
		}
		b.WriteString("];\n")
	}
	b.WriteString("}\n")
	_, err := w.Write(b.Bytes())
	return err
}

// SaveDOT writes g in the DOT language (see WriteDOT) to the file at path,
// through a temporary file renamed into place, so a failed save leaves no
// partial file.
func SaveDOT(path string, g Graph) error {
	var b bytes.Buffer
	if err := WriteDOT(&b, g); err != nil {
		return fmt.Errorf("plots: save %s: %w", path, err)
	}
	if err := writeFilesAtomic([]pendingFile{{path, b.Bytes()}}); err != nil {
		return fmt.Errorf("plots: save %s: %w", path, err)
	}
	return nil
}

// dotScale describes the colour scale and the edge widths in words, for
// the graph's label.
func dotScale(g Graph, bar colorBar) string {
	if len(g.Nodes) == 0 {
		return ""
	}
	lo, hi := bar.lo, bar.hi
	if bar.log {
		lo, hi = math.Pow(10, lo), math.Pow(10, hi)
	}
	what := "value"
	if g.ColorLabel != "" {
		what = htmlLabel(g.ColorLabel)
	}
	s := fmt.Sprintf("colour: %s from %s (black) to %s (white)", what, htmlEscape(dotNumber(lo)), htmlEscape(dotNumber(hi)))
	if bar.log {
		s += ", log scale"
	}
	if len(g.Edges) > 0 {
		what := "value"
		if g.EdgeLabel != "" {
			what = htmlLabel(g.EdgeLabel)
		}
		s += fmt.Sprintf("; edge width: %s, log scale, 0.1 thin to 10 thick", what)
	}
	return s
}

// dotNumber formats a value for a tooltip or label.
func dotNumber(v float64) string {
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// htmlLabel turns markup into the body of a Graphviz HTML-like label:
// text escaped, sub- and superscripts as <SUB> and <SUP> (nested scripts
// at one level).
func htmlLabel(s string) string {
	// The figures draw ‖ as || for want of a good glyph; Graphviz's fonts
	// have one. A private-use character carries it through the parser.
	const normBar = "\ue000"
	s = strings.ReplaceAll(s, "‖", normBar)
	p := markupParser{has: func(rune) bool { return true }}
	p.parse(s, 1, 0)
	var b strings.Builder
	for _, sp := range p.out {
		t := htmlEscape(sp.text)
		switch {
		case sp.shift > 0:
			b.WriteString("<SUP>" + t + "</SUP>")
		case sp.shift < 0:
			b.WriteString("<SUB>" + t + "</SUB>")
		default:
			b.WriteString(t)
		}
	}
	return strings.ReplaceAll(b.String(), normBar, "‖")
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// hexColor formats c as #rrggbb.
func hexColor(c color.Color) string {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return fmt.Sprintf("#%02x%02x%02x", n.R, n.G, n.B)
}

// boxFill returns the opaque colour of depth boxes' translucent fills
// drawn over white one on another, as in the figure.
func boxFill(depth int) color.Color {
	n := color.NRGBAModel.Convert(graphBoxFill).(color.NRGBA)
	a := 1 - math.Pow(1-float64(n.A)/255, float64(depth))
	mix := func(v uint8) uint8 { return uint8(math.Round(float64(v)*a + 255*(1-a))) }
	return color.NRGBA{R: mix(n.R), G: mix(n.G), B: mix(n.B), A: 255}
}
