package adjoint

import "fmt"

// Var is a value in a traced computation: a tensor together with, when it
// depends on a differentiable leaf, the operation and inputs that produced it.
//
// Graphs are built by running ordinary Go code on Vars (define-by-run). A Var
// created by Param is a differentiable leaf; one created by Const is not.
// An operation whose inputs are all constants records nothing: its result is
// a plain constant, so code run on constants is the package's no-graph
// inference mode and keeps no references to intermediate values.
//
// Vars are immutable once created and safe to read from several goroutines;
// differentiating one graph from several goroutines at once is safe too.
type Var struct {
	val     *Tensor
	op      primitive
	in      []*Var
	scope   *Scope // innermost scope of the inputs, or set by InScope
	tracked bool
}

// Param returns a differentiable leaf holding t. The tensor is not copied
// and must not be modified while the graph is in use.
func Param(t *Tensor) *Var { return &Var{val: t, tracked: true} }

// Const returns a constant (non-differentiable) value holding t. No
// derivative with respect to it exists: Grad, Backward and Tangent panic if
// asked for one. Use Param for a value to differentiate with respect to.
func Const(t *Tensor) *Var { return &Var{val: t} }

// constOf returns a constant holding data with the given shape, both
// shared, not copied, in one allocation: for the bridge's flat vectors,
// whose lengths have been checked and whose shapes are those of recorded
// values.
func constOf(data []float64, shape []int) *Var {
	b := &struct {
		v Var
		t Tensor
	}{t: Tensor{Shape: shape, Data: data}}
	b.v.val = &b.t
	return &b.v
}

// ConstScalar returns a 0-D constant.
func ConstScalar(v float64) *Var { return Const(Scalar(v)) }

// Detach returns a constant holding the same tensor as v, in v's scope,
// cutting it out of any graph.
func Detach(v *Var) *Var { return &Var{val: v.val, scope: v.scope} }

// Value returns the tensor held by v. It must not be modified.
func (v *Var) Value() *Tensor { return v.val }

// Shape returns v's shape. It must not be modified.
func (v *Var) Shape() []int { return v.val.Shape }

// Size returns the number of elements of v.
func (v *Var) Size() int { return len(v.val.Data) }

// Item returns the single element of a one-element value.
func (v *Var) Item() float64 { return v.val.Item() }

// Tracked reports whether v belongs to a differentiable graph, that is
// whether it is a Param or depends on one: whether derivatives with
// respect to v can be taken.
func (v *Var) Tracked() bool { return v.tracked }

// IsLeaf reports whether v was created directly (Param, Const) rather than by
// an operation.
func (v *Var) IsLeaf() bool { return v.op == nil }

// Op returns the name of the operation that produced v, or "" for leaves and
// constants.
func (v *Var) Op() string {
	if v.op == nil {
		return ""
	}
	return v.op.name()
}

// String describes v briefly.
func (v *Var) String() string {
	kind := "const"
	switch {
	case v.op != nil:
		kind = v.op.name()
	case v.tracked:
		kind = "param"
	}
	return fmt.Sprintf("Var(%s %v)", kind, v.val)
}

// primitive is one differentiable operation. Its forward computation happens
// in the constructor function that creates the output Var; its derivative
// rules live here, written with differentiable operations so that the
// derivatives can themselves be differentiated.
type primitive interface {
	name() string
	// vjp returns the cotangent contributions for each input given the
	// output cotangent g. Entries for which need[i] is false may be nil.
	vjp(g *Var, in []*Var, out *Var, need []bool) []*Var
	// jvp returns the output tangent given input tangents; a nil tangent
	// stands for zero. At least one tangent is non-nil.
	jvp(tan []*Var, in []*Var, out *Var) *Var
}

// newVar wraps the result of an operation, recording the graph edge only when
// some input is tracked. The result takes the innermost scope of the
// inputs, as do the results of the other constructors below.
func newVar(val *Tensor, p primitive, in ...*Var) *Var {
	var s *Scope
	tracked := false
	for _, x := range in {
		s = innerScope(s, x.scope)
		tracked = tracked || x.tracked
	}
	if tracked {
		return &Var{val: val, op: p, in: in, scope: s, tracked: true}
	}
	return &Var{val: val, scope: s}
}

// newVar1 and newVar2 are newVar for one and two inputs; they allocate the
// input list only when a graph is recorded, and then together with the Var
// itself, which keeps no-graph evaluation lean and small graphs cheap.
func newVar1(val *Tensor, p primitive, x *Var) *Var {
	if !x.tracked {
		return &Var{val: val, scope: x.scope}
	}
	b := &struct {
		v  Var
		in [1]*Var
	}{}
	b.in[0] = x
	b.v = Var{val: val, op: p, in: b.in[:], scope: x.scope, tracked: true}
	return &b.v
}

