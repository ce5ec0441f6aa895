package adjoint

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/floats"
)

// Flow is a record of one reverse pass: how large the cotangent was at
// every value of the graph and how each operation scaled it on the way to
// its inputs. Ask for one with GradSettings.Flow; Fold turns it into a
// graph of named units for drawing.
//
// The norms are Euclidean norms over all elements, summed in blocks
// (they agree with Tensor.Norm to rounding, about 1e-14 relative). For the
// reverse pass of a scalar loss L (seed 1), the cotangent of a value v is
// v̄ = ∂L/∂v, so a node's Cotangent is ‖Grad(L, v)‖, computed from the
// same numbers.
type Flow struct {
	// Nodes lists every tracked value that the output depends on, inputs
	// before the values computed from them, the output last. Constants
	// are left out (nothing flows into them), and so are the identity
	// operations of InScope: the users of such a value are recorded as
	// using its input directly.
	Nodes []FlowNode

	index map[*Var]int
	// cross holds, for a scope S and a node x outside it that operations
	// inside S use, the norm of the sum of their contributions to x̄.
	cross map[crossKey]float64
}

// FlowNode is one value of a Flow.
type FlowNode struct {
	// Var is the value itself.
	Var *Var
	// Op is the name of the operation that computed the value, or "" for
	// a leaf (a Param).
	Op string
	// Scope is the scope the operation was recorded in (see InScope). A
	// leaf has the innermost scope around all the operations that use
	// it, so a layer's parameters belong to the layer. Nil means none.
	Scope *Scope
	// Shape is the value's shape (not to be modified).
	Shape []int
	// Norm is ‖v‖, Cotangent is ‖v̄‖: zero if no cotangent reached v.
	Norm, Cotangent float64
	// Inputs lists the tracked values the operation used, each once, in
	// the order of its arguments.
	Inputs []FlowInput
}

// FlowInput is one input x of an operation v in a Flow.
type FlowInput struct {
	// Node is x's index in Flow.Nodes.
	Node int
	// Cotangent is the norm of the contribution that v's rule passed back
	// to x̄: ‖(∂v/∂x)ᵀ v̄‖. It is part of x's cotangent, which sums the
	// contributions of all of x's users.
	Cotangent float64
	// Gain is the local gain Cotangent / ‖v̄‖, how much the operation
	// scaled the cotangent on its way back to x; NaN when ‖v̄‖ = 0.
	Gain float64
}

type crossKey struct {
	s    *Scope
	node int
}

// Node returns the index in f.Nodes of the value v (for a value made by
// InScope, of its input), and whether v is in the record at all.
func (f *Flow) Node(v *Var) (int, bool) {
	i, ok := f.index[v]
	return i, ok
}

// Output returns the index of the output of the pass: the last node.
func (f *Flow) Output() int { return len(f.Nodes) - 1 }

// FlowGraph is a Flow folded at one depth of its scopes (Flow.Fold): the
// operations inside each scope of that depth are merged into one unit,
// and the scopes around the units remain as boxes to draw them in.
type FlowGraph struct {
	// Units lists the units in the order of their first node.
	Units []FlowUnit
	// Edges lists the uses between units, ordered by To, then From.
	Edges []FlowEdge
}

// FlowUnit is one unit of a FlowGraph: a folded scope, or a single value.
type FlowUnit struct {
	// Name is the folded scope's name, the operation's name for a single
	// value, or "param" for a leaf.
	Name string
	// Scope is the folded scope, nil for a single value.
	Scope *Scope
	// Parent is the innermost scope around the unit, nil if none.
	Parent *Scope
	// Nodes lists the unit's nodes (indices into Flow.Nodes) in order;
	// Outputs those whose values are used outside the unit, and the
	// Flow's output if the unit holds it.
	Nodes, Outputs []int
	// Norm and Cotangent are the norms of the outputs' values and of
	// their cotangents, taken together: √(Σ‖v‖²) and √(Σ‖v̄‖²) over the
	// outputs.
	Norm, Cotangent float64
}

