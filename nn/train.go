package nn

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Objective computes the loss of one training step with the parameter
// values ps (the model's own leaves, in the order of its Params), typically
// model.Apply(ps, x) followed by a loss. step counts from 0, so an
// objective can pick its mini-batch from it.
//
// hidden may be nil. When it is not, it lists intermediate values of the
// graph, usually the states h_1 … h_T returned by a Recurrent layer's Run,
// and the Trainer records the norm of the gradient of the loss with respect
// to each (‖dL/dh_t‖ per time step).
type Objective func(step int, ps []*adjoint.Var) (loss *adjoint.Var, hidden []*adjoint.Var)

// Recorder receives a record of every training step, to keep, plot or
// print; the library itself never prints. It follows gonum's
// optimize.Recorder: Init is called once before the first step, Record
// after every step, and an error from either stops training and is
// returned by the Trainer (use that to stop a run early, on cancellation
// for instance).
type Recorder interface {
	// Init receives the names of the layers whose statistics each
	// StepRecord lists, in that order.
	Init(layers []string) error
	// Record receives the record of one step. The record and its slices
	// are not reused by the Trainer, so a Recorder may keep them.
	Record(r *StepRecord) error
}

// StepRecord is what the Trainer measures at one step. Layers are the
// groups of parameters sharing a layer name (see LayerOf), in the order in
// which they first appear in the model's Params.
type StepRecord struct {
	// Step counts from 0.
	Step int
	// Loss is the objective's value before the update.
	Loss float64
	// GradNorm is the global norm of the gradient, before clipping.
	GradNorm float64
	// Clipped reports whether the gradient was scaled down to ClipNorm.
	Clipped bool
	// LayerGradNorm is the norm of each layer's gradient (all its
	// parameters together), before clipping.
	LayerGradNorm []float64
	// LayerParamNorm is the norm of each layer's parameters before the
	// update, LayerUpdateNorm the norm of the change the update made, and
	// LayerUpdateRatio their ratio ‖Δθ‖/‖θ‖ (+Inf when ‖θ‖ = 0 and
	// ‖Δθ‖ > 0, 0 when both are zero): the relative size of a step, about
	// 1e-3 for healthy training.
	LayerParamNorm, LayerUpdateNorm, LayerUpdateRatio []float64
	// HiddenGradNorm is ‖dL/dh_t‖ for each value the objective returned as
	// hidden, in order; nil when it returned none.
	HiddenGradNorm []float64
	// LayerOutGradNorm is ‖dL/dh‖ at each layer's output h (see
	// LayerFlow), NaN unless the objective applied the model to an input
	// in a scope (adjoint.InScope).
	LayerOutGradNorm []float64
}

// ErrNotFinite reports a loss or gradient that is NaN or infinite. The
// Trainer's errors wrap it, naming the step.
var ErrNotFinite = errors.New("not finite")

// Trainer runs gradient-based training of a model: at every step it
// evaluates an Objective, differentiates it with respect to every parameter
// (and any hidden states the objective returns), optionally clips the
// gradient, lets the optimiser update the parameters in place and reports
// the step to the Recorder.
//
// Set the fields before the first Step and do not change Model afterwards.
type Trainer struct {
	// Model is the model whose parameters are trained. Required.
	Model Layer
	// Optimizer updates the parameters; nil means NewAdam(1e-3).
	Optimizer Optimizer
	// ClipNorm, when positive, scales the gradient down to this global
	// norm before the update when it is larger; zero means no clipping.
	ClipNorm float64
	// Recorder, when not nil, receives every step's StepRecord. Its
	// per-layer statistics come from a record of each step's reverse pass
	// (adjoint.Flow, summarised by LayerFlows), which takes some time of
	// its own.
	Recorder Recorder
	// Progress, when not nil, is called by Run after every step it takes,
	// with the number of steps this call of Run has taken and the number
	// it was asked for. An error from it stops Run, which returns it
	// wrapped (errors.Is finds it): use it to show progress and to stop on
	// cancellation. Nil means no call.
	Progress func(done, total int) error

	started bool
	step    int
	params  []Param
	vars    []*adjoint.Var
	values  []*adjoint.Tensor
	layers  []string
	groups  [][]int // parameter indices of each layer
	prev    []*adjoint.Tensor
}

// Steps returns the number of steps taken so far.
func (t *Trainer) Steps() int { return t.step }

