package plots

import (
	"math"
	"slices"
	"sort"
)

// The layered layout of a Graph, after Sugiyama, Tagawa and Toda (1981):
//
//  1. cycles are broken by reversing the edges that close them in a
//     depth-first search, so that the graph is acyclic;
//  2. each node goes into the layer one below its lowest predecessor
//     (longest-path layering), and a node without predecessors moves down
//     to just above its highest successor, so that a parameter sits next
//     to the operation that uses it rather than at the top;
//  3. an edge that spans several layers gets a dummy node in each layer
//     between, so that every segment joins adjacent layers;
//  4. the nodes of each layer are ordered to reduce crossings by sweeps
//     of the barycentre heuristic, down and up, keeping the order with the
//     fewest crossings; the members of a group stay together, and groups
//     are ordered by their members' barycentres as blocks;
//  5. positions along the layers are found by pulling every node towards
//     the mean position of its neighbours, keeping the order and a
//     minimum gap (wider between groups, so that their boxes fit).
//
// Components (parts not joined by any edge) are laid out side by side in
// the order of their first node.

// graphLayout is the layout of a graph in abstract units: node v lies in
// layer layer[v] at position pos[v] along it (1 unit is the gap between
// neighbouring nodes of one group). Nodes n, n+1, … are dummies.
type graphLayout struct {
	n        int
	layer    []int
	pos      []float64
	order    [][]int   // nodes of each layer, in order
	paths    [][]int   // per edge: the nodes it passes through, From first
	reversed []bool    // per edge: drawn against the layers to break a cycle
	path     [][]int   // per node: block keys from the outside in (component, groups)
	groups   [][]int   // per group (0-based): its parent chain, outermost first
	comp     []int     // per node: component
	nComp    int       // number of components
	cross    int       // edge crossings of the final order
	edges    [][2]int  // the input edges
	groupGap []float64 // per node: extra gap before it in its layer
	up       [][]int   // per node: its neighbours in the layer above
}

// Layout spacing, in units of the gap between nodes of one group.
const (
	groupGap     = 0.6 // extra gap per group boundary between neighbours
	componentGap = 1.0 // extra gap between components
	orderSweeps  = 24  // barycentre sweeps (down and up count as one each)
	placeSweeps  = 40  // position-smoothing sweeps
)

// layoutGraph lays out a graph of n nodes with the given edges. group[v]
// is the innermost group of node v (1-based, 0 for none), and parent[g]
// the group around group g+1 (1-based, 0 for none).
func layoutGraph(n int, edges [][2]int, group []int, parent []int) *graphLayout {
	l := &graphLayout{n: n, edges: edges}
	l.groups = groupChains(parent)
	dag, reversed := breakCycles(n, edges)
	l.reversed = reversed
	l.layer = assignLayers(n, dag)
	l.components(dag)
	l.addDummies(dag, group)
	l.orderLayers()
	l.place()
	return l
}

// groupChains returns, for each group, the chain of groups around it from
// the outermost to itself (1-based ids). A cycle of parents panics.
func groupChains(parent []int) [][]int {
	chains := make([][]int, len(parent))
	for g := range parent {
		var c []int
		for h := g + 1; h != 0; h = parent[h-1] {
			if len(c) > len(parent) {
				panic("plots: graph groups: a group is inside itself")
			}
			c = append(c, h)
		}
		slices.Reverse(c)
		chains[g] = c
	}
	return chains
}

// breakCycles returns the edges with those that close a cycle reversed,
// found by a depth-first search from the nodes in order, and which were
// reversed. Self-loops are dropped (reversed stays false; they are not
// drawn).
func breakCycles(n int, edges [][2]int) (dag [][2]int, reversed []bool) {
	out := make([][]int, n)
	for i, e := range edges {
		out[e[0]] = append(out[e[0]], i)
	}
	const (
		white = iota
		grey
		black
	)
	state := make([]int, n)
	reversed = make([]bool, len(edges))
	type frame struct{ v, next int }
	for s := range n {
		if state[s] != white {
			continue
		}
		stack := []frame{{v: s}}
		state[s] = grey
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.next == len(out[f.v]) {
				state[f.v] = black
				stack = stack[:len(stack)-1]
				continue
			}
			i := out[f.v][f.next]
			f.next++
			switch w := edges[i][1]; state[w] {
			case white:
				state[w] = grey
				stack = append(stack, frame{v: w})
			case grey:
				reversed[i] = true
			}
		}
	}
	dag = make([][2]int, 0, len(edges))
	for i, e := range edges {
		switch {
		case e[0] == e[1]:
			dag = append(dag, [2]int{-1, -1})
		case reversed[i]:
			dag = append(dag, [2]int{e[1], e[0]})
		default:
			dag = append(dag, e)
		}
	}
	return dag, reversed
}

