package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Recurrent is implemented by the recurrent layers (RNN, GRU, LSTM). They
// take batches of sequences [batch, T, in] and, as Layers, return the
// output of the top layer at every step, [batch, T, hidden], or
// [batch, T, 2·hidden] when bidirectional (the forward direction's state
// followed by the reverse one's, as in PyTorch with batch_first=True).
//
// Run exposes the outputs of every step as separate values. They are
// intermediate values of the graph, so the gradient of a loss with respect
// to each (the backpropagation-through-time signal dL/dh_t whose norm shows
// vanishing and exploding gradients) is one adjoint.Backward away; return
// them from an Objective and the Trainer records those norms every step.
// RunState and ApplyState also take an initial State (h₀, and c₀ for an
// LSTM) and return the final one (h_T, c_T), PyTorch's (h_0, c_0) and
// (h_n, c_n): differentiable like everything else, so a sequence can be
// processed in chunks, or an encoder's final state start a decoder.
//
// Cost: each step slices its input x_t out of x. When x is data (a
// constant) that is free in the reverse pass; when x is itself a tracked
// value (the output of an earlier layer, or an input whose saliency is
// wanted) the core turns each slice's adjoint into a zero-padded tensor of
// x's full size, so the reverse pass through x costs O(T²·batch·in).
type Recurrent interface {
	Layer
	// Run unrolls the recurrence over the sequences x [batch, T, in] from
	// the initial hidden state h0 (nil means zeros; an LSTM's cell state
	// starts at zero) with the parameter values ps, and returns the
	// outputs of steps 1 … T, each [batch, hidden] ([batch, 2·hidden]
	// when bidirectional). h0 is [layers·directions, batch, hidden] as in
	// State, or [batch, hidden] for a single unidirectional layer.
	Run(ps []*adjoint.Var, x, h0 *adjoint.Var) []*adjoint.Var
	// RunState is Run from the initial state s0, returning the final
	// state too.
	RunState(ps []*adjoint.Var, x *adjoint.Var, s0 State) ([]*adjoint.Var, State)
	// ApplyState is Apply from the initial state s0: it returns the
	// outputs [batch, T, features] and the final state.
	ApplyState(ps []*adjoint.Var, x *adjoint.Var, s0 State) (*adjoint.Var, State)
	// Recurrence returns the layer's recurrence over the sequences x
	// [batch, T, in] as a step of the adjoint-state engine
	// (adjoint.Recurrence), with the Layout that packs the parameters, in
	// the order of Params, into the engine's flat θ. State k is the
	// hidden states after step k of every stacked layer, in order, each
	// [batch·hidden], flattened; for an LSTM they are followed by the cell
	// states in the same order. The engine stores or recomputes states by
	// its checkpointing policy, so long sequences fit in bounded memory,
	// and reports λ_k = dL/dx_k through RecurrenceSettings.OnAdjoint; its
	// gradients are first-order. The step runs the same operations as
	// Run. It panics for a bidirectional layer, whose reverse direction is
	// not a forward recurrence.
	Recurrence(x *adjoint.Tensor) (adjoint.TracedStep, adjoint.Layout)
}

// State is the state of a recurrent layer for every stacked layer and
// direction, in PyTorch's layout: H and C are [layers·directions, batch,
// hidden], entry l·directions + d holding layer l's direction d (d = 1 the
// reverse one). C is the LSTM's cell state and must be nil for RNN and
// GRU. A nil field stands for zeros in an initial state.
type State struct {
	H, C *adjoint.Var
}