func newVar2(val *Tensor, p primitive, a, b *Var) *Var {
	s := innerScope(a.scope, b.scope)
	if !a.tracked && !b.tracked {
		return &Var{val: val, scope: s}
	}
	c := &struct {
		v  Var
		in [2]*Var
	}{}
	c.in = [2]*Var{a, b}
	c.v = Var{val: val, op: p, in: c.in[:], scope: s, tracked: true}
	return &c.v
}

func newVar3(val *Tensor, p primitive, a, b, c *Var) *Var {
	s := innerScope(innerScope(a.scope, b.scope), c.scope)
	if !a.tracked && !b.tracked && !c.tracked {
		return &Var{val: val, scope: s}
	}
	d := &struct {
		v  Var
		in [3]*Var
	}{}
	d.in = [3]*Var{a, b, c}
	d.v = Var{val: val, op: p, in: d.in[:], scope: s, tracked: true}
	return &d.v
}

// result0, result1 and result2 hold an operation's output Var together
// with its tensor header, its shape (rank ≤ 4) and, when the edge is
// recorded, its input list: one allocation besides the data, and none
// besides for a one-element result, whose data is held too. An unrecorded
// result (result0) has no input list at all.
type result0 struct {
	v Var
	t Tensor
	s [4]int
	d [1]float64 // the data of a one-element result
}

type result1 struct {
	result0
	in [1]*Var
}

type result2 struct {
	result0
	in [2]*Var
}

// init points the Var at the tensor and the tensor at a copy of shape (in
// s when it fits) and at n zeroed elements.
func (r *result0) init(shape []int) *Var {
	if len(shape) > 4 {
		r.t.Shape = cloneInts(shape)
	} else {
		copy(r.s[:], shape)
		r.t.Shape = r.s[:len(shape):len(shape)]
	}
	if n := shapeSize(shape); n == 1 {
		// Scalar operations (a vector field written element by element)
		// are most of a small graph: their one element lives in the
		// result itself.
		r.t.Data = r.d[:]
	} else {
		r.t.Data = make([]float64, n)
	}
	r.v.val = &r.t
	return &r.v
}

// newResult1 returns the output of operation p on x: a Var holding a
// zero-filled tensor of the given shape (copied), recording the edge when
// x is tracked. The operation fills the data.
func newResult1(shape []int, p primitive, x *Var) *Var {
	if !x.tracked {
		v := new(result0).init(shape)
		v.scope = x.scope
		return v
	}
	r := &result1{}
	v := r.init(shape)
	r.in[0] = x
	v.op, v.in, v.scope, v.tracked = p, r.in[:], x.scope, true
	return v
}

// resultOp1 is result1 with the operation's parameters alongside, so that
// an operation with parameters (a factor, positions, a slice's bounds) is
// not boxed into the primitive interface separately: the recorded edge
// points at op inside the same allocation.
type resultOp1[P any] struct {
	result1
	op P
}

// newResultOp1 is newResult1 for an operation with parameters: one
// allocation for the Var, its tensor header, shape, input list and op,
// besides the data, which is n zeroed elements, or the given data (not
// copied) when data is not nil.
func newResultOp1[P any, PP interface {
	*P
	primitive
}](shape []int, data []float64, op P, x *Var) *Var {
	var v *Var
	if !x.tracked {
		v = new(result0).initData(shape, data)
		v.scope = x.scope
		return v
	}
	r := &resultOp1[P]{op: op}
	v = r.initData(shape, data)
	r.in[0] = x
	v.op, v.in, v.scope, v.tracked = PP(&r.op), r.in[:], x.scope, true
	return v
}

// initData is init with the given data (not copied), or n zeroed
// elements when data is nil.
func (r *result0) initData(shape []int, data []float64) *Var {
	if data == nil {
		return r.init(shape)
	}
	if len(shape) > 4 {
		r.t.Shape = cloneInts(shape)
	} else {
		copy(r.s[:], shape)
		r.t.Shape = r.s[:len(shape):len(shape)]
	}
	r.t.Data = data
	r.v.val = &r.t
	return &r.v
}

// newResult2 is newResult1 for operations of two inputs.
func newResult2(shape []int, p primitive, a, b *Var) *Var {
	s := innerScope(a.scope, b.scope)
	if !a.tracked && !b.tracked {
		v := new(result0).init(shape)
		v.scope = s
		return v
	}
	r := &result2{}
	v := r.init(shape)
	r.in = [2]*Var{a, b}
	v.op, v.in, v.scope, v.tracked = p, r.in[:], s, true
	return v
}