// assignLayers places each node one layer below its lowest predecessor,
// then moves each source down to just above its highest successor.
func assignLayers(n int, dag [][2]int) []int {
	preds, succs := make([][]int, n), make([][]int, n)
	indeg := make([]int, n)
	for _, e := range dag {
		if e[0] < 0 {
			continue
		}
		succs[e[0]] = append(succs[e[0]], e[1])
		preds[e[1]] = append(preds[e[1]], e[0])
		indeg[e[1]]++
	}
	layer := make([]int, n)
	queue := make([]int, 0, n)
	for v := range n {
		if indeg[v] == 0 {
			queue = append(queue, v)
		}
	}
	for k := 0; k < len(queue); k++ {
		v := queue[k]
		for _, w := range succs[v] {
			layer[w] = max(layer[w], layer[v]+1)
			if indeg[w]--; indeg[w] == 0 {
				queue = append(queue, w)
			}
		}
	}
	for v := range n {
		if len(preds[v]) == 0 && len(succs[v]) > 0 {
			lowest := math.MaxInt
			for _, w := range succs[v] {
				lowest = min(lowest, layer[w])
			}
			layer[v] = lowest - 1
		}
	}
	return layer
}

// components numbers the parts of the graph not joined by edges, in the
// order of their first node.
func (l *graphLayout) components(dag [][2]int) {
	up := make([]int, l.n)
	for i := range up {
		up[i] = i
	}
	find := func(v int) int {
		for up[v] != v {
			up[v] = up[up[v]]
			v = up[v]
		}
		return v
	}
	for _, e := range dag {
		if e[0] >= 0 {
			a, b := find(e[0]), find(e[1])
			up[max(a, b)] = min(a, b)
		}
	}
	l.comp = make([]int, l.n)
	ids := map[int]int{}
	for v := range l.n {
		r := find(v)
		id, ok := ids[r]
		if !ok {
			id = len(ids)
			ids[r] = id
		}
		l.comp[v] = id
	}
	l.nComp = len(ids)
}

// addDummies splits every edge into segments between adjacent layers and
// records the block path of every node, dummies taking the innermost
// group common to their edge's ends.
func (l *graphLayout) addDummies(dag [][2]int, group []int) {
	l.path = make([][]int, l.n)
	for v := range l.n {
		l.path[v] = l.blockPath(l.comp[v], group[v])
	}
	l.paths = make([][]int, len(dag))
	for i, e := range dag {
		if e[0] < 0 {
			continue
		}
		a, b := e[0], e[1]
		p := []int{a}
		common := l.commonPath(l.path[a], l.path[b])
		for k := l.layer[a] + 1; k < l.layer[b]; k++ {
			d := len(l.layer)
			l.layer = append(l.layer, k)
			l.comp = append(l.comp, l.comp[a])
			l.path = append(l.path, common)
			p = append(p, d)
		}
		p = append(p, b)
		if l.reversed[i] {
			slices.Reverse(p)
		}
		l.paths[i] = p
	}
	l.pos = make([]float64, len(l.layer))
}

// blockPath returns the keys of the blocks a node lies in, outermost
// first: its component (as -1 − comp) and its groups.
func (l *graphLayout) blockPath(comp, group int) []int {
	p := []int{-1 - comp}
	if group > 0 {
		p = append(p, l.groups[group-1]...)
	}
	return p
}