// RNNSettings configures the recurrent layers. A nil *RNNSettings means the
// defaults described on each field.
type RNNSettings struct {
	// Activation is the nonlinearity of a vanilla RNN; nil means Tanh().
	// Identity() gives a linear recurrence. GRU and LSTM have fixed
	// nonlinearities and reject a non-nil Activation.
	Activation *Activation
	// InputInit draws the input weights, [in, gates·hidden], with
	// fanIn = in and fanOut = hidden; nil means GlorotUniform(1). When it
	// is also a BiasInit (TorchRNNDefault, TorchDefault) it draws the
	// biases too (see TorchRNNDefault); otherwise they start at zero, and
	// an LSTM's forget-gate bias at one.
	InputInit Init
	// RecurrentInit draws the recurrent weights, [hidden, gates·hidden],
	// one hidden×hidden gate block at a time with fanIn = fanOut =
	// hidden; nil means Orthogonal(1), which starts the recurrence with
	// spectral radius one.
	RecurrentInit Init
	// Layers is the number of stacked layers; zero means 1. Layer l > 0
	// reads the outputs of layer l − 1 (both directions, when
	// bidirectional).
	Layers int
	// Bidirectional gives every layer a second direction that runs from
	// the last step to the first, with parameters of its own.
	Bidirectional bool
	// Dropout is the probability with which, in training mode, each output
	// of every stacked layer but the last is zeroed before the next layer
	// reads it (the survivors scaled by 1/(1−Dropout)), as PyTorch's
	// dropout argument; it must lie in [0, 1). Zero means none, and it
	// does nothing to a single layer.
	Dropout float64
	// DropoutRNG is the source of the dropout masks; nil means the
	// *rand.Rand given to the constructor, which the layer then keeps.
	DropoutRNG *rand.Rand
}

func rnnSettings(who string, s *RNNSettings, allowAct bool) RNNSettings {
	var set RNNSettings
	if s != nil {
		set = *s
	}
	if set.Activation != nil && !allowAct {
		panic(fmt.Sprintf("nn: %s: Activation applies to RNN only", who))
	}
	if set.Activation == nil {
		set.Activation = Tanh()
	}
	if set.InputInit == nil {
		set.InputInit = GlorotUniform(1)
	}
	if set.RecurrentInit == nil {
		set.RecurrentInit = Orthogonal(1)
	}
	if set.Layers < 0 {
		panic(fmt.Sprintf("nn: %s: %d layers", who, set.Layers))
	}
	if set.Layers == 0 {
		set.Layers = 1
	}
	if !(set.Dropout >= 0 && set.Dropout < 1) {
		panic(fmt.Sprintf("nn: %s: dropout probability %g outside [0, 1)", who, set.Dropout))
	}
	return set
}

// recurrent holds what the three recurrent layers share: the sizes and the
// parameters of every cell (a layer and direction), cell k = l·dirs + d
// owning params[k·perCell : (k+1)·perCell], in the order w_x, w_h, biases.
type recurrent struct {
	in, hidden, gates int
	layers, dirs      int
	perCell           int
	params            []Param
	// Dropout between stacked layers, in training mode.
	dropout  float64
	dropRNG  *rand.Rand
	training bool
}

// SetTraining switches between training (dropout between stacked layers)
// and evaluation (none).
func (r *recurrent) SetTraining(training bool) { r.training = training }

// Training reports whether the layer is in training mode.
func (r *recurrent) Training() bool { return r.training }

