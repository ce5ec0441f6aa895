package metalearn_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/metalearn"
	"github.com/adjointkit/adjointkit/nn"
)

// relErr returns max|a−b| / max|b|.
func relErr(a, b []float64) float64 {
	var d, m float64
	for i := range a {
		d = max(d, math.Abs(a[i]-b[i]))
		m = max(m, math.Abs(b[i]))
	}
	if m == 0 {
		return d
	}
	return d / m
}

func flat(ts []*adjoint.Tensor) []float64 {
	var out []float64
	for _, t := range ts {
		out = append(out, t.Data...)
	}
	return out
}

// smallProblem is a 2-6-1 tanh regression with training and validation
// sets: smooth, so finite differences of the whole inner loop are accurate.
type smallProblem struct {
	model  *nn.Sequential
	params []*adjoint.Tensor
	inner  metalearn.Objective
	outer  func(ps []*adjoint.Var) *adjoint.Var
}

func newSmallProblem(seed uint64) *smallProblem {
	rng := rand.New(rand.NewPCG(seed, 7))
	model := nn.NewSequential([]int{2}, nn.NewLinear(rng, 2, 6, nil), nn.Tanh(), nn.NewLinear(rng, 6, 1, nil))
	data := func(n int) (*adjoint.Var, *adjoint.Var) {
		x, y := adjoint.New(n, 2), adjoint.New(n, 1)
		for i := range n {
			x.Data[2*i], x.Data[2*i+1] = rng.NormFloat64(), rng.NormFloat64()
			y.Data[i] = math.Sin(x.Data[2*i]) + 0.5*x.Data[2*i+1]
		}
		return adjoint.Const(x), adjoint.Const(y)
	}
	p := &smallProblem{model: model, params: nn.ParamValues(model.Params())}
	xtr, ytr := data(8)
	xva, yva := data(8)
	p.inner = func(k int, ps []*adjoint.Var) *adjoint.Var { return nn.MSE(model.Apply(ps, xtr), ytr) }
	p.outer = func(ps []*adjoint.Var) *adjoint.Var { return nn.MSE(model.Apply(ps, xva), yva) }
	return p
}

// hyperCase is an inner optimiser with its hyperparameters.
type hyperCase struct {
	name  string
	opt   metalearn.Optimizer
	hyper func(steps, tensors int) metalearn.Hyper
}

func hyperCases() []hyperCase {
	return []hyperCase{
		{"sgd-momentum-decay-perstep", metalearn.SGD{}, func(steps, _ int) metalearn.Hyper {
			lr := adjoint.New(steps)
			for k := range lr.Data {
				lr.Data[k] = 0.2 + 0.02*float64(k)
			}
			return metalearn.Hyper{LR: adjoint.Param(lr), Schedule: metalearn.PerStep,
				Momentum: adjoint.Param(adjoint.Scalar(0.6)), WeightDecay: adjoint.Param(adjoint.Scalar(0.01))}
		}},
		{"sgd-pertensor", metalearn.SGD{}, func(_, tensors int) metalearn.Hyper {
			lr := adjoint.New(tensors)
			for i := range lr.Data {
				lr.Data[i] = 0.1 + 0.05*float64(i)
			}
			return metalearn.Hyper{LR: adjoint.Param(lr), Schedule: metalearn.PerTensor}
		}},
		{"adam-beta1-decay", metalearn.Adam{}, func(_, _ int) metalearn.Hyper {
			return metalearn.Hyper{LR: adjoint.Param(adjoint.Scalar(0.05)), Momentum: adjoint.Param(adjoint.Scalar(0.8)),
				WeightDecay: adjoint.Param(adjoint.Scalar(0.02))}
		}},
		{"adam-perstep-tensor", metalearn.Adam{Beta2: 0.99}, func(steps, tensors int) metalearn.Hyper {
			lr := adjoint.Full(0.03, steps, tensors)
			return metalearn.Hyper{LR: adjoint.Param(lr), Schedule: metalearn.PerStepTensor}
		}},
	}
}

// metaLoss runs the graph unroll and returns the outer loss.
func metaLoss(t testing.TB, p *smallProblem, c hyperCase, ps []*adjoint.Var, h metalearn.Hyper, steps int, s *metalearn.UnrollSettings) *adjoint.Var {
	final, err := metalearn.Unroll(c.opt, h, ps, p.inner, steps, s)
	if err != nil {
		t.Fatal(err)
	}
	return p.outer(final)
}

