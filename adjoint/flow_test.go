package adjoint

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// flowTol bounds the difference between a Flow's norms and the same norms
// computed by Tensor.Norm from Grad: the same contributions added in the
// same order, so only the two ways of summing squares (a few ulps) differ.
const flowTol = 1e-13

func relDiff(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / math.Max(math.Abs(a), math.Abs(b))
}

// scopedMLP builds a small tanh MLP with a residual block, every layer in
// a scope of its own under root, and returns the loss, the parameters and
// the named intermediates.
type scopedMLP struct {
	root, l0, block, branch, loss *Scope
	x, w0, b0, w1, w2             *Var
	h0, pre, act, sum, y          *Var
}

func newScopedMLP(rng *rand.Rand) *scopedMLP {
	m := &scopedMLP{}
	m.root = NewScope("model")
	m.l0 = m.root.Child("layer0")
	m.block = m.root.Child("block")
	m.branch = m.block.Child("branch")
	m.loss = m.root.Child("loss")
	m.x = Param(randInput(rng, anyReal, 5, 3))
	m.w0, m.b0 = Param(randInput(rng, anyReal, 3, 4)), Param(randInput(rng, anyReal, 4))
	m.w1, m.w2 = Param(randInput(rng, anyReal, 4, 4)), Param(randInput(rng, anyReal, 4, 2))

	x := InScope(m.root, m.x)
	m.h0 = Tanh(MatMulAdd(InScope(m.l0, x), m.w0, m.b0))
	h := InScope(m.block, m.h0)
	m.pre = MatMul(InScope(m.branch, h), m.w1)
	m.act = Tanh(m.pre)
	m.sum = Add(h, InScope(m.block, m.act)) // the residual connection, in the block
	out := MatMul(InScope(m.root, m.sum), m.w2)
	m.y = Mean(Square(InScope(m.loss, out)))
	return m
}

// Every node's cotangent norm is the norm of Grad with respect to it, and
// the gradients a pass returns do not change when it records a Flow.
func TestFlowCotangentsAreGradients(t *testing.T) {
	m := newScopedMLP(rand.New(rand.NewPCG(1, 2)))
	var f Flow
	params := []*Var{m.x, m.w0, m.b0, m.w1, m.w2}
	with := Backward(m.y, params, &GradSettings{Flow: &f})
	without := Backward(m.y, params, nil)
	for i := range params {
		for j, v := range with[i].Value().Data {
			if math.Float64bits(v) != math.Float64bits(without[i].Value().Data[j]) {
				t.Fatalf("gradient %d element %d: %v with a Flow, %v without", i, j, v, without[i].Value().Data[j])
			}
		}
	}
	if len(f.Nodes) < 12 {
		t.Fatalf("%d nodes, want every operation and parameter", len(f.Nodes))
	}
	for i, nd := range f.Nodes {
		if nd.Op == "scope" {
			t.Errorf("node %d is an InScope identity", i)
		}
		want := Grad(m.y, nd.Var)[0].Norm()
		if d := relDiff(nd.Cotangent, want); d > flowTol {
			t.Errorf("node %d (%s): cotangent norm %v, ‖Grad‖ = %v", i, nd.Op, nd.Cotangent, want)
		}
		if d := relDiff(nd.Norm, nd.Var.Value().Norm()); d > flowTol {
			t.Errorf("node %d: value norm %v, want %v", i, nd.Norm, nd.Var.Value().Norm())
		}
		for _, in := range nd.Inputs {
			if in.Node >= i {
				t.Errorf("node %d uses node %d, which comes later", i, in.Node)
			}
			if g := in.Cotangent / nd.Cotangent; relDiff(in.Gain, g) > 1e-15 {
				t.Errorf("node %d: gain %v, want %v", i, in.Gain, g)
			}
		}
	}
	if f.Output() != len(f.Nodes)-1 || f.Nodes[f.Output()].Var != m.y {
		t.Error("the last node is not the output")
	}
	// A recorded (CreateGraph) pass gives the same record.
	var fc Flow
	Backward(m.y, params, &GradSettings{Flow: &fc, CreateGraph: true})
	if len(fc.Nodes) != len(f.Nodes) {
		t.Fatalf("%d nodes with CreateGraph, %d without", len(fc.Nodes), len(f.Nodes))
	}
	for i, nd := range fc.Nodes {
		if d := relDiff(nd.Cotangent, f.Nodes[i].Cotangent); d > flowTol {
			t.Errorf("node %d: cotangent %v with CreateGraph, %v without", i, nd.Cotangent, f.Nodes[i].Cotangent)
		}
		for j, in := range nd.Inputs {
			if d := relDiff(in.Gain, f.Nodes[i].Inputs[j].Gain); d > flowTol {
				t.Errorf("node %d input %d: gain %v with CreateGraph, %v without", i, j, in.Gain, f.Nodes[i].Inputs[j].Gain)
			}
		}
	}
}

