package nn

import (
	"fmt"
	"slices"

	"github.com/adjointkit/adjointkit/adjoint"
)

// NormSettings configures LayerNorm and GroupNorm. A nil *NormSettings
// means the defaults described on each field.
type NormSettings struct {
	// Eps is added to the variance before the square root; zero means
	// 1e-5, PyTorch's default.
	Eps float64
	// NoAffine drops the learned gain and bias, so the layer has no
	// parameters (PyTorch's elementwise_affine=False or affine=False).
	NoAffine bool
}

func (s *NormSettings) orDefault(who string) NormSettings {
	var set NormSettings
	if s != nil {
		set = *s
	}
	if !(set.Eps >= 0) {
		panic(fmt.Sprintf("nn: %s: Eps %g must be non-negative", who, set.Eps))
	}
	if set.Eps == 0 {
		set.Eps = 1e-5
	}
	return set
}

// normalize returns (x − μ)/√(σ² + eps), with μ and the biased variance σ²
// taken over the last axis of x.
func normalize(x *adjoint.Var, eps float64) *adjoint.Var {
	xc := adjoint.Sub(x, adjoint.MeanAxis(x, -1, true))
	v := adjoint.MeanAxis(adjoint.Square(xc), -1, true)
	return adjoint.Div(xc, adjoint.Sqrt(adjoint.AddScalar(v, eps)))
}

// affineParams returns the gain (ones) and bias (zeros) of the given shape,
// or nil when the layer has none.
func affineParams(affine bool, shape ...int) []Param {
	if !affine {
		return nil
	}
	return []Param{newParam("gain", adjoint.Full(1, shape...)), newParam("bias", adjoint.New(shape...))}
}

// LayerNorm normalises each sample over its trailing dimensions (the
// normalised shape, the features for a 1-D shape) to zero mean and unit
// variance, then scales and shifts it elementwise:
//
//	y = (x − μ)/√(σ² + ε) ⊙ gain + bias,
//
// with μ and σ² the mean and the (biased) variance over the normalised
// dimensions, as torch.nn.LayerNorm computes them. It takes inputs of any
// rank whose trailing dimensions are the normalised shape, and is smooth,
// so its derivatives of every order are exact.
//
// Parameters: "gain" (initially ones) and "bias" (initially zeros), each of
// the normalised shape; none with NormSettings.NoAffine.
type LayerNorm struct {
	shape  []int
	size   int
	eps    float64
	params []Param
}

var _ Layer = (*LayerNorm)(nil)

// NewLayerNorm returns a LayerNorm over the last dimension, of the given
// number of features. eps is added to the variance; zero means 1e-5.
func NewLayerNorm(features int, eps float64) *LayerNorm {
	if features <= 0 || eps < 0 {
		panic(fmt.Sprintf("nn: NewLayerNorm: features %d must be positive and eps %g non-negative", features, eps))
	}
	return NewLayerNormOver([]int{features}, &NormSettings{Eps: eps})
}

// NewLayerNormOver returns a LayerNorm over the trailing dimensions given
// by shape (PyTorch's normalized_shape).
func NewLayerNormOver(shape []int, s *NormSettings) *LayerNorm {
	set := s.orDefault("NewLayerNormOver")
	size := 1
	for _, d := range shape {
		size *= d
	}
	if len(shape) == 0 || size <= 0 || slices.ContainsFunc(shape, func(d int) bool { return d <= 0 }) {
		panic(fmt.Sprintf("nn: NewLayerNormOver: normalised shape %v must be non-empty with positive sizes", shape))
	}
	return &LayerNorm{shape: slices.Clone(shape), size: size, eps: set.Eps, params: affineParams(!set.NoAffine, shape...)}
}

// String describes the layer, as in "LayerNorm(64)" or "LayerNorm([4 5])".
func (l *LayerNorm) String() string {
	if len(l.shape) == 1 {
		return fmt.Sprintf("LayerNorm(%d)", l.shape[0])
	}
	return fmt.Sprintf("LayerNorm(%v)", l.shape)
}

// Params returns the gain and the bias, or nothing without them.
func (l *LayerNorm) Params() []Param { return slices.Clone(l.params) }