func (l *graphLayout) commonPath(a, b []int) []int {
	k := 0
	for k < len(a) && k < len(b) && a[k] == b[k] {
		k++
	}
	return a[:k:k]
}

// segments returns, for each node, its neighbours in the layer above
// (up) and below (down).
func (l *graphLayout) segments() (up, down [][]int) {
	up, down = make([][]int, len(l.layer)), make([][]int, len(l.layer))
	for _, p := range l.paths {
		for k := 0; k+1 < len(p); k++ {
			a, b := p[k], p[k+1]
			if l.layer[a] > l.layer[b] {
				a, b = b, a
			}
			down[a] = append(down[a], b)
			up[b] = append(up[b], a)
		}
	}
	return up, down
}

// orderLayers orders the nodes of every layer by barycentre sweeps from
// the initial order.
func (l *graphLayout) orderLayers() {
	l.initialOrder()
	_, down := l.segments()
	best := cloneOrder(l.order)
	bestCross := l.crossings(down)
	for s := range orderSweeps {
		if bestCross == 0 {
			break
		}
		nbr := l.up
		if s%2 == 1 {
			nbr = down
		}
		l.sweep(nbr, s%2 == 0)
		if c := l.crossings(down); c < bestCross {
			best, bestCross = cloneOrder(l.order), c
		}
	}
	l.order = best
	l.cross = bestCross
}

// initialOrder orders every layer by depth-first discovery from the top,
// which keeps chains together, and then by blocks.
func (l *graphLayout) initialOrder() {
	depth := 0
	for _, k := range l.layer {
		depth = max(depth, k+1)
	}
	l.order = make([][]int, depth)
	// Initial order: by depth-first discovery from the top, which keeps
	// chains together.
	up, down := l.segments()
	seen := make([]bool, len(l.layer))
	var visit func(v int)
	visit = func(v int) {
		seen[v] = true
		l.order[l.layer[v]] = append(l.order[l.layer[v]], v)
		for _, w := range down[v] {
			if !seen[w] {
				visit(w)
			}
		}
	}
	for v := range l.layer {
		if !seen[v] && len(up[v]) == 0 {
			visit(v)
		}
	}
	for v := range l.layer {
		if !seen[v] {
			visit(v)
		}
	}
	l.sortBlocks(func(v int) float64 { return float64(l.index(v)) })
	l.up = up
}

// index returns a node's position in its layer's order.
func (l *graphLayout) index(v int) int {
	return slices.Index(l.order[l.layer[v]], v)
}

// sweep reorders every layer by the barycentres of its neighbours nbr in
// the adjacent layer, going down the layers or up.
func (l *graphLayout) sweep(nbr [][]int, downwards bool) {
	at := make([]float64, len(l.layer))
	for _, ord := range l.order {
		for i, v := range ord {
			at[v] = float64(i)
		}
	}
	k, end, step := 1, len(l.order), 1
	if !downwards {
		k, end, step = len(l.order)-2, -1, -1
	}
	for ; k != end; k += step {
		bary := map[int]float64{}
		for _, v := range l.order[k] {
			if len(nbr[v]) == 0 {
				bary[v] = at[v]
				continue
			}
			var s float64
			for _, w := range nbr[v] {
				s += at[w]
			}
			bary[v] = s / float64(len(nbr[v]))
		}
		l.sortLayer(k, func(v int) float64 { return bary[v] })
		for i, v := range l.order[k] {
			at[v] = float64(i)
		}
	}
}

// sortBlocks sorts every layer by key, keeping blocks together.
func (l *graphLayout) sortBlocks(key func(v int) float64) {
	for k := range l.order {
		l.sortLayer(k, key)
	}
}