// FlowEdge is a use of one unit's outputs by another in a FlowGraph.
// Values flow from From to To; cotangents flow back from To to From.
type FlowEdge struct {
	// From and To index FlowGraph.Units: To uses outputs of From.
	From, To int
	// Cotangent is the norm of the cotangent that To's operations pass
	// back to From's outputs, summed over To's operations for each
	// output and taken together over the outputs.
	Cotangent float64
	// Gain is Cotangent divided by To's Cotangent, NaN when that is zero.
	// Along a chain of units each used by the next alone, the gains
	// multiply to the ratio of the first unit's cotangent to the last's.
	Gain float64
}

// Fold returns the graph of f with every scope of the given depth (0 for
// root scopes) merged into one unit, drawn inside the shallower scopes
// around it. Values outside such scopes stay units of their own; a depth
// greater than that of every scope keeps every operation.
func (f *Flow) Fold(depth int) FlowGraph {
	if depth < 0 {
		panic(fmt.Sprintf("adjoint: Flow.Fold: negative depth %d", depth))
	}
	n := len(f.Nodes)
	unit := make([]int, n)
	var g FlowGraph
	scopeUnit := map[*Scope]int{}
	for i, nd := range f.Nodes {
		var s *Scope
		if nd.Scope != nil {
			s = nd.Scope.Ancestor(depth)
		}
		if s == nil {
			unit[i] = len(g.Units)
			name := nd.Op
			if name == "" {
				name = "param"
			}
			g.Units = append(g.Units, FlowUnit{Name: name, Parent: nd.Scope, Nodes: []int{i}})
			continue
		}
		u, ok := scopeUnit[s]
		if !ok {
			u = len(g.Units)
			scopeUnit[s] = u
			g.Units = append(g.Units, FlowUnit{Name: s.name, Scope: s, Parent: s.parent})
		}
		unit[i] = u
		g.Units[u].Nodes = append(g.Units[u].Nodes, i)
	}

	// Outputs: nodes used by another unit, and the Flow's output.
	output := make([]bool, n)
	if n > 0 {
		output[n-1] = true
	}
	for i, nd := range f.Nodes {
		for _, in := range nd.Inputs {
			if unit[in.Node] != unit[i] {
				output[in.Node] = true
			}
		}
	}
	for ui := range g.Units {
		u := &g.Units[ui]
		for _, i := range u.Nodes {
			if output[i] {
				u.Outputs = append(u.Outputs, i)
				u.Norm = math.Hypot(u.Norm, f.Nodes[i].Norm)
				u.Cotangent = math.Hypot(u.Cotangent, f.Nodes[i].Cotangent)
			}
		}
	}

	// Edges: the contributions of each unit to the outputs of others.
	for ui := range g.Units {
		u := &g.Units[ui]
		sum := map[int]float64{} // producing unit → √Σ contribution²
		var from []int
		add := func(p int, c float64) {
			if _, ok := sum[p]; !ok {
				from = append(from, p)
			}
			sum[p] = math.Hypot(sum[p], c)
		}
		if u.Scope == nil {
			for _, in := range f.Nodes[u.Nodes[0]].Inputs {
				add(unit[in.Node], in.Cotangent)
			}
		} else {
			seen := map[int]bool{}
			for _, i := range u.Nodes {
				for _, in := range f.Nodes[i].Inputs {
					if unit[in.Node] == ui || seen[in.Node] {
						continue
					}
					seen[in.Node] = true
					add(unit[in.Node], f.cross[crossKey{u.Scope, in.Node}])
				}
			}
		}
		slices.Sort(from)
		for _, p := range from {
			if p == ui {
				continue
			}
			g.Edges = append(g.Edges, FlowEdge{From: p, To: ui, Cotangent: sum[p], Gain: gain(sum[p], u.Cotangent)})
		}
	}
	return g
}