// TestMetaGradientFD checks the exact second-order meta-gradient with
// respect to the initial parameters and every hyperparameter against
// fourth-order central differences of the whole inner loop.
func TestMetaGradientFD(t *testing.T) {
	const steps = 6
	for _, c := range hyperCases() {
		t.Run(c.name, func(t *testing.T) {
			p := newSmallProblem(1)
			h := c.hyper(steps, len(p.params))
			hv := h.Vars()
			ps := make([]*adjoint.Var, len(p.params))
			for i, v := range p.params {
				ps[i] = adjoint.Param(v)
			}
			L := metaLoss(t, p, c, ps, h, steps, nil)
			grads := adjoint.Grad(L, append(slices.Clone(ps), hv...)...)

			// Every element of every input.
			inputs := append(slices.Clone(p.params), nil)
			inputs = inputs[:len(p.params)]
			for _, v := range hv {
				inputs = append(inputs, v.Value())
			}
			eval := func() float64 {
				ps2 := make([]*adjoint.Var, len(p.params))
				for i, v := range p.params {
					ps2[i] = adjoint.Const(v)
				}
				cv := make([]*adjoint.Var, len(hv))
				for i, v := range hv {
					cv[i] = adjoint.Const(v.Value())
				}
				return metaLoss(t, p, c, ps2, hyperWith(h, cv), steps, nil).Item()
			}
			var num, ad []float64
			// Fourth-order central differences.
			const eps = 1e-4
			for i, in := range inputs {
				for j := range in.Data {
					old := in.Data[j]
					at := func(d float64) float64 { in.Data[j] = old + d; return eval() }
					d := (-at(2*eps) + 8*at(eps) - 8*at(-eps) + at(-2*eps)) / (12 * eps)
					in.Data[j] = old
					num = append(num, d)
					ad = append(ad, grads[i].Data[j])
				}
			}
			if e := relErr(ad, num); e > 1e-7 || math.IsNaN(e) {
				t.Errorf("meta-gradient vs central differences: rel. error %.3g", e)
			}
		})
	}
}

// hyperWith returns h with its set hyperparameters replaced by vs.
func hyperWith(h metalearn.Hyper, vs []*adjoint.Var) metalearn.Hyper {
	out := metalearn.Hyper{LR: vs[0], Schedule: h.Schedule}
	i := 1
	if h.Momentum != nil {
		out.Momentum = vs[i]
		i++
	}
	if h.WeightDecay != nil {
		out.WeightDecay = vs[i]
	}
	return out
}

// TestMetaHessianCheck runs adjoint.Check on the meta-loss as a function of
// a per-step learning rate: reverse, forward and finite differences to
// second order (third derivatives of the network).
func TestMetaHessianCheck(t *testing.T) {
	p := newSmallProblem(2)
	const steps = 3
	f := func(xs ...*adjoint.Var) *adjoint.Var {
		ps := make([]*adjoint.Var, len(p.params))
		for i, v := range p.params {
			ps[i] = adjoint.Param(v)
		}
		final, err := metalearn.Unroll(metalearn.SGD{}, metalearn.Hyper{LR: xs[0], Schedule: metalearn.PerStep}, ps, p.inner, steps, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p.outer(final)
	}
	r := adjoint.Check(f, []*adjoint.Tensor{adjoint.Vector(0.3, 0.2, 0.25)}, nil)
	if err := r.Err(1e-6, 1e-10); err != nil {
		t.Error(err, r)
	}
}

// quad is ½(θ−c)ᵀM(θ−c) as a traced program, and its gradient.
func quad(M [][]float64, c []float64) (func(ps []*adjoint.Var) *adjoint.Var, func(th []float64) []float64) {
	n := len(c)
	md := make([]float64, 0, n*n)
	for _, r := range M {
		md = append(md, r...)
	}
	mv := adjoint.Const(adjoint.FromData(md, n, n))
	cv := adjoint.Const(adjoint.FromData(c, n, 1))
	f := func(ps []*adjoint.Var) *adjoint.Var {
		d := adjoint.Sub(adjoint.Reshape(ps[0], n, 1), cv)
		return adjoint.Scale(adjoint.Sum(adjoint.Mul(d, adjoint.MatMul(mv, d))), 0.5)
	}
	g := func(th []float64) []float64 { return matVec(M, sub(th, c)) }
	return f, g
}

func matVec(M [][]float64, v []float64) []float64 {
	out := make([]float64, len(M))
	for i, r := range M {
		for j, m := range r {
			out[i] += m * v[j]
		}
	}
	return out
}

func sub(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] - b[i]
	}
	return out
}