// Each contribution is the VJP of the one operation, computed here on its
// own: for out = op(x, …), ‖(∂out/∂x)ᵀ ōut‖ with ōut = Grad(y, out).
func TestFlowContributions(t *testing.T) {
	m := newScopedMLP(rand.New(rand.NewPCG(3, 4)))
	var f Flow
	Backward(m.y, []*Var{m.x}, &GradSettings{Flow: &f})
	for _, nd := range f.Nodes {
		if nd.Op == "" {
			continue
		}
		gout := Grad(m.y, nd.Var)[0]
		for _, in := range nd.Inputs {
			x := f.Nodes[in.Node].Var
			want := VJP(nd.Var, gout, x)[0].Norm()
			// The VJP of out through the graph reaches x by every path
			// from x to out; for a direct input that is the operation
			// alone unless x also reaches out another way, which this
			// graph avoids except through the residual sum.
			if nd.Var == m.sum && x == m.h0 {
				continue
			}
			if d := relDiff(in.Cotangent, want); d > flowTol {
				t.Errorf("%s → %s: contribution norm %v, VJP norm %v", nd.Op, f.Nodes[in.Node].Op, in.Cotangent, want)
			}
		}
	}
}

// Scopes: operations take the innermost scope of their inputs, leaves the
// scope of their users, and InScope values stand for their inputs.
func TestFlowScopes(t *testing.T) {
	m := newScopedMLP(rand.New(rand.NewPCG(5, 6)))
	var f Flow
	Backward(m.y, []*Var{m.w0}, &GradSettings{Flow: &f})
	for _, c := range []struct {
		name string
		v    *Var
		want *Scope
	}{
		{"input", m.x, m.root},
		{"layer0 weight", m.w0, m.l0},
		{"layer0 bias", m.b0, m.l0},
		{"layer0 tanh", m.h0, m.l0},
		{"branch weight", m.w1, m.branch},
		{"branch matmul", m.pre, m.branch},
		{"branch tanh", m.act, m.branch},
		{"residual sum", m.sum, m.block},
		{"read-out weight", m.w2, m.root},
		{"loss", m.y, m.loss},
	} {
		i, ok := f.Node(c.v)
		if !ok {
			t.Errorf("%s: not in the flow", c.name)
			continue
		}
		if got := f.Nodes[i].Scope; got != c.want {
			t.Errorf("%s: scope %v, want %v", c.name, got, c.want)
		}
	}
	entered := InScope(m.block, m.h0)
	if entered.Scope() != m.block || entered.Op() != "scope" || m.h0.Scope() != m.l0 {
		t.Errorf("InScope: scope %v op %q, input scope %v", entered.Scope(), entered.Op(), m.h0.Scope())
	}
	if InScope(m.l0, m.h0) != m.h0 {
		t.Error("InScope of a value already in the scope made a new value")
	}
	c := InScope(m.block, Const(New(2)))
	if c.Tracked() || c.Scope() != m.block || Exp(c).Scope() != m.block || Detach(m.act).Scope() != m.branch {
		t.Error("constants and detached values do not keep their scope")
	}
	// Equally deep inputs: the first one's scope.
	a, b := InScope(m.l0, Param(New(2))), InScope(m.loss, Param(New(2)))
	if Add(a, b).Scope() != m.l0 || Add(b, a).Scope() != m.loss || Add(a, InScope(m.branch, b)).Scope() != m.branch {
		t.Error("an operation does not take the innermost scope of its inputs")
	}
	if m.root.String() != "model" || m.branch.String() != "model/block/branch" || m.branch.Path(".") != "model.block.branch" ||
		m.branch.Depth() != 2 || m.branch.Ancestor(1) != m.block || m.branch.Ancestor(3) != nil ||
		!m.block.Contains(m.branch) || m.branch.Contains(m.block) || m.l0.Contains(m.branch) {
		t.Error("scope paths, depths or containment are wrong")
	}
}

