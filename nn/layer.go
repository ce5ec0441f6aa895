package nn

import (
	"fmt"
	"slices"
	"strings"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Param is a named trainable parameter: a differentiable leaf of the
// adjoint core. The layer that owns it created its tensor; optimisers and
// Load update that tensor's data in place between steps, and the leaf sees
// the new values because it shares the tensor.
type Param struct {
	// Name identifies the parameter within its model, such as
	// "layer2.weight". Layers name their own parameters ("weight", "bias");
	// containers prefix the names of their children's.
	Name string
	// Var is the leaf. Its tensor must not be modified while a graph that
	// uses it is being evaluated or differentiated.
	Var *adjoint.Var
}

// Value returns the parameter's tensor.
func (p Param) Value() *adjoint.Tensor { return p.Var.Value() }

// Layer is a differentiable function of a batch of inputs and of
// parameters. The leading dimension of every input and output is the batch;
// the shapes of single samples exclude it.
//
// A layer is applied in one of two ways: Forward (a method of every layer in
// this package) uses the layer's own parameters, while Apply takes the
// parameter values explicitly, so that a model can be evaluated at other
// values (fast weights θ' = θ − α∇L in meta-learning, perturbed weights in a
// check) without being modified.
type Layer interface {
	// Params returns the layer's parameters in a fixed order.
	Params() []Param
	// Apply returns the layer's output for the batch x computed with ps in
	// place of the parameters: ps[i] stands for Params()[i] and must have
	// its shape. Apply records a graph when x or some ps[i] is tracked,
	// and leaves the layer unchanged (Dropout in training mode advances
	// its random stream). It panics with an "nn: " message naming the
	// layer if x or ps do not fit.
	Apply(ps []*adjoint.Var, x *adjoint.Var) *adjoint.Var
	// OutShape returns the shape of one output sample for an input sample
	// of shape in, or an error saying why the layer cannot take it. A size
	// of -1 stands for a dimension not known in advance (the length of a
	// sequence, say) and propagates to the output.
	OutShape(in []int) ([]int, error)
}

// Container is implemented by layers built from other layers (Sequential,
// Residual), so that functions such as SetTraining can reach every layer of
// a model.
type Container interface {
	// Children returns the layers directly inside the container.
	Children() []Layer
}

// TrainingModer is implemented by layers that behave differently in
// training and in evaluation, such as Dropout and BatchNorm.
type TrainingModer interface {
	// SetTraining switches the layer to training (true) or evaluation
	// (false) behaviour.
	SetTraining(training bool)
}

// SetTraining switches every layer in l (l itself and, through Container,
// all layers inside it) that implements TrainingModer to training or
// evaluation behaviour.
func SetTraining(l Layer, training bool) {
	if m, ok := l.(TrainingModer); ok {
		m.SetTraining(training)
	}
	if c, ok := l.(Container); ok {
		for _, ch := range c.Children() {
			SetTraining(ch, training)
		}
	}
}

// Buffered is implemented by layers that keep state which belongs to the
// model but is not trained by gradients, such as BatchNorm's running
// averages, and by the containers that hold such layers. The buffers are
// returned as Params whose Var is a constant (adjoint.Const) over the
// layer's own tensor, named like parameters, so Save, Load and the
// PyTorch mapping treat them alike.
type Buffered interface {
	// Buffers returns the layer's buffers in a fixed order.
	Buffers() []Param
}

// Buffers returns the buffers of l (see Buffered), or nil if it has none.
// Save and Load store a model's complete state when given
// append(m.Params(), nn.Buffers(m)...).
func Buffers(l Layer) []Param {
	if b, ok := l.(Buffered); ok {
		return b.Buffers()
	}
	return nil
}

// Vars returns the leaves of l's parameters in the order of l.Params(): the
// argument that makes Apply compute what Forward computes.
func Vars(l Layer) []*adjoint.Var { return ParamVars(l.Params()) }

// Forward applies l with its own parameters: l.Apply(Vars(l), x). Every
// layer of this package also has it as a method.
func Forward(l Layer, x *adjoint.Var) *adjoint.Var { return l.Apply(Vars(l), x) }

// Predict applies l with its own parameters taken as constants, so that no
// graph is recorded: the cheap way to evaluate a trained model (accuracy,
// decision boundaries) when no gradient is wanted. It does not switch
// Dropout off or BatchNorm to its running averages; use SetTraining for
// that.
func Predict(l Layer, x *adjoint.Var) *adjoint.Var {
	vs := Vars(l)
	for i, v := range vs {
		vs[i] = adjoint.Detach(v)
	}
	return l.Apply(vs, x)
}

// ParamVars returns the leaves of ps, in order.
func ParamVars(ps []Param) []*adjoint.Var {
	vs := make([]*adjoint.Var, len(ps))
	for i, p := range ps {
		vs[i] = p.Var
	}
	return vs
}

// ParamValues returns the tensors of ps, in order.
func ParamValues(ps []Param) []*adjoint.Tensor {
	ts := make([]*adjoint.Tensor, len(ps))
	for i, p := range ps {
		ts[i] = p.Value()
	}
	return ts
}

// Find returns the parameter of ps with the given name.
func Find(ps []Param, name string) (Param, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// NumElements returns the total number of scalar parameters in ps.
func NumElements(ps []Param) int {
	n := 0
	for _, p := range ps {
		n += p.Var.Size()
	}
	return n
}

// LayerOf returns the name of the layer that owns the parameter called
// name: everything before the last dot ("layer2" for "layer2.weight"), or
// "model" for a parameter of a model that is a single layer. The Trainer
// groups parameters this way for its per-layer statistics.
func LayerOf(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[:i]
	}
	return "model"
}

func layerName(l Layer) string {
	if s, ok := l.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", l)
}

// checkInput panics unless x is a batch whose samples l accepts, and
// returns the shape of an output sample.
func checkInput(l Layer, x *adjoint.Var) []int {
	s := x.Shape()
	if len(s) == 0 {
		panic(fmt.Sprintf("nn: %s: input is a scalar; want a batch with the batch size first", layerName(l)))
	}
	out, err := l.OutShape(s[1:])
	if err != nil {
		panic(fmt.Sprintf("nn: %s: input shape %v: %v", layerName(l), s, err))
	}
	return out
}

// checkParams panics unless ps has one value of the right shape for each
// of own.
func checkParams(l Layer, ps []*adjoint.Var, own ...Param) {
	if len(ps) != len(own) {
		panic(fmt.Sprintf("nn: %s: Apply with %d parameter values, want %d", layerName(l), len(ps), len(own)))
	}
	for i, p := range own {
		if ps[i] == nil {
			panic(fmt.Sprintf("nn: %s: value for parameter %q is nil", layerName(l), p.Name))
		}
		if !slices.Equal(ps[i].Shape(), p.Var.Shape()) {
			panic(fmt.Sprintf("nn: %s: value for parameter %q has shape %v, want %v", layerName(l), p.Name, ps[i].Shape(), p.Var.Shape()))
		}
	}
}

// newParam returns a parameter holding t.
func newParam(name string, t *adjoint.Tensor) Param {
	return Param{Name: name, Var: adjoint.Param(t)}
}

// matchShape reports whether a sample shape got fits want, where -1 in
// either matches any size.
func matchShape(got, want []int) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] && got[i] != -1 && want[i] != -1 {
			return false
		}
	}
	return true
}
