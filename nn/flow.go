package nn

import (
	"math"

	"github.com/adjointkit/adjointkit/adjoint"
)

// LayerFlow is how the gradient flowed through one layer of a model in
// one reverse pass: the per-layer summary of an adjoint.Flow. The Trainer
// fills its StepRecords from these; call LayerFlows for a single
// gradient, at initialisation for instance.
type LayerFlow struct {
	// Layer is the layer's name, LayerOf of its parameters' names.
	Layer string
	// GradNorm is ‖∂L/∂θ‖ over the layer's parameters θ (zero for those
	// the loss does not depend on), ParamNorm is ‖θ‖.
	GradNorm, ParamNorm float64
	// Scope is the scope the layer's operations were recorded in: the
	// innermost one holding every use of its parameters. It is nil when
	// the model was not applied to a value in a scope (see
	// Sequential.Apply), and then the fields below are NaN.
	Scope *adjoint.Scope
	// OutGradNorm is ‖∂L/∂h‖ and OutNorm is ‖h‖ for the layer's output
	// h (the values computed in the layer's scope and used outside it).
	OutGradNorm, OutNorm float64
	// InGradNorm is the norm of the cotangent the layer passes back to
	// its input (zero if that is a constant, as the data are), and Gain
	// is InGradNorm / OutGradNorm (NaN when OutGradNorm is zero): how
	// much the layer shrinks or grows the backward signal.
	InGradNorm, Gain float64
}

// LayerFlows summarises the record f of a reverse pass per layer: the
// layers of ps (grouped by LayerOf, in order of first appearance, as the
// Trainer groups them) with the flow through each. ps are the parameters
// whose Vars the recorded graph used.
func LayerFlows(ps []Param, f *adjoint.Flow) []LayerFlow {
	layers, groups := groupByLayer(ps)
	out := make([]LayerFlow, len(layers))
	folds := map[int]adjoint.FlowGraph{}
	for l, idx := range groups {
		lf := &out[l]
		lf.Layer = layers[l]
		var scope *adjoint.Scope
		scoped, first := true, true
		for _, i := range idx {
			lf.ParamNorm = math.Hypot(lf.ParamNorm, ps[i].Value().Norm())
			n, ok := f.Node(ps[i].Var)
			if !ok {
				continue
			}
			nd := f.Nodes[n]
			lf.GradNorm = math.Hypot(lf.GradNorm, nd.Cotangent)
			switch {
			case nd.Scope == nil:
				scoped = false
			case first:
				scope = nd.Scope
			default:
				scope = commonScope(scope, nd.Scope)
			}
			first = false
		}
		if !scoped {
			scope = nil
		}
		lf.Scope = scope
		lf.OutGradNorm, lf.OutNorm, lf.InGradNorm, lf.Gain = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		if scope == nil {
			continue
		}
		g, ok := folds[scope.Depth()]
		if !ok {
			g = f.Fold(scope.Depth())
			folds[scope.Depth()] = g
		}
		u, ok := g.Unit(scope)
		if !ok {
			continue
		}
		lf.OutGradNorm, lf.OutNorm = g.Units[u].Cotangent, g.Units[u].Norm
		lf.InGradNorm = 0
		for _, e := range g.Edges {
			if e.To == u {
				lf.InGradNorm = math.Hypot(lf.InGradNorm, e.Cotangent)
			}
		}
		lf.Gain = math.NaN()
		if lf.OutGradNorm != 0 {
			lf.Gain = lf.InGradNorm / lf.OutGradNorm
		}
	}
	return out
}

// commonScope returns the innermost scope holding both a and b, or nil.
func commonScope(a, b *adjoint.Scope) *adjoint.Scope {
	for ; a != nil; a = a.Parent() {
		if a.Contains(b) {
			return a
		}
	}
	return nil
}
