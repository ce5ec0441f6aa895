package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/experiments/internal/runner"
	"github.com/adjointkit/adjointkit/nn"
	"github.com/adjointkit/adjointkit/plots"
)

// This file registers the gradient_flow_map experiment: a record of the
// reverse pass (adjoint.Flow) through three deep tanh networks at
// initialisation, folded layer by layer into maps of the cotangent.

// flowMapConfig is the [params] table of the gradient_flow_map experiment.
type flowMapConfig struct {
	Depth    int        `toml:"depth"`     // hidden blocks, each Linear(width→width) then tanh, 2 to 200
	Width    int        `toml:"width"`     // units per layer (and input features), 2 to 256
	Batch    int        `toml:"batch"`     // samples in the batch, 1 to 1024
	Init     string     `toml:"init"`      // "torch": PyTorch's default, weights and biases U(±1/√width); "glorot": weights N(0, g²/width), biases 0
	InitGain float64    `toml:"init_gain"` // g of "glorot" (GlorotNormal(g)), 0.1 to 4
	Tol      runner.Tol `toml:"tol"`       // map vs Grad, gains vs end-to-end ratio, nn summary vs gradients: relative
}

// Validate checks every key's range.
func (c flowMapConfig) Validate() error {
	return errors.Join(
		runner.InRange("depth", c.Depth, 2, 200),
		runner.InRange("width", c.Width, 2, 256),
		runner.InRange("batch", c.Batch, 1, 1024),
		runner.OneOf("init", c.Init, "torch", "glorot"),
		runner.InRange("init_gain", c.InitGain, 0.1, 4),
		runner.InRange("tol", c.Tol, 0, 1),
	)
}

func init() {
	runner.Register(runner.Spec[flowMapConfig, flowMapResult]{
		Name:    "gradient_flow_map",
		Theme:   "adjoint",
		Summary: "Maps of the adjoint flowing through 30-layer tanh networks at initialisation — plain, residual, LayerNorm — from a record of the reverse pass.",
		Defaults: func() flowMapConfig {
			return flowMapConfig{Depth: 30, Width: 32, Batch: 64, Init: "torch", InitGain: 1, Tol: 1e-12}
		},
		Headline: "plain: first/last block cotangent",
		Quick: func(c *flowMapConfig) {
			c.Depth = min(c.Depth, 8)
			c.Width = min(c.Width, 16)
			c.Batch = min(c.Batch, 16)
		},
		Compute: computeFlowMap,
		Figures: flowMapFigures,
		Report:  flowMapReport,
	})
}

// flowMapNets names the three networks, in the order of the maps.
var flowMapNets = []string{"plain", "residual", "LayerNorm"}

// flowMapNet is what one network's reverse pass recorded and what the
// checks found.
type flowMapNet struct {
	name   string
	loss   float64
	blocks adjoint.FlowGraph // the Flow folded at depth 1: one unit per block
	inside adjoint.FlowGraph // folded at depth 2: inside the blocks
	// profile[l] is ‖∂L/∂h_l‖ at the output of block l (0 = nearest the
	// input), gain[l] the gain of block l+1 back to block l.
	profile, gain []float64
	// The readout's and the loss's cotangent norms.
	readout, lossCt float64

	nodes       int     // values in the record
	gradErr     float64 // largest relative difference, node cotangent vs ‖Grad‖
	chainErr    float64 // product of gains along the chain vs end-to-end ratio
	chainGain   float64 // that product
	edgeErr     float64 // a block's edge cotangent vs its input block's cotangent
	summaryErr  float64 // nn.LayerFlows ‖∂L/∂θ‖ vs nn.LayerGradNorms of Grad
	identityErr float64 // residual: |gain − 1| of the identity edges, largest
	branchGain  []float64
}

// flowMapResult is what computeFlowMap finds.
type flowMapResult struct {
	depth   int
	nets    []flowMapNet
	seconds float64 // building, recording and verifying all three
}

