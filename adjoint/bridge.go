package adjoint

import "fmt"

// The bridge between traced programs and flat state. The flat engines —
// Func, Step and Loss here, ode.System elsewhere — exchange []float64
// vectors; traced programs exchange Vars. Two pieces connect them, and every
// adapter in the module (TracedFunc, TracedStep, TracedLoss, ode.Traced,
// the unrolled inner step of metalearn, nn's recurrent steps) is built on
// them:
//
//   - a Layout cuts a flat value into Vars of its shapes (Layout.Vars) and
//     joins Vars back into one flat value (Layout.Join), differentiably;
//   - a Recording holds one run of a traced program on flat arguments and
//     answers its derivatives as flat vectors: the VJP, the JVP, and through
//     Tangent the second derivatives.

// Vars cuts the flat value x (any shape with l.Size() elements, read in
// row-major order) into one Var per entry of the layout, with the layout's
// shapes. The parts are differentiable functions of x.
func (l Layout) Vars(x *Var) []*Var {
	if x.Size() != l.Size() {
		panic(fmt.Sprintf("adjoint: Layout.Vars: value of shape %v for a layout of size %d", x.Shape(), l.Size()))
	}
	flat := x
	if len(x.Shape()) != 1 {
		flat = Reshape(x, l.Size())
	}
	out := make([]*Var, len(l.shapes))
	for i, s := range l.shapes {
		out[i] = Reshape(Slice(flat, 0, l.offsets[i], l.offsets[i+1]), s...)
	}
	return out
}

// Join returns the flat 1-D value holding vs one after another in row-major
// order, the inverse of Vars: differentiable in every part. It panics if the
// number or shapes of the values do not match the layout.
func (l Layout) Join(vs ...*Var) *Var {
	if len(vs) != len(l.shapes) {
		panic(fmt.Sprintf("adjoint: Layout.Join: %d values for a layout of %d", len(vs), len(l.shapes)))
	}
	if len(vs) == 0 {
		return Const(New(0))
	}
	parts := make([]*Var, len(vs))
	for i, v := range vs {
		if !equalInts(v.Shape(), l.shapes[i]) {
			panic(fmt.Sprintf("adjoint: Layout.Join: value %d has shape %v, layout wants %v", i, v.Shape(), l.shapes[i]))
		}
		parts[i] = Reshape(v, -1)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return Concat(0, parts...)
}

// Recording is one run of a traced program on tracked leaves, kept so that
// its derivatives can be taken as flat vectors, any number of times: the
// bridge from a program written with Vars to the flat interfaces (Func,
// Step, Loss, ode.System). A Recording is not safe for concurrent use.
type Recording struct {
	// In holds the leaves the program ran on, one per argument; Out is
	// its result.
	In  []*Var
	Out *Var

	order    []*Var    // topological order of Out, kept from the second forward pass on,
	index    *varIndex // with each value's position in it
	tangents int       // forward passes taken before the order was kept
}

// Record runs f on tracked leaves (Params) holding the given tensors, which
// are shared, not copied, and must not change while the recording is used.
//
// Every argument is tracked in every call, whichever derivatives are wanted
// afterwards — also when only the value is. A program that differentiates
// its own inputs (a vector field defined as the gradient of an energy, an
// inner optimisation step) therefore computes the same function whether it
// is evaluated or differentiated; handing it constants for plain evaluation
// would silently change what it computes.
func Record(f func(in []*Var) *Var, args ...*Tensor) *Recording {
	in := make([]*Var, len(args))
	for i, a := range args {
		in[i] = Param(a)
	}
	return &Recording{In: in, Out: f(in)}
}

// Value returns the flat data of Out. It must not be modified.
func (r *Recording) Value() []float64 { return r.Out.val.Data }

// VJP accumulates dst[i] += (∂Out/∂In[i])ᵀ ybar, flattened, for every
// non-nil dst[i]; ybar holds Out's elements in row-major order. Arguments
// whose dst is nil are not differentiated.
func (r *Recording) VJP(dst [][]float64, ybar []float64) {
	if len(dst) != len(r.In) {
		panic(fmt.Sprintf("adjoint: Recording.VJP: %d destinations for %d arguments", len(dst), len(r.In)))
	}
	if len(ybar) != r.Out.Size() {
		panic(fmt.Sprintf("adjoint: Recording.VJP: cotangent of length %d for a result of shape %v", len(ybar), r.Out.Shape()))
	}
	wrt := make([]*Var, 0, len(dst))
	into := make([][]float64, 0, len(dst))
	for i, d := range dst {
		if d == nil {
			continue
		}
		if len(d) != r.In[i].Size() {
			panic(fmt.Sprintf("adjoint: Recording.VJP: destination %d has length %d, argument has %d elements", i, len(d), r.In[i].Size()))
		}
		wrt = append(wrt, r.In[i])
		into = append(into, d)
	}
	if len(wrt) == 0 {
		return
	}
	gs := Backward(r.Out, wrt, &GradSettings{Cotangent: constOf(ybar, r.Out.Shape())})
	for k, g := range gs {
		accumulate(into[k], g.val.Data)
	}
}

// JVP writes dst = Σᵢ ∂Out/∂In[i] · dots[i], flattened; a nil dots[i] is
// zero. There must be one entry of dots per argument.
func (r *Recording) JVP(dst []float64, dots ...[]float64) {
	if len(dst) != r.Out.Size() {
		panic(fmt.Sprintf("adjoint: Recording.JVP: destination of length %d for a result of shape %v", len(dst), r.Out.Shape()))
	}
	copy(dst, r.tangent(dots, false).val.Data)
}

// Tangent returns the recording of the directional derivative of Out along
// dots (nil entries are zero): the same arguments, with Out replaced by its
// tangent, recorded so that it can be differentiated again. Its VJP is a
// reverse-over-forward second derivative, its JVP a forward-over-forward
// one.
func (r *Recording) Tangent(dots ...[]float64) *Recording {
	return &Recording{In: r.In, Out: r.tangent(dots, true)}
}

func (r *Recording) tangent(dots [][]float64, graph bool) *Var {
	if len(dots) != len(r.In) {
		panic(fmt.Sprintf("adjoint: Recording: %d tangents for %d arguments", len(dots), len(r.In)))
	}
	xs, ds := make([]*Var, 0, len(dots)), make([]*Var, 0, len(dots))
	for i, d := range dots {
		if d == nil {
			continue
		}
		x := r.In[i]
		if len(d) != x.Size() {
			panic(fmt.Sprintf("adjoint: Recording: tangent %d has length %d, argument has %d elements", i, len(d), x.Size()))
		}
		xs = append(xs, x)
		ds = append(ds, constOf(d, x.Shape()))
	}
	if r.order != nil {
		return pushForward(r.order, r.index, xs, ds, graph)
	}
	order, index := topoIndex(r.Out)
	if r.tangents > 0 {
		// Used again (a Jacobian, column by column): keep the order.
		r.order, r.index = order, index
		return pushForward(order, index, xs, ds, graph)
	}
	r.tangents++
	t := pushForward(order, index, xs, ds, graph)
	index.release()
	return t
}
