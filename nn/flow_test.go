package nn

import (
	"math"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
)

// flowTol bounds the difference between LayerFlows' norms and the same
// norms from Grad on an unscoped copy of the graph: the same arithmetic
// (InScope adds identities only), the squares summed in another order
// (adjoint.Flow's blocks, Tensor.Norm's scaled sum), so only the last
// bits differ.
const flowTol = 1e-13

// relDiff is the relative difference of a from the reference b.
func relDiff(a, b float64) float64 { return adjoint.Compare([]float64{a}, []float64{b}).MaxRel }

// flowModel is a tanh MLP with a residual block and a LayerNorm.
func flowModel() *Sequential {
	rng := newRNG(7)
	return NewSequential([]int{3},
		NewLinear(rng, 3, 8, nil), Tanh(),
		NewResidual(NewSequential(nil, NewLinear(rng, 8, 8, nil), Tanh())),
		NewLayerNorm(8, 0),
		NewLinear(rng, 8, 2, nil))
}

// Scopes: in a scoped application every layer's operations are in a
// scope named after it, the residual branch in one of its own, and the
// result is back in the caller's scope.
func TestSequentialScopes(t *testing.T) {
	m := flowModel()
	x := adjoint.Const(randTensor(newRNG(8), 5, 3))
	root := adjoint.NewScope("model")
	out := m.Apply(Vars(m), adjoint.InScope(root, x))
	if out.Scope() != root {
		t.Fatalf("output in %v, want %v", out.Scope(), root)
	}
	loss := adjoint.Mean(adjoint.Square(out))
	var f adjoint.Flow
	adjoint.Backward(loss, Vars(m), &adjoint.GradSettings{Flow: &f})
	want := map[string]string{
		"layer0.weight":        "model/layer0",
		"layer2.layer0.weight": "model/layer2/branch/layer0",
		"layer3.gain":          "model/layer3",
		"layer4.bias":          "model/layer4",
	}
	for _, p := range m.Params() {
		w, ok := want[p.Name]
		if !ok {
			continue
		}
		n, ok := f.Node(p.Var)
		if !ok || f.Nodes[n].Scope.String() != w {
			t.Errorf("%s: scope %v, want %s", p.Name, f.Nodes[n].Scope, w)
		}
	}
	// The residual sum is in the block's scope, not the branch's.
	found := false
	for _, nd := range f.Nodes {
		found = found || nd.Op == "add" && nd.Scope.String() == "model/layer2"
	}
	if !found {
		t.Error("no residual sum in model/layer2")
	}

	// Unscoped, the graph is as before: no InScope values.
	plain := adjoint.Mean(adjoint.Square(m.Forward(x)))
	var g adjoint.Flow
	adjoint.Backward(plain, Vars(m), &adjoint.GradSettings{Flow: &g})
	if len(g.Nodes) != len(f.Nodes) {
		t.Errorf("%d nodes unscoped, %d scoped", len(g.Nodes), len(f.Nodes))
	}
	for _, nd := range g.Nodes {
		if nd.Scope != nil {
			t.Errorf("%s in scope %v without a scoped input", nd.Op, nd.Scope)
		}
	}
}

