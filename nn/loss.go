package nn

import (
	"fmt"
	"math"
	"slices"

	"github.com/adjointkit/adjointkit/adjoint"
)

// MSE returns the mean squared error mean((pred − target)²) over all
// elements. pred and target must have the same shape.
func MSE(pred, target *adjoint.Var) *adjoint.Var {
	if !slices.Equal(pred.Shape(), target.Shape()) {
		panic(fmt.Sprintf("nn: MSE: prediction shape %v, target shape %v", pred.Shape(), target.Shape()))
	}
	return adjoint.Mean(adjoint.Square(adjoint.Sub(pred, target)))
}

// BCEWithLogits returns the binary cross-entropy of targets y ∈ [0, 1]
// under probabilities σ(z), averaged over all elements:
//
//	mean(−y·log σ(z) − (1−y)·log(1−σ(z))) = mean(softplus(z) − y·z),
//
// computed in the second form, which never forms σ(z) and so neither
// overflows nor loses precision for large |z|. logits and targets must have
// the same shape. BCEWithLogitsLoss adds PyTorch's options.
func BCEWithLogits(logits, targets *adjoint.Var) *adjoint.Var {
	if !slices.Equal(logits.Shape(), targets.Shape()) {
		panic(fmt.Sprintf("nn: BCEWithLogits: logits shape %v, targets shape %v", logits.Shape(), targets.Shape()))
	}
	return adjoint.Mean(adjoint.Sub(adjoint.Softplus(logits), adjoint.Mul(targets, logits)))
}

// BCEWithLogitsSettings configures BCEWithLogitsLoss. A nil
// *BCEWithLogitsSettings means the defaults described on each field.
type BCEWithLogitsSettings struct {
	// Reduction is how the elementwise losses combine; the zero value is
	// ReduceMean, the mean over all elements.
	Reduction Reduction
	// Weight, when not nil, multiplies the elementwise losses; it must
	// broadcast to the shape of the logits.
	Weight *adjoint.Tensor
	// PosWeight, when not nil, weighs the positive term of each element:
	// p > 1 raises recall, p < 1 precision; PyTorch's pos_weight, one per
	// class along the last dimension ([classes]) or anything else that
	// broadcasts to the logits. nil means 1.
	PosWeight *adjoint.Tensor
}

// BCEWithLogitsLoss is BCEWithLogits with the options of
// torch.nn.BCEWithLogitsLoss, elementwise
//
//	ℓ = −w·(p·y·log σ(z) + (1−y)·log(1−σ(z))),
//
// with weight w and positive weight p. Without a positive weight it is
// computed as BCEWithLogits is; with one as
// w·(p·y·softplus(−z) + (1−y)·softplus(z)), a sum of non-negative terms
// that loses no precision for large |z| either. logits and targets must
// have the same shape.
func BCEWithLogitsLoss(logits, targets *adjoint.Var, s *BCEWithLogitsSettings) *adjoint.Var {
	var set BCEWithLogitsSettings
	if s != nil {
		set = *s
	}
	checkSameShape("BCEWithLogitsLoss", logits, targets)
	var l *adjoint.Var
	if set.PosWeight == nil {
		l = adjoint.Sub(adjoint.Softplus(logits), adjoint.Mul(targets, logits))
	} else {
		pos := adjoint.Mul(adjoint.Const(set.PosWeight), targets)
		if !slices.Equal(pos.Shape(), logits.Shape()) {
			panic(fmt.Sprintf("nn: BCEWithLogitsLoss: pos weight shape %v does not broadcast to %v", set.PosWeight.Shape, logits.Shape()))
		}
		neg := adjoint.Sub(adjoint.ConstScalar(1), targets)
		l = adjoint.Add(adjoint.Mul(pos, adjoint.Softplus(adjoint.Neg(logits))), adjoint.Mul(neg, adjoint.Softplus(logits)))
	}
	return reduce("BCEWithLogitsLoss", weighElements("BCEWithLogitsLoss", l, set.Weight), set.Reduction)
}