// TestQuadraticClosedForms compares MAML, first-order MAML, Reptile and
// iMAML with their closed forms on quadratic inner and outer losses
// L_in = ½(θ−a)ᵀA(θ−a), L_out = ½(θ−b)ᵀB(θ−b): after s steps of size α,
// θ_s − a = (I−αA)ˢ(θ−a), the MAML gradient is (I−αA)ˢ B(θ_s−b) and the
// first-order one B(θ_s−b); iMAML's is (I + A/λ)⁻¹ B(φ*−b) with
// φ* = (A+λI)⁻¹(Aa + λθ).
func TestQuadraticClosedForms(t *testing.T) {
	A := [][]float64{{2, 0.5, 0}, {0.5, 1, 0.2}, {0, 0.2, 3}}
	B := [][]float64{{1, -0.3, 0.1}, {-0.3, 2, 0}, {0.1, 0, 0.5}}
	a, b := []float64{1, -1, 0.5}, []float64{-0.5, 2, 1}
	theta := []float64{0.3, 0.1, -0.2}
	inner, gA := quad(A, a)
	outer, gB := quad(B, b)
	task := metalearn.Task{Inner: inner, Outer: outer}
	params := []*adjoint.Tensor{adjoint.Vector(theta...)}
	const alpha = 0.1
	for _, steps := range []int{1, 3} {
		th := slices.Clone(theta)
		for range steps {
			g := gA(th)
			for i := range th {
				th[i] -= alpha * g[i]
			}
		}
		fo := gB(th)
		so := slices.Clone(fo)
		for range steps { // (I − αA)ˢ v, I − αA symmetric
			av := matVec(A, so)
			for i := range so {
				so[i] -= alpha * av[i]
			}
		}
		for _, c := range []struct {
			first bool
			want  []float64
		}{{false, so}, {true, fo}} {
			r, err := metalearn.MAML{InnerLR: alpha, InnerSteps: steps, FirstOrder: c.first}.MetaGrad(params, []metalearn.Task{task})
			if err != nil {
				t.Fatal(err)
			}
			if e := relErr(r.Grad[0].Data, c.want); e > 1e-13 {
				t.Errorf("MAML steps %d first order %v: %v, closed form %v (rel. error %.3g)", steps, c.first, r.Grad[0].Data, c.want, e)
			}
		}
		r, err := metalearn.Reptile{InnerLR: alpha, InnerSteps: steps}.MetaGrad(params, []metalearn.Task{task})
		if err != nil {
			t.Fatal(err)
		}
		if e := relErr(r.Grad[0].Data, sub(theta, th)); e > 1e-13 {
			t.Errorf("Reptile steps %d: rel. error %.3g", steps, e)
		}
	}

	// iMAML: φ* solves (A + λI)φ = Aa + λθ; the inner descent converges to it.
	const lambda = 2.0
	M := [][]float64{{A[0][0] + lambda, A[0][1], A[0][2]}, {A[1][0], A[1][1] + lambda, A[1][2]}, {A[2][0], A[2][1], A[2][2] + lambda}}
	rhs := matVec(A, a)
	for i := range rhs {
		rhs[i] += lambda * theta[i]
	}
	phi := solve3(M, rhs)
	// (I + A/λ)⁻¹ v = λ (A + λI)⁻¹ v
	want := solve3(M, gB(phi))
	for i := range want {
		want[i] *= lambda
	}
	r, err := metalearn.IMAML{Lambda: lambda, InnerLR: 0.15, InnerSteps: 400, CG: &adjoint.KrylovSettings{Tol: 1e-13}}.MetaGrad(params, []metalearn.Task{task})
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr(r.Grad[0].Data, want); e > 1e-10 {
		t.Errorf("iMAML: %v, closed form %v (rel. error %.3g)", r.Grad[0].Data, want, e)
	}
	if r.MaxInnerResidual > 1e-10 || r.CGIterations == 0 {
		t.Errorf("iMAML inner residual %g, CG iterations %d", r.MaxInnerResidual, r.CGIterations)
	}
}