// LayerFlows: parameter gradients as LayerGradNorms gives them, and each
// layer's output cotangent, input cotangent and gain as Grad gives them
// on the layers applied one by one without scopes.
func TestLayerFlows(t *testing.T) {
	m := flowModel()
	xt := randTensor(newRNG(9), 5, 3)
	ps := m.Params()
	vars := ParamVars(ps)
	root := adjoint.NewScope("model")
	loss := adjoint.Mean(adjoint.Square(m.Apply(vars, adjoint.InScope(root, adjoint.Const(xt)))))
	var f adjoint.Flow
	adjoint.Backward(loss, vars, &adjoint.GradSettings{Flow: &f})
	flows := LayerFlows(ps, &f)

	// The same model, applied layer by layer, unscoped.
	parts := m.Split(vars)
	hs := []*adjoint.Var{adjoint.Const(xt)}
	for i, l := range m.Children() {
		hs = append(hs, l.Apply(parts[i], hs[i]))
	}
	loss2 := adjoint.Mean(adjoint.Square(hs[len(hs)-1]))
	names, norms := LayerGradNorms(ps, adjoint.Grad(loss2, vars...))

	// Layers with parameters: 0 (Linear), 2 (Residual's Linear), 3, 4.
	out := map[string]int{"layer0": 1, "layer3": 4, "layer4": 5} // index into hs of the output
	if len(flows) != len(names) {
		t.Fatalf("%d layer flows, %d layers", len(flows), len(names))
	}
	for l, lf := range flows {
		if lf.Layer != names[l] || relDiff(lf.GradNorm, norms[l]) > flowTol {
			t.Errorf("layer %d: %s ‖∂L/∂θ‖ = %v, LayerGradNorms: %s %v", l, lf.Layer, lf.GradNorm, names[l], norms[l])
		}
		wantScope := "model." + lf.Layer
		if lf.Layer == "layer2.layer0" {
			wantScope = "model.layer2.branch.layer0"
		}
		if lf.Scope == nil || lf.Scope.Path(".") != wantScope {
			t.Errorf("%s: scope %v", lf.Layer, lf.Scope)
		}
		k, ok := out[lf.Layer]
		if !ok {
			continue
		}
		gOut := adjoint.Grad(loss2, hs[k])[0].Norm()
		if relDiff(lf.OutGradNorm, gOut) > flowTol || relDiff(lf.OutNorm, hs[k].Value().Norm()) > flowTol {
			t.Errorf("%s: ‖∂L/∂h‖ = %v ‖h‖ = %v, want %v and %v", lf.Layer, lf.OutGradNorm, lf.OutNorm, gOut, hs[k].Value().Norm())
		}
		wantIn := 0.0 // the data are constants
		if k > 1 {
			wantIn = adjoint.Grad(loss2, hs[k-1])[0].Norm()
		}
		if relDiff(lf.InGradNorm, wantIn) > flowTol || relDiff(lf.Gain, wantIn/gOut) > flowTol {
			t.Errorf("%s: input cotangent %v gain %v, want %v and %v", lf.Layer, lf.InGradNorm, lf.Gain, wantIn, wantIn/gOut)
		}
	}

	// Unscoped: gradients still, per-layer flow NaN.
	var g adjoint.Flow
	adjoint.Backward(loss2, vars, &adjoint.GradSettings{Flow: &g})
	for l, lf := range LayerFlows(ps, &g) {
		if lf.Scope != nil || !math.IsNaN(lf.OutGradNorm) || !math.IsNaN(lf.Gain) || relDiff(lf.GradNorm, norms[l]) > flowTol {
			t.Errorf("unscoped %s: scope %v out %v gain %v grad %v", lf.Layer, lf.Scope, lf.OutGradNorm, lf.Gain, lf.GradNorm)
		}
	}
}

// The Trainer's records come from the same summary: its per-layer
// gradient and output-cotangent norms at step 0 are LayerFlows'.
func TestTrainerRecordsLayerFlows(t *testing.T) {
	for _, scoped := range []bool{true, false} {
		m := flowModel()
		xt := randTensor(newRNG(10), 5, 3)
		ps := m.Params()
		obj := func(_ int, vs []*adjoint.Var) (*adjoint.Var, []*adjoint.Var) {
			x := adjoint.Const(xt)
			if scoped {
				x = adjoint.InScope(adjoint.NewScope("model"), x)
			}
			return adjoint.Mean(adjoint.Square(m.Apply(vs, x))), nil
		}
		loss, _ := obj(0, ParamVars(ps))
		var f adjoint.Flow
		adjoint.Backward(loss, ParamVars(ps), &adjoint.GradSettings{Flow: &f})
		want := LayerFlows(ps, &f)

		hist := &History{}
		tr := &Trainer{Model: m, Optimizer: &SGD{LR: 0.01}, Recorder: hist}
		if _, err := tr.Step(obj); err != nil {
			t.Fatal(err)
		}
		for l, lf := range want {
			got := hist.LayerOutGradNorm[0][l]
			if hist.LayerGradNorm[0][l] != lf.GradNorm || hist.LayerParamNorm[0][l] != lf.ParamNorm ||
				!(got == lf.OutGradNorm || math.IsNaN(got) && math.IsNaN(lf.OutGradNorm)) {
				t.Errorf("scoped %v, %s: recorded %v %v %v, LayerFlows %v %v %v", scoped, lf.Layer,
					hist.LayerGradNorm[0][l], hist.LayerParamNorm[0][l], got, lf.GradNorm, lf.ParamNorm, lf.OutGradNorm)
			}
			if scoped == math.IsNaN(got) {
				t.Errorf("scoped %v, %s: output cotangent %v", scoped, lf.Layer, got)
			}
		}
	}
}