// OutShape returns in, which must end with the normalised shape.
func (l *LayerNorm) OutShape(in []int) ([]int, error) {
	if len(in) < len(l.shape) || !matchShape(in[len(in)-len(l.shape):], l.shape) {
		return nil, fmt.Errorf("sample shape %v does not end with the normalised shape %v", in, l.shape)
	}
	return slices.Clone(in), nil
}

// Apply normalises x with the given gain and bias values.
func (l *LayerNorm) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(l, ps, l.params...)
	checkInput(l, x)
	s := x.Shape()
	y := x
	if len(l.shape) > 1 {
		y = adjoint.Reshape(x, append(slices.Clone(s[:len(s)-len(l.shape)]), l.size)...)
	}
	y = normalize(y, l.eps)
	if len(l.shape) > 1 {
		y = adjoint.Reshape(y, s...)
	}
	if len(ps) == 0 {
		return y
	}
	return adjoint.Add(adjoint.Mul(y, ps[0]), ps[1])
}

// Forward normalises x with the layer's own gain and bias.
func (l *LayerNorm) Forward(x *adjoint.Var) *adjoint.Var { return l.Apply(Vars(l), x) }

// GroupNorm divides the channels of each sample into groups and normalises
// each group over its channels and spatial positions, then scales and
// shifts each channel (Wu and He 2018; torch.nn.GroupNorm):
//
//	y = (x − μ_g)/√(σ²_g + ε) ⊙ gain_c + bias_c.
//
// Its input is [batch, channels, ...]; the statistics never mix samples,
// so it behaves the same in training and evaluation. One group is
// LayerNorm over a whole sample; as many groups as channels is instance
// normalisation.
//
// Parameters: "gain" [channels] (ones), "bias" [channels] (zeros); none
// with NormSettings.NoAffine.
type GroupNorm struct {
	groups, channels int
	eps              float64
	params           []Param
}

var _ Layer = (*GroupNorm)(nil)

// NewGroupNorm returns a GroupNorm of channels channels in groups groups;
// groups must divide channels.
func NewGroupNorm(groups, channels int, s *NormSettings) *GroupNorm {
	set := s.orDefault("NewGroupNorm")
	if groups <= 0 || channels <= 0 || channels%groups != 0 {
		panic(fmt.Sprintf("nn: NewGroupNorm: %d groups must divide %d channels", groups, channels))
	}
	return &GroupNorm{groups: groups, channels: channels, eps: set.Eps, params: affineParams(!set.NoAffine, channels)}
}

// String describes the layer, as in "GroupNorm(4 groups, 16)".
func (g *GroupNorm) String() string {
	return fmt.Sprintf("GroupNorm(%d groups, %d)", g.groups, g.channels)
}

// Params returns the gain and the bias, or nothing without them.
func (g *GroupNorm) Params() []Param { return slices.Clone(g.params) }

// OutShape returns in, which must be [channels, ...].
func (g *GroupNorm) OutShape(in []int) ([]int, error) {
	if len(in) == 0 || in[0] != g.channels {
		return nil, fmt.Errorf("sample shape %v, want [%d ...] (channels first)", in, g.channels)
	}
	return slices.Clone(in), nil
}

// Apply normalises x with the given gain and bias values.
func (g *GroupNorm) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(g, ps, g.params...)
	checkInput(g, x)
	s := x.Shape()
	y := normalize(adjoint.Reshape(x, s[0], g.groups, -1), g.eps)
	if len(ps) == 0 {
		return adjoint.Reshape(y, s...)
	}
	y = adjoint.Reshape(y, s[0], g.channels, -1)
	y = adjoint.Add(adjoint.Mul(y, channelwise(ps[0])), channelwise(ps[1]))
	return adjoint.Reshape(y, s...)
}

// Forward normalises x with the layer's own gain and bias.
func (g *GroupNorm) Forward(x *adjoint.Var) *adjoint.Var { return g.Apply(Vars(g), x) }

// channelwise reshapes a per-channel vector [C] to [1, C, 1], to broadcast
// against [N, C, S].
func channelwise(v *adjoint.Var) *adjoint.Var { return adjoint.Reshape(v, 1, -1, 1) }

