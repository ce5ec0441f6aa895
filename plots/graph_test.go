package plots

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// residualLadder is a map of a small residual network: in each block a
// sum that feeds the next block both directly and through a branch.
func residualLadder(blocks int) Graph {
	g := Graph{Groups: []GraphGroup{{Label: "net"}}}
	prev := -1
	for b := range blocks {
		g.Groups = append(g.Groups, GraphGroup{Label: fmt.Sprintf("block%d", b), Parent: 1})
		grp := len(g.Groups)
		g.Nodes = append(g.Nodes, GraphNode{Label: "add", Value: math.Pow(10, -float64(b)), Group: grp},
			GraphNode{Label: "branch", Value: 0.5 * math.Pow(10, -float64(b)), Group: grp})
		add, br := len(g.Nodes)-2, len(g.Nodes)-1
		g.Edges = append(g.Edges, GraphEdge{From: add, To: br, Value: 1})
		if prev >= 0 {
			g.Edges = append(g.Edges, GraphEdge{From: prev, To: add, Value: 1}, GraphEdge{From: prev + 1, To: add, Value: 0.3})
		}
		prev = add
	}
	return g
}

func TestGraphLayers(t *testing.T) {
	// a → b → c, a → c (two layers: one dummy), p → c (a source without
	// predecessors goes just above its successor).
	l := layoutGraph(4, [][2]int{{0, 1}, {1, 2}, {0, 2}, {3, 2}}, make([]int, 4), nil)
	if want := []int{0, 1, 2, 1}; !slices.Equal(l.layer[:4], want) {
		t.Errorf("layers %v, want %v", l.layer[:4], want)
	}
	if len(l.layer) != 5 || len(l.paths[2]) != 3 || l.paths[2][1] != 4 || l.layer[4] != 1 {
		t.Errorf("the edge a → c is routed through %v, want one dummy in layer 1", l.paths[2])
	}
	for v := range l.layer {
		for w := range l.layer {
			if v != w && l.layer[v] == l.layer[w] && math.Abs(l.pos[v]-l.pos[w]) < 1-1e-9 {
				t.Errorf("nodes %d and %d in layer %d are %g apart, want at least 1", v, w, l.layer[v], math.Abs(l.pos[v]-l.pos[w]))
			}
		}
	}
}

// The barycentre sweeps remove a crossing that the first order has:
// top 0, 1, 2 and bottom 3, 4 with 0 → 3, 1 → 4, 2 → 3.
func TestGraphCrossings(t *testing.T) {
	edges := [][2]int{{0, 3}, {1, 4}, {2, 3}}
	l := layoutGraph(5, edges, make([]int, 5), nil)
	if l.cross != 0 {
		t.Errorf("%d crossings, want 0; order %v", l.cross, l.order)
	}
	_, down := l.segments()
	l.order = [][]int{{0, 1, 2}, {3, 4}}
	if c := l.crossings(down); c != 1 {
		t.Errorf("crossings of the first order: %d, want 1", c)
	}
	// Random graphs: never more crossings than the first order had.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		n := 12
		var e [][2]int
		for range 20 {
			a, b := rng.IntN(n), rng.IntN(n)
			if a < b {
				e = append(e, [2]int{a, b})
			}
		}
		l := layoutGraph(n, e, make([]int, n), nil)
		best := l.cross
		l.initialOrder()
		_, down := l.segments()
		if first := l.crossings(down); best > first {
			t.Errorf("%d crossings after the sweeps, %d before", best, first)
		}
	}
}