// flowMapModel builds one network: depth blocks and a linear readout,
// with the weights drawn from rng (the same draws for every kind).
func flowMapModel(rng *rand.Rand, kind string, c flowMapConfig) *nn.Sequential {
	init := nn.TorchDefault()
	if c.Init == "glorot" {
		init = nn.GlorotNormal(c.InitGain)
	}
	var layers []nn.Layer
	for range c.Depth {
		lin := nn.NewLinear(rng, c.Width, c.Width, init)
		switch kind {
		case "plain":
			layers = append(layers, nn.NewSequential(nil, lin, nn.Tanh()))
		case "residual":
			layers = append(layers, nn.NewResidual(nn.NewSequential(nil, lin, nn.Tanh())))
		case "LayerNorm":
			layers = append(layers, nn.NewSequential(nil, lin, nn.NewLayerNorm(c.Width, 0), nn.Tanh()))
		}
	}
	layers = append(layers, nn.NewLinear(rng, c.Width, 1, init))
	return nn.NewSequential([]int{c.Width}, layers...)
}

func computeFlowMap(env *runner.Env, c flowMapConfig) (*flowMapResult, error) {
	start := time.Now()
	rng := env.Rand()
	seed := rng.Uint64()
	xt, yt := adjoint.New(c.Batch, c.Width), adjoint.New(c.Batch, 1)
	for i := range xt.Data {
		xt.Data[i] = rng.NormFloat64()
	}
	for i := range yt.Data {
		yt.Data[i] = rng.NormFloat64()
	}
	res := &flowMapResult{depth: c.Depth}
	for k, kind := range flowMapNets {
		if err := env.Context().Err(); err != nil {
			return nil, err
		}
		env.Progress(k, len(flowMapNets), kind)
		net, err := flowMapRecord(kind, c, rand.New(rand.NewPCG(seed, 1)), xt, yt)
		if err != nil {
			return nil, err
		}
		res.nets = append(res.nets, net)
	}
	env.Progress(len(flowMapNets), len(flowMapNets), "done")
	res.seconds = time.Since(start).Seconds()
	return res, nil
}

// flowMapRecord builds one network, records its reverse pass and checks
// the record.
func flowMapRecord(kind string, c flowMapConfig, rng *rand.Rand, xt, yt *adjoint.Tensor) (flowMapNet, error) {
	model := flowMapModel(rng, kind, c)
	ps := model.Params()
	vars := nn.ParamVars(ps)
	root := adjoint.NewScope(kind)
	out := model.Apply(vars, adjoint.InScope(root, adjoint.Const(xt)))
	loss := nn.MSE(adjoint.InScope(root.Child("loss"), out), adjoint.Const(yt))
	if l := loss.Item(); math.IsNaN(l) || math.IsInf(l, 0) {
		return flowMapNet{}, fmt.Errorf("%s network: loss at initialisation is %v", kind, l)
	}
	var flow adjoint.Flow
	grads := adjoint.Backward(loss, vars, &adjoint.GradSettings{Flow: &flow})

	net := flowMapNet{name: kind, loss: loss.Item(), nodes: len(flow.Nodes)}
	// Every cotangent in the record against Grad with respect to that
	// value, one reverse pass each.
	for _, nd := range flow.Nodes {
		want := adjoint.Grad(loss, nd.Var)[0].Norm()
		net.gradErr = max(net.gradErr, relErr([]float64{nd.Cotangent}, []float64{want}))
	}

	// The chain of blocks: loss ← readout ← block depth−1 ← … ← block 0.
	net.blocks = flow.Fold(1)
	g := net.blocks
	unit := map[string]int{}
	for i, u := range g.Units {
		unit[u.Name] = i
	}
	name := func(l int) string { return fmt.Sprintf("layer%d", l) }
	for l := range c.Depth {
		u, ok := unit[name(l)]
		if !ok {
			return net, fmt.Errorf("%s network: no unit for block %d in the map", kind, l)
		}
		net.profile = append(net.profile, g.Units[u].Cotangent)
	}
	net.readout = g.Units[unit[name(c.Depth)]].Cotangent
	net.lossCt = g.Units[unit["loss"]].Cotangent
	// Follow the chain from the loss down, multiplying the gains, and
	// check each edge's cotangent against the cotangent of the block it
	// reaches: each block is the only user of the one before.
	prod, u := 1.0, unit["loss"]
	for l := c.Depth; l >= 0; l-- {
		next := unit[name(l)]
		var e *adjoint.FlowEdge
		for i := range g.Edges {
			if g.Edges[i].To == u && g.Edges[i].From == next {
				e = &g.Edges[i]
			}
		}
		if e == nil {
			return net, fmt.Errorf("%s network: no edge from block %d to %s in the map", kind, l, g.Units[u].Name)
		}
		prod *= e.Gain
		net.edgeErr = max(net.edgeErr, relErr([]float64{e.Cotangent}, []float64{g.Units[next].Cotangent}))
		u = next
	}
	// The gain of block l+1 back to block l, for l = 0 … depth−2.
	for l := 0; l+1 < c.Depth; l++ {
		for _, e := range g.Edges {
			if e.To == unit[name(l+1)] && e.From == unit[name(l)] {
				net.gain = append(net.gain, e.Gain)
			}
		}
	}
	net.chainGain = prod
	net.chainErr = relErr([]float64{prod}, []float64{net.profile[0] / net.lossCt})

	// The nn summary from the same record.
	gt := make([]*adjoint.Tensor, len(grads))
	for i, gv := range grads {
		gt[i] = gv.Value()
	}
	_, norms := nn.LayerGradNorms(ps, gt)
	flows := nn.LayerFlows(ps, &flow)
	for l, lf := range flows {
		net.summaryErr = max(net.summaryErr, relErr([]float64{lf.GradNorm}, []float64{norms[l]}))
	}

	net.inside = flow.Fold(2)
	if kind == "residual" {
		// Inside each block: the sum passes its cotangent unchanged to
		// the block's input (the identity) and to the branch.
		net.identityErr = 0
		for ui, u := range net.inside.Units {
			if u.Name != "add" || u.Parent == nil || u.Parent.Depth() != 1 {
				continue
			}
			for _, e := range net.inside.Edges {
				if e.To != ui {
					continue
				}
				net.identityErr = max(net.identityErr, math.Abs(e.Gain-1))
				// The branch's own gain, back to the block's input.
				if from := net.inside.Units[e.From]; from.Name == "branch" {
					for _, e2 := range net.inside.Edges {
						if e2.To == e.From {
							net.branchGain = append(net.branchGain, e2.Gain)
						}
					}
				}
			}
		}
	}
	return net, nil
}

