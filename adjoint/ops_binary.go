package adjoint

import "math"

// Elementwise binary operations. All broadcast their operands under NumPy
// rules (see BroadcastShape); their VJPs sum the cotangent back over the
// broadcast dimensions with SumTo.

type addOp struct{}

func (addOp) name() string { return "add" }
func (addOp) vjp(g *Var, in []*Var, _ *Var, need []bool) []*Var {
	return []*Var{sumToIf(need[0], g, in[0]), sumToIf(need[1], g, in[1])}
}
func (addOp) jvp(t []*Var, _ []*Var, out *Var) *Var {
	return addTangents(out.Shape(), t[0], t[1])
}

// Add returns a + b.
func Add(a, b *Var) *Var {
	return binary(a, b, addOp{}, binAdd, func(x, y float64) float64 { return x + y })
}

type subOp struct{}

func (subOp) name() string { return "sub" }
func (subOp) vjp(g *Var, in []*Var, _ *Var, need []bool) []*Var {
	var gb *Var
	if need[1] {
		gb = SumTo(Neg(g), in[1].Shape())
	}
	return []*Var{sumToIf(need[0], g, in[0]), gb}
}
func (subOp) jvp(t []*Var, _ []*Var, out *Var) *Var {
	if t[1] == nil {
		return BroadcastTo(t[0], out.Shape())
	}
	return addTangents(out.Shape(), t[0], Neg(t[1]))
}

// Sub returns a − b.
func Sub(a, b *Var) *Var {
	return binary(a, b, subOp{}, binSub, func(x, y float64) float64 { return x - y })
}

type mulOp struct{}

func (mulOp) name() string { return "mul" }
func (mulOp) vjp(g *Var, in []*Var, _ *Var, need []bool) []*Var {
	var ga, gb *Var
	if need[0] {
		ga = SumTo(Mul(g, in[1]), in[0].Shape())
	}
	if need[1] {
		gb = SumTo(Mul(g, in[0]), in[1].Shape())
	}
	return []*Var{ga, gb}
}
func (mulOp) jvp(t []*Var, in []*Var, out *Var) *Var {
	if d := mulTangentFused(t, in); d != nil {
		return d
	}
	var ta, tb *Var
	if t[0] != nil {
		ta = Mul(t[0], in[1])
	}
	if t[1] != nil {
		tb = Mul(in[0], t[1])
	}
	return addTangents(out.Shape(), ta, tb)
}

// mulTangentFused returns ȧ⊙b + a⊙ḃ in one pass when nothing is recorded
// (a forward pass without createGraph) and no operand broadcasts, with
// the rounding of Add(Mul(ȧ, b), Mul(a, ḃ)); otherwise nil.
func mulTangentFused(t, in []*Var) *Var {
	ta, tb, a, b := t[0], t[1], in[0], in[1]
	if ta == nil || tb == nil || ta.tracked || tb.tracked || a.tracked || b.tracked {
		return nil
	}
	if !SameShape(a.val, b.val) || !SameShape(ta.val, a.val) || !SameShape(tb.val, b.val) {
		return nil
	}
	r := new(result0).init(a.val.Shape)
	r.scope = innerScope(innerScope(ta.scope, b.scope), innerScope(a.scope, tb.scope))
	od, tad, tbd, ad, bd := r.val.Data, ta.val.Data, tb.val.Data, a.val.Data, b.val.Data
	for i := range od {
		// The conversions round each product on its own, as the
		// separate operations do (no fused multiply-add).
		od[i] = float64(tad[i]*bd[i]) + float64(ad[i]*tbd[i])
	}
	return r
}

// Mul returns the elementwise product a ⊙ b.
func Mul(a, b *Var) *Var {
	return binary(a, b, mulOp{}, binMul, func(x, y float64) float64 { return x * y })
}

type divOp struct{}

func (divOp) name() string { return "div" }
func (divOp) vjp(g *Var, in []*Var, out *Var, need []bool) []*Var {
	var ga, gb *Var
	gOverB := Div(g, in[1])
	if need[0] {
		ga = SumTo(gOverB, in[0].Shape())
	}
	if need[1] {
		gb = SumTo(Neg(Mul(gOverB, out)), in[1].Shape())
	}
	return []*Var{ga, gb}
}
func (divOp) jvp(t []*Var, in []*Var, out *Var) *Var {
	var ta, tb *Var
	if t[0] != nil {
		ta = Div(t[0], in[1])
	}
	if t[1] != nil {
		tb = Neg(Div(Mul(t[1], out), in[1]))
	}
	return addTangents(out.Shape(), ta, tb)
}

// Div returns the elementwise quotient a / b.
func Div(a, b *Var) *Var {
	return binary(a, b, divOp{}, binDiv, func(x, y float64) float64 { return x / y })
}

type powOp struct{}

func (powOp) name() string { return "pow" }

// dBase is b·a^(b−1), written without dividing by a so that a = 0 works.
func (powOp) dBase(in []*Var) *Var {
	return Mul(in[1], Pow(in[0], Sub(in[1], ConstScalar(1))))
}
func (p powOp) vjp(g *Var, in []*Var, out *Var, need []bool) []*Var {
	var ga, gb *Var
	if need[0] {
		ga = SumTo(Mul(g, p.dBase(in)), in[0].Shape())
	}
	if need[1] {
		gb = SumTo(Mul(g, Mul(out, Log(in[0]))), in[1].Shape())
	}
	return []*Var{ga, gb}
}
func (p powOp) jvp(t []*Var, in []*Var, out *Var) *Var {
	var ta, tb *Var
	if t[0] != nil {
		ta = Mul(t[0], p.dBase(in))
	}
	if t[1] != nil {
		tb = Mul(t[1], Mul(out, Log(in[0])))
	}
	return addTangents(out.Shape(), ta, tb)
}

// Pow returns a^b elementwise. Its derivative with respect to b involves
// log a and is only meaningful for a > 0; use PowConst for a fixed exponent.
func Pow(a, b *Var) *Var {
	return binary(a, b, powOp{}, binOther, math.Pow)
}

// binary returns op(a, b) elementwise with broadcasting, computed by
// binaryInto.
func binary(a, b *Var, p primitive, op binOp, f func(x, y float64) float64) *Var {
	out := newResult2(binaryShape(a.val, b.val), p, a, b)
	binaryInto(out.val, a.val, b.val, op, f)
	return out
}

// sumToIf returns SumTo(g, like's shape) when needed, nil otherwise.
func sumToIf(need bool, g, like *Var) *Var {
	if !need {
		return nil
	}
	return SumTo(g, like.Shape())
}

// addTangents adds two possibly-nil tangents and broadcasts the result to
// shape.
func addTangents(shape []int, a, b *Var) *Var {
	var s *Var
	switch {
	case a == nil:
		s = b
	case b == nil:
		s = a
	default:
		s = Add(a, b)
	}
	return BroadcastTo(s, shape)
}