// solve3 solves a 3×3 system by Cramer's rule.
func solve3(M [][]float64, b []float64) []float64 {
	det := func(m [][]float64) float64 {
		return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) - m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) + m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	}
	d := det(M)
	out := make([]float64, 3)
	for j := range 3 {
		c := make([][]float64, 3)
		for i := range 3 {
			c[i] = slices.Clone(M[i])
			c[i][j] = b[i]
		}
		out[j] = det(c) / d
	}
	return out
}

// TestGraphEqualsEngine checks that UnrollGrad (adjoint engine) gives the
// gradients of the recorded graph of Unroll, for every optimiser, second
// and first order, with and without truncation.
func TestGraphEqualsEngine(t *testing.T) {
	const steps = 12
	for _, c := range hyperCases() {
		for _, s := range []metalearn.UnrollSettings{{}, {FirstOrder: true}, {Truncate: 4}} {
			p := newSmallProblem(3)
			h := c.hyper(steps, len(p.params))
			ps := make([]*adjoint.Var, len(p.params))
			for i, v := range p.params {
				ps[i] = adjoint.Param(v)
			}
			L := metaLoss(t, p, c, ps, h, steps, &s)
			want := adjoint.Grad(L, append(slices.Clone(ps), h.Vars()...)...)
			r, err := metalearn.UnrollGrad(c.opt, h, p.params, p.inner, p.outer, steps, &s)
			if err != nil {
				t.Fatal(err)
			}
			got := append(slices.Clone(r.ParamsGrad), r.HyperGrad...)
			if e := relErr(flat(got), flat(want)); e > 1e-12 {
				t.Errorf("%s %+v: engine vs graph rel. error %.3g", c.name, s, e)
			}
			if e := math.Abs(r.Loss-L.Item()) / L.Item(); e > 1e-14 {
				t.Errorf("%s %+v: loss %v vs %v", c.name, s, r.Loss, L.Item())
			}
		}
	}
}

// TestCheckpointingBitForBit checks that every checkpointing policy gives
// gradients bit-identical to StoreAll.
func TestCheckpointingBitForBit(t *testing.T) {
	const steps = 40
	c := hyperCases()[2] // Adam with differentiable β₁ and decay
	p := newSmallProblem(4)
	h := c.hyper(steps, len(p.params))
	var ref []float64
	for _, pol := range []adjoint.Policy{adjoint.StoreAll(), adjoint.Every(7), adjoint.Binomial(4), adjoint.Binomial(1)} {
		r, err := metalearn.UnrollGrad(c.opt, h, p.params, p.inner, p.outer, steps, &metalearn.UnrollSettings{Policy: pol})
		if err != nil {
			t.Fatal(err)
		}
		g := append(flat(r.ParamsGrad), flat(r.HyperGrad)...)
		if ref == nil {
			ref = g
			continue
		}
		if !slices.Equal(g, ref) {
			t.Errorf("%v: gradients differ from StoreAll (rel. %.3g)", pol, relErr(g, ref))
		}
		if pol.String() == "Binomial(4)" && r.Recurrence.PeakStored > 4 {
			t.Errorf("Binomial(4) stored %d states", r.Recurrence.PeakStored)
		}
	}
}