// newRecurrent draws the weights of every cell and adds the biases that
// bias returns (unprefixed, fresh for each cell). A single unidirectional
// layer names its parameters "w_x", "w_h", …; stacked or bidirectional
// ones prefix them with "l<layer>." or "l<layer>_reverse.", so that the
// Trainer's per-layer statistics tell the cells apart.
func newRecurrent(who string, rng *rand.Rand, in, hidden, gates int, set RNNSettings, bias func() []Param) recurrent {
	if in <= 0 || hidden <= 0 {
		panic(fmt.Sprintf("nn: %s: sizes %d→%d must be positive", who, in, hidden))
	}
	r := recurrent{in: in, hidden: hidden, gates: gates, layers: set.Layers, dirs: 1,
		dropout: set.Dropout, dropRNG: set.DropoutRNG, training: true}
	if set.Bidirectional {
		r.dirs = 2
	}
	if r.dropRNG == nil && r.dropout > 0 {
		r.dropRNG = rng
	}
	biasInit, _ := set.InputInit.(BiasInit)
	single := r.layers == 1 && r.dirs == 1
	for l := range r.layers {
		for d := range r.dirs {
			prefix := ""
			if !single {
				prefix = fmt.Sprintf("l%d.", l)
				if d == 1 {
					prefix = fmt.Sprintf("l%d_reverse.", l)
				}
			}
			cin := r.cellIn(l)
			wx := initWeight(who, rng, set.InputInit, cin, hidden, cin, gates*hidden)
			// The recurrent matrix is drawn one gate block at a time, so
			// that an orthogonal init makes each gate's hidden×hidden block
			// orthogonal.
			wh := adjoint.New(hidden, gates*hidden)
			block := adjoint.New(hidden, hidden)
			for g := range gates {
				set.RecurrentInit.Weights(rng, block, hidden, hidden)
				for i := range hidden {
					copy(wh.Data[i*gates*hidden+g*hidden:], block.Data[i*hidden:(i+1)*hidden])
				}
			}
			bs := bias()
			if biasInit != nil {
				for _, b := range bs {
					t := b.Value()
					biasInit.Bias(rng, t, cin, hidden)
					if b.Name == "bias" {
						// One bias standing for PyTorch's two, b_ih + b_hh:
						// the sum of two draws.
						other := adjoint.New(t.Shape...)
						biasInit.Bias(rng, other, cin, hidden)
						for i, v := range other.Data {
							t.Data[i] += v
						}
					}
				}
			}
			ps := append([]Param{newParam("w_x", wx), newParam("w_h", wh)}, bs...)
			for _, p := range ps {
				p.Name = prefix + p.Name
				r.params = append(r.params, p)
			}
			r.perCell = len(ps)
		}
	}
	return r
}

// cellIn returns the number of input features of stacked layer l.
func (r *recurrent) cellIn(l int) int {
	if l == 0 {
		return r.in
	}
	return r.dirs * r.hidden
}

// cell returns the parameter values of cell k among all of ps.
func (r *recurrent) cell(ps []*adjoint.Var, k int) []*adjoint.Var {
	return ps[k*r.perCell : (k+1)*r.perCell : (k+1)*r.perCell]
}

// describe returns the layer's description, as in "LSTM(8→64)" or
// "GRU(8→64, 2 layers, bidirectional)"; extra (the RNN's activation)
// comes right after the sizes.
func (r *recurrent) describe(kind, extra string) string {
	s := fmt.Sprintf("%s(%d→%d", kind, r.in, r.hidden)
	if extra != "" {
		s += ", " + extra
	}
	if r.layers > 1 {
		s += fmt.Sprintf(", %d layers", r.layers)
	}
	if r.dirs == 2 {
		s += ", bidirectional"
	}
	if r.dropout > 0 {
		s += fmt.Sprintf(", dropout %g", r.dropout)
	}
	return s + ")"
}

// dropping reports whether outputs between stacked layers are dropped.
func (r *recurrent) dropping() bool { return r.training && r.dropout > 0 && r.layers > 1 }

// dropMasks draws the dropout mask of one stacked layer's outputs
// [batch, T, features], in Dropout's order (row-major over that shape,
// so that a stack equals single layers with Dropout layers between them),
// and returns it per step, [batch, features] each, as constants: zero or
// 1/(1 − p).
func (r *recurrent) dropMasks(batch, T, features int) []*adjoint.Var {
	keep := 1 / (1 - r.dropout)
	ms := make([]*adjoint.Tensor, T)
	for t := range ms {
		ms[t] = adjoint.New(batch, features)
	}
	for b := range batch {
		for t := range T {
			row := ms[t].Data[b*features : (b+1)*features]
			for f := range row {
				if r.dropRNG.Float64() >= r.dropout {
					row[f] = keep
				}
			}
		}
	}
	vs := make([]*adjoint.Var, T)
	for t, m := range ms {
		vs[t] = adjoint.Const(m)
	}
	return vs
}

func (r *recurrent) outShape(in []int) ([]int, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("samples have shape %v, want [steps %d]", in, r.in)
	}
	if in[1] != r.in {
		return nil, fmt.Errorf("%d input features, want %d", in[1], r.in)
	}
	if in[0] == 0 {
		return nil, fmt.Errorf("sequences of length 0")
	}
	return []int{in[0], r.dirs * r.hidden}, nil
}