// flowMapGraph turns folded Flows, one per network, into one graph figure:
// each network a box, each unit a node coloured by its cotangent norm,
// each edge drawn from user to used (the way the cotangent flows) as wide
// as its gain, and the scopes around units as boxes inside.
func flowMapGraph(title string, names []string, gs []adjoint.FlowGraph) plots.Graph {
	fig := plots.Graph{
		Title: title, LogColor: true,
		ColorLabel: "cotangent norm ‖∂L/∂h‖", EdgeLabel: "gain",
	}
	for k, g := range gs {
		fig.Groups = append(fig.Groups, plots.GraphGroup{Label: names[k]})
		top := len(fig.Groups)
		groupOf := map[*adjoint.Scope]int{}
		var group func(s *adjoint.Scope) int
		group = func(s *adjoint.Scope) int {
			if s == nil || s.Parent() == nil {
				return top // outside the network's scope, or its root
			}
			if gi, ok := groupOf[s]; ok {
				return gi
			}
			parent := group(s.Parent())
			fig.Groups = append(fig.Groups, plots.GraphGroup{Label: s.Name(), Parent: parent})
			groupOf[s] = len(fig.Groups)
			return len(fig.Groups)
		}
		first := len(fig.Nodes)
		for _, u := range g.Units {
			fig.Nodes = append(fig.Nodes, plots.GraphNode{Label: plots.Escape(u.Name), Value: u.Cotangent, Group: group(u.Parent)})
		}
		for _, e := range g.Edges {
			fig.Edges = append(fig.Edges, plots.GraphEdge{From: first + e.To, To: first + e.From, Value: e.Gain})
		}
	}
	return fig
}

