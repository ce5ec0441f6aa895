package main

import (
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// flowMapGraph draws the units of a folded Flow as nodes valued by their
// cotangents, edges from user to used valued by their gains, and scopes
// as nested boxes inside the network's box.
func TestFlowMapGraph(t *testing.T) {
	root := adjoint.NewScope("net")
	block := root.Child("block")
	x := adjoint.Param(adjoint.Vector(0.3, -0.7))
	w := adjoint.Param(adjoint.Vector(2, 0.5))
	h := adjoint.Mul(adjoint.InScope(block.Child("inner"), x), w)
	h = adjoint.Add(adjoint.InScope(block, h), adjoint.InScope(block, x))
	y := adjoint.Sum(adjoint.Square(adjoint.InScope(root.Child("loss"), h)))
	var f adjoint.Flow
	adjoint.Backward(y, []*adjoint.Var{x}, &adjoint.GradSettings{Flow: &f})
	g := f.Fold(2)
	fig := flowMapGraph("t", []string{"net"}, []adjoint.FlowGraph{g})

	if len(fig.Nodes) != len(g.Units) || len(fig.Edges) != len(g.Edges) {
		t.Fatalf("%d nodes %d edges for %d units %d edges", len(fig.Nodes), len(fig.Edges), len(g.Units), len(g.Edges))
	}
	for i, u := range g.Units {
		if fig.Nodes[i].Value != u.Cotangent {
			t.Errorf("node %d: value %v, want the unit's cotangent %v", i, fig.Nodes[i].Value, u.Cotangent)
		}
		// The node's box is the unit's parent scope; the network's root
		// scope is the network's box, group 1.
		want := "net"
		if u.Parent != nil && u.Parent != root {
			want = u.Parent.Name()
		}
		if got := fig.Groups[fig.Nodes[i].Group-1].Label; got != want {
			t.Errorf("node %d (%s) in box %q, want %q", i, u.Name, got, want)
		}
	}
	for i, e := range g.Edges {
		if fig.Edges[i].From != e.To || fig.Edges[i].To != e.From || fig.Edges[i].Value != e.Gain {
			t.Errorf("edge %d drawn %d → %d (%v), want %d → %d (%v)", i, fig.Edges[i].From, fig.Edges[i].To, fig.Edges[i].Value, e.To, e.From, e.Gain)
		}
	}
	// The block box sits inside the network's box.
	for _, gr := range fig.Groups {
		if gr.Label == "block" && gr.Parent != 1 {
			t.Errorf("block box inside group %d, want 1", gr.Parent)
		}
	}
}

// The captions say what the numbers show: a plain network whose
// cotangent grew would be reported as growing.
func TestFlowMapReportFollowsNumbers(t *testing.T) {
	c := flowMapConfig{Depth: 3, Width: 4, Batch: 2, Init: "torch", InitGain: 1, Tol: 1e-12}
	net := func(name string, profile ...float64) flowMapNet {
		return flowMapNet{name: name, profile: profile, gain: []float64{profile[0] / profile[1], profile[1] / profile[2]},
			branchGain: []float64{0.5, 0.25}, chainGain: 1, lossCt: 1}
	}
	res := &flowMapResult{depth: 3, nets: []flowMapNet{
		net("plain", 1e-4, 1e-2, 1), net("residual", 2, 1.5, 1), net("LayerNorm", 4, 2, 1),
	}}
	rep := &runner.Report{}
	flowMapReport(rep, c, res)
	text := rep.Text()
	for _, want := range []string{"the plain network's cotangent falls by a factor 1e+04", "the residual network's grows by a factor 2", "the LayerNorm network's grows by a factor 4"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	res.nets[0] = net("plain", 10, 5, 1)
	rep = &runner.Report{}
	flowMapReport(rep, c, res)
	if text := rep.Text(); !strings.Contains(text, "the plain network's cotangent grows by a factor 10") {
		t.Error("a growing plain network is not reported as growing")
	}
}