// steps splits x [batch, T, in] into T values [batch, in].
func (r *recurrent) steps(l Layer, x, h0 *adjoint.Var) []*adjoint.Var {
	checkInput(l, x)
	s := x.Shape()
	if h0 != nil && (len(h0.Shape()) != 2 || h0.Shape()[0] != s[0] || h0.Shape()[1] != r.hidden) {
		panic(fmt.Sprintf("nn: %s: initial state shape %v, want [%d %d]", layerName(l), h0.Shape(), s[0], r.hidden))
	}
	xs := make([]*adjoint.Var, s[1])
	for t := range xs {
		xs[t] = adjoint.Reshape(adjoint.Slice(x, 1, t, t+1), s[0], s[2])
	}
	return xs
}

// stack joins the states [batch, hidden] of T steps into [batch, T, hidden].
func stack(hs []*adjoint.Var) *adjoint.Var {
	parts := make([]*adjoint.Var, len(hs))
	for t, h := range hs {
		parts[t] = adjoint.Reshape(h, h.Shape()[0], 1, h.Shape()[1])
	}
	return adjoint.Concat(1, parts...)
}

// stepFunc is one step of a cell: the next hidden and cell states from
// the cell's parameter values, the input and the current states (nil for
// zeros; c is nil throughout for RNN and GRU).
type stepFunc func(ps []*adjoint.Var, xt, h, c *adjoint.Var) (*adjoint.Var, *adjoint.Var)

// initial returns cell k's part [batch, hidden] of an initial state v
// ([cells, batch, hidden], or [batch, hidden] for a single cell), nil
// when v is nil. It panics if v has the wrong shape.
func (r *recurrent) initial(l Layer, what string, v *adjoint.Var, batch, k int) *adjoint.Var {
	if v == nil {
		return nil
	}
	cells := r.layers * r.dirs
	s := v.Shape()
	switch {
	case len(s) == 2 && cells == 1 && s[0] == batch && s[1] == r.hidden:
		return v
	case len(s) == 3 && s[0] == cells && s[1] == batch && s[2] == r.hidden:
		return adjoint.Reshape(adjoint.Slice(v, 0, k, k+1), batch, r.hidden)
	}
	panic(fmt.Sprintf("nn: %s: initial state %s shape %v, want [%d %d %d] (layers·directions, batch, hidden)", layerName(l), what, s, cells, batch, r.hidden))
}

// unroll runs every layer and direction of the recurrence over x from s0
// and returns the top layer's outputs at every step and the final state.
func (r *recurrent) unroll(l Layer, ps []*adjoint.Var, x *adjoint.Var, s0 State, lstm bool, step stepFunc) ([]*adjoint.Var, State) {
	checkParams(l, ps, r.params...)
	if s0.C != nil && !lstm {
		panic(fmt.Sprintf("nn: %s: an initial cell state applies to LSTM only", layerName(l)))
	}
	xs := r.steps(l, x, nil)
	batch, T := x.Shape()[0], len(xs)
	cells := r.layers * r.dirs
	finalH := make([]*adjoint.Var, cells)
	finalC := make([]*adjoint.Var, cells)
	for layer := range r.layers {
		outs := make([][]*adjoint.Var, r.dirs)
		for d := range r.dirs {
			k := layer*r.dirs + d
			h := r.initial(l, "H", s0.H, batch, k)
			c := r.initial(l, "C", s0.C, batch, k)
			cps := r.cell(ps, k)
			outs[d] = make([]*adjoint.Var, T)
			for i := range T {
				t := i
				if d == 1 {
					t = T - 1 - i
				}
				h, c = step(cps, xs[t], h, c)
				outs[d][t] = h
			}
			finalH[k], finalC[k] = h, c
		}
		if r.dirs == 1 {
			xs = outs[0]
		} else {
			xs = make([]*adjoint.Var, T)
			for t := range xs {
				xs[t] = adjoint.Concat(1, outs[0][t], outs[1][t])
			}
		}
		if layer < r.layers-1 && r.dropping() {
			masks := r.dropMasks(batch, T, r.dirs*r.hidden)
			for t := range xs {
				xs[t] = adjoint.Mul(xs[t], masks[t])
			}
		}
	}
	final := State{H: stackCells(finalH)}
	if lstm {
		final.C = stackCells(finalC)
	}
	return xs, final
}