func flowMapFigures(dir runner.Dir, c flowMapConfig, res *flowMapResult) error {
	var blocks []adjoint.FlowGraph
	for _, n := range res.nets {
		blocks = append(blocks, n.blocks)
	}
	maps := flowMapGraph("The cotangent through each block, from the loss (top) to the first block", flowMapNets, blocks)
	if _, err := plots.Save(dir.Path("maps.png"), maps, &plots.Options{WidthPx: 760, HeightPx: max(600, 24*(c.Depth+2)+120)}); err != nil {
		return err
	}
	if err := plots.SaveDOT(dir.Path("maps.dot"), maps); err != nil {
		return err
	}
	res1 := res.nets[1]
	inside := flowMapGraph("Inside the residual blocks: the identity path and the branch", []string{"residual"}, []adjoint.FlowGraph{res1.inside})
	if _, err := plots.Save(dir.Path("residual_inside.png"), inside, &plots.Options{WidthPx: 640, HeightPx: max(600, 22*(2*c.Depth+8)+120)}); err != nil {
		return err
	}
	var series []plots.Series
	ls := make([]float64, c.Depth)
	for l := range ls {
		ls[l] = float64(l + 1)
	}
	for _, n := range res.nets {
		series = append(series, plots.Series{Name: n.name, X: ls, Y: n.profile, Points: true})
	}
	_, err := plots.Save(dir.Path("depth.png"), plots.Line{
		Title:  "Cotangent norm at each block's output, from the same records",
		X:      plots.Axis{Label: "block l (1 = nearest the input)"},
		Y:      plots.Axis{Label: "‖∂L/∂h_l‖", Log: true},
		Series: series,
	}, nil)
	return err
}

// geoMean returns the geometric mean of positive values.
func geoMean(vs []float64) float64 {
	var s float64
	for _, v := range vs {
		s += math.Log(v)
	}
	return math.Exp(s / float64(len(vs)))
}

