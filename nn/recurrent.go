package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Recurrent is implemented by the recurrent layers (RNN, GRU, LSTM). They
// take batches of sequences [batch, T, in] and, as Layers, return the
// hidden state of every step, [batch, T, hidden].
//
// Run exposes the hidden states h_1 … h_T as separate values. They are
// intermediate values of the graph, so the gradient of a loss with respect
// to each (the backpropagation-through-time signal dL/dh_t whose norm shows
// vanishing and exploding gradients) is one adjoint.Backward away; return
// them from an Objective and the Trainer records those norms every step.
//
// Cost: each step slices its input x_t out of x. When x is data (a
// constant) that is free in the reverse pass; when x is itself a tracked
// value (the output of an earlier layer, or an input whose saliency is
// wanted) the core turns each slice's adjoint into a zero-padded tensor of
// x's full size, so the reverse pass through x costs O(T²·batch·in).
type Recurrent interface {
	Layer
	// Run unrolls the recurrence over the sequences x [batch, T, in] from
	// the initial state h0 [batch, hidden] (nil means zeros) with the
	// parameter values ps, and returns the hidden states of steps 1 … T,
	// each [batch, hidden].
	Run(ps []*adjoint.Var, x, h0 *adjoint.Var) []*adjoint.Var
	// Recurrence returns the layer's recurrence over the sequences x
	// [batch, T, in] as a step of the adjoint-state engine
	// (adjoint.Recurrence), with the Layout that packs the parameters, in
	// the order of Params, into the engine's flat θ. State k is h_k
	// flattened ([batch·hidden]; for LSTM, h_k followed by the cell state
	// c_k). The engine stores or recomputes states by its checkpointing
	// policy, so long sequences fit in bounded memory, and reports
	// λ_k = dL/dx_k through RecurrenceSettings.OnAdjoint; its gradients are
	// first-order. The step runs the same operations as Run.
	Recurrence(x *adjoint.Tensor) (adjoint.TracedStep, adjoint.Layout)
}

// RNNSettings configures the recurrent layers. A nil *RNNSettings means the
// defaults described on each field.
type RNNSettings struct {
	// Activation is the nonlinearity of a vanilla RNN; nil means Tanh().
	// Identity() gives a linear recurrence. GRU and LSTM have fixed
	// nonlinearities and reject a non-nil Activation.
	Activation *Activation
	// InputInit draws the input weights, [in, gates·hidden]; nil means
	// GlorotUniform(1).
	InputInit Init
	// RecurrentInit draws the recurrent weights, [hidden, gates·hidden];
	// nil means Orthogonal(1), which starts the recurrence with spectral
	// radius one.
	RecurrentInit Init
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
	return set
}

// recurrent holds what the three recurrent layers share.
type recurrent struct {
	in, hidden, gates int
	wx, wh            Param
}