// sortLayer sorts layer k by key, keeping the members of each block
// (component, group) together: at the first level where two nodes' block
// paths differ, the blocks compare by their members' mean key (components
// by number), and a node directly in the enclosing block by its own key.
// Ties keep the current order.
func (l *graphLayout) sortLayer(k int, key func(v int) float64) {
	ord := l.order[k]
	mean := map[int]float64{}
	count := map[int]int{}
	first := map[int]int{}
	for i, v := range ord {
		for _, b := range l.path[v] {
			mean[b] += key(v)
			if count[b] == 0 {
				first[b] = i
			}
			count[b]++
		}
	}
	for b := range mean {
		mean[b] /= float64(count[b])
	}
	cur := map[int]int{}
	for i, v := range ord {
		cur[v] = i
	}
	// entity returns how node v compares at level d: its block's mean
	// key and first position, or its own.
	entity := func(v, d int) (float64, int) {
		p := l.path[v]
		if d < len(p) {
			if p[d] < 0 {
				return float64(-1 - p[d]), first[p[d]]
			}
			return mean[p[d]], first[p[d]]
		}
		return key(v), cur[v]
	}
	sort.SliceStable(ord, func(i, j int) bool {
		a, b := l.path[ord[i]], l.path[ord[j]]
		d := 0
		for d < len(a) && d < len(b) && a[d] == b[d] {
			d++
		}
		ka, fa := entity(ord[i], d)
		kb, fb := entity(ord[j], d)
		if ka != kb {
			return ka < kb
		}
		return fa < fb
	})
}

// crossings counts the crossings of segments between adjacent layers.
func (l *graphLayout) crossings(down [][]int) int {
	at := make([]int, len(l.layer))
	for _, ord := range l.order {
		for i, v := range ord {
			at[v] = i
		}
	}
	total := 0
	var segs [][2]int
	for _, ord := range l.order {
		segs = segs[:0]
		for _, v := range ord {
			for _, w := range down[v] {
				segs = append(segs, [2]int{at[v], at[w]})
			}
		}
		for i := range segs {
			for j := i + 1; j < len(segs); j++ {
				a, b := segs[i], segs[j]
				if (a[0]-b[0])*(a[1]-b[1]) < 0 {
					total++
				}
			}
		}
	}
	return total
}

func cloneOrder(o [][]int) [][]int {
	c := make([][]int, len(o))
	for i := range o {
		c[i] = slices.Clone(o[i])
	}
	return c
}

// place assigns positions along the layers: nodes are pulled towards the
// mean position of their neighbours, in order, at least a gap apart; then
// the components are put side by side.
func (l *graphLayout) place() {
	// The gap before each node in its layer: one unit, plus groupGap for
	// every group box closed and opened between it and its neighbour.
	l.groupGap = make([]float64, len(l.layer))
	for _, ord := range l.order {
		for i := 1; i < len(ord); i++ {
			a, b := l.path[ord[i-1]], l.path[ord[i]]
			c := len(l.commonPath(a, b))
			l.groupGap[ord[i]] = 1 + groupGap*float64(len(a)-c+len(b)-c)
		}
	}
	// Each component's part of each layer, in order.
	parts := make([][][]int, l.nComp)
	for c := range parts {
		parts[c] = make([][]int, len(l.order))
	}
	for k, ord := range l.order {
		for _, v := range ord {
			parts[l.comp[v]][k] = append(parts[l.comp[v]][k], v)
		}
	}
	up, down := l.segments()
	both := make([][]int, len(l.layer))
	for v := range both {
		both[v] = append(append(both[v], up[v]...), down[v]...)
	}
	for _, layers := range parts {
		for _, ord := range layers {
			x := 0.0
			for i, v := range ord {
				if i > 0 {
					x += l.groupGap[v]
				}
				l.pos[v] = x
			}
		}
		// Sweeps down pull towards the layer above, sweeps up towards
		// the layer below; the last sweeps pull towards both, which
		// settles chains that branch to alternate sides.
		for s := range placeSweeps {
			nbr, k, end, step := up, 1, len(layers), 1
			if s%2 == 1 {
				nbr, k, end, step = down, len(layers)-2, -1, -1
			}
			if s >= placeSweeps/2 {
				nbr = both
				if s%2 == 1 {
					k = len(layers) - 1
				} else {
					k = 0
				}
			}
			for ; k != end; k += step {
				l.pull(layers[k], nbr)
			}
		}
	}
	l.alignComponents(0)
}