// TestLongUnrollBoundedMemory unrolls 1000 SGD-with-momentum steps with 8
// snapshots: at most 8 stored states, and the hypergradients match
// Every(100).
func TestLongUnrollBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("long unroll")
	}
	const steps = 1000
	inner, _ := quad([][]float64{{1, 0.2}, {0.2, 0.5}}, []float64{1, -1})
	outer, _ := quad([][]float64{{1, 0}, {0, 1}}, []float64{0.8, -0.7})
	h := metalearn.Hyper{LR: adjoint.Param(adjoint.Scalar(0.05)), Momentum: adjoint.Param(adjoint.Scalar(0.5))}
	params := []*adjoint.Tensor{adjoint.Vector(0, 0)}
	obj := func(_ int, ps []*adjoint.Var) *adjoint.Var { return inner(ps) }
	var losses int
	r1, err := metalearn.UnrollGrad(metalearn.SGD{}, h, params, obj, outer, steps, &metalearn.UnrollSettings{
		Policy: adjoint.Binomial(8), OnStep: func(int, float64) { losses++ }})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := metalearn.UnrollGrad(metalearn.SGD{}, h, params, obj, outer, steps, &metalearn.UnrollSettings{Policy: adjoint.Every(100)})
	if err != nil {
		t.Fatal(err)
	}
	if r1.Recurrence.PeakStored > 8 || r1.Recurrence.Steps != steps || losses != steps {
		t.Errorf("peak stored %d, steps %d, losses reported %d", r1.Recurrence.PeakStored, r1.Recurrence.Steps, losses)
	}
	if !slices.Equal(flat(r1.HyperGrad), flat(r2.HyperGrad)) {
		t.Errorf("hypergradients differ: %v vs %v", flat(r1.HyperGrad), flat(r2.HyperGrad))
	}
}