// Unit returns the index of the unit of g that is the folded scope s.
func (g FlowGraph) Unit(s *Scope) (int, bool) {
	for i, u := range g.Units {
		if u.Scope == s {
			return i, true
		}
	}
	return 0, false
}

// gain returns c / v, NaN when v is zero.
func gain(c, v float64) float64 {
	if v == 0 {
		return math.NaN()
	}
	return c / v
}

// flowRecorder fills a Flow during a reverse pass (sweep.backward). It
// sees every contribution an operation's rule returns, so the pass runs
// without the in-place accumulation of accumulatingVJP while it records.
type flowRecorder struct {
	flow  *Flow
	order []*Var
	node  []int    // order index → flow node, −1 for constants and InScope values
	src   []int    // order index → order index of the value it stands for through InScope
	scope []*Scope // order index → effective scope (leaves: of their users)

	// Per operation being processed: the contribution to each of its
	// inputs (in the order of FlowNode.Inputs).
	sums []vecSum
	// Contributions of the operations inside a scope to a value outside
	// it, kept until that value is reached (when all its users are
	// done), and the keys waiting on each order index.
	cross   map[crossKey]*vecSum
	pending [][]crossKey
}

func newFlowRecorder(f *Flow, order []*Var, index *varIndex) *flowRecorder {
	r := &flowRecorder{
		flow: f, order: order,
		node:    make([]int, len(order)),
		src:     make([]int, len(order)),
		scope:   make([]*Scope, len(order)),
		cross:   map[crossKey]*vecSum{},
		pending: make([][]crossKey, len(order)),
	}
	*f = Flow{index: make(map[*Var]int, len(order)), cross: map[crossKey]float64{}}
	users := make([]bool, len(order)) // a leaf's scope is set from a first user
	for i, v := range order {
		r.src[i] = i
		r.node[i] = -1
		if isScopeOp(v) {
			r.src[i] = r.src[index.at(v.in[0])]
		} else if v.tracked {
			r.node[i] = len(f.Nodes)
			name := ""
			if v.op != nil {
				name = v.op.name()
				r.scope[i] = v.scope
			}
			f.Nodes = append(f.Nodes, FlowNode{Var: v, Op: name, Shape: v.Shape(), Norm: flowNorm(v.val)})
		}
		if v.op == nil {
			continue
		}
		for _, x := range v.in {
			k := index.at(x)
			if x.tracked && x.op == nil {
				if users[k] {
					r.scope[k] = commonScope(r.scope[k], v.scope)
				} else {
					r.scope[k], users[k] = v.scope, true
				}
			}
		}
	}
	for i, v := range order {
		if n := r.node[r.src[i]]; n >= 0 {
			f.index[v] = n
		}
		if r.node[i] < 0 {
			continue
		}
		nd := &f.Nodes[r.node[i]]
		nd.Scope = r.scope[i]
		if v.op == nil || isScopeOp(v) {
			continue
		}
		for _, x := range v.in {
			n := r.node[r.src[index.at(x)]]
			if n >= 0 && !slices.ContainsFunc(nd.Inputs, func(in FlowInput) bool { return in.Node == n }) {
				nd.Inputs = append(nd.Inputs, FlowInput{Node: n})
			}
		}
	}
	return r
}

// cotangent records the complete cotangent g of order[i] and closes the
// contributions of scopes to it, all of its users having been processed.
func (r *flowRecorder) cotangent(i int, g *Var) {
	if n := r.node[i]; n >= 0 && g != nil {
		r.flow.Nodes[n].Cotangent = flowNorm(fitShape(g.val, r.order[i].Shape()))
	}
	r.closeCross(i)
}

func (r *flowRecorder) closeCross(i int) {
	for _, k := range r.pending[i] {
		r.flow.cross[k] = r.cross[k].norm()
		delete(r.cross, k)
	}
	r.pending[i] = nil
}