// weighElements multiplies the elementwise losses l by w (nil: none),
// which must broadcast to l's shape.
func weighElements(who string, l *adjoint.Var, w *adjoint.Tensor) *adjoint.Var {
	if w == nil {
		return l
	}
	shape := l.Shape()
	adjoint.BroadcastShape(w.Shape, shape) // panics if they do not broadcast
	l = adjoint.Mul(l, adjoint.Const(w))
	if !slices.Equal(l.Shape(), shape) {
		panic(fmt.Sprintf("nn: %s: weight shape %v does not broadcast to %v", who, w.Shape, shape))
	}
	return l
}

// SoftmaxCrossEntropy returns the cross-entropy of integer class labels
// under the softmax of logits [batch, classes], averaged over the batch:
//
//	mean_i(−log softmax(z_i)[labels[i]]) = mean_i(logsumexp(z_i) − z_i[labels[i]]),
//
// computed through the core's LogSoftmax, which shifts by the maximum, so
// that large logits neither overflow nor lose the loss to rounding. It
// panics if a label is outside [0, classes) or there is not one per row.
func SoftmaxCrossEntropy(logits *adjoint.Var, labels []int) *adjoint.Var {
	s := logits.Shape()
	if len(s) != 2 || s[0] != len(labels) {
		panic(fmt.Sprintf("nn: SoftmaxCrossEntropy: logits shape %v, want [%d classes] for %d labels", s, len(labels), len(labels)))
	}
	k := s[1]
	idx := make([]int, len(labels))
	for i, l := range labels {
		if l < 0 || l >= k {
			panic(fmt.Sprintf("nn: SoftmaxCrossEntropy: label %d of row %d outside [0, %d)", l, i, k))
		}
		idx[i] = i*k + l
	}
	picked := adjoint.Take(adjoint.Reshape(adjoint.LogSoftmax(logits, 1), -1), 0, idx)
	return adjoint.Neg(adjoint.Mean(picked))
}