// Folding: units, outputs, and edges whose cotangents are the VJPs of the
// folded scopes computed on their own.
func TestFlowFold(t *testing.T) {
	m := newScopedMLP(rand.New(rand.NewPCG(7, 8)))
	var f Flow
	Backward(m.y, []*Var{m.x}, &GradSettings{Flow: &f})

	whole := f.Fold(0)
	if len(whole.Units) != 1 || whole.Units[0].Scope != m.root || len(whole.Edges) != 0 {
		t.Fatalf("Fold(0): %d units %d edges, want the model as one unit", len(whole.Units), len(whole.Edges))
	}

	g := f.Fold(1)
	names := map[string]int{}
	for i, u := range g.Units {
		names[u.Name] = i
		if u.Scope == nil && u.Name != "matmul" && u.Name != "param" {
			t.Errorf("unit %d: a single %s outside the layers", i, u.Name)
		}
	}
	for _, n := range []string{"layer0", "block", "loss", "matmul"} {
		if _, ok := names[n]; !ok {
			t.Fatalf("Fold(1) has no unit %q: %v", n, names)
		}
	}
	block := g.Units[names["block"]]
	if len(block.Outputs) != 1 || f.Nodes[block.Outputs[0]].Var != m.sum {
		t.Errorf("block outputs %v, want the residual sum", block.Outputs)
	}
	if d := relDiff(block.Cotangent, Grad(m.y, m.sum)[0].Norm()); d > flowTol {
		t.Errorf("block cotangent %v, want ‖∂y/∂sum‖", block.Cotangent)
	}
	// The block passes back to h0 the whole of h0's cotangent (its only
	// user), and layer0 to the input x all of x's.
	edge := func(from, to string) FlowEdge {
		for _, e := range g.Edges {
			if e.From == names[from] && e.To == names[to] {
				return e
			}
		}
		t.Fatalf("no edge %s → %s", from, to)
		return FlowEdge{}
	}
	e := edge("layer0", "block")
	if d := relDiff(e.Cotangent, Grad(m.y, m.h0)[0].Norm()); d > flowTol {
		t.Errorf("block → layer0: %v, want ‖∂y/∂h0‖", e.Cotangent)
	}
	if d := relDiff(e.Gain, e.Cotangent/block.Cotangent); d > 1e-15 {
		t.Errorf("gain %v, want %v", e.Gain, e.Cotangent/block.Cotangent)
	}

	// Inside the block: the branch's contribution to h0 alone, computed
	// as the VJP of the branch by itself.
	g2 := f.Fold(2)
	branch, ok := g2.Unit(m.branch)
	if !ok {
		t.Fatal("Fold(2) has no branch unit")
	}
	if g2.Units[branch].Parent != m.block {
		t.Errorf("branch drawn in %v, want the block", g2.Units[branch].Parent)
	}
	abar := Grad(m.y, m.act)[0]
	want := VJP(m.act, abar, m.h0)[0].Norm() // h0 reaches act only through the branch
	found := false
	for _, e := range g2.Edges {
		if e.To == branch && f.Nodes[g2.Units[e.From].Nodes[0]].Var == m.h0 {
			found = true
			if d := relDiff(e.Cotangent, want); d > flowTol {
				t.Errorf("branch → layer0: %v, VJP of the branch %v", e.Cotangent, want)
			}
		}
	}
	if !found {
		t.Error("Fold(2) has no edge from layer0 to the branch")
	}

	// Every operation unfolded: one unit per node.
	all := f.Fold(10)
	if len(all.Units) != len(f.Nodes) {
		t.Errorf("Fold(10): %d units for %d nodes", len(all.Units), len(f.Nodes))
	}
}

// Along a chain, the gains multiply to the ratio of the first cotangent to
// the last.
func TestFlowGainsMultiplyAlongChain(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	x := Param(randInput(rng, anyReal, 4, 6))
	h := x
	root := NewScope("net")
	var ws []*Var
	for range 6 {
		w := Param(randInput(rng, anyReal, 6, 6))
		ws = append(ws, w)
		h = Tanh(MatMul(InScope(root.Child("layer"), h), w))
	}
	y := Sum(Square(InScope(root.Child("loss"), h)))
	var f Flow
	Backward(y, []*Var{x}, &GradSettings{Flow: &f})
	isWeight := func(u FlowUnit) bool {
		for _, w := range ws {
			if n, _ := f.Node(w); u.Scope == nil && u.Nodes[0] == n {
				return true
			}
		}
		return false
	}
	// Fold(1): the layers are units and x lies in the first; Fold(5):
	// every operation and parameter is a unit.
	for _, depth := range []int{1, 5} {
		g := f.Fold(depth)
		xn, _ := f.Node(x)
		last := len(g.Units) - 1
		u, prod, steps := last, 1.0, 0
		for !slices.Contains(g.Units[u].Nodes, xn) {
			for _, e := range g.Edges {
				if e.To == u && !isWeight(g.Units[e.From]) {
					prod *= e.Gain
					u = e.From
					steps++
					break
				}
			}
		}
		want := g.Units[u].Cotangent / g.Units[last].Cotangent
		if d := relDiff(prod, want); d > 1e-12 || steps < 6 {
			t.Errorf("Fold(%d): product of %d gains %v, end-to-end ratio %v", depth, steps, prod, want)
		}
		if depth == 5 && relDiff(g.Units[u].Cotangent, Grad(y, x)[0].Norm()) > flowTol {
			t.Errorf("Fold(5): the chain does not end at x")
		}
	}
}