func newRecurrent(who string, rng *rand.Rand, in, hidden, gates int, set RNNSettings) recurrent {
	if in <= 0 || hidden <= 0 {
		panic(fmt.Sprintf("nn: %s: sizes %d→%d must be positive", who, in, hidden))
	}
	wx := initWeight(who, rng, set.InputInit, in, hidden, in, gates*hidden)
	// The recurrent matrix is drawn one gate block at a time, so that an
	// orthogonal init makes each gate's hidden×hidden block orthogonal.
	wh := adjoint.New(hidden, gates*hidden)
	block := adjoint.New(hidden, hidden)
	for g := range gates {
		set.RecurrentInit(rng, block, hidden, hidden)
		for i := range hidden {
			copy(wh.Data[i*gates*hidden+g*hidden:], block.Data[i*hidden:(i+1)*hidden])
		}
	}
	return recurrent{in: in, hidden: hidden, gates: gates, wx: newParam("w_x", wx), wh: newParam("w_h", wh)}
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
	return []int{in[0], r.hidden}, nil
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

// engineStep builds the adjoint.TracedStep of a recurrent layer whose
// one-step update is cell(ps, x_t, state), state being the flat engine
// state as [rows, hidden] blocks.
func (r *recurrent) engineStep(l Layer, x *adjoint.Tensor, cell func(ps []*adjoint.Var, xt, state *adjoint.Var) *adjoint.Var) (adjoint.TracedStep, adjoint.Layout) {
	own := l.Params()
	lay := adjoint.LayoutOf(ParamValues(own)...)
	xs := r.steps(l, adjoint.Const(x), nil)
	f := func(k int, state, theta *adjoint.Var) *adjoint.Var {
		if k < 0 || k >= len(xs) {
			panic(fmt.Sprintf("nn: %s: engine step %d outside the sequence of %d steps", layerName(l), k, len(xs)))
		}
		return adjoint.Reshape(cell(lay.Vars(theta), xs[k], adjoint.Reshape(state, -1, r.hidden)), -1)
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
// whose gradients dL/dh_t shrink or grow like ρ(W_h)^(T−t).
//
// Parameters: "w_x" [in hidden], "w_h" [hidden hidden], "bias" [hidden].
type RNN struct {
	recurrent
	act *Activation
	b   Param
}

var _ Recurrent = (*RNN)(nil)

// NewRNN returns a vanilla RNN from in features to hidden units, drawing its
// weights from rng; the bias starts at zero.
func NewRNN(rng *rand.Rand, in, hidden int, s *RNNSettings) *RNN {
	set := rnnSettings("NewRNN", s, true)
	return &RNN{recurrent: newRecurrent("NewRNN", rng, in, hidden, 1, set), act: set.Activation,
		b: newParam("bias", adjoint.New(hidden))}
}

// String describes the layer, as in "RNN(8→64, tanh)".
func (r *RNN) String() string { return fmt.Sprintf("RNN(%d→%d, %s)", r.in, r.hidden, r.act) }

// Params returns W_x, W_h and the bias.
func (r *RNN) Params() []Param { return []Param{r.wx, r.wh, r.b} }

// OutShape maps [T, in] to [T, hidden].
func (r *RNN) OutShape(in []int) ([]int, error) { return r.outShape(in) }

// Run returns the hidden states of every step.
func (r *RNN) Run(ps []*adjoint.Var, x, h0 *adjoint.Var) []*adjoint.Var {
	checkParams(r, ps, r.wx, r.wh, r.b)
	xs := r.steps(r, x, h0)
	h := h0
	hs := make([]*adjoint.Var, len(xs))
	for t, xt := range xs {
		h = r.cell(ps, xt, h)
		hs[t] = h
	}
	return hs
}

// cell is one step; a nil h stands for zeros.
func (r *RNN) cell(ps []*adjoint.Var, xt, h *adjoint.Var) *adjoint.Var {
	pre := adjoint.MatMulAdd(xt, ps[0], ps[2])
	if h != nil {
		pre = adjoint.MatMulAdd(h, ps[1], pre)
	}
	return r.act.f(pre)
}

// Recurrence returns the RNN as a step of the adjoint-state engine; see
// Recurrent.
func (r *RNN) Recurrence(x *adjoint.Tensor) (adjoint.TracedStep, adjoint.Layout) {
	return r.engineStep(r, x, r.cell)
}

// Apply returns the hidden states of every step as [batch, T, hidden],
// starting from zeros.
func (r *RNN) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var { return stack(r.Run(ps, x, nil)) }

// Forward applies the layer with its own parameters.
func (r *RNN) Forward(x *adjoint.Var) *adjoint.Var { return r.Apply(Vars(r), x) }

// GRU is the gated recurrent unit, in PyTorch's formulation:
//
//	r = σ(x·W_xr + b_xr + h·W_hr + b_hr)          reset gate
//	z = σ(x·W_xz + b_xz + h·W_hz + b_hz)          update gate
//	n = tanh(x·W_xn + b_xn + r ⊙ (h·W_hn + b_hn))  candidate
//	h' = (1 − z) ⊙ n + z ⊙ h
//
// The three gates are stored side by side in the order r, z, n.
//
// Parameters: "w_x" [in 3·hidden], "w_h" [hidden 3·hidden],
// "b_x" [3·hidden], "b_h" [3·hidden].
type GRU struct {
	recurrent
	bx, bh Param
}

var _ Recurrent = (*GRU)(nil)

// NewGRU returns a GRU from in features to hidden units, drawing its
// weights from rng; the biases start at zero.
func NewGRU(rng *rand.Rand, in, hidden int, s *RNNSettings) *GRU {
	set := rnnSettings("NewGRU", s, false)
	return &GRU{recurrent: newRecurrent("NewGRU", rng, in, hidden, 3, set),
		bx: newParam("b_x", adjoint.New(3*hidden)), bh: newParam("b_h", adjoint.New(3*hidden))}
}

// String describes the layer, as in "GRU(8→64)".
func (g *GRU) String() string { return fmt.Sprintf("GRU(%d→%d)", g.in, g.hidden) }

// Params returns W_x, W_h, b_x and b_h.
func (g *GRU) Params() []Param { return []Param{g.wx, g.wh, g.bx, g.bh} }

// OutShape maps [T, in] to [T, hidden].
func (g *GRU) OutShape(in []int) ([]int, error) { return g.outShape(in) }

// Run returns the hidden states of every step.
func (g *GRU) Run(ps []*adjoint.Var, x, h0 *adjoint.Var) []*adjoint.Var {
	checkParams(g, ps, g.wx, g.wh, g.bx, g.bh)
	xs := g.steps(g, x, h0)
	h := h0
	hs := make([]*adjoint.Var, len(xs))
	for t, xt := range xs {
		h = g.cell(ps, xt, h)
		hs[t] = h
	}
	return hs
}

// cell is one step; a nil h stands for zeros.
func (g *GRU) cell(ps []*adjoint.Var, xt, h *adjoint.Var) *adjoint.Var {
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
		return adjoint.Sub(n, adjoint.Mul(z, n)) // h0 = 0
	}
	return adjoint.Add(n, adjoint.Mul(z, adjoint.Sub(h, n)))
}

// Recurrence returns the GRU as a step of the adjoint-state engine; see
// Recurrent.
func (g *GRU) Recurrence(x *adjoint.Tensor) (adjoint.TracedStep, adjoint.Layout) {
	return g.engineStep(g, x, g.cell)
}

// Apply returns the hidden states of every step as [batch, T, hidden],
// starting from zeros.
func (g *GRU) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var { return stack(g.Run(ps, x, nil)) }

// Forward applies the layer with its own parameters.
func (g *GRU) Forward(x *adjoint.Var) *adjoint.Var { return g.Apply(Vars(g), x) }

// LSTM is the long short-term memory layer:
//
//	[i f g o] = x·W_x + h·W_h + b
//	c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)
//	h' = σ(o) ⊙ tanh(c')
//
// with the four gates stored side by side in the order i, f, g, o. The
// forget-gate bias starts at 1 (the others at 0), the usual choice that
// lets the cell remember from the start. Run and Apply start from zero
// hidden and cell states unless Run is given h0 (the cell state then still
// starts at zero).
//
// Parameters: "w_x" [in 4·hidden], "w_h" [hidden 4·hidden], "bias"
// [4·hidden].
type LSTM struct {
	recurrent
	b Param
}

var _ Recurrent = (*LSTM)(nil)

// NewLSTM returns an LSTM from in features to hidden units, drawing its
// weights from rng.
func NewLSTM(rng *rand.Rand, in, hidden int, s *RNNSettings) *LSTM {
	set := rnnSettings("NewLSTM", s, false)
	b := adjoint.New(4 * hidden)
	for i := hidden; i < 2*hidden; i++ {
		b.Data[i] = 1
	}
	return &LSTM{recurrent: newRecurrent("NewLSTM", rng, in, hidden, 4, set), b: newParam("bias", b)}
}

// String describes the layer, as in "LSTM(8→64)".
func (l *LSTM) String() string { return fmt.Sprintf("LSTM(%d→%d)", l.in, l.hidden) }

// Params returns W_x, W_h and the bias.
func (l *LSTM) Params() []Param { return []Param{l.wx, l.wh, l.b} }

// OutShape maps [T, in] to [T, hidden].
func (l *LSTM) OutShape(in []int) ([]int, error) { return l.outShape(in) }

// Run returns the hidden states of every step.
func (l *LSTM) Run(ps []*adjoint.Var, x, h0 *adjoint.Var) []*adjoint.Var {
	checkParams(l, ps, l.wx, l.wh, l.b)
	xs := l.steps(l, x, h0)
	h := h0
	var c *adjoint.Var
	hs := make([]*adjoint.Var, len(xs))
	for t, xt := range xs {
		h, c = l.cell(ps, xt, h, c)
		hs[t] = h
	}
	return hs
}

// cell is one step from hidden state h and cell state c; nil stands for
// zeros.
func (l *LSTM) cell(ps []*adjoint.Var, xt, h, c *adjoint.Var) (*adjoint.Var, *adjoint.Var) {
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
// Recurrent. Its state is [h; c]: the batch's hidden states followed by its
// cell states, 2·batch·hidden numbers.
func (l *LSTM) Recurrence(x *adjoint.Tensor) (adjoint.TracedStep, adjoint.Layout) {
	return l.engineStep(l, x, func(ps []*adjoint.Var, xt, state *adjoint.Var) *adjoint.Var {
		n := state.Shape()[0] / 2
		h, c := l.cell(ps, xt, adjoint.Slice(state, 0, 0, n), adjoint.Slice(state, 0, n, 2*n))
		return adjoint.Concat(0, h, c)
	})
}

// Apply returns the hidden states of every step as [batch, T, hidden],
// starting from zeros.
func (l *LSTM) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var { return stack(l.Run(ps, x, nil)) }

// Forward applies the layer with its own parameters.
func (l *LSTM) Forward(x *adjoint.Var) *adjoint.Var { return l.Apply(Vars(l), x) }