// BatchNormSettings configures BatchNorm. A nil *BatchNormSettings means
// the defaults described on each field, which are PyTorch's.
type BatchNormSettings struct {
	// Eps is added to the variance before the square root; zero means
	// 1e-5.
	Eps float64
	// Momentum is the weight of the current batch in the running
	// averages, as PyTorch defines it:
	//
	//	running ← (1 − Momentum)·running + Momentum·batch statistic.
	//
	// Zero means 0.1. It must lie in (0, 1].
	Momentum float64
	// CumulativeAverage replaces Momentum by 1/n at the n-th training
	// batch, so the running averages are plain means over all batches
	// seen (PyTorch's momentum=None).
	CumulativeAverage bool
	// NoAffine drops the learned gain and bias (PyTorch's affine=False).
	NoAffine bool
	// NoRunningStats keeps no running averages: the layer normalises with
	// the statistics of the batch in evaluation too, and has no buffers
	// (PyTorch's track_running_stats=False).
	NoRunningStats bool
}

// BatchNorm normalises each channel over the batch (and, for inputs with
// spatial dimensions, over the positions too), then scales and shifts it
// (Ioffe and Szegedy 2015; torch.nn.BatchNorm1d and BatchNorm2d):
//
//	y = (x − μ_c)/√(σ²_c + ε) ⊙ gain_c + bias_c.
//
// In training mode (the initial mode; see SetTraining) μ_c and σ²_c are the
// mean and the biased variance of the batch, and every Apply also updates
// the running averages, with the unbiased variance n/(n−1)·σ²_c (n the
// number of values per channel) as PyTorch does. In evaluation mode the
// running averages are used instead, and the layer is an affine map of
// its input. The running averages are buffers (see Buffers): state that is
// saved and loaded with the model but not trained.
//
// The gradients in training mode flow through the batch statistics, so
// they are exact to every order like any traced program. Applying a
// BatchNorm in training mode changes its buffers, so it must not be done
// from several goroutines at once.
//
// Parameters: "gain" [channels] (ones) and "bias" [channels] (zeros), none
// with NoAffine. Buffers: "running_mean" [channels] (zeros),
// "running_var" [channels] (ones) and "num_batches_tracked" [] (a count),
// none with NoRunningStats.
type BatchNorm struct {
	channels int
	ranks    []int // accepted sample ranks
	name     string
	set      BatchNormSettings
	params   []Param
	buffers  []Param
	training bool
}

var (
	_ Layer         = (*BatchNorm)(nil)
	_ TrainingModer = (*BatchNorm)(nil)
	_ Buffered      = (*BatchNorm)(nil)
)

// NewBatchNorm1D returns a BatchNorm for inputs [batch, features] or
// [batch, channels, length].
func NewBatchNorm1D(features int, s *BatchNormSettings) *BatchNorm {
	return newBatchNorm("BatchNorm1D", features, []int{1, 2}, s)
}

// NewBatchNorm2D returns a BatchNorm for images [batch, channels, height,
// width].
func NewBatchNorm2D(channels int, s *BatchNormSettings) *BatchNorm {
	return newBatchNorm("BatchNorm2D", channels, []int{3}, s)
}

func newBatchNorm(name string, c int, ranks []int, s *BatchNormSettings) *BatchNorm {
	var set BatchNormSettings
	if s != nil {
		set = *s
	}
	if set.Eps == 0 {
		set.Eps = 1e-5
	}
	if set.Momentum == 0 {
		set.Momentum = 0.1
	}
	if c <= 0 || !(set.Eps > 0) || !(set.Momentum > 0 && set.Momentum <= 1) {
		panic(fmt.Sprintf("nn: New%s: channels %d must be positive, Eps %g positive and Momentum %g in (0, 1]", name, c, set.Eps, set.Momentum))
	}
	b := &BatchNorm{channels: c, ranks: ranks, name: name, set: set, params: affineParams(!set.NoAffine, c), training: true}
	if !set.NoRunningStats {
		b.buffers = []Param{
			{Name: "running_mean", Var: adjoint.Const(adjoint.New(c))},
			{Name: "running_var", Var: adjoint.Const(adjoint.Full(1, c))},
			{Name: "num_batches_tracked", Var: adjoint.Const(adjoint.Scalar(0))},
		}
	}
	return b
}