// stackCells joins the per-cell states [batch, hidden] into
// [cells, batch, hidden].
func stackCells(vs []*adjoint.Var) *adjoint.Var {
	parts := make([]*adjoint.Var, len(vs))
	for k, v := range vs {
		parts[k] = adjoint.Reshape(v, append([]int{1}, v.Shape()...)...)
	}
	return adjoint.Concat(0, parts...)
}

// recurrence returns the engine step of a unidirectional stack whose cells
// advance by step; for an LSTM the flat state holds every layer's h and
// then every layer's c.
func (r *recurrent) recurrence(l Layer, x *adjoint.Tensor, lstm bool, step stepFunc) (adjoint.TracedStep, adjoint.Layout) {
	if r.dirs != 1 {
		panic(fmt.Sprintf("nn: %s: Recurrence needs a unidirectional layer", layerName(l)))
	}
	// Dropout masks for the whole sequence, drawn now as Run would draw
	// them, so that the engine's recomputed steps see the same masks.
	var masks [][]*adjoint.Var
	if r.dropping() {
		if len(x.Shape) != 3 {
			panic(fmt.Sprintf("nn: %s: Recurrence of shape %v, want [batch steps features]", layerName(l), x.Shape))
		}
		for range r.layers - 1 {
			masks = append(masks, r.dropMasks(x.Shape[0], x.Shape[1], r.hidden))
		}
	}
	return r.engineStep(l, x, func(k int, ps []*adjoint.Var, xt, state *adjoint.Var) *adjoint.Var {
		rows := state.Shape()[0] / r.layers // batch rows of one layer
		if lstm {
			rows /= 2
		}
		block := func(i int) *adjoint.Var {
			if r.layers == 1 && !lstm {
				return state
			}
			return adjoint.Slice(state, 0, i*rows, (i+1)*rows)
		}
		hs := make([]*adjoint.Var, r.layers)
		cs := make([]*adjoint.Var, r.layers)
		in := xt
		for layer := range r.layers {
			var c *adjoint.Var
			if lstm {
				c = block(r.layers + layer)
			}
			hs[layer], cs[layer] = step(r.cell(ps, layer), in, block(layer), c)
			in = hs[layer]
			if masks != nil && layer < r.layers-1 {
				in = adjoint.Mul(in, masks[layer][k])
			}
		}
		if lstm {
			hs = append(hs, cs...)
		}
		if len(hs) == 1 {
			return hs[0]
		}
		return adjoint.Concat(0, hs...)
	})
}

// engineStep builds the adjoint.TracedStep of a recurrent layer whose
// one-step update is cell(ps, x_t, state), state being the flat engine
// state as [rows, hidden] blocks.
func (r *recurrent) engineStep(l Layer, x *adjoint.Tensor, cell func(k int, ps []*adjoint.Var, xt, state *adjoint.Var) *adjoint.Var) (adjoint.TracedStep, adjoint.Layout) {
	own := l.Params()
	lay := adjoint.LayoutOf(ParamValues(own)...)
	xs := r.steps(l, adjoint.Const(x), nil)
	f := func(k int, state, theta *adjoint.Var) *adjoint.Var {
		if k < 0 || k >= len(xs) {
			panic(fmt.Sprintf("nn: %s: engine step %d outside the sequence of %d steps", layerName(l), k, len(xs)))
		}
		return adjoint.Reshape(cell(k, lay.Vars(theta), xs[k], adjoint.Reshape(state, -1, r.hidden)), -1)
	}
	return adjoint.TracedStep{F: f}, lay
}

// gate returns columns [g·H, (g+1)·H) of a [..., gates·H] value.
func gate(v *adjoint.Var, g, h int) *adjoint.Var { return adjoint.Slice(v, -1, g*h, (g+1)*h) }

