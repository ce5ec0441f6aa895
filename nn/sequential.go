package nn

import (
	"fmt"
	"slices"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Sequential chains layers: the output of each is the input of the next.
//
// Its parameters are those of its layers in order, the names of layer i's
// parameters prefixed with "layer<i>." (counting every layer, including
// those without parameters), so a model's names are stable and
// deterministic: "layer0.weight", "layer0.bias", "layer2.weight", …
type Sequential struct {
	in      []int
	out     []int
	layers  []Layer
	params  []Param // all parameters, named; layers are immutable, so computed once
	buffers []Param // all buffers, named likewise
	counts  []int   // number of parameters of each layer
}

var (
	_ Layer     = (*Sequential)(nil)
	_ Container = (*Sequential)(nil)
	_ Buffered  = (*Sequential)(nil)
)

// NewSequential chains layers that take samples of shape in (without the
// batch dimension; -1 marks a size not known in advance, such as the length
// of a sequence). It checks at once that every layer accepts the output of
// the one before, and panics with an "nn: " message naming the layer and
// the shapes if one does not.
//
// A nil in defers the checks until the Sequential is placed in another
// container that knows its input shape, or until it is applied; use it for
// blocks inside Residual.
func NewSequential(in []int, layers ...Layer) *Sequential {
	s := &Sequential{layers: slices.Clone(layers)}
	for i, l := range layers {
		if l == nil {
			panic(fmt.Sprintf("nn: NewSequential: layer %d is nil", i))
		}
		ps := l.Params()
		for _, p := range ps {
			s.params = append(s.params, Param{Name: fmt.Sprintf("layer%d.%s", i, p.Name), Var: p.Var})
		}
		for _, p := range Buffers(l) {
			s.buffers = append(s.buffers, Param{Name: fmt.Sprintf("layer%d.%s", i, p.Name), Var: p.Var})
		}
		s.counts = append(s.counts, len(ps))
	}
	if in != nil {
		s.in = slices.Clone(in)
		out, err := s.OutShape(in)
		if err != nil {
			panic("nn: NewSequential: " + err.Error())
		}
		s.out = out
	}
	return s
}

// String describes the layers, as in
// "Sequential[Linear(2→16) tanh Linear(16→1)]".
func (s *Sequential) String() string {
	b := []byte("Sequential[")
	for i, l := range s.layers {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, layerName(l)...)
	}
	return string(append(b, ']'))
}

// Children returns the layers in order.
func (s *Sequential) Children() []Layer { return slices.Clone(s.layers) }

// InShape returns the sample shape given to NewSequential (nil if none).
func (s *Sequential) InShape() []int { return slices.Clone(s.in) }

// Params returns the parameters of every layer, in order, with prefixed
// names.
func (s *Sequential) Params() []Param { return slices.Clone(s.params) }

// Buffers returns the buffers of every layer, in order, with names
// prefixed as for Params.
func (s *Sequential) Buffers() []Param { return slices.Clone(s.buffers) }

// Split cuts parameter values ps, in the order of Params, into one slice
// per layer: parts[i] is the argument for layer i's Apply. It lets an
// objective run part of a model by hand, for instance a recurrent layer's
// Run to obtain its hidden states.
func (s *Sequential) Split(ps []*adjoint.Var) [][]*adjoint.Var {
	if len(ps) != len(s.params) {
		panic(fmt.Sprintf("nn: %s: Split of %d parameter values, want %d", s, len(ps), len(s.params)))
	}
	parts := make([][]*adjoint.Var, len(s.layers))
	off := 0
	for i, c := range s.counts {
		parts[i] = ps[off : off+c : off+c]
		off += c
	}
	return parts
}

// OutShape passes a sample shape through every layer; its error names the
// first layer that cannot take its input.
func (s *Sequential) OutShape(in []int) ([]int, error) {
	if s.in != nil && !matchShape(in, s.in) {
		return nil, fmt.Errorf("input sample shape %v, want %v", in, s.in)
	}
	if s.out != nil && s.in != nil && slices.Equal(in, s.in) {
		return slices.Clone(s.out), nil
	}
	shape := slices.Clone(in)
	for i, l := range s.layers {
		next, err := l.OutShape(shape)
		if err != nil {
			from := "the input"
			if i > 0 {
				from = fmt.Sprintf("the output of layer %d %s", i-1, layerName(s.layers[i-1]))
			}
			return nil, fmt.Errorf("layer %d %s cannot take sample shape %v (%s): %v", i, layerName(l), shape, from, err)
		}
		shape = next
	}
	return shape, nil
}