// contributions records what the rule of order[i] passed back to its
// inputs: gs[j] for input j, nil where nothing was computed.
func (r *flowRecorder) contributions(i int, index *varIndex, gs []*Var) {
	n := r.node[i]
	if n < 0 {
		return // an InScope identity: its users have credited its input
	}
	v, nd := r.order[i], &r.flow.Nodes[n]
	r.sums = slices.Grow(r.sums[:0], len(nd.Inputs))[:len(nd.Inputs)]
	clear(r.sums)
	for j, x := range v.in {
		if j >= len(gs) || gs[j] == nil {
			continue
		}
		k := r.src[index.at(x)]
		xn := r.node[k]
		if xn < 0 {
			continue
		}
		c := fitShape(gs[j].val, x.Shape())
		for s := range nd.Inputs {
			if nd.Inputs[s].Node == xn {
				r.sums[s].add(c)
				break
			}
		}
		for s := r.scope[i]; s != nil && !s.Contains(r.scope[k]); s = s.parent {
			key := crossKey{s, xn}
			sum, ok := r.cross[key]
			if !ok {
				sum = &vecSum{}
				r.cross[key] = sum
				r.pending[k] = append(r.pending[k], key)
			}
			sum.add(c)
		}
	}
	for s := range nd.Inputs {
		nd.Inputs[s].Cotangent = r.sums[s].norm()
	}
}

// finish records the cotangents of the values the pass did not process
// (leaves) and the gains of every input.
func (r *flowRecorder) finish(ct []*Var) {
	for i, v := range r.order {
		if v.op == nil && ct[i] != nil && r.node[i] >= 0 {
			r.flow.Nodes[r.node[i]].Cotangent = flowNorm(fitShape(ct[i].val, v.Shape()))
		}
		if len(r.pending[i]) > 0 {
			r.closeCross(i)
		}
	}
	for n := range r.flow.Nodes {
		nd := &r.flow.Nodes[n]
		for s := range nd.Inputs {
			nd.Inputs[s].Gain = gain(nd.Inputs[s].Cotangent, nd.Cotangent)
		}
	}
}

// flowNorm returns the Euclidean norm of t's elements: a sum of squares
// (gonum's floats.Dot) in blocks added at the end, which keeps the
// rounding error small, with Tensor.Norm's scaled sum as the fallback
// where squares would overflow or lose precision to underflow. It is
// several times faster than Tensor.Norm, and agrees with it to rounding
// (about 1e-14 relative).
func flowNorm(t *Tensor) float64 {
	const block = 256
	var total float64
	for d := t.Data; len(d) > 0; {
		n := min(block, len(d))
		total += floats.Dot(d[:n], d[:n])
		d = d[n:]
	}
	if total >= 0x1p-900 && total <= 0x1p900 {
		return math.Sqrt(total)
	}
	return t.Norm() // zero, not finite, or squares that overflow or underflow
}

// fitShape returns t broadcast to shape (t itself when it has the shape),
// so that a contribution's norm is that of what it adds to the cotangent.
func fitShape(t *Tensor, shape []int) *Tensor {
	if equalInts(t.Shape, shape) {
		return t
	}
	return Add(Const(New(shape...)), Const(t)).val
}

// vecSum is a sum of tensors of one shape that does not modify its terms:
// the first is kept as it is, and a buffer of its own holds the sum from
// the second on.
type vecSum struct {
	t     *Tensor
	owned bool
}

func (s *vecSum) add(t *Tensor) {
	switch {
	case s.t == nil:
		s.t = t
	case s.owned:
		addInto(s.t.Data, t.Data)
	default:
		sum := &Tensor{Shape: s.t.Shape, Data: make([]float64, len(s.t.Data))}
		binAdd.loop(sum.Data, s.t.Data, t.Data, nil)
		s.t, s.owned = sum, true
	}
}

func (s *vecSum) norm() float64 {
	if s.t == nil {
		return 0
	}
	return flowNorm(s.t)
}