// RNN is the vanilla (Elman) recurrent layer
//
//	h_t = φ(x_t·W_x + h_{t−1}·W_h + b),
//
// with φ = tanh by default. With φ the identity it is the linear recurrence
// whose gradients dL/dh_t shrink or grow like ρ(W_h)^(T−t). It can be
// stacked, with dropout between the layers in training mode, and
// bidirectional (RNNSettings).
//
// Parameters, for a single unidirectional layer: "w_x" [in hidden],
// "w_h" [hidden hidden], "bias" [hidden] (zeros by default); stacked and
// bidirectional layers have these for every layer and direction, prefixed
// "l0.", "l0_reverse.", "l1.", … (layer l > 0 has w_x [directions·hidden
// hidden]). PyTorch's two biases b_ih + b_hh are one here.
type RNN struct {
	recurrent
	act *Activation
}

var (
	_ Recurrent     = (*RNN)(nil)
	_ TrainingModer = (*RNN)(nil)
)

// NewRNN returns a vanilla RNN from in features to hidden units, drawing its
// weights from rng; the bias starts at zero unless RNNSettings.InputInit
// draws it.
func NewRNN(rng *rand.Rand, in, hidden int, s *RNNSettings) *RNN {
	set := rnnSettings("NewRNN", s, true)
	bias := func() []Param { return []Param{newParam("bias", adjoint.New(hidden))} }
	return &RNN{recurrent: newRecurrent("NewRNN", rng, in, hidden, 1, set, bias), act: set.Activation}
}

// String describes the layer, as in "RNN(8→64, tanh)".
func (r *RNN) String() string { return r.describe("RNN", r.act.String()) }

// Params returns W_x, W_h and the bias of every layer and direction.
func (r *RNN) Params() []Param { return slices.Clone(r.params) }

// OutShape maps [T, in] to [T, hidden] ([T, 2·hidden] if bidirectional).
func (r *RNN) OutShape(in []int) ([]int, error) { return r.outShape(in) }

// Run returns the outputs of every step; see Recurrent.
func (r *RNN) Run(ps []*adjoint.Var, x, h0 *adjoint.Var) []*adjoint.Var {
	hs, _ := r.RunState(ps, x, State{H: h0})
	return hs
}

// RunState returns the outputs of every step and the final state.
func (r *RNN) RunState(ps []*adjoint.Var, x *adjoint.Var, s0 State) ([]*adjoint.Var, State) {
	return r.unroll(r, ps, x, s0, false, r.step)
}

// step is one step of a cell; a nil h stands for zeros.
func (r *RNN) step(ps []*adjoint.Var, xt, h, _ *adjoint.Var) (*adjoint.Var, *adjoint.Var) {
	pre := adjoint.MatMulAdd(xt, ps[0], ps[2])
	if h != nil {
		pre = adjoint.MatMulAdd(h, ps[1], pre)
	}
	return r.act.f(pre), nil
}

// Recurrence returns the RNN as a step of the adjoint-state engine; see
// Recurrent.
func (r *RNN) Recurrence(x *adjoint.Tensor) (adjoint.TracedStep, adjoint.Layout) {
	return r.recurrence(r, x, false, r.step)
}

// Apply returns the outputs of every step as [batch, T, features],
// starting from zeros.
func (r *RNN) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var { return stack(r.Run(ps, x, nil)) }

// ApplyState returns the outputs of every step, from s0, and the final
// state.
func (r *RNN) ApplyState(ps []*adjoint.Var, x *adjoint.Var, s0 State) (*adjoint.Var, State) {
	hs, s := r.RunState(ps, x, s0)
	return stack(hs), s
}

// Forward applies the layer with its own parameters.
func (r *RNN) Forward(x *adjoint.Var) *adjoint.Var { return r.Apply(Vars(r), x) }

// GRU is the gated recurrent unit, in PyTorch's formulation:
//
//	r = σ(x·W_xr + b_xr + h·W_hr + b_hr)          reset gate
//	z = σ(x·W_xz + b_xz + h·W_hz + b_hz)          update gate
//	n = tanh(x·W_xn + b_xn + r ⊙ (h·W_hn + b_hn))  candidate
//	h' = (1 − z) ⊙ n + z ⊙ h
//
// The three gates are stored side by side in the order r, z, n. It can be
// stacked, with dropout between the layers, and bidirectional
// (RNNSettings).
//
// Parameters, for a single unidirectional layer: "w_x" [in 3·hidden],
// "w_h" [hidden 3·hidden], "b_x" [3·hidden], "b_h" [3·hidden] (zeros by
// default); stacked and bidirectional layers are named as for RNN.
type GRU struct {
	recurrent
}