// A value used twice by one operation is one input with the sum of both
// contributions; a dead ReLU has no cotangent and a NaN gain.
func TestFlowRepeatedInputAndZeroCotangent(t *testing.T) {
	x := Param(FromData([]float64{1, -2, 3}, 3))
	sq := Mul(x, x)
	var f Flow
	Backward(Sum(sq), []*Var{x}, &GradSettings{Flow: &f})
	i, _ := f.Node(sq)
	if len(f.Nodes[i].Inputs) != 1 {
		t.Fatalf("x·x has %d inputs, want 1", len(f.Nodes[i].Inputs))
	}
	if d := relDiff(f.Nodes[i].Inputs[0].Cotangent, 2*math.Sqrt(14)); d > 1e-15 {
		t.Errorf("x·x passes back %v, want ‖2x‖ = %v", f.Nodes[i].Inputs[0].Cotangent, 2*math.Sqrt(14))
	}

	z := Param(FromData([]float64{-1, -2}, 2))
	r := ReLU(z)
	Backward(Sum(Scale(r, 3)), []*Var{z}, &GradSettings{Flow: &f})
	j, _ := f.Node(r)
	if relDiff(f.Nodes[j].Cotangent, 3*math.Sqrt2) > 1e-15 {
		t.Errorf("relu cotangent %v, want 3√2", f.Nodes[j].Cotangent)
	}
	k, _ := f.Node(z)
	if f.Nodes[k].Cotangent != 0 || f.Nodes[j].Inputs[0].Gain != 0 {
		t.Errorf("dead relu: input cotangent %v, gain %v, want 0 and 0", f.Nodes[k].Cotangent, f.Nodes[j].Inputs[0].Gain)
	}
	var g Flow
	Backward(Sum(r), []*Var{z}, &GradSettings{Flow: &g, Cotangent: Const(Scalar(0))})
	for _, nd := range g.Nodes {
		for _, in := range nd.Inputs {
			if !math.IsNaN(in.Gain) {
				t.Errorf("%s: gain %v with a zero cotangent, want NaN", nd.Op, in.Gain)
			}
		}
	}
}

// InScope values are transparent to derivatives of every kind.
func TestInScopeDerivatives(t *testing.T) {
	s := NewScope("s")
	f := func(v ...*Var) *Var {
		h := Tanh(Mul(InScope(s.Child("a"), v[0]), v[1]))
		return Sum(Square(InScope(s, h)))
	}
	rng := rand.New(rand.NewPCG(11, 12))
	r := Check(f, []*Tensor{randInput(rng, anyReal, 3), randInput(rng, anyReal, 3)}, nil)
	if err := r.Err(fdTol, adTol); err != nil {
		t.Error(err)
	}
}

// flowNorm agrees with Tensor.Norm, and falls back to it where squares
// overflow or underflow.
func TestFlowNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{0, 1, 3, 255, 256, 257, 1000, 100003} {
		x := New(n)
		for i := range x.Data {
			x.Data[i] = rng.NormFloat64()
		}
		for _, scale := range []float64{1, 1e-200, 1e200, 1e-160} {
			y := New(n)
			for i := range y.Data {
				y.Data[i] = x.Data[i] * scale
			}
			if d := relDiff(flowNorm(y), y.Norm()); d > 1e-14 {
				t.Errorf("n=%d scale %g: %v, Tensor.Norm %v", n, scale, flowNorm(y), y.Norm())
			}
		}
	}
	if v := flowNorm(FromData([]float64{math.Inf(1), 1}, 2)); !math.IsInf(v, 1) && !math.IsNaN(v) {
		t.Errorf("norm with an infinity: %v", v)
	}
}