// Groups stay together, components side by side, and the long edges of a
// residual ladder run straight.
func TestGraphGroupsAndComponents(t *testing.T) {
	g := residualLadder(6)
	other := residualLadder(3)
	base, groups := len(g.Nodes), len(g.Groups)
	for _, gr := range other.Groups {
		if gr.Parent > 0 {
			gr.Parent += groups
		}
		g.Groups = append(g.Groups, gr)
	}
	for _, nd := range other.Nodes {
		nd.Group += groups
		g.Nodes = append(g.Nodes, nd)
	}
	for _, e := range other.Edges {
		g.Edges = append(g.Edges, GraphEdge{From: e.From + base, To: e.To + base, Value: e.Value})
	}
	d := g.drawing()
	l := d.lay
	// Each group's members are contiguous in every layer.
	for k, ord := range l.order {
		for gi := range l.groups {
			in := func(v int) bool { return slices.Contains(l.path[v], gi+1) }
			first, last := -1, -1
			for i, v := range ord {
				if in(v) {
					if first < 0 {
						first = i
					}
					last = i
				}
			}
			for i := first; first >= 0 && i <= last; i++ {
				if !in(ord[i]) {
					t.Errorf("layer %d: group %d is split by node %d", k, gi+1, ord[i])
				}
			}
		}
	}
	// The second component lies to the right of the first.
	right := math.Inf(-1)
	left := math.Inf(1)
	for v := range l.layer {
		if l.comp[v] == 0 {
			right = math.Max(right, l.pos[v])
		} else {
			left = math.Min(left, l.pos[v])
		}
	}
	if left <= right {
		t.Errorf("components overlap: first ends at %g, second starts at %g", right, left)
	}
	// The sums (and the dummies of the identity edges between them) lie
	// in one column.
	for b := 1; b < 6; b++ {
		if d := math.Abs(l.pos[2*b] - l.pos[0]); d > 1e-9 {
			t.Errorf("sum of block %d is %g off the column of the first", b, d)
		}
	}
}

// Nodes are drawn where the layout puts them, in the colours of their
// values; the colour bar spans those colours.
func TestGraphNodePixels(t *testing.T) {
	g := residualLadder(4)
	for i := range g.Nodes {
		g.Nodes[i].Label = "" // so that a node's centre shows its colour
	}
	g.LogColor = true
	g.Title = "map"
	opt := &Options{Density: 1}
	img := decode(t, must(render(t, g, opt)))
	d := g.drawing()
	area, _, _, side := d.split(figureCanvas())
	if !side {
		t.Fatal("no room for the colour bar")
	}
	geo := d.geometry(area)
	for v := range g.Nodes {
		pt := geo.at(d.lay, v)
		px := image.Pt(int(float64(pt.X)/72*96), int(float64(DefaultHeight-pt.Y)/72*96))
		if got := img.At(px.X, px.Y); !near(got, d.fill[v]) {
			t.Errorf("node %d (value %g) at %v: colour %v, want %v", v, g.Nodes[v].Value, px, got, d.fill[v])
		}
	}
	// The smallest value is drawn black and the largest near white, as
	// ExtendedBlackBody's ends.
	if !near(d.fill[7], color.Black) || !near(d.fill[0], color.White) {
		t.Errorf("end colours %v and %v, want black and white", d.fill[7], d.fill[0])
	}
}

func TestGraphNotes(t *testing.T) {
	for _, tc := range []struct {
		name string
		g    Graph
		want []string
	}{
		{"clean", residualLadder(2), nil},
		{"empty", Graph{}, []string{"graph: no nodes"}},
		{"cycle and loop", Graph{
			Nodes: []GraphNode{{Value: 1}, {Value: 2}, {Value: 3}},
			Edges: []GraphEdge{{0, 1, 1}, {1, 2, 1}, {2, 0, 1}, {1, 1, 1}},
		}, []string{"graph: 1 edge is drawn against the layers, to break cycles", "graph: 1 self-loop is not drawn"}},
		{"bad values", Graph{
			Nodes:    []GraphNode{{Value: 1}, {Value: 0}, {Value: math.NaN()}},
			Edges:    []GraphEdge{{0, 1, 0}, {1, 2, math.Inf(1)}, {0, 2, 2}},
			LogColor: true,
		}, []string{"graph: 2 edges have no positive finite value, drawn thin and dashed", "graph: 2 node values are not positive and finite, drawn grey"}},
	} {
		_, notes := render(t, tc.g, nil)
		if !reflect.DeepEqual(notes, tc.want) {
			t.Errorf("%s: notes %q, want %q", tc.name, notes, tc.want)
		}
	}
}