func (t *Trainer) start() error {
	if t.Model == nil {
		panic("nn: Trainer: nil Model")
	}
	if t.Optimizer == nil {
		t.Optimizer = NewAdam(1e-3)
	}
	t.params = t.Model.Params()
	t.vars = ParamVars(t.params)
	t.values = ParamValues(t.params)
	t.layers, t.groups = groupByLayer(t.params)
	t.started = true
	if t.Recorder != nil {
		t.prev = make([]*adjoint.Tensor, len(t.values))
		for i, v := range t.values {
			t.prev[i] = adjoint.New(v.Shape...)
		}
		if err := t.Recorder.Init(slices.Clone(t.layers)); err != nil {
			return fmt.Errorf("nn: recorder: %w", err)
		}
	}
	return nil
}

// Step performs one training step and returns the loss before the update.
// A loss or gradient that is not finite stops the step before the
// parameters change, with an error wrapping ErrNotFinite; a Recorder error
// is returned after the update.
func (t *Trainer) Step(obj Objective) (float64, error) {
	if !t.started {
		if err := t.start(); err != nil {
			return math.NaN(), err
		}
	}
	loss, hidden := obj(t.step, t.vars)
	if loss.Size() != 1 {
		panic(fmt.Sprintf("nn: Trainer: objective returned shape %v, want a single value", loss.Shape()))
	}
	lv := loss.Item()
	if math.IsNaN(lv) || math.IsInf(lv, 0) {
		return lv, fmt.Errorf("nn: step %d: loss is %v: %w", t.step, lv, ErrNotFinite)
	}
	wrt := append(slices.Clip(t.vars), hidden...)
	var flow *adjoint.Flow // the record of the pass, for the Recorder
	var set *adjoint.GradSettings
	if t.Recorder != nil {
		flow = new(adjoint.Flow)
		set = &adjoint.GradSettings{Flow: flow}
	}
	gv := adjoint.Backward(loss, wrt, set)
	grads := make([]*adjoint.Tensor, len(t.vars))
	for i := range grads {
		grads[i] = gv[i].Value()
	}
	norm := GlobalNorm(grads)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return lv, fmt.Errorf("nn: step %d: gradient norm is %v: %w", t.step, norm, ErrNotFinite)
	}
	var rec *StepRecord
	if t.Recorder != nil {
		rec = &StepRecord{Step: t.step, Loss: lv, GradNorm: norm,
			LayerGradNorm:    make([]float64, len(t.layers)),
			LayerParamNorm:   make([]float64, len(t.layers)),
			LayerUpdateNorm:  make([]float64, len(t.layers)),
			LayerUpdateRatio: make([]float64, len(t.layers)),
			LayerOutGradNorm: make([]float64, len(t.layers)),
		}
		for l, lf := range LayerFlows(t.params, flow) {
			rec.LayerGradNorm[l], rec.LayerParamNorm[l], rec.LayerOutGradNorm[l] = lf.GradNorm, lf.ParamNorm, lf.OutGradNorm
		}
		if len(hidden) > 0 {
			rec.HiddenGradNorm = make([]float64, len(hidden))
			for j, h := range hidden {
				if n, ok := flow.Node(h); ok {
					rec.HiddenGradNorm[j] = flow.Nodes[n].Cotangent
				}
			}
		}
		for i, v := range t.values {
			copy(t.prev[i].Data, v.Data)
		}
	}
	if t.ClipNorm > 0 && norm > t.ClipNorm {
		ClipGlobalNorm(grads, t.ClipNorm)
		if rec != nil {
			rec.Clipped = true
		}
	}
	t.Optimizer.Step(t.values, grads)
	t.step++
	if rec == nil {
		return lv, nil
	}
	for l, idx := range t.groups {
		var s float64
		for _, i := range idx {
			d := t.prev[i].Data // becomes the update θ_new − θ_old
			for j, v := range t.values[i].Data {
				d[j] = v - d[j]
			}
			s = math.Hypot(s, t.prev[i].Norm())
		}
		rec.LayerUpdateNorm[l] = s
		rec.LayerUpdateRatio[l] = ratio(s, rec.LayerParamNorm[l])
	}
	if err := t.Recorder.Record(rec); err != nil {
		return lv, fmt.Errorf("nn: step %d: recorder: %w", rec.Step, err)
	}
	return lv, nil
}

// Run performs steps training steps, stopping at the first error (from a
// step or from Progress), and returns the loss of the last step taken.
func (t *Trainer) Run(steps int, obj Objective) (float64, error) {
	loss := math.NaN()
	for i := range steps {
		var err error
		if loss, err = t.Step(obj); err != nil {
			return loss, err
		}
		if t.Progress != nil {
			if err := t.Progress(i+1, steps); err != nil {
				return loss, fmt.Errorf("nn: stopped after step %d of %d: %w", i+1, steps, err)
			}
		}
	}
	return loss, nil
}