// Apply runs x through the layers with the parameter values ps, which
// follow the order of Params.
//
// When x is in a scope (adjoint.InScope), layer i runs in a scope of its
// own inside it, called "layer<i>" like the prefix of its parameters'
// names, and the result is returned in x's scope: a record of the reverse
// pass (adjoint.Flow, LayerFlows) then shows every layer as a unit.
// Without a scope nothing is added to the graph.
func (s *Sequential) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	if len(ps) != len(s.params) {
		panic(fmt.Sprintf("nn: %s: Apply with %d parameter values, want %d", s, len(ps), len(s.params)))
	}
	if s.in != nil {
		if sh := x.Shape(); len(sh) == 0 || !matchShape(sh[1:], s.in) {
			panic(fmt.Sprintf("nn: Sequential: input shape %v, want [batch %v]", sh, s.in))
		}
	}
	scope := x.Scope()
	off := 0
	for i, l := range s.layers {
		c := s.counts[i]
		if scope != nil {
			x = adjoint.InScope(scope.Child(fmt.Sprintf("layer%d", i)), x)
		}
		x = l.Apply(ps[off:off+c:off+c], x)
		off += c
	}
	if scope != nil {
		x = adjoint.InScope(scope, x)
	}
	return x
}

// Forward runs x through the layers with their own parameters.
func (s *Sequential) Forward(x *adjoint.Var) *adjoint.Var { return s.Apply(Vars(s), x) }

// Residual adds a block's output to its input: y = x + block(x). The
// identity path carries gradients past the block unchanged, which is what
// keeps deep residual networks trainable. The block must map a sample
// shape to itself.
//
// Its parameters are the block's, with the block's names.
type Residual struct {
	block Layer
}

var (
	_ Layer     = (*Residual)(nil)
	_ Container = (*Residual)(nil)
	_ Buffered  = (*Residual)(nil)
)

// NewResidual returns the residual connection around block.
func NewResidual(block Layer) *Residual {
	if block == nil {
		panic("nn: NewResidual: nil block")
	}
	return &Residual{block: block}
}

// String describes the layer, as in "Residual(Linear(8→8))".
func (r *Residual) String() string { return "Residual(" + layerName(r.block) + ")" }

// Children returns the block.
func (r *Residual) Children() []Layer { return []Layer{r.block} }

// Params returns the block's parameters.
func (r *Residual) Params() []Param { return r.block.Params() }

// Buffers returns the block's buffers.
func (r *Residual) Buffers() []Param { return Buffers(r.block) }

// OutShape returns in, after checking that the block maps in to itself.
func (r *Residual) OutShape(in []int) ([]int, error) {
	out, err := r.block.OutShape(in)
	if err != nil {
		return nil, fmt.Errorf("block: %v", err)
	}
	if !matchShape(out, in) {
		return nil, fmt.Errorf("block %s maps sample shape %v to %v; a residual connection needs equal shapes", layerName(r.block), in, out)
	}
	return append([]int(nil), in...), nil
}

// Apply returns x + block(x) with the block's parameter values ps. When x
// is in a scope, the block runs in a scope "branch" inside it and the sum
// is recorded in x's scope, so that a record of the reverse pass shows
// the identity path and the branch apart.
func (r *Residual) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkInput(r, x)
	scope := x.Scope()
	if scope == nil {
		return adjoint.Add(x, r.block.Apply(ps, x))
	}
	branch := r.block.Apply(ps, adjoint.InScope(scope.Child("branch"), x))
	return adjoint.Add(x, adjoint.InScope(scope, branch))
}

// Forward returns x + block(x) with the block's own parameters.
func (r *Residual) Forward(x *adjoint.Var) *adjoint.Var { return r.Apply(Vars(r), x) }