func TestGraphMisuse(t *testing.T) {
	for _, tc := range []struct {
		name string
		g    Graph
		want string
	}{
		{"edge", Graph{Nodes: []GraphNode{{}}, Edges: []GraphEdge{{From: 0, To: 1}}}, "plots: graph edge 0 joins nodes 0 and 1, want 0 to 0"},
		{"node group", Graph{Nodes: []GraphNode{{Group: 2}}, Groups: []GraphGroup{{}}}, "plots: graph node 0 is in group 2"},
		{"parent", Graph{Groups: []GraphGroup{{Parent: -1}}}, "plots: graph group 0 has parent -1"},
		{"loop of groups", Graph{Groups: []GraphGroup{{Parent: 2}, {Parent: 1}}}, "plots: graph groups: a group is inside itself"},
		{"log range", Graph{Nodes: []GraphNode{{Value: 1}}, LogColor: true, ColorRange: Extent{-1, 1}}, "must be positive"},
	} {
		func() {
			defer func() {
				r := recover()
				if msg := fmt.Sprint(r); r == nil || !strings.Contains(msg, tc.want) {
					t.Errorf("%s: panic %v, want one containing %q", tc.name, r, tc.want)
				}
			}()
			var buf bytes.Buffer
			Write(&buf, tc.g, nil)
		}()
	}
}

func TestGraphSVG(t *testing.T) {
	g := residualLadder(3)
	g.Title = "a map"
	data, _ := render(t, g, &Options{Format: SVG})
	text := svgText(t, data)
	for _, want := range []string{"a map", "block2", "branch", "add", "0.1"} {
		if !strings.Contains(text, want) {
			t.Errorf("SVG text lacks %q: %s", want, text)
		}
	}
}

// The DOT text: compared with a golden file, and read back for its parts.
func TestGraphDOT(t *testing.T) {
	g := residualLadder(2)
	g.Title = "flow of W_l & <x>"
	g.ColorLabel = "‖∂L/∂h‖"
	g.EdgeLabel = "gain"
	g.LogColor = true
	g.Nodes[1].Label = "x^{2}_i"
	var buf bytes.Buffer
	if err := WriteDOT(&buf, g); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	path := filepath.Join("testdata", "golden", "graph.dot")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("DOT differs from %s:\n%s", path, got)
	}
	d := g.drawing()
	for i := range g.Nodes {
		line := fmt.Sprintf("n%d [label=", i)
		if strings.Count(got, line) != 1 {
			t.Errorf("node %d is written %d times", i, strings.Count(got, line))
		}
		if !strings.Contains(got, fmt.Sprintf("n%d [label=<%s>, fillcolor=%q", i, htmlLabel(g.Nodes[i].Label), hexColor(d.fill[i]))) {
			t.Errorf("node %d lacks its label or the figure's colour %s", i, hexColor(d.fill[i]))
		}
	}
	for _, e := range g.Edges {
		if !strings.Contains(got, fmt.Sprintf("n%d -> n%d [penwidth=%.2f", e.From, e.To, float64(graphEdgeWidth(e.Value)))) {
			t.Errorf("edge %d → %d missing or of another width", e.From, e.To)
		}
	}
	for _, want := range []string{"flow of W<SUB>l</SUB> &amp; &lt;x&gt;", "x<SUP>2</SUP><SUB>i</SUB>", "subgraph cluster_1 {", "\t\tsubgraph cluster_3 {", "log scale"} {
		if !strings.Contains(got, want) {
			t.Errorf("DOT lacks %q", want)
		}
	}
	if strings.Count(got, "{") != strings.Count(got, "}") {
		t.Error("unbalanced braces")
	}
	// Graphviz itself, where installed, reads it.
	if dot, err := exec.LookPath("dot"); err == nil {
		cmd := exec.Command(dot, "-Tsvg")
		cmd.Stdin = strings.NewReader(got)
		if out, err := cmd.CombinedOutput(); err != nil || !bytes.Contains(out, []byte("<svg")) {
			t.Errorf("dot: %v\n%s", err, out)
		}
	}
}

func TestSaveDOT(t *testing.T) {
	path := filepath.Join(t.TempDir(), "map.dot")
	if err := SaveDOT(path, residualLadder(2)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(data, []byte("digraph {")) {
		t.Errorf("saved %q, %v", data, err)
	}
	if err := SaveDOT(filepath.Join(t.TempDir(), "missing", "map.dot"), residualLadder(1)); err == nil {
		t.Error("saving into a missing folder succeeded")
	}
}