// Accuracy returns the fraction of rows of logits [batch, classes] whose
// largest entry is at the position of the label (the first, on ties).
func Accuracy(logits *adjoint.Tensor, labels []int) float64 {
	if len(logits.Shape) != 2 || logits.Shape[0] != len(labels) {
		panic(fmt.Sprintf("nn: Accuracy: logits shape %v for %d labels", logits.Shape, len(labels)))
	}
	if len(labels) == 0 {
		return 0
	}
	k := logits.Shape[1]
	right := 0
	for i, l := range labels {
		row := logits.Data[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if best == l {
			right++
		}
	}
	return float64(right) / float64(len(labels))
}

// Reduction says how a loss combines its per-element values, as PyTorch's
// reduction argument does.
type Reduction int

const (
	// ReduceMean averages: over the elements for most losses, over the
	// weights of the counted targets for the class losses with class
	// weights (see ClassLossSettings). The zero value.
	ReduceMean Reduction = iota
	// ReduceSum adds the values up.
	ReduceSum
	// ReduceNone returns the values themselves, one per element (per
	// sample and position for the class losses).
	ReduceNone
	// ReduceBatchMean sums and divides by the batch size (the leading
	// dimension): KLDiv's mathematically correct mean, PyTorch's
	// "batchmean". Only KLDiv accepts it.
	ReduceBatchMean
)

// String returns PyTorch's name of the reduction.
func (r Reduction) String() string {
	switch r {
	case ReduceMean:
		return "mean"
	case ReduceSum:
		return "sum"
	case ReduceNone:
		return "none"
	case ReduceBatchMean:
		return "batchmean"
	}
	return fmt.Sprintf("Reduction(%d)", int(r))
}

// reduce applies r to the elementwise loss v.
func reduce(who string, v *adjoint.Var, r Reduction) *adjoint.Var {
	switch r {
	case ReduceMean:
		return adjoint.Mean(v)
	case ReduceSum:
		return adjoint.Sum(v)
	case ReduceNone:
		return v
	}
	panic(fmt.Sprintf("nn: %s: reduction %v not supported", who, r))
}

func checkSameShape(who string, a, b *adjoint.Var) {
	if !slices.Equal(a.Shape(), b.Shape()) {
		panic(fmt.Sprintf("nn: %s: input shape %v, target shape %v", who, a.Shape(), b.Shape()))
	}
}

// Huber returns the Huber loss of pred against target (torch.nn.HuberLoss):
// with d = pred − target elementwise,
//
//	ℓ = ½d²            if |d| < delta
//	ℓ = delta·(|d| − ½delta)  otherwise,
//
// quadratic near zero and linear in the tails, so outliers pull with a
// bounded force. delta must be positive; pred and target must have the
// same shape.
func Huber(pred, target *adjoint.Var, delta float64, r Reduction) *adjoint.Var {
	if !(delta > 0) {
		panic(fmt.Sprintf("nn: Huber: delta %g must be positive", delta))
	}
	return piecewiseQuadratic("Huber", pred, target, delta, 0.5, delta, r)
}

// SmoothL1 returns the smooth L1 loss of pred against target
// (torch.nn.SmoothL1Loss): with d = pred − target elementwise,
//
//	ℓ = ½d²/beta     if |d| < beta
//	ℓ = |d| − ½beta  otherwise,
//
// which is Huber(pred, target, beta)/beta. beta = 0 gives the L1 loss |d|.
func SmoothL1(pred, target *adjoint.Var, beta float64, r Reduction) *adjoint.Var {
	if !(beta >= 0) {
		panic(fmt.Sprintf("nn: SmoothL1: beta %g must be non-negative", beta))
	}
	if beta == 0 {
		checkSameShape("SmoothL1", pred, target)
		return reduce("SmoothL1", adjoint.Abs(adjoint.Sub(pred, target)), r)
	}
	return piecewiseQuadratic("SmoothL1", pred, target, beta, 0.5/beta, 1, r)
}

// piecewiseQuadratic returns q·d² where |d| < at and s·(|d| − at/2)
// elsewhere.
func piecewiseQuadratic(who string, pred, target *adjoint.Var, at, q, s float64, r Reduction) *adjoint.Var {
	checkSameShape(who, pred, target)
	d := adjoint.Sub(pred, target)
	a := adjoint.Abs(d)
	near := adjoint.New(d.Shape()...)
	for i, v := range a.Value().Data {
		if v < at {
			near.Data[i] = 1
		}
	}
	lin := adjoint.AddScalar(a, -0.5*at)
	if s != 1 {
		lin = adjoint.Scale(lin, s)
	}
	return reduce(who, adjoint.Where(near, adjoint.Scale(adjoint.Square(d), q), lin), r)
}

// logClamped returns max(log z, −100) elementwise, PyTorch's guard in the
// binary cross-entropy; where the bound applies the derivative is zero,
// and z = 0 gives −100 without an infinite intermediate.
func logClamped(z *adjoint.Var) *adjoint.Var {
	keep := adjoint.New(z.Shape()...)
	for i, v := range z.Value().Data {
		if !(math.Log(v) < -100) { // NaN stays NaN
			keep.Data[i] = 1
		}
	}
	safe := adjoint.Where(keep, z, adjoint.ConstScalar(1))
	return adjoint.Where(keep, adjoint.Log(safe), adjoint.ConstScalar(-100))
}

// BCESettings configures BCE. A nil *BCESettings means the defaults
// described on each field.
type BCESettings struct {
	// Reduction is how the elementwise losses combine; the zero value is
	// ReduceMean, the mean over all elements.
	Reduction Reduction
	// Weight, when not nil, multiplies the elementwise losses; it must
	// broadcast to the shape of the probabilities.
	Weight *adjoint.Tensor
}

// BCE returns the binary cross-entropy of targets y ∈ [0, 1] under
// probabilities p (torch.nn.BCELoss), elementwise
//
//	ℓ = −w·(y·log p + (1−y)·log(1−p)),
//
// with each logarithm bounded below by −100, as PyTorch does, so p = 0 or
// 1 gives a finite loss. Where a bound applies the derivative with respect
// to p is zero (PyTorch's backward instead divides by max(p(1−p), 1e-12)).
// Prefer BCEWithLogits when the probabilities come from a sigmoid: it is
// accurate for any logit. It panics if a probability is outside [0, 1]
// (logits passed by mistake); NaN passes through.
func BCE(probs, targets *adjoint.Var, s *BCESettings) *adjoint.Var {
	var set BCESettings
	if s != nil {
		set = *s
	}
	checkSameShape("BCE", probs, targets)
	for i, v := range probs.Value().Data {
		if v < 0 || v > 1 {
			panic(fmt.Sprintf("nn: BCE: probability %g at element %d outside [0, 1]", v, i))
		}
	}
	one := adjoint.ConstScalar(1)
	l := adjoint.Sub(
		adjoint.Mul(adjoint.AddScalar(targets, -1), logClamped(adjoint.Sub(one, probs))),
		adjoint.Mul(targets, logClamped(probs)))
	return reduce("BCE", weighElements("BCE", l, set.Weight), set.Reduction)
}

// KLDivSettings configures KLDiv. A nil *KLDivSettings means the defaults
// described on each field.
type KLDivSettings struct {
	// Reduction is how the elementwise terms combine; the zero value is
	// ReduceMean, the mean over all elements (PyTorch's default, which is
	// not the divergence; ReduceBatchMean is).
	Reduction Reduction
	// LogTarget says that target holds log-probabilities rather than
	// probabilities.
	LogTarget bool
}

// KLDiv returns the Kullback–Leibler divergence terms of a target
// distribution p from a model distribution q given by its
// log-probabilities logq (torch.nn.KLDivLoss), elementwise
//
//	ℓ = p·(log p − log q)         (p·log p taken as 0 where p = 0)
//	ℓ = exp(log p)·(log p − log q) with LogTarget,
//
// so that ReduceSum over the classes of one sample is KL(p‖q), and
// ReduceBatchMean the mean of KL over a batch. logq and target must have
// the same shape.
func KLDiv(logq, target *adjoint.Var, s *KLDivSettings) *adjoint.Var {
	var set KLDivSettings
	if s != nil {
		set = *s
	}
	checkSameShape("KLDiv", logq, target)
	var l *adjoint.Var
	if set.LogTarget {
		l = adjoint.Mul(adjoint.Exp(target), adjoint.Sub(target, logq))
	} else {
		// xlogy(p, p) − p·log q, with 0·log 0 = 0.
		pos := adjoint.New(target.Shape()...)
		for i, v := range target.Value().Data {
			if v != 0 {
				pos.Data[i] = 1
			}
		}
		safe := adjoint.Where(pos, target, adjoint.ConstScalar(1))
		plogp := adjoint.Where(pos, adjoint.Mul(target, adjoint.Log(safe)), adjoint.ConstScalar(0))
		l = adjoint.Sub(plogp, adjoint.Mul(target, logq))
	}
	return reduceBatch("KLDiv", l, set.Reduction)
}

// ClassLossSettings configures the class losses CrossEntropy, NLL and
// CrossEntropySoft, with PyTorch's semantics. A nil *ClassLossSettings
// means the defaults described on each field.
type ClassLossSettings struct {
	// Reduction is how the per-sample losses combine. The zero value,
	// ReduceMean, divides their sum by the sum of the weights of the
	// counted samples' classes (their number without Weight), ignored
	// samples excluded; for CrossEntropySoft it divides by the number of
	// samples. ReduceNone returns one loss per sample and position
	// ([batch, ...], zero for ignored ones).
	Reduction Reduction
	// Weight, when not nil, holds one weight per class, multiplying the
	// loss of every sample of that class (CrossEntropy, NLL) or each
	// class's term (CrossEntropySoft and the smoothing term).
	Weight []float64
	// Ignore, when true, leaves out every sample whose label is
	// IgnoreIndex: it contributes nothing to the loss nor to the mean's
	// denominator, and its logits get no gradient (PyTorch's
	// ignore_index). It does not apply to CrossEntropySoft.
	Ignore bool
	// IgnoreIndex is the label that Ignore leaves out; it may be any
	// integer, a class or not.
	IgnoreIndex int
	// LabelSmoothing ε in [0, 1] mixes the targets with the uniform
	// distribution: the loss becomes (1−ε)·(the loss of the labels) +
	// ε·(the loss of uniform targets over the C classes), as PyTorch
	// computes it. Not for NLL.
	LabelSmoothing float64
}

// CrossEntropy returns the cross-entropy of integer class labels under the
// softmax of logits (torch.nn.CrossEntropyLoss with class indices). logits
// is [batch, classes] or [batch, classes, d1, …] (a class score for every
// position, as for segmentation); labels holds one class per sample and
// position in row-major order of [batch, d1, …]. Class weights, ignored
// labels, label smoothing and the reduction follow ClassLossSettings, with
// PyTorch's exact semantics: a weighted mean divides by the sum of the
// counted samples' weights, and if every sample is ignored the mean is NaN
// (0/0), as in PyTorch.
//
// It panics if a label other than an ignored one is outside [0, classes).
func CrossEntropy(logits *adjoint.Var, labels []int, s *ClassLossSettings) *adjoint.Var {
	classShape("CrossEntropy", logits)
	return classLoss("CrossEntropy", adjoint.LogSoftmax(logits, 1), labels, s, true)
}

// NLL returns the negative log-likelihood of integer class labels under
// log-probabilities logp (torch.nn.NLLLoss): −w_y·logp[y] per sample, with
// the shapes, weights, ignored labels and reduction of CrossEntropy (which
// is NLL of LogSoftmax). LabelSmoothing does not apply.
func NLL(logp *adjoint.Var, labels []int, s *ClassLossSettings) *adjoint.Var {
	if s != nil && s.LabelSmoothing != 0 {
		panic("nn: NLL: LabelSmoothing applies to CrossEntropy only")
	}
	return classLoss("NLL", logp, labels, s, false)
}

// classShape checks x [N, C, d…] and returns N, C and the number of
// positions S = Π d.
func classShape(who string, x *adjoint.Var) (n, c, positions int) {
	sh := x.Shape()
	if len(sh) < 2 || sh[1] == 0 {
		panic(fmt.Sprintf("nn: %s: input shape %v, want [batch classes ...]", who, sh))
	}
	positions = 1
	for _, d := range sh[2:] {
		positions *= d
	}
	return sh[0], sh[1], positions
}

func classSettings(who string, s *ClassLossSettings, classes int) ClassLossSettings {
	var set ClassLossSettings
	if s != nil {
		set = *s
	}
	if set.Weight != nil && len(set.Weight) != classes {
		panic(fmt.Sprintf("nn: %s: %d class weights for %d classes", who, len(set.Weight), classes))
	}
	if !(set.LabelSmoothing >= 0 && set.LabelSmoothing <= 1) {
		panic(fmt.Sprintf("nn: %s: LabelSmoothing %g outside [0, 1]", who, set.LabelSmoothing))
	}
	if set.Reduction == ReduceBatchMean {
		panic(fmt.Sprintf("nn: %s: reduction %v not supported", who, set.Reduction))
	}
	return set
}

// classWeights returns the class weights as a [1, C, 1] constant, or nil
// without weights.
func classWeights(set ClassLossSettings) *adjoint.Var {
	if set.Weight == nil {
		return nil
	}
	return adjoint.Const(adjoint.FromData(slices.Clone(set.Weight), 1, len(set.Weight), 1))
}

func classLoss(who string, logp *adjoint.Var, labels []int, s *ClassLossSettings, smoothing bool) *adjoint.Var {
	n, c, positions := classShape(who, logp)
	set := classSettings(who, s, c)
	if len(labels) != n*positions {
		panic(fmt.Sprintf("nn: %s: %d labels for input shape %v, want %d", who, len(labels), logp.Shape(), n*positions))
	}
	// The counted samples: their positions m = n·S + s, their entries of
	// logp in the flat [N·C·S] layout, and their weights.
	var kept, idx []int
	var coef []float64
	var wsum float64
	for m, y := range labels {
		if set.Ignore && y == set.IgnoreIndex {
			continue
		}
		if y < 0 || y >= c {
			panic(fmt.Sprintf("nn: %s: label %d at position %d outside [0, %d)", who, y, m, c))
		}
		w := 1.0
		if set.Weight != nil {
			w = set.Weight[y]
		}
		kept = append(kept, m)
		idx = append(idx, (m/positions)*c*positions+y*positions+m%positions)
		coef = append(coef, -w)
		wsum += w
	}
	k := len(kept)
	loss := adjoint.Mul(adjoint.Take(adjoint.Reshape(logp, -1), 0, idx), adjoint.Const(adjoint.FromData(coef, k)))
	if eps := set.LabelSmoothing; smoothing && eps > 0 {
		lp := adjoint.Reshape(logp, n, c, positions)
		if w := classWeights(set); w != nil {
			lp = adjoint.Mul(lp, w)
		}
		// −Σ_c w_c·logp_c at every counted position.
		uniform := adjoint.Neg(adjoint.Take(adjoint.Reshape(adjoint.SumAxis(lp, 1, false), -1), 0, kept))
		loss = adjoint.Add(adjoint.Scale(loss, 1-eps), adjoint.Scale(uniform, eps/float64(c)))
	}
	switch set.Reduction {
	case ReduceMean:
		return adjoint.Scale(adjoint.Sum(loss), 1/wsum)
	case ReduceSum:
		return adjoint.Sum(loss)
	}
	// ReduceNone: scatter into [N, d…], zeros at the ignored positions
	// (which index the appended zero).
	where := make([]int, n*positions)
	for m := range where {
		where[m] = k
	}
	for j, m := range kept {
		where[m] = j
	}
	full := adjoint.Take(adjoint.Concat(0, loss, adjoint.Const(adjoint.New(1))), 0, where)
	return adjoint.Reshape(full, append([]int{n}, logp.Shape()[2:]...)...)
}

// CrossEntropySoft returns the cross-entropy of target distributions under
// the softmax of logits (torch.nn.CrossEntropyLoss with class
// probabilities): per sample and position, −Σ_c w_c·t_c·log softmax(z)_c.
// targets has the shape of logits, [batch, classes, ...], each row a
// distribution over the classes (not checked: any weights are used as
// given). LabelSmoothing replaces t by (1−ε)·t + ε/C; ReduceMean divides by
// the number of samples and positions, whatever the weights, as PyTorch
// does. Ignore does not apply.
func CrossEntropySoft(logits, targets *adjoint.Var, s *ClassLossSettings) *adjoint.Var {
	checkSameShape("CrossEntropySoft", logits, targets)
	n, c, positions := classShape("CrossEntropySoft", logits)
	set := classSettings("CrossEntropySoft", s, c)
	if set.Ignore {
		panic("nn: CrossEntropySoft: Ignore applies to integer labels only")
	}
	t := adjoint.Reshape(targets, n, c, positions)
	if eps := set.LabelSmoothing; eps > 0 {
		t = adjoint.AddScalar(adjoint.Scale(t, 1-eps), eps/float64(c))
	}
	if w := classWeights(set); w != nil {
		t = adjoint.Mul(t, w)
	}
	lp := adjoint.LogSoftmax(adjoint.Reshape(logits, n, c, positions), 1)
	per := adjoint.Neg(adjoint.SumAxis(adjoint.Mul(t, lp), 1, false)) // [N, S]
	switch set.Reduction {
	case ReduceMean:
		return adjoint.Mean(per)
	case ReduceSum:
		return adjoint.Sum(per)
	}
	return adjoint.Reshape(per, append([]int{n}, logits.Shape()[2:]...)...)
}
