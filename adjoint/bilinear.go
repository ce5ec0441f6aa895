package adjoint

import (
	"fmt"
	"slices"
)

// Bilinear is a map y = B(a, b) that is linear in a for fixed b and linear
// in b for fixed a, such as a convolution of images a with kernels b,
// given on flat row-major data by B itself and its two adjoints. Used
// through ApplyBilinear it becomes one operation whose derivatives of
// every order are exact: the derivatives of a bilinear map are again the
// map and its adjoints.
//
// The three methods are the three partial derivatives of the scalar
// T(a, b, y) = ⟨y, B(a, b)⟩, each linear in the two arguments it takes.
// Each overwrites its first argument and must not keep the slices it is
// given.
type Bilinear interface {
	// Apply sets y = B(a, b).
	Apply(y, a, b []float64)
	// AdjointA sets a to the adjoint of B(·, b) applied to y: the a for
	// which ⟨a, a'⟩ = ⟨y, B(a', b)⟩ for every a'.
	AdjointA(a, y, b []float64)
	// AdjointB sets b to the adjoint of B(a, ·) applied to y: the b for
	// which ⟨b, b'⟩ = ⟨y, B(a, b')⟩ for every b'.
	AdjointB(b, a, y []float64)
}

// ApplyBilinear returns f(a, b), of the given shape, as one operation. Its
// VJP with respect to a is f.AdjointA(ȳ, b) and with respect to b is
// f.AdjointB(a, ȳ), each again an operation of this kind, so gradients of
// gradients (Hessian-vector products, MAML) through f are exact. The
// shapes of a and b are f's business; ApplyBilinear only passes the data.
func ApplyBilinear(f Bilinear, a, b *Var, shape ...int) *Var {
	return bilinear(f, slotY, [3][]int{a.Shape(), b.Shape(), cloneInts(shape)}, [3]*Var{a, b, nil})
}

// The three slots of T(a, b, y): an operation of the family computes one
// slot from the other two.
const (
	slotA = iota
	slotB
	slotY
)

// others returns the two slots an operation computing slot r reads, in
// increasing order.
func others(r int) (int, int) {
	switch r {
	case slotA:
		return slotB, slotY
	case slotB:
		return slotA, slotY
	}
	return slotA, slotB
}

type bilinearOp struct {
	f      Bilinear
	slot   int      // the slot this operation computes
	shapes [3][]int // the shapes of a, b and y
}

func (o bilinearOp) name() string {
	return [...]string{"bilinear_adjoint_a", "bilinear_adjoint_b", "bilinear"}[o.slot]
}

// vjp: the output is ∂T/∂x_r as a function of the other two slots s and t.
// Since T is linear in x_r, ⟨g, ∂T/∂x_r⟩ is T with g in slot r, whose
// derivative with respect to x_s is ∂T/∂x_s with g in slot r: the family's
// operation for slot s.
func (o bilinearOp) vjp(g *Var, in []*Var, _ *Var, need []bool) []*Var {
	s, t := others(o.slot)
	gs := make([]*Var, 2)
	if need[0] {
		var x [3]*Var
		x[o.slot], x[t] = g, in[1]
		gs[0] = bilinear(o.f, s, o.shapes, x)
	}
	if need[1] {
		var x [3]*Var
		x[o.slot], x[s] = g, in[0]
		gs[1] = bilinear(o.f, t, o.shapes, x)
	}
	return gs
}

// jvp: bilinear, so the tangent is the sum over inputs of the operation
// with that input replaced by its tangent.
func (o bilinearOp) jvp(tan []*Var, in []*Var, _ *Var) *Var {
	s, t := others(o.slot)
	var sum *Var
	for i, slot := range [2]int{s, t} {
		if tan[i] == nil {
			continue
		}
		var x [3]*Var
		x[s], x[t] = in[0], in[1]
		x[slot] = tan[i]
		d := bilinear(o.f, o.slot, o.shapes, x)
		if sum == nil {
			sum = d
		} else {
			sum = Add(sum, d)
		}
	}
	return sum
}

// bilinear computes slot r from the other two entries of x.
func bilinear(f Bilinear, r int, shapes [3][]int, x [3]*Var) *Var {
	s, t := others(r)
	for _, i := range [2]int{s, t} {
		if !slices.Equal(x[i].Shape(), shapes[i]) {
			panic(fmt.Sprintf("adjoint: bilinear %T: operand of shape %v where %v was given", f, x[i].Shape(), shapes[i]))
		}
	}
	out := New(shapes[r]...)
	switch r {
	case slotA:
		f.AdjointA(out.Data, x[slotY].val.Data, x[slotB].val.Data)
	case slotB:
		f.AdjointB(out.Data, x[slotA].val.Data, x[slotY].val.Data)
	default:
		f.Apply(out.Data, x[slotA].val.Data, x[slotB].val.Data)
	}
	return newVar2(out, bilinearOp{f, r, shapes}, x[s], x[t])
}