func flowMapReport(rep *runner.Report, c flowMapConfig, res *flowMapResult) {
	rep.Heading("Three networks, one record each")
	draw := fmt.Sprintf("as PyTorch's `nn.Linear` draws them by default (weights and biases U(−1/√%d, 1/√%d), so the weights have "+
		"standard deviation %s/√%d)", c.Width, c.Width, runner.Num(1/math.Sqrt(3)), c.Width)
	if c.Init == "glorot" {
		draw = fmt.Sprintf("from N(0, %g²/%d), biases zero", c.InitGain, c.Width)
	}
	rep.Paraf("Each network has %d blocks of width %d and a linear readout, applied to a batch of %d Gaussian inputs with Gaussian targets "+
		"and a mean squared error; the parameters are drawn once, %s, and shared by the three. A block is "+
		"`tanh(h W + b)` (plain), `h + tanh(h W + b)` (residual) or `tanh(LayerNorm(h W + b))` (LayerNorm).",
		c.Depth, c.Width, c.Batch, draw)
	rep.Para("The model is applied to an input in a scope (`adjoint.InScope`), so that every block's operations are recorded in a scope " +
		"of their own (`nn.Sequential` names them `layer0`, `layer1`, …; `nn.Residual` puts its branch in a scope `branch`). One " +
		"reverse pass with `GradSettings.Flow` records the cotangent norm ‖v̄‖ of every value and the local gain of every operation " +
		"(‖contribution to an input‖ / ‖v̄‖); `Flow.Fold(1)` merges each block into one unit, `Fold(2)` opens the blocks.")
	tab := rep.Table("network", "values recorded", "loss", "‖∂L/∂h‖ last block", "‖∂L/∂h‖ first block", "first / last", "geometric mean block gain")
	for _, n := range res.nets {
		last, first := n.profile[len(n.profile)-1], n.profile[0]
		tab.Row(n.name, n.nodes, n.loss, last, first, first/last, geoMean(n.gain))
	}

	plain, resid, ln := res.nets[0], res.nets[1], res.nets[2]
	ratio := func(n flowMapNet) float64 { return n.profile[0] / n.profile[len(n.profile)-1] }
	rep.Heading("Maps")
	rep.Figure("maps.png", fmt.Sprintf("Each network folded into its blocks, the loss at the top; a block's colour is the norm of the cotangent at its output "+
		"(one colour scale for the three) and an edge's width the block's gain. Over %d blocks the plain network's cotangent %s by a factor %s "+
		"(geometric mean gain %s per block); the residual network's %s by a factor %s (gain %s); the LayerNorm network's %s by a factor %s (gain %s).",
		c.Depth,
		runner.Choose(ratio(plain) < 1, "falls", "grows"), runner.Num(math.Max(ratio(plain), 1/ratio(plain))), runner.Num(geoMean(plain.gain)),
		runner.Choose(ratio(resid) < 1, "falls", "grows"), runner.Num(math.Max(ratio(resid), 1/ratio(resid))), runner.Num(geoMean(resid.gain)),
		runner.Choose(ratio(ln) < 1, "falls", "grows"), runner.Num(math.Max(ratio(ln), 1/ratio(ln))), runner.Num(geoMean(ln.gain))))
	rep.Figure("maps.dot", "The same maps in Graphviz's DOT language (`dot -Tsvg maps.dot > maps.svg`), with the values as tooltips.")
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, g := range resid.branchGain {
		lo, hi = math.Min(lo, g), math.Max(hi, g)
	}
	blo, bhi := math.Inf(1), math.Inf(-1)
	for _, g := range resid.gain {
		blo, bhi = math.Min(blo, g), math.Max(bhi, g)
	}
	rep.Figure("residual_inside.png", fmt.Sprintf("The residual network with its blocks opened: in each block the sum passes its cotangent on unchanged "+
		"along the identity (gain 1, the straight column) and into the branch, whose gain back to the block's input is between %s and %s "+
		"(geometric mean %s), while the gain of a whole block, ‖(I + J)ᵀ v̄‖/‖v̄‖, is between %s and %s.",
		runner.Num(lo), runner.Num(hi), runner.Num(geoMean(resid.branchGain)), runner.Num(blo), runner.Num(bhi)))
	rep.Figure("depth.png", fmt.Sprintf("‖∂L/∂h_l‖ at each block's output, read from the same records as the maps. From the last block to the first the plain "+
		"network's %s, the residual network's %s and the LayerNorm network's %s.",
		runner.Trend(reversed(plain.profile)), runner.Trend(reversed(resid.profile)), runner.Trend(reversed(ln.profile))))

	rep.Heading("How the record is checked")
	rep.Paraf("Each cotangent norm in a record is compared with the norm of `adjoint.Grad` of the loss with respect to that value, "+
		"one separate reverse pass per value (%d, %d and %d values). Along each chain of blocks the gains multiply to the ratio of the "+
		"first block's cotangent to the loss's: %s, %s and %s. Each edge of the chain carries the whole cotangent of the block it "+
		"reaches, that block having no other user. nn's per-layer summary (`nn.LayerFlows`) is built from the same record; its "+
		"‖∂L/∂θ‖ per layer is compared with `nn.LayerGradNorms` of the gradients.",
		plain.nodes, resid.nodes, ln.nodes, runner.Num(plain.chainGain), runner.Num(resid.chainGain), runner.Num(ln.chainGain))

	var gradErr, chainErr, edgeErr, summaryErr float64
	for _, n := range res.nets {
		gradErr, chainErr = max(gradErr, n.gradErr), max(chainErr, n.chainErr)
		edgeErr, summaryErr = max(edgeErr, n.edgeErr), max(summaryErr, n.summaryErr)
		rep.Metric(n.name+": first/last block cotangent", ratio(n))
		rep.Metric(n.name+": geometric mean block gain", geoMean(n.gain))
		rep.Metric(n.name+": loss", n.loss)
	}
	rep.Metric("residual: geometric mean branch gain", geoMean(resid.branchGain))
	rep.Timing("three networks: record and checks", res.seconds)

	rep.Check("every cotangent norm in the maps vs ‖Grad‖ with respect to that value", gradErr, c.Tol)
	rep.Check("product of the gains along each chain vs the end-to-end ratio", chainErr, c.Tol)
	rep.Check("each chain edge's cotangent vs the cotangent of the block it reaches", edgeErr, c.Tol)
	rep.Check("nn.LayerFlows ‖∂L/∂θ‖ vs nn.LayerGradNorms of the gradients", summaryErr, c.Tol)
	rep.Check("residual: gain of the sum to the identity and to the branch vs 1", resid.identityErr, c.Tol)
}

// reversed returns a reversed copy of vs.
func reversed(vs []float64) []float64 {
	out := make([]float64, len(vs))
	for i, v := range vs {
		out[len(vs)-1-i] = v
	}
	return out
}