// alignComponents shifts the components so that each starts at 0 or one
// component gap, plus extra, to the right of the one before.
func (l *graphLayout) alignComponents(extra float64) {
	lo, hi := make([]float64, l.nComp), make([]float64, l.nComp)
	for c := range lo {
		lo[c], hi[c] = math.Inf(1), math.Inf(-1)
	}
	for v, p := range l.pos {
		lo[l.comp[v]] = math.Min(lo[l.comp[v]], p)
		hi[l.comp[v]] = math.Max(hi[l.comp[v]], p)
	}
	shift := make([]float64, l.nComp)
	next := 0.0
	for c := range l.nComp {
		shift[c] = next - lo[c]
		next += hi[c] - lo[c] + 1 + componentGap + extra
	}
	for v := range l.pos {
		l.pos[v] += shift[l.comp[v]]
	}
}

// pull moves the nodes ord of one layer (of one component) towards the
// mean position of their neighbours nbr, keeping their order and gaps.
func (l *graphLayout) pull(ord []int, nbr [][]int) {
	if len(ord) == 0 {
		return
	}
	want := make([]float64, len(ord))
	var pw [][2]float64
	for i, v := range ord {
		want[i] = l.pos[v]
		if len(nbr[v]) > 0 {
			// The weighted median of the neighbours: a node lines up
			// with most of them rather than averaging them, and
			// segments of long edges weigh more, so that long edges run
			// straight and short ones bend around them.
			pw = pw[:0]
			for _, w := range nbr[v] {
				wt := 1.0
				if v >= l.n {
					wt *= 2
				}
				if w >= l.n {
					wt *= 2
				}
				pw = append(pw, [2]float64{l.pos[w], wt})
			}
			want[i] = weightedMedian(pw)
		}
	}
	// The positions closest to want, in the least-squares sense, that
	// keep the order and the gaps, dummies (which make long edges
	// straight) placed first: with y_i = x_i − (the gaps before i), an
	// isotonic regression of want_i − gaps, solved by pooling adjacent
	// violators. A block's value is the mean of its dummies' targets if
	// it has dummies, of its nodes' otherwise.
	type block struct {
		sum, n   float64 // of the nodes
		dsum, dn float64 // of the dummies
		size     int
	}
	value := func(b block) float64 {
		if b.dn > 0 {
			return b.dsum / b.dn
		}
		return b.sum / b.n
	}
	var blocks []block
	offset := make([]float64, len(ord))
	for i, v := range ord {
		if i > 0 {
			offset[i] = offset[i-1] + l.groupGap[v]
		}
		b := block{size: 1}
		if v >= l.n {
			b.dsum, b.dn = want[i]-offset[i], 1
		} else {
			b.sum, b.n = want[i]-offset[i], 1
		}
		blocks = append(blocks, b)
		for len(blocks) > 1 {
			a, b := blocks[len(blocks)-2], blocks[len(blocks)-1]
			if value(a) <= value(b) {
				break
			}
			blocks = append(blocks[:len(blocks)-2], block{a.sum + b.sum, a.n + b.n, a.dsum + b.dsum, a.dn + b.dn, a.size + b.size})
		}
	}
	i := 0
	for _, b := range blocks {
		y := value(b)
		for range b.size {
			l.pos[ord[i]] = y + offset[i]
			i++
		}
	}
}

// weightedMedian returns the weighted median of the positions pw[i][0]
// with weights pw[i][1]: the mean of the two middle positions when the
// weights split evenly between them. It sorts pw.
func weightedMedian(pw [][2]float64) float64 {
	sort.Slice(pw, func(i, j int) bool { return pw[i][0] < pw[j][0] })
	var total float64
	for _, p := range pw {
		total += p[1]
	}
	var acc float64
	for i, p := range pw {
		acc += p[1]
		switch {
		case acc > total/2:
			return p[0]
		case acc == total/2 && i+1 < len(pw):
			return (p[0] + pw[i+1][0]) / 2
		}
	}
	return pw[len(pw)-1][0]
}

// width returns the span of positions used.
func (l *graphLayout) width() float64 {
	hi := 0.0
	for _, p := range l.pos {
		hi = math.Max(hi, p)
	}
	return hi
}

// depth returns the number of layers.
func (l *graphLayout) depth() int { return len(l.order) }