// String describes the layer, as in "BatchNorm2D(16)".
func (b *BatchNorm) String() string { return fmt.Sprintf("%s(%d)", b.name, b.channels) }

// SetTraining switches between batch statistics with updates of the
// running averages (true) and the running averages (false).
func (b *BatchNorm) SetTraining(training bool) { b.training = training }

// Training reports whether the layer is in training mode.
func (b *BatchNorm) Training() bool { return b.training }

// Params returns the gain and the bias, or nothing without them.
func (b *BatchNorm) Params() []Param { return slices.Clone(b.params) }

// Buffers returns the running mean, the running variance and the number
// of training batches seen, or nothing with NoRunningStats. Their tensors
// are the layer's own: Apply in training mode updates them in place, and
// loading a model writes into them.
func (b *BatchNorm) Buffers() []Param { return slices.Clone(b.buffers) }

// OutShape returns in, which must be [channels] or [channels length] for
// BatchNorm1D and [channels height width] for BatchNorm2D.
func (b *BatchNorm) OutShape(in []int) ([]int, error) {
	if !slices.Contains(b.ranks, len(in)) || in[0] != b.channels {
		want := "[channels] or [channels length]"
		if b.ranks[0] == 3 {
			want = "[channels height width]"
		}
		return nil, fmt.Errorf("sample shape %v, want %s with %d channels", in, want, b.channels)
	}
	return slices.Clone(in), nil
}

// Apply normalises x with the given gain and bias values: by the batch's
// statistics in training mode (updating the running averages), by the
// running averages in evaluation mode. It panics in training mode if a
// channel has a single value (a batch of one sample without spatial
// dimensions), whose variance is undefined.
func (b *BatchNorm) Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var {
	checkParams(b, ps, b.params...)
	checkInput(b, x)
	s := x.Shape()
	x3 := adjoint.Reshape(x, s[0], b.channels, -1)
	var y *adjoint.Var
	if b.training || b.set.NoRunningStats {
		n := x.Size() / b.channels
		if n < 2 && b.training {
			panic(fmt.Sprintf("nn: %s: input shape %v has one value per channel; training needs more to estimate a variance", b, s))
		}
		mean := adjoint.MeanAxis(adjoint.MeanAxis(x3, 2, true), 0, true)
		xc := adjoint.Sub(x3, mean)
		v := adjoint.MeanAxis(adjoint.MeanAxis(adjoint.Square(xc), 2, true), 0, true)
		y = adjoint.Div(xc, adjoint.Sqrt(adjoint.AddScalar(v, b.set.Eps)))
		if b.training && !b.set.NoRunningStats {
			b.update(mean.Value().Data, v.Value().Data, n)
		}
	} else {
		// Copies, so that a later update cannot touch this graph.
		mean := adjoint.Const(b.buffers[0].Value().Clone().Reshaped(1, b.channels, 1))
		v := adjoint.Const(b.buffers[1].Value().Clone().Reshaped(1, b.channels, 1))
		y = adjoint.Div(adjoint.Sub(x3, mean), adjoint.Sqrt(adjoint.AddScalar(v, b.set.Eps)))
	}
	if len(ps) > 0 {
		y = adjoint.Add(adjoint.Mul(y, channelwise(ps[0])), channelwise(ps[1]))
	}
	return adjoint.Reshape(y, s...)
}

// update folds a batch's mean and biased variance over n values per
// channel into the running averages, in the order of operations of
// PyTorch's CPU kernel.
func (b *BatchNorm) update(mean, biased []float64, n int) {
	rm, rv, count := b.buffers[0].Value().Data, b.buffers[1].Value().Data, b.buffers[2].Value().Data
	count[0]++
	m := b.set.Momentum
	if b.set.CumulativeAverage {
		m = 1 / count[0]
	}
	unbias := float64(n) / float64(n-1)
	for c := range rm {
		rm[c] = m*mean[c] + (1-m)*rm[c]
		rv[c] = m*biased[c]*unbias + (1-m)*rv[c]
	}
}

// Forward normalises x with the layer's own gain and bias.
func (b *BatchNorm) Forward(x *adjoint.Var) *adjoint.Var { return b.Apply(Vars(b), x) }