var (
	_ Recurrent     = (*GRU)(nil)
	_ TrainingModer = (*GRU)(nil)
)

// NewGRU returns a GRU from in features to hidden units, drawing its
// weights from rng; the biases start at zero unless RNNSettings.InputInit
// draws them.
func NewGRU(rng *rand.Rand, in, hidden int, s *RNNSettings) *GRU {
	set := rnnSettings("NewGRU", s, false)
	bias := func() []Param {
		return []Param{newParam("b_x", adjoint.New(3*hidden)), newParam("b_h", adjoint.New(3*hidden))}
	}
	return &GRU{recurrent: newRecurrent("NewGRU", rng, in, hidden, 3, set, bias)}
}

// String describes the layer, as in "GRU(8→64)".
func (g *GRU) String() string { return g.describe("GRU", "") }

// Params returns W_x, W_h, b_x and b_h of every layer and direction.
func (g *GRU) Params() []Param { return slices.Clone(g.params) }

// OutShape maps [T, in] to [T, hidden] ([T, 2·hidden] if bidirectional).
func (g *GRU) OutShape(in []int) ([]int, error) { return g.outShape(in) }

// Run returns the outputs of every step; see Recurrent.
func (g *GRU) Run(ps []*adjoint.Var, x, h0 *adjoint.Var) []*adjoint.Var {
	hs, _ := g.RunState(ps, x, State{H: h0})
	return hs
}

// RunState returns the outputs of every step and the final state.
func (g *GRU) RunState(ps []*adjoint.Var, x *adjoint.Var, s0 State) ([]*adjoint.Var, State) {
	return g.unroll(g, ps, x, s0, false, g.step)
}

// step is one step of a cell; a nil h stands for zeros.
func (g *GRU) step(ps []*adjoint.Var, xt, h, _ *adjoint.Var) (*adjoint.Var, *adjoint.Var) {
	H := g.hidden
	gx := adjoint.MatMulAdd(xt, ps[0], ps[2])
	gh := ps[3]
	if h != nil {
		gh = adjoint.MatMulAdd(h, ps[1], ps[3])
	}
	r := adjoint.Sigmoid(adjoint.Add(gate(gx, 0, H), gate(gh, 0, H)))
	z := adjoint.Sigmoid(adjoint.Add(gate(gx, 1, H), gate(gh, 1, H)))
	n := adjoint.Tanh(adjoint.Add(gate(gx, 2, H), adjoint.Mul(r, gate(gh, 2, H))))
	if h == nil {
		return adjoint.Sub(n, adjoint.Mul(z, n)), nil // h0 = 0
	}
	return adjoint.Add(n, adjoint.Mul(z, adjoint.Sub(h, n))), nil
}

// Recurrence returns the GRU as a step of the adjoint-state engine; see
// Recurrent.
func (g *GRU) Recurrence(x *adjoint.Tensor) (adjoint.TracedStep, adjoint.Layout) {
	return g.recurrence(g, x, false, g.step)
}

// Apply returns the outputs of every step as [batch, T, features],
// starting from zeros.
func (g *GRU) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var { return stack(g.Run(ps, x, nil)) }

// ApplyState returns the outputs of every step, from s0, and the final
// state.
func (g *GRU) ApplyState(ps []*adjoint.Var, x *adjoint.Var, s0 State) (*adjoint.Var, State) {
	hs, s := g.RunState(ps, x, s0)
	return stack(hs), s
}

// Forward applies the layer with its own parameters.
func (g *GRU) Forward(x *adjoint.Var) *adjoint.Var { return g.Apply(Vars(g), x) }