// TestOptimizeHyper learns a constant learning rate that lowers the
// validation loss after a short training run.
func TestOptimizeHyper(t *testing.T) {
	p := newSmallProblem(5)
	h := metalearn.Hyper{LR: adjoint.Const(adjoint.Scalar(0.02))}
	r, err := metalearn.OptimizeHyper(metalearn.SGD{}, h, p.params, p.inner, p.outer, 20, &metalearn.HyperOptSettings{
		Iterations: 15, Optimizer: nn.NewAdam(0.05),
		Project: func(h []*adjoint.Tensor) { h[0].Data[0] = max(h[0].Data[0], 1e-4) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Loss) != 16 || !(r.Loss[15] < 0.8*r.Loss[0]) {
		t.Errorf("validation loss %v", r.Loss)
	}
	if lr := r.Hyper.LR.Item(); !(lr > 0.02) {
		t.Errorf("learning rate %v did not grow", lr)
	}
}

// TestMAMLBeatsPretrained trains MAML briefly on sinusoids and a network
// on all tasks jointly with the same budget; after one adaptation step
// MAML's held-out error is lower.
func TestMAMLBeatsPretrained(t *testing.T) {
	if testing.Short() {
		t.Skip("meta-training")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	mk := func() *nn.Sequential {
		r := rand.New(rand.NewPCG(3, 4))
		return nn.NewSequential([]int{1}, nn.NewLinear(r, 1, 40, nil), nn.ReLU(), nn.NewLinear(r, 40, 40, nil), nn.ReLU(), nn.NewLinear(r, 40, 1, nil))
	}
	maml, pre := mk(), mk()
	pm, pp := nn.ParamValues(maml.Params()), nn.ParamValues(pre.Params())
	am, ap := nn.NewAdam(0.001), nn.NewAdam(0.001)
	m := metalearn.MAML{InnerLR: 0.01}
	for range 800 {
		tasks := metalearn.SineTasks(rng, maml, 10, 10)
		r, err := m.MetaGrad(pm, tasks)
		if err != nil {
			t.Fatal(err)
		}
		am.Step(pm, r.Grad)
		// Pretraining: the mean loss over the same tasks' data.
		ps := paramLeaves(pp)
		var tot *adjoint.Var
		for _, task := range tasks {
			l := adjoint.Add(task.Inner(ps), task.Outer(ps))
			if tot == nil {
				tot = l
			} else {
				tot = adjoint.Add(tot, l)
			}
		}
		ap.Step(pp, adjoint.Grad(tot, ps...))
	}
	test := metalearn.SineTasks(rand.New(rand.NewPCG(99, 100)), maml, 100, 10)
	eval := func(params []*adjoint.Tensor) float64 {
		var s float64
		for _, task := range test {
			phi, err := metalearn.Adapt(params, task.Inner, 0.01, 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			s += task.Outer(paramLeaves(phi)).Item()
		}
		return s / float64(len(test))
	}
	em, ep := eval(pm), eval(pp)
	t.Logf("MSE after one step: MAML %.3f, pretrained %.3f", em, ep)
	if !(em < 0.8*ep) {
		t.Errorf("MAML %.3f does not beat pretrained %.3f after one step", em, ep)
	}
}

// TestErrorsAndPanics checks returned errors for numerical failure and
// "metalearn: " panics for misuse.
func TestErrorsAndPanics(t *testing.T) {
	inner, _ := quad([][]float64{{1}}, []float64{0})
	obj := func(_ int, ps []*adjoint.Var) *adjoint.Var { return inner(ps) }
	h := metalearn.Hyper{LR: adjoint.Const(adjoint.Scalar(5))} // diverges
	_, err := metalearn.Unroll(metalearn.SGD{}, h, []*adjoint.Var{adjoint.Param(adjoint.Vector(1))}, obj, 2000, nil)
	if !errors.Is(err, adjoint.ErrNonFinite) {
		t.Errorf("diverging unroll: err %v", err)
	}
	_, err = metalearn.UnrollGrad(metalearn.SGD{}, h, []*adjoint.Tensor{adjoint.Vector(1)}, obj, inner, 2000, nil)
	if !errors.Is(err, adjoint.ErrNonFinite) {
		t.Errorf("diverging UnrollGrad: err %v", err)
	}
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			r := recover()
			if s, ok := r.(string); !ok || !strings.HasPrefix(s, "metalearn: ") {
				t.Errorf("%s: panic %v, want a metalearn: message", name, r)
			}
		}()
		f()
	}
	task := metalearn.Task{Inner: inner, Outer: inner}
	ps := []*adjoint.Tensor{adjoint.Vector(1)}
	mustPanic("MAML lr", func() { metalearn.MAML{}.MetaGrad(ps, []metalearn.Task{task}) })
	mustPanic("no tasks", func() { metalearn.MAML{InnerLR: 1}.MetaGrad(ps, nil) })
	mustPanic("Reptile lr", func() { metalearn.Reptile{InnerLR: -1}.MetaGrad(ps, []metalearn.Task{task}) })
	mustPanic("IMAML lambda", func() { metalearn.IMAML{InnerLR: 0.1}.MetaGrad(ps, []metalearn.Task{task}) })
	mustPanic("LR shape", func() {
		metalearn.Unroll(metalearn.SGD{}, metalearn.Hyper{LR: adjoint.Const(adjoint.Vector(1, 2)), Schedule: metalearn.PerStep},
			[]*adjoint.Var{adjoint.Param(adjoint.Vector(1))}, obj, 3, nil)
	})
	mustPanic("nil LR", func() {
		metalearn.Unroll(metalearn.SGD{}, metalearn.Hyper{}, []*adjoint.Var{adjoint.Param(adjoint.Vector(1))}, obj, 3, nil)
	})
}

// paramLeaves wraps tensors as differentiable leaves.
func paramLeaves(ts []*adjoint.Tensor) []*adjoint.Var {
	out := make([]*adjoint.Var, len(ts))
	for i, t := range ts {
		out[i] = adjoint.Param(t)
	}
	return out
}

// TestUnrollConstantParams: constant initial parameters train exactly like
// tracked ones, with and without truncation (the truncated part once took
// its inner gradients with respect to constants and silently got zeros).
func TestUnrollConstantParams(t *testing.T) {
	const steps = 8
	c := hyperCases()[0]
	for _, s := range []metalearn.UnrollSettings{{}, {FirstOrder: true}, {Truncate: 3}} {
		p := newSmallProblem(5)
		h := c.hyper(steps, len(p.params))
		var losses [2]float64
		for k, wrap := range []func(*adjoint.Tensor) *adjoint.Var{adjoint.Param, adjoint.Const} {
			ps := make([]*adjoint.Var, len(p.params))
			for i, v := range p.params {
				ps[i] = wrap(v)
			}
			losses[k] = metaLoss(t, p, c, ps, h, steps, &s).Item()
		}
		// Not bit-equal: a recorded reverse pass (CreateGraph) adds
		// contributions with Add, a plain one lets the GEMM kernel
		// accumulate matrix-product terms in place, so the two round
		// differently in the last bits. The bug this guards against (inner
		// gradients taken with respect to constants, hence zero) changes
		// the loss in the leading digits.
		if math.Abs(losses[0]-losses[1]) > 1e-13*math.Abs(losses[0]) {
			t.Errorf("%+v: outer loss %v with tracked parameters, %v with constants", s, losses[0], losses[1])
		}
	}
}