func ratio(num, den float64) float64 {
	switch {
	case den != 0:
		return num / den
	case num == 0:
		return 0
	}
	return math.Inf(1)
}

// groupByLayer groups parameter indices by LayerOf(name), in order of
// first appearance.
func groupByLayer(ps []Param) ([]string, [][]int) {
	var names []string
	var groups [][]int
	pos := map[string]int{}
	for i, p := range ps {
		l := LayerOf(p.Name)
		k, ok := pos[l]
		if !ok {
			k = len(names)
			pos[l] = k
			names = append(names, l)
			groups = append(groups, nil)
		}
		groups[k] = append(groups[k], i)
	}
	return names, groups
}

// LayerGradNorms returns the layers of ps (grouped as by the Trainer) and
// the norm of each layer's gradient, grads[i] being the gradient for ps[i]:
// a gradient-flow profile without training, for instance at
// initialisation.
func LayerGradNorms(ps []Param, grads []*adjoint.Tensor) (layers []string, norms []float64) {
	if len(ps) != len(grads) {
		panic(fmt.Sprintf("nn: LayerGradNorms: %d parameters but %d gradients", len(ps), len(grads)))
	}
	layers, groups := groupByLayer(ps)
	norms = make([]float64, len(layers))
	for l, idx := range groups {
		for _, i := range idx {
			norms[l] = math.Hypot(norms[l], grads[i].Norm())
		}
	}
	return layers, norms
}

// HiddenGradNorms returns ‖dL/dh‖ for each of hidden, intermediate values
// of the graph of loss (such as the states returned by a Recurrent layer's
// Run): the backpropagation-through-time profile, in one reverse pass.
func HiddenGradNorms(loss *adjoint.Var, hidden []*adjoint.Var) []float64 {
	gs := adjoint.Backward(loss, hidden, nil)
	norms := make([]float64, len(gs))
	for i, g := range gs {
		norms[i] = g.Value().Norm()
	}
	return norms
}

// History is a Recorder that keeps every StepRecord as plain slices, one
// entry per step, ready for plotting. Per-layer quantities are indexed
// [step][layer], with layers named by Layers; Column extracts one layer's
// series.
type History struct {
	// Layers names the layers of the per-layer slices.
	Layers []string
	// Step, Loss, GradNorm and Clipped hold one value per recorded step.
	Step     []int
	Loss     []float64
	GradNorm []float64
	Clipped  []bool
	// LayerGradNorm, LayerParamNorm, LayerUpdateNorm and LayerUpdateRatio
	// hold the per-layer statistics of StepRecord.
	LayerGradNorm, LayerParamNorm, LayerUpdateNorm, LayerUpdateRatio [][]float64
	// HiddenGradNorm holds ‖dL/dh_t‖ per step (nil for steps whose
	// objective returned no hidden states).
	HiddenGradNorm [][]float64
	// LayerOutGradNorm holds StepRecord.LayerOutGradNorm per step.
	LayerOutGradNorm [][]float64
}

var _ Recorder = (*History)(nil)

// Init clears the history and records the layer names.
func (h *History) Init(layers []string) error {
	*h = History{Layers: layers}
	return nil
}

// Record appends r.
func (h *History) Record(r *StepRecord) error {
	h.Step = append(h.Step, r.Step)
	h.Loss = append(h.Loss, r.Loss)
	h.GradNorm = append(h.GradNorm, r.GradNorm)
	h.Clipped = append(h.Clipped, r.Clipped)
	h.LayerGradNorm = append(h.LayerGradNorm, r.LayerGradNorm)
	h.LayerParamNorm = append(h.LayerParamNorm, r.LayerParamNorm)
	h.LayerUpdateNorm = append(h.LayerUpdateNorm, r.LayerUpdateNorm)
	h.LayerUpdateRatio = append(h.LayerUpdateRatio, r.LayerUpdateRatio)
	h.HiddenGradNorm = append(h.HiddenGradNorm, r.HiddenGradNorm)
	h.LayerOutGradNorm = append(h.LayerOutGradNorm, r.LayerOutGradNorm)
	return nil
}

// Column returns entry j of every row of a [step][j] table such as
// History.LayerGradNorm: the series of layer j over the steps. Rows too
// short to have entry j give NaN.
func Column(rows [][]float64, j int) []float64 {
	out := make([]float64, len(rows))
	for i, r := range rows {
		if j < len(r) {
			out[i] = r[j]
		} else {
			out[i] = math.NaN()
		}
	}
	return out
}