// LSTM is the long short-term memory layer:
//
//	[i f g o] = x·W_x + h·W_h + b
//	c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)
//	h' = σ(o) ⊙ tanh(c')
//
// with the four gates stored side by side in the order i, f, g, o (as in
// PyTorch). The forget-gate bias starts at 1 (the others at 0), the usual
// choice that lets the cell remember from the start, unless
// RNNSettings.InputInit draws the biases. Run and Apply start
// from zero hidden and cell states unless Run is given h0 (the cell state
// then still starts at zero); RunState and ApplyState take both. It can be
// stacked, with dropout between the layers, and bidirectional
// (RNNSettings).
//
// Parameters, for a single unidirectional layer: "w_x" [in 4·hidden],
// "w_h" [hidden 4·hidden], "bias" [4·hidden]; stacked and bidirectional
// layers are named as for RNN. PyTorch's two biases b_ih + b_hh are one
// here.
type LSTM struct {
	recurrent
}

var (
	_ Recurrent     = (*LSTM)(nil)
	_ TrainingModer = (*LSTM)(nil)
)

// NewLSTM returns an LSTM from in features to hidden units, drawing its
// weights from rng.
func NewLSTM(rng *rand.Rand, in, hidden int, s *RNNSettings) *LSTM {
	set := rnnSettings("NewLSTM", s, false)
	bias := func() []Param {
		b := adjoint.New(4 * hidden)
		for i := hidden; i < 2*hidden; i++ {
			b.Data[i] = 1
		}
		return []Param{newParam("bias", b)}
	}
	return &LSTM{recurrent: newRecurrent("NewLSTM", rng, in, hidden, 4, set, bias)}
}

// String describes the layer, as in "LSTM(8→64)".
func (l *LSTM) String() string { return l.describe("LSTM", "") }

// Params returns W_x, W_h and the bias of every layer and direction.
func (l *LSTM) Params() []Param { return slices.Clone(l.params) }

// OutShape maps [T, in] to [T, hidden] ([T, 2·hidden] if bidirectional).
func (l *LSTM) OutShape(in []int) ([]int, error) { return l.outShape(in) }

// Run returns the outputs of every step; see Recurrent.
func (l *LSTM) Run(ps []*adjoint.Var, x, h0 *adjoint.Var) []*adjoint.Var {
	hs, _ := l.RunState(ps, x, State{H: h0})
	return hs
}

// RunState returns the outputs of every step and the final state, hidden
// and cell.
func (l *LSTM) RunState(ps []*adjoint.Var, x *adjoint.Var, s0 State) ([]*adjoint.Var, State) {
	return l.unroll(l, ps, x, s0, true, l.step)
}

// step is one step of a cell from hidden state h and cell state c; nil
// stands for zeros.
func (l *LSTM) step(ps []*adjoint.Var, xt, h, c *adjoint.Var) (*adjoint.Var, *adjoint.Var) {
	H := l.hidden
	pre := adjoint.MatMulAdd(xt, ps[0], ps[2])
	if h != nil {
		pre = adjoint.MatMulAdd(h, ps[1], pre)
	}
	in := adjoint.Mul(adjoint.Sigmoid(gate(pre, 0, H)), adjoint.Tanh(gate(pre, 2, H)))
	if c == nil {
		c = in
	} else {
		c = adjoint.Add(adjoint.Mul(adjoint.Sigmoid(gate(pre, 1, H)), c), in)
	}
	return adjoint.Mul(adjoint.Sigmoid(gate(pre, 3, H)), adjoint.Tanh(c)), c
}

// Recurrence returns the LSTM as a step of the adjoint-state engine; see
// Recurrent. Its state is [h; c]: every layer's hidden states followed by
// every layer's cell states, 2·layers·batch·hidden numbers.
func (l *LSTM) Recurrence(x *adjoint.Tensor) (adjoint.TracedStep, adjoint.Layout) {
	return l.recurrence(l, x, true, l.step)
}

// Apply returns the outputs of every step as [batch, T, features],
// starting from zeros.
func (l *LSTM) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var { return stack(l.Run(ps, x, nil)) }

// ApplyState returns the outputs of every step, from s0, and the final
// state.
func (l *LSTM) ApplyState(ps []*adjoint.Var, x *adjoint.Var, s0 State) (*adjoint.Var, State) {
	hs, s := l.RunState(ps, x, s0)
	return stack(hs), s
}

// Forward applies the layer with its own parameters.
func (l *LSTM) Forward(x *adjoint.Var) *adjoint.Var { return l.Apply(Vars(l), x) }
